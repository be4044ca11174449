"""CAV-MAE audio encoder: checkpoint names, shapes, numerical parity with a functional reference, pooling."""

from __future__ import annotations

import math

import pytest
import torch

from reference import reference_forward
from ltu.config import EncoderConfig, FrontEndConfig
from ltu.encoders import CAVMAEEncoder, build_encoder, tokens_for_window
from ltu.encoders.cavmae import sincos_pos_embed_2d
from ltu.errors import ConfigError

TINY_ENCODER = EncoderConfig(embed_dim=64, depth=3, num_heads=4)
TINY_FRONTEND = FrontEndConfig(window_frames=256)  # 128 bins x 256 frames -> 8 rows x 16 columns -> 8 tokens
BLOCK_PARTS = ["norm1", "norm1_a", "norm1_v", "attn.qkv", "attn.proj"]
BLOCK_PARTS += ["norm2", "norm2_a", "norm2_v", "mlp.fc1", "mlp.fc2"]


def official_encoder_names(depth: int) -> set[str]:
    """The released checkpoint's encoder keys (after 'audio_encoder.'), written out from paper.md "Audio encoder"."""
    names = {"patch_embed_a.proj.weight", "patch_embed_a.proj.bias", "pos_embed_a", "modality_a"}
    names |= {"norm_a.weight", "norm_a.bias"}
    blocks = [f"blocks_a.{i}" for i in range(depth - 1)] + ["blocks_u.0"]
    names |= {f"{b}.{part}.{p}" for b in blocks for part in BLOCK_PARTS for p in ("weight", "bias")}
    return names


def randomised(encoder: CAVMAEEncoder, seed: int = 0) -> CAVMAEEncoder:
    """Give every parameter (LayerNorms included) distinct random values, so a wrong norm shows up."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in encoder.named_parameters():
            noise = 0.2 * torch.randn(param.shape, generator=gen)
            is_norm_scale = name.endswith(".weight") and name.split(".")[-2].startswith("norm")
            param.copy_(1.0 + noise if is_norm_scale else noise)
    return encoder.eval()


@pytest.mark.parametrize("depth", [1, 2, 12])
def test_state_dict_names_match_released_layout(depth: int) -> None:
    enc = CAVMAEEncoder(EncoderConfig(embed_dim=64, depth=depth, num_heads=4), TINY_FRONTEND)
    assert set(enc.state_dict()) == official_encoder_names(depth)


def test_paper_size_shapes_parameter_count_and_parity() -> None:
    torch.manual_seed(0)
    enc = build_encoder(EncoderConfig(), FrontEndConfig()).eval()
    shapes = {k: tuple(v.shape) for k, v in enc.state_dict().items()}
    assert shapes["patch_embed_a.proj.weight"] == (768, 1, 16, 16)
    assert shapes["pos_embed_a"] == (1, 512, 768)
    assert shapes["modality_a"] == (1, 1, 768)
    assert shapes["blocks_a.10.attn.qkv.weight"] == (2304, 768)
    assert shapes["blocks_u.0.mlp.fc1.weight"] == (3072, 768)
    assert "blocks_a.11.attn.qkv.weight" not in shapes
    assert sum(p.numel() for p in enc.parameters()) == 85_721_088  # paper.md "Audio encoder": encoder parameters
    assert (enc.tokens_per_window, enc.width) == (32, 768)
    with torch.no_grad():  # the init leaves norms at 1 and biases at 0: move them so that each one counts
        for name, param in enc.named_parameters():
            if "norm" in name or name.endswith("bias"):
                param.add_(0.1 * torch.randn_like(param))
        features = torch.randn(1, 1024, 128)
        patches = enc.patch_tokens(features)
        tokens = enc.pool(patches)  # forward == pool(patch_tokens), checked on the tiny config
        ref_patches, ref_tokens = reference_forward(enc.state_dict(), features, heads=12, depth=12, eps=1e-5)
    assert patches.shape == (1, 512, 768) and tokens.shape == (1, 32, 768)
    assert (patches - ref_patches).abs().max().item() <= 1e-6
    assert (tokens - ref_tokens).abs().max().item() <= 1e-6


def test_parity_with_functional_reference() -> None:
    torch.manual_seed(0)
    enc = randomised(CAVMAEEncoder(TINY_ENCODER, TINY_FRONTEND))
    features = torch.randn(3, 256, 128)
    with torch.no_grad():
        patches, tokens = enc.patch_tokens(features), enc(features)
        ref_patches, ref_tokens = reference_forward(enc.state_dict(), features, heads=4, depth=3, eps=1e-5)
    assert patches.shape == (3, 128, 64) and tokens.shape == (3, 8, 64)
    assert torch.equal(tokens, enc.pool(patches))
    assert (patches - ref_patches).abs().max().item() <= 1e-6  # values of order 1-5
    assert (tokens - ref_tokens).abs().max().item() <= 1e-6


def test_windows_are_independent() -> None:
    enc = randomised(CAVMAEEncoder(TINY_ENCODER, TINY_FRONTEND))
    features = torch.randn(2, 256, 128)
    with torch.no_grad():
        both = enc(features)
        first = enc(features[:1])
    torch.testing.assert_close(both[:1], first, atol=1e-6, rtol=0)


def test_only_the_documented_norms_are_used() -> None:
    enc = randomised(CAVMAEEncoder(TINY_ENCODER, TINY_FRONTEND))
    features = torch.randn(1, 256, 128)
    with torch.no_grad():
        before = enc(features)
        for name in ["blocks_a.0.norm1_a", "blocks_a.1.norm2_v", "blocks_u.0.norm1", "blocks_u.0.norm2_v"]:
            enc.get_submodule(name).weight.mul_(3.0)
        assert torch.equal(enc(features), before)
        enc.get_submodule("blocks_u.0.norm1_a").weight.mul_(3.0)
        assert not torch.allclose(enc(features), before)


def test_pooling_by_hand() -> None:
    enc = CAVMAEEncoder(TINY_ENCODER, TINY_FRONTEND)  # 8 rows x 16 columns, pairs in time, / 50
    rows, cols = 8, 16
    value = torch.tensor([[100.0 * r + c for c in range(cols)] for r in range(rows)])  # (rows, cols)
    tokens = value.reshape(1, rows * cols, 1).expand(1, rows * cols, 64)  # row-major: frequency row first
    pooled = enc.pool(tokens)
    # mean over rows 0..7 -> 350 + c; mean of columns 2j, 2j+1 -> 350 + 2j + 0.5; / 50
    expected = torch.tensor([(350.0 + 2 * j + 0.5) / 50 for j in range(cols // 2)])
    assert pooled.shape == (1, 8, 64)
    torch.testing.assert_close(pooled[0, :, 0], expected)
    torch.testing.assert_close(pooled[0, :, 63], expected)


def test_sincos_position_embedding() -> None:
    rows, cols, dim = 8, 64, 32
    emb = sincos_pos_embed_2d(dim, rows, cols)
    assert emb.shape == (rows * cols, dim) and emb.dtype == torch.float32
    grid = emb.reshape(rows, cols, dim)
    # first half encodes the time column only, second half the frequency row only
    assert torch.equal(grid[:, :, : dim // 2], grid[:1, :, : dim // 2].expand(rows, cols, dim // 2))
    assert torch.equal(grid[:, :, dim // 2 :], grid[:, :1, dim // 2 :].expand(rows, cols, dim // 2))
    # position 0 is sin(0)=0 then cos(0)=1 in each half
    quarter = dim // 4
    assert torch.equal(emb[0], torch.tensor(([0.0] * quarter + [1.0] * quarter) * 2))
    # the formula at one point: row 3, column 5, frequency index k
    k, r, c = 2, 3, 5
    omega = 10000 ** (-k / quarter)
    got = grid[r, c]
    assert got[k].item() == pytest.approx(math.sin(c * omega), abs=1e-6)
    assert got[quarter + k].item() == pytest.approx(math.cos(c * omega), abs=1e-6)
    assert got[2 * quarter + k].item() == pytest.approx(math.sin(r * omega), abs=1e-6)
    assert got[3 * quarter + k].item() == pytest.approx(math.cos(r * omega), abs=1e-6)
    assert emb.abs().max() <= 1.0
    assert len({tuple(e.tolist()) for e in emb}) == rows * cols  # every position distinct


def test_init_uses_sincos_positions() -> None:
    enc = CAVMAEEncoder(TINY_ENCODER, TINY_FRONTEND)
    torch.testing.assert_close(enc.pos_embed_a[0], sincos_pos_embed_2d(64, 8, 16))


def test_tokens_for_window_is_the_full_window() -> None:
    assert tokens_for_window(EncoderConfig(), FrontEndConfig(), 16_000) == 32
    assert tokens_for_window(EncoderConfig(), FrontEndConfig(), 1) == 32
    tiny = CAVMAEEncoder(TINY_ENCODER, TINY_FRONTEND)
    assert tokens_for_window(TINY_ENCODER, TINY_FRONTEND, 10) == tiny.tokens_per_window == 8


def test_bad_sizes_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="patches"):
        CAVMAEEncoder(TINY_ENCODER, FrontEndConfig(window_frames=250))
    with pytest.raises(ConfigError, match="heads"):
        CAVMAEEncoder(EncoderConfig(embed_dim=64, depth=2, num_heads=5), TINY_FRONTEND)
    with pytest.raises(ConfigError, match="pooled"):
        CAVMAEEncoder(EncoderConfig(embed_dim=64, depth=2, num_heads=4, time_pool=3), TINY_FRONTEND)
    with pytest.raises(ValueError, match="shape"):
        CAVMAEEncoder(TINY_ENCODER, TINY_FRONTEND)(torch.zeros(1, 128, 256))
