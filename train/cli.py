"""Command line for a training stage; user errors exit 2 with a short reason."""

from __future__ import annotations

import sys
from typing import Sequence

from ltu.errors import USER_ERROR, LTUError

USAGE = """usage: python -m train [CONFIG.yaml] key=value ...

Trains one stage of the LTU curriculum. CONFIG.yaml holds settings (see train/configs/);
key=value pairs override them; unknown keys are errors. Multi-GPU: accelerate launch -m train ...
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one stage; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else USER_ERROR
    config_file = args[0] if "=" not in args[0] else None
    overrides = args[1:] if config_file else args
    from train.config import load_train_config

    try:
        cfg = load_train_config(config_file, overrides)  # settings are checked before torch is even imported
        from train.recipe import run

        run(cfg)
    except LTUError as err:
        print(f"error: {err}", file=sys.stderr)
        return USER_ERROR
    return 0
