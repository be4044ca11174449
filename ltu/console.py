"""What a command prints: the answer the user asked for, not the libraries' chatter.

``quiet_libraries()`` is called by the command lines (``python -m ltu``, ``app.py``) before
torch, transformers and peft are imported: it turns off their warnings, info logs and
weight-loading progress bars (errors still show). Library users who import ``ltu`` keep the
libraries' defaults.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

# Loggers of the libraries LTU loads; bitsandbytes warns on every CPU import that an optional
# 4-bit kernel package ("kernels") is missing, although its built-in kernel works.
NOISY_LOGGERS = ("bitsandbytes", "transformers", "peft", "accelerate", "huggingface_hub", "torch")
NOISY_MODULES = r"(transformers|peft|accelerate|bitsandbytes|torch|huggingface_hub)(\.|$)"


def quiet_libraries() -> None:
    """Silence third-party warnings, info logs and progress bars for a command-line run."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # read when transformers first logs
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' "Loading weights" bar too
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=NOISY_MODULES)
    warnings.filterwarnings("ignore", category=FutureWarning)
    # The variables above are read when the libraries are imported; a command that imported them
    # first (``python -m train.eval`` imports torch and transformers at the top) is told directly.
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].utils.disable_progress_bars()
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()
        sys.modules["transformers"].utils.logging.set_verbosity_error()
