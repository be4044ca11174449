"""Strict state-dict loading: every expected key present, nothing extra, every shape right.

A mismatch is a ``CheckpointError`` whose sentence names what was being loaded and a few
examples of each kind of mismatch, so a wrong base model or a truncated file is obvious.
"""

from __future__ import annotations

import torch
from torch import nn

from ltu.errors import CheckpointError

EXAMPLES = 3  # keys named per kind of mismatch


def check_state(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], what: str) -> None:
    """Raise ``CheckpointError`` unless ``found`` has exactly the keys and shapes of ``expected``."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = [f"{k} {tuple(found[k].shape)} vs {tuple(v.shape)}"
             for k, v in expected.items() if k in found and found[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = [f"{len(keys)} {kind} (e.g. {', '.join(keys[:EXAMPLES])})"
                 for kind, keys in (("missing", missing), ("unexpected", unexpected), ("with the wrong shape", wrong))
                 if keys]
        raise CheckpointError(f"The {what} weights do not fit: {'; '.join(parts)}.")


def load_strict(module: nn.Module, state: dict[str, torch.Tensor], what: str, assign: bool = False) -> None:
    """Load ``state`` into ``module`` after ``check_state``; ``what`` names it in the error."""
    check_state(module.state_dict(), state, what)
    module.load_state_dict(state, strict=True, assign=assign)
