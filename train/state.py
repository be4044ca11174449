"""Resumable training checkpoints, written atomically.

``<output_dir>/checkpoints/step-000120/`` holds ``model/`` (a checkpoint ``ltu`` loads)
and ``training_state.pt``: the trainable weights, optimizer, scheduler, every RNG and
the data position (with the loss of the metric window still open). A folder is renamed
into place only when complete, so a crash never leaves one that looks finished; a damaged
or mismatched one fails to load with a sentence. A fresh start in a folder that holds an
earlier run moves that run's files to ``earlier-N/``.
"""

from __future__ import annotations

import pickle
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ltu.checkpoint import CONFIG_FILE, TRAINED_MODEL_DIR, save_pretrained
from ltu.config import LTUConfig
from ltu.errors import CheckpointError
from ltu.files import STAGING_TAG, staged_folder
from ltu.model import LTUModel
from ltu.weights.strict import check_state

CHECKPOINTS = "checkpoints"
STATE_FILE = "training_state.pt"
STATE_KEYS = ("trainable", "optimizer", "scheduler", "progress", "rng")
STEP_PREFIX = "step-"
EARLIER_PREFIX = "earlier-"  # an earlier run set aside in the same output folder
CONFIG_COPY = "train_config.json"
SETTINGS_HISTORY = "train_config.history.jsonl"  # settings a resumed run replaced, one JSON line each
# What a run writes into its output folder (moved together when a run is set aside).
RUN_FILES = (CONFIG_COPY, SETTINGS_HISTORY, "metrics.jsonl", "loss.png", "tensorboard", TRAINED_MODEL_DIR,
             CHECKPOINTS)


@dataclass
class Progress:
    """Where a run is: optimizer steps done, micro-batches consumed, and the loss window not yet logged."""

    step: int = 0
    micro: int = 0
    window_loss: float = 0.0  # summed loss of the optimizer steps since the last metric line
    window_steps: int = 0  # how many optimizer steps that sum holds


def trainable_state(model: LTUModel) -> dict[str, torch.Tensor]:
    """The parameters that learn, by name."""
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(output_dir: Path, model: LTUModel, optimizer: Any, scheduler: Any, progress: Progress,
                    keep: int) -> Path:
    """Write a resumable checkpoint for ``progress.step`` and prune older ones."""
    root = output_dir / CHECKPOINTS
    target = root / f"{STEP_PREFIX}{progress.step:06d}"
    with staged_folder(target) as staging:
        save_pretrained(model, staging / TRAINED_MODEL_DIR)
        torch.save({
            "trainable": trainable_state(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "progress": progress.__dict__,
            "rng": _rng_state(),
        }, staging / STATE_FILE)
    for old in sorted(root.glob(f"{STEP_PREFIX}*"))[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return target


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The newest checkpoint folder, if any; one without its state file is an error, not skipped."""
    folders = sorted((output_dir / CHECKPOINTS).glob(f"{STEP_PREFIX}*"))
    if folders and not (folders[-1] / STATE_FILE).is_file():
        raise CheckpointError(f"The training checkpoint {folders[-1]} has no {STATE_FILE}, so it is incomplete "
                              "(copied or edited by hand?). Delete that folder to resume from the one before it.")
    return folders[-1] if folders else None


def remove_unfinished(output_dir: Path) -> list[Path]:
    """Delete staging folders that a killed run left behind (never complete, never read); returns them."""
    left = [p for folder in (output_dir, output_dir / CHECKPOINTS) if folder.is_dir()
            for p in folder.glob(f".*{STAGING_TAG}*") if p.is_dir()]
    for path in left:
        shutil.rmtree(path, ignore_errors=True)
    return left


def restore_checkpoint(folder: Path, model: LTUModel, optimizer: Any, scheduler: Any) -> Progress:
    """Load weights, optimizer, scheduler and RNG from ``folder``; return the position to go on from.

    A damaged or mismatched checkpoint is a CheckpointError that names the problem."""
    state = _read_state(folder / STATE_FILE)
    saved_config = folder / TRAINED_MODEL_DIR / CONFIG_FILE
    if saved_config.is_file() and LTUConfig.load(saved_config) != model.config:
        was, now = LTUConfig.load(saved_config).to_dict(), model.config.to_dict()
        changed = ", ".join(f"{k} {was[k]!r} -> {now[k]!r}" for k in now if was.get(k) != now[k])
        raise CheckpointError(f"The training checkpoint {folder} was made for another model ({changed}); "
                              "resume with the model it was trained with, or use a new output_dir.")
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    check_state(params, state["trainable"], f"training checkpoint {folder.name}'s trainable")
    with torch.no_grad():
        for name, value in state["trainable"].items():
            params[name].copy_(value)
    try:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    except (ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(f"The optimizer state in {folder} does not fit this run's trainable parameters "
                              f"({err}).") from err
    _set_rng_state(state["rng"])
    return Progress(**state["progress"])


def set_aside(output_dir: Path) -> Path | None:
    """Move an earlier run's files in ``output_dir`` into ``earlier-N/`` (kept, never overwritten)."""
    present = [output_dir / name for name in RUN_FILES if (output_dir / name).exists()]
    if not present:
        return None
    n = 1
    while (output_dir / f"{EARLIER_PREFIX}{n}").exists():
        n += 1
    folder = output_dir / f"{EARLIER_PREFIX}{n}"
    folder.mkdir()
    for path in present:
        path.replace(folder / path.name)
    return folder


def _read_state(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, weights_only=False)  # our own file: holds RNG byte states
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise CheckpointError(f"The training checkpoint {path} cannot be read ({type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else 'truncated'}). It is damaged: delete "
                              f"{path.parent} to resume from an earlier checkpoint.") from err
    missing = [k for k in STATE_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"The training checkpoint {path} lacks {', '.join(missing)}; it was not written "
                              "by this version of python -m train.")
    return state


def _rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
