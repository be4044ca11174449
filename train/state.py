"""Resumable training checkpoints, written atomically.

``<output_dir>/checkpoints/step-000120/`` holds ``model/`` (a checkpoint ``ltu`` loads)
and ``training_state.pt``: the trainable weights, optimizer, scheduler, every RNG and
the data position. A folder is renamed into place only when complete, so a crash never
leaves one that looks finished.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ltu.checkpoint import TRAINED_MODEL_DIR, save_pretrained
from ltu.files import staged_folder
from ltu.model import LTUModel

CHECKPOINTS = "checkpoints"
STATE_FILE = "training_state.pt"
STEP_PREFIX = "step-"


@dataclass
class Progress:
    """Where a run is: optimizer steps done and micro-batches consumed."""

    step: int = 0
    micro: int = 0


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
    """The newest complete checkpoint folder, if any."""
    done = [p for p in sorted((output_dir / CHECKPOINTS).glob(f"{STEP_PREFIX}*")) if (p / STATE_FILE).is_file()]
    return done[-1] if done else None


def restore_checkpoint(folder: Path, model: LTUModel, optimizer: Any, scheduler: Any) -> Progress:
    """Load weights, optimizer, scheduler and RNG from ``folder``; return the position to go on from."""
    state = torch.load(folder / STATE_FILE, weights_only=False)  # our own file: holds RNG byte states
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state["trainable"].items():
            params[name].copy_(value)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"])
    return Progress(**state["progress"])


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
