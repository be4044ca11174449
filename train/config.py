"""Training configuration: a YAML file plus ``key=value`` overrides; unknown keys are errors."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args, get_type_hints

import yaml

from ltu.config import dataclass_from_dict
from ltu.errors import ConfigError

GROUPS = ("encoder", "projector", "lora")


@dataclass(frozen=True)
class TrainConfig:
    """One training stage. Defaults follow the paper where it says something (paper.md "Training curriculum")."""

    # --- what to train
    train_data: str  # JSON list or JSON Lines of OpenAQA rows
    output_dir: str  # run folder: final checkpoint in <output_dir>/model, resumable state in checkpoints/
    init_from: str | None = None  # checkpoint folder to start from (e.g. the previous stage's output_dir)
    model: str | None = None  # ltu_config.json (or YAML) for a new model, when init_from is not given
    # the fitted class hint (python -m train.hint) a new model starts with, when its encoder.class_hint names classes
    class_hint: str | None = None
    # share of audio windows whose tokens a model with a class hint sees as the hint alone while training (the
    # window's own tokens zeroed), so the LLM must learn to answer from the hint (ltu/class_hint.py "hint_only")
    hint_only: float = 0.0
    trainable: tuple[str, ...] = ("projector",)  # groups that learn: encoder, projector, lora
    data_root: str | None = None  # relative audio_id paths are read from here (default: the data file's folder)
    eval_data: str | None = None  # optional held-out rows: loss reported at every checkpoint
    # --- optimisation (paper.md "Training curriculum": AdamW, 100 warm-up steps, stage lrs 1e-3 / 1e-4)
    lr: float = 1e-3
    epochs: float = 1.0
    max_steps: int = 0  # >0 overrides epochs
    batch_size: int = 8  # per device, per step
    grad_accum: int = 1  # optimizer step every grad_accum batches (paper: effective batch 256)
    warmup_steps: int = 100
    schedule: Literal["cosine", "linear", "constant"] = "cosine"  # decay after warm-up
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0  # 0 disables clipping
    # --- data
    train_on_inputs: bool = True  # paper.md "Training curriculum": the paper's scripts train on prompt and answer
    max_text_tokens: int = 108  # paper.md "Training curriculum": sequences cut at 108 text tokens
    skip_bad_rows: bool = False  # otherwise a validation report stops the run
    cache_dir: str | None = None  # feature cache (default: <data folder>/.ltu-cache)
    transcripts: bool = True  # fill empty input fields with the model's transcriber (if its config names one)
    # train.augment: copies of every clip sent through a random recording chain (cached like the clip); each
    # training row reads the clip or one of its copies, chosen by the row, with the clip's own transcript
    augment_copies: int = 0
    shuffle: bool = True
    # --- machine
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when present (accelerate launch picks the GPU)
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"  # on GPU; CPU runs in fp32
    gradient_checkpointing: bool = False
    quantization: Literal["none", "8bit", "4bit"] = "none"  # QLoRA: 4-bit base LLM, LoRA in full precision
    # --- bookkeeping
    save_every: int = 0  # optimizer steps between resumable checkpoints (0: only at the end)
    keep_checkpoints: int = 1  # resumable checkpoints kept on disk
    log_every: int = 10  # optimizer steps between metric lines
    seed: int = 0
    resume: bool = True  # continue from the newest checkpoint in output_dir when there is one
    stop_after: int = 0  # testing aid: end the process after this many optimizer steps (0: never)

    # Settings that may change when a run resumes (the machine and bookkeeping); any other change
    # would silently make a different run, so resuming refuses it.
    RESUMABLE_CHANGES: ClassVar[tuple[str, ...]] = (
        "output_dir", "eval_data", "cache_dir", "device", "mixed_precision", "gradient_checkpointing",
        "save_every", "keep_checkpoints", "log_every", "resume", "stop_after")

    def __post_init__(self) -> None:
        self._check_types()
        unknown = [g for g in self.trainable if g not in GROUPS]
        if unknown or not self.trainable:
            raise ConfigError(f"trainable must name some of {', '.join(GROUPS)}; got {list(self.trainable)}.")
        if self.init_from is None and self.model is None:
            raise ConfigError("Say where the model comes from: init_from (a checkpoint) or model (an ltu_config.json).")
        if self.batch_size < 1 or self.grad_accum < 1 or self.log_every < 1:
            raise ConfigError("batch_size, grad_accum and log_every must be at least 1.")
        for name in ("lr", "epochs"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be above 0, not {getattr(self, name)}.")
        for name in ("max_steps", "warmup_steps", "weight_decay", "max_grad_norm", "save_every", "augment_copies"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, not {getattr(self, name)}.")

    def _check_types(self) -> None:
        """Text, yes/no and number settings must be what they say (YAML reads ``shuffle=maybe`` as text)."""
        expected = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
        hints = get_type_hints(TrainConfig)
        for f in dataclasses.fields(self):
            value, hint = getattr(self, f.name), hints[f.name]
            if value is None and type(None) not in get_args(hint):
                raise ConfigError(f"{f.name} must be given a value.")
            kinds = [t for t in get_args(hint) or (hint,) if t is not type(None)]
            if value is None or len(kinds) != 1 or kinds[0] not in expected:
                continue  # Literal choices and tuples are checked by dataclass_from_dict
            kind = kinds[0]
            fits = isinstance(value, (int, float)) if kind is float else isinstance(value, kind)
            if not fits or (kind is not bool and isinstance(value, bool)):
                raise ConfigError(f"{f.name} must be {expected[kind]}, not {value!r}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


def load_train_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:  # type: ignore[assignment]
    """Read a YAML/JSON config and apply ``key=value`` overrides (values parsed as YAML)."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"Cannot read the training config {path}: {err}") from err
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a mapping of settings.")
        _relative_to(data, Path(path).parent)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"Override '{item}' is not of the form key=value.")
        data[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return build_train_config(data)


def build_train_config(data: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from a dict; unknown keys and wrong types or values are errors with a sentence."""
    return dataclass_from_dict(TrainConfig, data, "the training config", what="training setting")


def _relative_to(data: dict[str, Any], base: Path) -> None:
    """Paths in a config file that start with './' are relative to the file, as a reader expects."""
    for key in ("train_data", "eval_data", "data_root", "model", "init_from", "output_dir", "cache_dir", "class_hint"):
        value = data.get(key)
        if isinstance(value, str) and value.startswith("./"):
            data[key] = str(base / value)


def save_json(config: TrainConfig, path: Path) -> None:
    """Write the exact settings a run used."""
    path.write_text(json.dumps(config.to_dict(), indent=2) + "\n")

