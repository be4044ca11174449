"""The original LTU computation, written from docs/paper.md alone with plain torch ops.

Tests compare our modules against these functions; they share no code with ``ltu``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def reference_forward(sd: dict[str, torch.Tensor], features: torch.Tensor, heads: int, depth: int, eps: float):
    """LTU's encoder written from docs/paper.md alone with plain torch ops; returns (patch tokens, audio tokens)."""
    dim = sd["modality_a"].shape[-1]
    image = features.transpose(1, 2).unsqueeze(1)  # (B, 1, F, T)
    x = F.conv2d(image, sd["patch_embed_a.proj.weight"], sd["patch_embed_a.proj.bias"], stride=16)
    rows, cols = x.shape[2], x.shape[3]
    x = x.flatten(2).transpose(1, 2) + sd["pos_embed_a"] + sd["modality_a"]  # (B, rows*cols, D)
    blocks = [(f"blocks_a.{i}", "norm1", "norm2") for i in range(depth - 1)] + [("blocks_u.0", "norm1_a", "norm2_a")]
    for blk, n1, n2 in blocks:
        p = lambda name: sd[f"{blk}.{name}"]  # noqa: E731
        h = F.layer_norm(x, (dim,), p(f"{n1}.weight"), p(f"{n1}.bias"), eps)
        qkv = F.linear(h, p("attn.qkv.weight"), p("attn.qkv.bias"))
        q, k, v = (t.reshape(x.shape[0], x.shape[1], heads, dim // heads).transpose(1, 2) for t in qkv.split(dim, -1))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dim // heads), dim=-1)
        attn = (weights @ v).transpose(1, 2).reshape(x.shape)
        x = x + F.linear(attn, p("attn.proj.weight"), p("attn.proj.bias"))
        h = F.layer_norm(x, (dim,), p(f"{n2}.weight"), p(f"{n2}.bias"), eps)
        h = F.gelu(F.linear(h, p("mlp.fc1.weight"), p("mlp.fc1.bias")))  # exact (erf) GELU
        x = x + F.linear(h, p("mlp.fc2.weight"), p("mlp.fc2.bias"))
    patches = F.layer_norm(x, (dim,), sd["norm_a.weight"], sd["norm_a.bias"], eps)
    t = patches.reshape(x.shape[0], rows, cols, dim).mean(dim=1)  # (B, cols, D)
    t = (t[:, 0::2] + t[:, 1::2]) / 2  # pairs in time
    return patches, t / 50

def reference_ltu_text_logits(official: dict[str, torch.Tensor], llm_dir: str, features: torch.Tensor,
                              text_ids: list[int], heads: int, depth: int, lora_alpha: float) -> torch.Tensor:
    """Text logits of the original LTU for one clip, from a released-layout state dict.

    docs/paper.md: the encoder's 32 tokens go through LayerNorm (no affine) + ``audio_proj.1``,
    are placed before all text embeddings (BOS included), run through LLaMA with LoRA on
    q/v (W + B A alpha / r), and the audio positions are dropped from the logits.
    """
    from transformers import AutoModelForCausalLM

    prefix = "base_model.model.model."
    enc = {k[len(prefix + "audio_encoder."):]: v for k, v in official.items() if k.startswith(prefix + "audio_encoder.")}
    _, tokens = reference_forward(enc, features, heads=heads, depth=depth, eps=1e-5)  # (1, 32, D)
    audio = F.linear(F.layer_norm(tokens, tokens.shape[-1:], eps=1e-5),
                     official[prefix + "audio_proj.1.weight"], official[prefix + "audio_proj.1.bias"])
    llm = AutoModelForCausalLM.from_pretrained(llm_dir, dtype=torch.float32).eval()
    with torch.no_grad():
        for i, layer in enumerate(llm.model.layers):
            for name in ("q_proj", "v_proj"):
                a = _lora(official, f"{prefix}layers.{i}.self_attn.{name}.lora_A")
                b = _lora(official, f"{prefix}layers.{i}.self_attn.{name}.lora_B")
                getattr(layer.self_attn, name).weight += (b @ a) * (lora_alpha / a.shape[0])
        text = llm.get_input_embeddings()(torch.tensor([text_ids]))
        logits = llm(inputs_embeds=torch.cat([audio, text], dim=1)).logits
    return logits[:, audio.shape[1]:]


def _lora(state: dict[str, torch.Tensor], stem: str) -> torch.Tensor:
    return state.get(f"{stem}.default.weight", state.get(f"{stem}.weight"))


def official_state_dict_from_parts(
    encoder: dict[str, torch.Tensor],
    projector: dict[str, torch.Tensor],
    lora: dict[str, torch.Tensor],
    with_default: bool = True,
) -> dict[str, torch.Tensor]:
    """Parts -> a state dict in the released layout (docs/paper.md "Released checkpoints").

    ``lora`` keys are peft's (``...lora_A.weight``); ``with_default`` writes peft 0.3's adapter
    name into them (``...lora_A.default.weight``) as the released files do.
    """
    prefix = "base_model.model.model."
    state = {f"{prefix}audio_encoder.{k}": v for k, v in encoder.items()}
    state.update({f"{prefix}audio_proj.{k}": v for k, v in projector.items()})
    for key, tensor in lora.items():
        if not key.endswith(".weight"):
            raise ValueError(f"{key} is not a peft LoRA weight key.")
        state[key[: -len(".weight")] + ".default.weight" if with_default else key] = tensor
    return state
