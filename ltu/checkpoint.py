"""Checkpoint folders: build, save and load a complete LTU model.

A checkpoint is one folder:

    ltu_config.json        LTUConfig: base LLM (hub id or folder) and every architecture choice
    audio.safetensors      projector, and the encoder when it is trained or has no other source
    adapter/               the LoRA adapter, as peft saves and loads it

Loading checks every key; a folder is written atomically (a crash never leaves a
half-written folder that looks complete).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model, set_peft_model_state_dict
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ltu import model_thread
from ltu.audio.length import with_max_seconds
from ltu.config import LTUConfig
from ltu.decode_weights import add_half_decode_copies
from ltu.encoders import build_encoder
from ltu.errors import CheckpointError, hub_fetch_failed
from ltu.files import STAGING_TAG, staged_folder
from ltu.model import LTUModel
from ltu.processor import LTUProcessor
from ltu.runtime import Runtime, load_llm
from ltu.weights import released
from ltu.weights.strict import load_strict

CONFIG_FILE = "ltu_config.json"
AUDIO_WEIGHTS = "audio.safetensors"
ADAPTER_DIR = "adapter"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
SUMMARY_PREFIX = "audio_summary."  # window-summary weights in AUDIO_WEIGHTS (ltu/summary.py), when the config has one
HINT_PREFIX = "audio_hint."  # class-hint weights in AUDIO_WEIGHTS (ltu/class_hint.py), when the config has one
# optional audio modules: key prefix in AUDIO_WEIGHTS -> (LTUModel attribute, name in messages, the config field)
OPTIONAL_AUDIO = {SUMMARY_PREFIX: ("audio_summary", "window summary", "encoder.window_summary is false"),
                  HINT_PREFIX: ("audio_hint", "class hint", "encoder.class_hint is empty")}
TRAINED_MODEL_DIR = "model"  # where a training run (python -m train) puts its final checkpoint
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def lora_config(config: LTUConfig, inference: bool) -> LoraConfig:
    """peft's LoraConfig for this model (paper.md "Language model and LoRA": r 8, alpha 16, dropout 0.05, q/v, no bias)."""
    assert config.lora is not None
    return LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
                      target_modules=list(config.lora.target_modules), bias="none", task_type="CAUSAL_LM",
                      inference_mode=inference)


def build_model(config: LTUConfig, runtime: Runtime = Runtime(), *, llm: Any = None, tokenizer: Any = None,
                trainable: bool = True) -> tuple[LTUModel, LTUProcessor]:
    """A new model: base LLM (+ fresh LoRA), encoder, randomly initialised projector."""
    if llm is None or tokenizer is None:
        llm, tokenizer = load_llm(config.llm, runtime)
    if config.lora is not None:
        llm = get_peft_model(llm, lora_config(config, inference=not trainable))
    encoder = build_encoder(config.encoder, config.frontend)
    if config.encoder.source:
        encoder.load_pretrained_weights(config.encoder.source)
    model = LTUModel(config, llm, encoder)
    _place_audio_modules(model, runtime)
    return model, LTUProcessor(config, tokenizer)


def save_pretrained(model: LTUModel, folder: str | Path) -> Path:
    """Write ``model`` as a checkpoint folder (atomically) and return its path."""
    target = Path(folder)
    with staged_folder(target) as staging:
        model.config.save(staging / CONFIG_FILE)
        save_file(_contiguous(audio_state_dict(model)), staging / AUDIO_WEIGHTS)
        if isinstance(model.llm, PeftModel):
            model.llm.save_pretrained(staging / ADAPTER_DIR)
            (staging / ADAPTER_DIR / "README.md").unlink(missing_ok=True)  # peft's empty card template
    return target


def audio_state_dict(model: LTUModel) -> dict[str, torch.Tensor]:
    """The audio-side weights a checkpoint stores (projector; encoder when it must travel)."""
    state = {f"audio_proj.{k}": v for k, v in model.audio_proj.state_dict().items()}
    for prefix, (attribute, _, _) in OPTIONAL_AUDIO.items():
        module = getattr(model, attribute)
        if module is not None:
            state.update({f"{prefix}{k}": v for k, v in module.state_dict().items()})
    if _stores_encoder(model.config):
        state.update({f"encoder.{k}": v for k, v in model.encoder.state_dict().items()})
    return state


def load_pretrained(source: str | Path, runtime: Runtime = Runtime(), *, trainable: bool = False,
                    llm: str | None = None, max_seconds: float | None = None) -> tuple[LTUModel, LTUProcessor]:
    """Load a checkpoint folder or Hugging Face repo id; ``llm`` overrides the base LLM location and
    ``max_seconds`` the longest clip the front end keeps (``ltu.audio.length``). For inference on a CPU the
    loading runs on the model thread (``ltu.model_thread``), as every later computation for answers does."""
    if trainable:
        return _load(source, runtime, trainable, llm, max_seconds)
    return model_thread.call(runtime.torch_device(), _load, source, runtime, trainable, llm, max_seconds)


def _load(source: str | Path, runtime: Runtime, trainable: bool, llm: str | None,
          max_seconds: float | None) -> tuple[LTUModel, LTUProcessor]:
    folder = resolve_checkpoint(source)
    config = with_max_seconds(LTUConfig.load(folder / CONFIG_FILE), max_seconds)
    if llm is not None:
        config = dataclasses.replace(config, llm=llm)
    base, tokenizer = load_llm(config.llm, runtime)
    if config.lora is not None:
        base = _load_adapter(base, config, folder / ADAPTER_DIR, trainable)
        if not trainable and runtime.quantization == "none":
            # For inference the low-rank update is added into the weights it adapts: each adapted layer is then
            # one matrix product instead of three plus peft's per-layer Python (decode speed: README "Performance").
            # Quantised weights keep the adapter apart: adding into them would round the update away.
            base = base.merge_and_unload()
    if not trainable and runtime.half_decode():
        add_half_decode_copies(base)  # after the merge, so the copies hold the adapted weights
    encoder = build_encoder(config.encoder, config.frontend)
    if not _stores_encoder(config):
        encoder.load_pretrained_weights(config.encoder.source)
    model = LTUModel(config, base, encoder)
    _load_audio_weights(model, folder / AUDIO_WEIGHTS)
    _place_audio_modules(model, runtime)
    model.train(trainable)
    return model, LTUProcessor(config, tokenizer)


def resolve_checkpoint(source: str | Path) -> Path:
    """A local checkpoint folder for ``source``: a folder, a released model's name (``ltu-7b``, fetched and
    converted once) or a Hugging Face repo id (fetched to the Hub cache)."""
    path = Path(source).expanduser()
    if STAGING_TAG in path.name:
        raise CheckpointError(f"{path} is an unfinished folder left by an interrupted save, not a checkpoint; "
                              f"delete it and use {path.parent / path.name[1:path.name.index(STAGING_TAG)]}.")
    if path.is_dir() and not (path / CONFIG_FILE).is_file() and (path / TRAINED_MODEL_DIR / CONFIG_FILE).is_file():
        path = path / TRAINED_MODEL_DIR  # a training run's output folder
    if path.is_dir():
        if not (path / CONFIG_FILE).is_file():
            raise CheckpointError(f"{path} has no {CONFIG_FILE}, so it is not an LTU checkpoint folder. "
                                  "A released paper file (.bin) must be converted first: python -m ltu convert-official.")
        return path
    if path.is_file():
        raise CheckpointError(f"{path} is a file; a checkpoint is a folder. To use the paper's released "
                              f"{path.suffix or 'weights'} file, convert it: python -m ltu convert-official --input {path}.")
    if released.is_released_name(str(source)):  # "ltu-7b": downloaded and converted on first use
        return released.fetch(str(source))
    if not _REPO_ID.match(str(source)):
        raise CheckpointError(f"No checkpoint folder at {source}; released models by name: "
                              f"{', '.join(released.RELEASED)}.")
    return _download(str(source))


def _download(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return resolve_checkpoint(snapshot_download(repo_id))
    except CheckpointError:
        raise
    except Exception as err:  # hub errors: offline, not found, gated; all mean "not here"
        raise CheckpointError(hub_fetch_failed(repo_id, "checkpoint", type(err).__name__)) from err


def _stores_encoder(config: LTUConfig) -> bool:
    return config.encoder.trainable or not config.encoder.source


def _load_adapter(llm: Any, config: LTUConfig, adapter_dir: Path, trainable: bool) -> PeftModel:
    weights = adapter_dir / ADAPTER_WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"The checkpoint's config asks for LoRA but {weights} is missing.")
    model = get_peft_model(llm, lora_config(config, inference=not trainable))
    state = _read_weights(weights)
    try:
        result = set_peft_model_state_dict(model, state)
    except RuntimeError as err:  # torch's "size mismatch for ...": an adapter made for another base LLM
        raise CheckpointError(f"The LoRA adapter in {adapter_dir} does not fit the base LLM '{config.llm}': "
                              f"{_first_mismatch(err)}.") from err
    missing = [k for k in result.missing_keys if "lora_" in k]
    if result.unexpected_keys or missing:
        raise CheckpointError(f"The LoRA adapter in {adapter_dir} does not fit the base LLM '{config.llm}': "
                              f"{len(missing)} missing, {len(result.unexpected_keys)} unexpected keys "
                              f"(e.g. {(missing + list(result.unexpected_keys))[:3]}).")
    return model


def _load_audio_weights(model: LTUModel, path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"The checkpoint has no {path.name}.")
    state = _read_weights(path)
    projector = {k.removeprefix("audio_proj."): v for k, v in state.items() if k.startswith("audio_proj.")}
    encoder = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
    other = [k for k in state if not k.startswith(("audio_proj.", "encoder.", *OPTIONAL_AUDIO))]
    if other:
        raise CheckpointError(f"{path.name} holds keys this model does not know: {other[:3]}.")
    load_strict(model.audio_proj, projector, "projector")
    for prefix, (attribute, name, off) in OPTIONAL_AUDIO.items():
        part = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        module = getattr(model, attribute)
        if module is not None:
            load_strict(module, part, name)
        elif part:
            raise CheckpointError(f"{path.name} holds {name} weights, but the config's {off}.")
    if _stores_encoder(model.config):
        load_strict(model.encoder, encoder, "audio encoder")
    elif encoder:
        raise CheckpointError(f"{path.name} holds encoder weights, but the config says the encoder comes from "
                              f"{model.config.encoder.source}.")


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors; a truncated or foreign file is a CheckpointError."""
    try:
        return load_file(path)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path} cannot be read ({err}); the file is truncated or damaged. "
                              "Copy or save the checkpoint again.") from err


def _first_mismatch(err: RuntimeError) -> str:
    lines = [line.strip() for line in str(err).splitlines() if "size mismatch" in line]
    return lines[0].rstrip(".") if lines else str(err).splitlines()[0]


def _place_audio_modules(model: LTUModel, runtime: Runtime) -> None:
    device, dtype = runtime.torch_device(), runtime.torch_dtype()
    model.encoder.to(device, dtype)
    model.audio_proj.to(device, dtype)
    for attribute, _, _ in OPTIONAL_AUDIO.values():
        module = getattr(model, attribute)
        if module is not None:
            module.to(device, dtype)


def _contiguous(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous().cpu() for k, v in state.items()}
