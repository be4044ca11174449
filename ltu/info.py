"""What a checkpoint folder holds, read without loading the LLM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors import safe_open

from ltu.checkpoint import ADAPTER_DIR, ADAPTER_WEIGHTS, AUDIO_WEIGHTS, CONFIG_FILE, resolve_checkpoint
from ltu.config import LTUConfig


def describe_checkpoint(source: str | Path) -> dict[str, Any]:
    """Architecture, parameter counts per group and files of a checkpoint."""
    folder = resolve_checkpoint(source)
    config = LTUConfig.load(folder / CONFIG_FILE)
    audio = _count(folder / AUDIO_WEIGHTS)
    lora = _count(folder / ADAPTER_DIR / ADAPTER_WEIGHTS)
    encoder = config.encoder
    return {
        "name": config.name,
        "folder": str(folder),
        "base_llm": config.llm,
        "encoder": f"{encoder.kind} (width {encoder.width}, {_encoder_source(config)})",
        "frontend": f"{config.frontend.kind}, {config.frontend.num_mel_bins} mel bins, "
                    f"{config.frontend.window_frames} frames per window, up to {config.frontend.max_seconds:g} s",
        "prompt": f"{config.prompt.format}, audio at {config.prompt.audio_position}",
        "lora": "none" if config.lora is None else
                f"r={config.lora.r} alpha={config.lora.alpha} on {', '.join(config.lora.target_modules)}",
        "params_projector": audio.get("audio_proj", 0),
        "params_window_summary": audio.get("audio_summary", 0),
        "params_class_hint": audio.get("audio_hint", 0),
        "params_encoder_stored": audio.get("encoder", 0),
        "params_lora": sum(lora.values()),
        "files": {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()},
    }


def _encoder_source(config: LTUConfig) -> str:
    if config.encoder.trainable or not config.encoder.source:
        return "weights in the checkpoint"
    return f"weights from {config.encoder.source}"


def _count(path: Path) -> dict[str, int]:
    """Parameters per top-level key prefix of a safetensors file (empty if absent)."""
    counts: dict[str, int] = {}
    if not path.is_file():
        return counts
    with safe_open(str(path), framework="pt") as f:
        for key in f.keys():
            numel = 1
            for dim in f.get_slice(key).get_shape():
                numel *= dim
            counts[key.split(".")[0]] = counts.get(key.split(".")[0], 0) + numel
    return counts
