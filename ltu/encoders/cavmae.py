"""The paper's audio encoder: the audio branch of a fine-tuned CAV-MAE (a ViT on the filter bank).

Facts from ``docs/paper.md`` ("Audio encoder", "Audio tokens"). Module and parameter names reproduce the released checkpoint's encoder keys
(everything after ``base_model.model.model.audio_encoder.``), so
``load_state_dict(strict=True)`` accepts the released weights unchanged.

At paper size a window of ``(1024, 128)`` features becomes an ``(8, 64)`` grid of 16x16
patches (8 frequency rows x 64 time columns = 512 tokens of width 768), then 32 tokens.
"""

from __future__ import annotations

import torch
from torch import nn

from ltu.config import EncoderConfig, FrontEndConfig
from ltu.errors import ConfigError

SINCOS_BASE = 10_000.0  # MAE's 2-D sin-cos position embedding (the one CAV-MAE initialises pos_embed_a with)
PARAM_INIT_STD = 0.02  # CAV-MAE initialises modality_a with normal(std=0.02)


def sincos_pos_embed_2d(dim: int, rows: int, cols: int) -> torch.Tensor:
    """MAE-style fixed 2-D sin-cos embedding for a ``rows x cols`` grid, row-major: ``(rows*cols, dim)``.

    The first half of the channels encodes the column (time) index, the second half the
    row (frequency) index; each half is ``[sin(p * w_k), cos(p * w_k)]`` with
    ``w_k = 10000 ** (-k / (dim / 4))``.
    """
    if dim % 4:
        raise ConfigError(f"A 2-D sin-cos position embedding needs a width divisible by 4, got {dim}.")
    quarter = dim // 4
    omega = SINCOS_BASE ** (-torch.arange(quarter, dtype=torch.float64) / quarter)  # (dim/4,)
    row = torch.arange(rows, dtype=torch.float64).repeat_interleave(cols)  # (rows*cols,) 0,0,..,1,1,..
    col = torch.arange(cols, dtype=torch.float64).repeat(rows)  # (rows*cols,) 0,1,..,0,1,..

    def half(pos: torch.Tensor) -> torch.Tensor:
        angles = pos[:, None] * omega[None, :]  # (N, dim/4)
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # (N, dim/2)

    return torch.cat([half(col), half(row)], dim=1).float()  # (rows*cols, dim)


class PatchEmbed(nn.Module):
    """Non-overlapping square patches of a one-channel image, as tokens."""

    def __init__(self, patch_size: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(1, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # image: (W, 1, F, T)
        return self.proj(image).flatten(2).transpose(1, 2)  # (W, rows*cols, D), frequency row first


class Attention(nn.Module):
    """Multi-head self-attention with stacked q, k, v (timm's ViT layout: ``qkv``, ``proj``)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"The encoder width {dim} is not divisible by its {num_heads} heads.")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)  # paper.md "Audio encoder": qkv bias
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        head_dim = dim // self.num_heads
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads, head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (W, H, N, D/H)
        # Explicit softmax attention, the original's formula: fp32 results match it bit for bit, where
        # scaled_dot_product_attention drifts by ~1e-6. At 512 tokens the (W, H, N, N) scores are small.
        scores = (q @ k.transpose(-2, -1)) * head_dim**-0.5  # (W, H, N, N)
        out = scores.softmax(dim=-1) @ v  # (W, H, N, D/H)
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))  # (W, N, D)


class Mlp(nn.Module):
    """Two linear layers with exact (erf) GELU between them."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # paper.md "Audio encoder": exact (erf) GELU
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block carrying CAV-MAE's three sets of LayerNorms.

    CAV-MAE blocks hold a shared (``norm1``/``norm2``), an audio (``*_a``) and a visual
    (``*_v``) pair; every block of the checkpoint has all six. ``audio_norms`` picks the
    audio pair (the shared block ``blocks_u.0`` runs with it); otherwise the plain pair is
    used. The others are kept only so that the checkpoint loads strictly.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, eps: float, audio_norms: bool) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.norm1_a = nn.LayerNorm(dim, eps=eps)
        self.norm1_v = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.norm2_a = nn.LayerNorm(dim, eps=eps)
        self.norm2_v = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.audio_norms = audio_norms

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre_attn, pre_mlp = (self.norm1_a, self.norm2_a) if self.audio_norms else (self.norm1, self.norm2)
        x = x + self.attn(pre_attn(x))  # (W, N, D)
        return x + self.mlp(pre_mlp(x))  # (W, N, D)


class CAVMAEEncoder(nn.Module):
    """CAV-MAE audio branch plus LTU's pooling: ``(W, T, F)`` features -> ``(W, tokens_per_window, D)``."""

    frontend_kind = "fbank"  # reads the paper's Kaldi filter bank

    @staticmethod
    def config_width(encoder: EncoderConfig) -> int:
        """Width of the tokens handed to the projector (768 at paper size)."""
        return encoder.embed_dim

    @staticmethod
    def tokens_for_window(encoder: EncoderConfig, frontend: FrontEndConfig, num_real_samples: int) -> int:
        """Always the full window (32 at paper size): the paper pads every clip to 10.24 s and feeds all tokens."""
        return frontend.window_frames // encoder.patch_size // encoder.time_pool

    def __init__(self, encoder: EncoderConfig, frontend: FrontEndConfig) -> None:
        super().__init__()
        if encoder.hidden_layer is not None:
            raise ConfigError("encoder.hidden_layer chooses a Whisper layer; the CAV-MAE encoder always hands on "
                              "its last block's output: leave it null.")
        if encoder.summary_layer is not None:
            raise ConfigError("encoder.summary_layer chooses a Whisper layer for the window summary; the CAV-MAE "
                              "encoder has none to offer: leave it null.")
        p = encoder.patch_size
        if frontend.num_mel_bins % p or frontend.window_frames % p:
            raise ConfigError(
                f"The {frontend.window_frames} x {frontend.num_mel_bins} feature window does not divide "
                f"into {p} x {p} patches."
            )
        if encoder.depth < 1:
            raise ConfigError(f"The cavmae encoder needs at least one block, got depth {encoder.depth}.")
        self.rows = frontend.num_mel_bins // p  # 8 frequency rows at paper size
        self.cols = frontend.window_frames // p  # 64 time columns at paper size
        if self.cols % encoder.time_pool:
            raise ConfigError(f"{self.cols} time columns cannot be pooled in groups of {encoder.time_pool}.")
        self.num_frames = frontend.window_frames
        self.num_mel_bins = frontend.num_mel_bins
        self.time_pool = encoder.time_pool
        self.output_scale = encoder.output_scale
        self.width = encoder.embed_dim
        self.token_width = self.width  # the tokens handed on are the projector's (no summary layer)
        self.tokens_per_window = self.tokens_for_window(encoder, frontend, 0)  # 32 at paper size

        dim = encoder.embed_dim
        self.patch_embed_a = PatchEmbed(p, dim)
        self.pos_embed_a = nn.Parameter(torch.zeros(1, self.rows * self.cols, dim))  # trainable, sin-cos init
        self.modality_a = nn.Parameter(torch.zeros(1, 1, dim))
        # paper.md "Audio encoder": the first depth-1 blocks are modality-specific (blocks_a), the last is the shared block_u
        args = (dim, encoder.num_heads, encoder.mlp_ratio, encoder.layer_norm_eps)
        self.blocks_a = nn.ModuleList([Block(*args, audio_norms=False) for _ in range(encoder.depth - 1)])
        self.blocks_u = nn.ModuleList([Block(*args, audio_norms=True)])
        self.norm_a = nn.LayerNorm(dim, eps=encoder.layer_norm_eps)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Random init as CAV-MAE: sin-cos positions, xavier-uniform linears and patch conv, unit LayerNorms."""
        self.pos_embed_a.copy_(sincos_pos_embed_2d(self.width, self.rows, self.cols)[None])
        nn.init.normal_(self.modality_a, std=PARAM_INIT_STD)
        conv = self.patch_embed_a.proj
        nn.init.xavier_uniform_(conv.weight.view(conv.weight.shape[0], -1))  # like a Linear over a flat patch
        nn.init.zeros_(conv.bias)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def patch_tokens(self, features: torch.Tensor) -> torch.Tensor:
        """Normalised filter-bank windows ``(W, T, F)`` -> patch tokens after ``norm_a``, ``(W, rows*cols, D)``."""
        if features.dim() != 3 or features.shape[1:] != (self.num_frames, self.num_mel_bins):
            raise ValueError(
                f"Expected features of shape (windows, {self.num_frames}, {self.num_mel_bins}), "
                f"got {tuple(features.shape)}."
            )
        image = features.to(self.pos_embed_a.dtype).transpose(1, 2).unsqueeze(1)  # (W, 1, F, T): frequency is height
        x = self.patch_embed_a(image)  # (W, rows*cols, D)
        x = x + self.pos_embed_a
        x = x + self.modality_a
        for blk in self.blocks_a:
            x = blk(x)
        for blk in self.blocks_u:
            x = blk(x)
        return self.norm_a(x)  # (W, rows*cols, D)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """Patch tokens ``(W, rows*cols, D)`` -> audio tokens ``(W, tokens_per_window, D)``: LTU's pooling and scale."""
        windows, _, dim = tokens.shape
        x = tokens.reshape(windows, self.rows, self.cols, dim).mean(dim=1)  # (W, cols, D): mean over frequency rows
        x = x.reshape(windows, self.tokens_per_window, self.time_pool, dim).mean(dim=2)  # (W, cols/pool, D)
        return x * self.output_scale  # paper.md "Audio tokens": divided by 50

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Normalised filter-bank windows ``(W, T, F)`` -> audio tokens ``(W, tokens_per_window, D)``."""
        return self.pool(self.patch_tokens(features))

    def load_pretrained_weights(self, source: str) -> None:
        """Not available: the paper's encoder weights travel inside the checkpoint (or the released file)."""
        raise ConfigError(f"encoder.source ({source!r}) names Whisper weights; a cavmae encoder's weights are "
                          "stored in the checkpoint, so leave encoder.source empty.")
