"""The released LTU checkpoints' key layout (``ltu_ori_paper.bin`` and its kin): pure key mapping.

A released file is a state dict of a peft-wrapped LLaMA holding only the keys that
contain ``lora`` or ``audio`` (``docs/paper.md``, "Released checkpoints")::

    base_model.model.model.audio_encoder.<CAVMAEEncoder key>
    base_model.model.model.audio_proj.1.{weight,bias}                 # Linear(768 -> LLM width)
    base_model.model.model.layers.<i>.self_attn.{q,v}_proj.lora_{A,B}[.default].weight

This module splits such a dict into the encoder's state dict, the projector's and a LoRA
adapter state dict in the format peft saves and loads. It builds no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ltu.errors import CheckpointError

OFFICIAL_PREFIX = "base_model.model.model."  # peft's PeftModel -> LlamaForCausalLM -> LlamaModel
ENCODER_PREFIX = OFFICIAL_PREFIX + "audio_encoder."
PROJECTOR_PREFIX = OFFICIAL_PREFIX + "audio_proj."
ADAPTER_NAME = "default"  # peft's adapter name, written into keys by peft 0.3 (the released files)

# Keys of CAVMAEEncoder: the audio branch of CAV-MAE, as the released files hold it
_ENCODER_KEY = re.compile(
    r"(patch_embed_a\.proj\.(weight|bias)|pos_embed_a|modality_a|norm_a\.(weight|bias)"
    r"|blocks_[au]\.\d+\.(norm1|norm2|norm1_a|norm2_a|norm1_v|norm2_v|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)"
    r"\.(weight|bias))"
)
# Parts of a full CAV-MAE (YuanGongND/cav-mae, src/models/cav_mae.py: CAVMAE / CAVMAEFT) that LTU does not use.
# The released LTU files carry none of them (their audio_encoder is the audio-only CAVMAEFTAudio); a file made
# from a full CAV-MAE checkpoint would, and they are dropped with these reasons.
_UNUSED_CAVMAE_PARTS = {
    "patch_embed_v": "visual branch of CAV-MAE (LTU uses audio only)",
    "pos_embed_v": "visual branch of CAV-MAE (LTU uses audio only)",
    "modality_v": "visual branch of CAV-MAE (LTU uses audio only)",
    "blocks_v": "visual branch of CAV-MAE (LTU uses audio only)",
    "norm_v": "visual branch of CAV-MAE (LTU uses audio only)",
    "norm": "CAV-MAE's joint audio-visual output norm (LTU uses norm_a)",
    "mlp_head": "CAV-MAE's classification head (LTU pools patch tokens instead)",
    "mask_token": "CAV-MAE's pre-training decoder",
}
_DECODER_PART = "CAV-MAE's pre-training decoder"
_PROJECTOR_KEY = re.compile(r"1\.(weight|bias)")
_LORA_KEY = re.compile(r"layers\.(\d+)\.((?:\w+\.)*?(\w+))\.lora_([AB])(?:\." + ADAPTER_NAME + r")?\.weight")


@dataclass
class OfficialParts:
    """A released checkpoint split into the parts this project loads."""

    encoder: dict[str, torch.Tensor]  # keys as CAVMAEEncoder.state_dict()
    projector: dict[str, torch.Tensor]  # "1.weight", "1.bias": Sequential(LayerNorm(no affine), Linear)
    lora: dict[str, torch.Tensor]  # peft adapter keys "base_model.model.model.layers.{i}.<module>.lora_{A,B}.weight"
    dropped: dict[str, str]  # official key -> why it is not used
    lora_rank: int  # r, from lora_A's first dimension (8 in the paper)
    num_layers: int  # LLM layers that carry LoRA (32 for Vicuna-7B)
    llm_width: int  # LLM hidden size, from the projector's output (4096 for Vicuna-7B)
    lora_targets: tuple[str, ...]  # LoRA target module names, sorted ("q_proj", "v_proj")

    @property
    def encoder_width(self) -> int:
        """Width of the encoder tokens (768 in the paper)."""
        return int(self.encoder["modality_a"].shape[-1])

    @property
    def encoder_depth(self) -> int:
        """Transformer blocks in the encoder (12 in the paper: blocks_a and blocks_u)."""
        return len({k.split(".")[0] + "." + k.split(".")[1] for k in self.encoder if k.startswith("blocks_")})


def load_official_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a released checkpoint (a torch pickle of a state dict) onto the CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint file at {path}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch.load raises many types for foreign or corrupt files
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({first_line}).") from err
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise CheckpointError(f"{path} does not hold a state dict (a mapping of names to tensors).")
    return state


def split_official_state_dict(state: dict[str, torch.Tensor]) -> OfficialParts:
    """Split a released checkpoint into encoder, projector and LoRA parts; every key must be accounted for."""
    encoder: dict[str, torch.Tensor] = {}
    projector: dict[str, torch.Tensor] = {}
    lora: dict[str, torch.Tensor] = {}
    dropped: dict[str, str] = {}
    unknown: list[str] = []
    for key, tensor in state.items():
        if key.startswith(ENCODER_PREFIX):
            name = key[len(ENCODER_PREFIX) :]
            if _ENCODER_KEY.fullmatch(name):
                encoder[name] = tensor
            elif (reason := _unused_cavmae_reason(name)) is not None:
                dropped[key] = reason
            else:
                unknown.append(key)
        elif key.startswith(PROJECTOR_PREFIX) and _PROJECTOR_KEY.fullmatch(key[len(PROJECTOR_PREFIX) :]):
            projector[key[len(PROJECTOR_PREFIX) :]] = tensor
        elif key.startswith(OFFICIAL_PREFIX) and (match := _LORA_KEY.fullmatch(key[len(OFFICIAL_PREFIX) :])):
            layer, module, _, side = match.groups()
            peft_key = f"{OFFICIAL_PREFIX}layers.{layer}.{module}.lora_{side}.weight"
            if peft_key in lora:
                raise CheckpointError(f"The checkpoint holds {peft_key} twice (with and without the adapter name).")
            lora[peft_key] = tensor
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(
            f"The checkpoint has {len(unknown)} key(s) that are not part of a released LTU model, "
            f"e.g. {', '.join(unknown[:5])}."
        )
    if not encoder or set(projector) != {"1.weight", "1.bias"}:
        raise CheckpointError(
            "The checkpoint lacks the audio encoder or the audio projection "
            f"({OFFICIAL_PREFIX}audio_encoder.* and {OFFICIAL_PREFIX}audio_proj.1.{{weight,bias}})."
        )
    rank, layers, targets = _lora_shape(lora)
    return OfficialParts(
        encoder=encoder,
        projector=projector,
        lora=lora,
        dropped=dropped,
        lora_rank=rank,
        num_layers=layers,
        llm_width=int(projector["1.weight"].shape[0]),
        lora_targets=targets,
    )


def _unused_cavmae_reason(name: str) -> str | None:
    """Why a full CAV-MAE key is dropped, or None when it is not a known CAV-MAE part."""
    top = name.split(".")[0]
    if top.startswith("decoder_"):
        return _DECODER_PART
    return _UNUSED_CAVMAE_PARTS.get(top)


def _lora_shape(lora: dict[str, torch.Tensor]) -> tuple[int, int, tuple[str, ...]]:
    """(rank, layers, targets) of a LoRA state dict, after checking it is complete and consistent."""
    if not lora:
        return 0, 0, ()
    entries = [_LORA_KEY.fullmatch(k[len(OFFICIAL_PREFIX) :]).groups() for k in lora]  # (layer, module, name, side)
    layers = sorted({int(e[0]) for e in entries})
    modules = sorted({e[1] for e in entries})
    expected = {f"{OFFICIAL_PREFIX}layers.{i}.{m}.lora_{s}.weight" for i in layers for m in modules for s in "AB"}
    if layers != list(range(len(layers))) or set(lora) != expected:
        missing = sorted(expected - set(lora))[:3]
        raise CheckpointError(
            "The checkpoint's LoRA weights are incomplete: every layer from 0 on needs lora_A and lora_B for "
            f"each of {', '.join(modules)}" + (f"; missing e.g. {', '.join(missing)}." if missing else ".")
        )
    ranks = {v.shape[0] for k, v in lora.items() if ".lora_A." in k} | {
        v.shape[1] for k, v in lora.items() if ".lora_B." in k
    }
    if len(ranks) != 1:
        raise CheckpointError(f"The checkpoint's LoRA weights disagree on the rank: {sorted(ranks)}.")
    targets = tuple(sorted({e[2] for e in entries}))
    return ranks.pop(), len(layers), targets
