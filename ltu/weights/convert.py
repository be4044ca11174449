"""Convert a released LTU checkpoint (``ltu_ori_paper.bin``) into a checkpoint folder.

Conversion needs no LLM weights: the folder's config names the base LLM (Vicuna-7B for
the paper), and the LLM is read only when the converted folder is loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from ltu.checkpoint import ADAPTER_DIR, ADAPTER_WEIGHTS, AUDIO_WEIGHTS, CONFIG_FILE, lora_config
from ltu.config import PAPER_LLM, EncoderConfig, LoRAConfig, LTUConfig, paper_config
from ltu.files import staged_folder
from ltu.weights.official import OfficialParts, load_official_file, split_official_state_dict

VIT_HEAD_WIDTH = 64  # ViT-B: 768 channels in 12 heads of 64


@dataclass
class ConversionReport:
    """What happened to every key of the released file."""

    total_keys: int
    encoder_keys: int
    projector_keys: int
    lora_keys: int
    dropped: dict[str, str]
    config: LTUConfig

    def summary(self) -> str:
        """A few lines for people."""
        lines = [f"{self.total_keys} keys read: {self.encoder_keys} encoder, {self.projector_keys} projector, "
                 f"{self.lora_keys} LoRA, {len(self.dropped)} dropped."]
        lines += [f"  dropped {key}: {why}" for key, why in list(self.dropped.items())[:10]]
        if len(self.dropped) > 10:
            lines.append(f"  ... and {len(self.dropped) - 10} more dropped keys")
        lines.append(f"base LLM: {self.config.llm}; encoder depth {self.config.encoder.depth}, "
                     f"width {self.config.encoder.embed_dim}; LoRA r={self.config.lora.r} on "  # type: ignore[union-attr]
                     f"{', '.join(self.config.lora.target_modules)}")  # type: ignore[union-attr]
        return "\n".join(lines)


def config_for(parts: OfficialParts, llm: str, num_heads: int | None = None) -> LTUConfig:
    """The paper config, sized from what the file actually holds.

    Head count cannot be read from weights: by default 64 channels per head (ViT-B: 12).
    LoRA alpha is not stored either: the paper's scale alpha = 2r (r 8, alpha 16) is kept.
    """
    base = paper_config(llm)
    heads = num_heads or max(1, parts.encoder_width // VIT_HEAD_WIDTH)
    encoder: EncoderConfig = dataclasses.replace(base.encoder, embed_dim=parts.encoder_width,
                                                 depth=parts.encoder_depth, num_heads=heads)
    lora = LoRAConfig(r=parts.lora_rank, alpha=2 * parts.lora_rank, target_modules=parts.lora_targets)
    return dataclasses.replace(base, encoder=encoder, lora=lora)


def convert_official(source: str | Path, output: str | Path, llm: str = PAPER_LLM,
                     num_heads: int | None = None) -> ConversionReport:
    """Write a checkpoint folder for the released file ``source``; return the key report."""
    state = load_official_file(source)
    parts = split_official_state_dict(state)  # raises unless the file holds an encoder and a projector
    config = config_for(parts, llm, num_heads)
    _write_folder(Path(output), config, parts)
    return ConversionReport(len(state), len(parts.encoder), len(parts.projector), len(parts.lora), parts.dropped, config)


def _write_folder(target: Path, config: LTUConfig, parts: OfficialParts) -> None:
    with staged_folder(target) as staging:
        (staging / ADAPTER_DIR).mkdir()
        config.save(staging / CONFIG_FILE)
        audio = {f"audio_proj.{k}": v for k, v in parts.projector.items()}
        audio.update({f"encoder.{k}": v for k, v in parts.encoder.items()})
        save_file(_plain(audio), staging / AUDIO_WEIGHTS)
        adapter = lora_config(config, inference=True)
        adapter.base_model_name_or_path = config.llm
        adapter.save_pretrained(str(staging / ADAPTER_DIR))
        save_file(_plain(parts.lora), staging / ADAPTER_DIR / ADAPTER_WEIGHTS)


def _plain(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
