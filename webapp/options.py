"""Serving options for ``python app.py``: command-line flags, each with an environment variable.

Flags win over environment variables, which win over the defaults. Hosted use (a Hugging
Face Space, a container) sets the environment; a person at a terminal uses the flags.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Mapping, Sequence

from ltu.audio.length import MAX_SECONDS_CEILING, check_max_seconds
from ltu.cli import DEFAULT_CHECKPOINT, DTYPE_HELP
from ltu.config import LTUConfig
from ltu.errors import ConfigError
from ltu.runtime import Runtime

QUANTIZATION_CHOICES = ("auto", "none", "8bit", "4bit")
PAPER_ENCODER = "cavmae"  # the paper's LTU-7B: CAV-MAE audio encoder ...
PAPER_LLM_FAMILY = "vicuna"  # ... on Vicuna-7B; 4-bit keeps it within a 16 GB GPU


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``app.py`` needs to load a model and serve the page."""

    checkpoint: str = str(DEFAULT_CHECKPOINT)  # checkpoint folder or hub repo id
    llm: str | None = None  # load the base LLM from here instead of the one the checkpoint names
    device: str = "auto"
    dtype: str = "auto"
    quantization: str = "auto"  # "auto": 4bit for the paper's checkpoint on CUDA, else none
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False  # a public *.gradio.live link (needs network access to Gradio's tunnel)
    concurrency: int = 1  # answers generated at the same time (one model is shared; a CPU model computes one at a time)
    max_queue: int = 16  # requests waiting beyond that; more are turned away with a message
    max_seconds: float | None = None  # the longest clip the model hears; None: the checkpoint's frontend.max_seconds


def parse_options(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ServeOptions:
    """Read flags, falling back to environment variables, then to the defaults."""
    env = os.environ if environ is None else environ
    d = ServeOptions()
    p = argparse.ArgumentParser(prog="python app.py", description="Serve LTU as a web page: record or upload a "
                                "sound and chat about it.")
    p.add_argument("--checkpoint", "-c", default=env.get("LTU_CHECKPOINT", d.checkpoint),
                   help="checkpoint folder or Hugging Face repo id [LTU_CHECKPOINT; default: the embedded "
                        "model]")
    p.add_argument("--llm", default=env.get("LTU_LLM") or None,
                   help="load the base LLM from this folder or hub id instead of the one the checkpoint names "
                        "[LTU_LLM]")
    p.add_argument("--device", default=env.get("LTU_DEVICE", d.device),
                   help="auto, cpu, cuda, cuda:N, mps [LTU_DEVICE]")
    p.add_argument("--dtype", default=env.get("LTU_DTYPE", d.dtype),
                   help=f"{DTYPE_HELP} [LTU_DTYPE]")
    p.add_argument("--quantization", "-q", default=env.get("LTU_QUANTIZATION", d.quantization),
                   choices=QUANTIZATION_CHOICES,
                   help="LLM weights: auto (4bit for the paper's model on a GPU, else none), none, 8bit, 4bit "
                        "[LTU_QUANTIZATION]")
    p.add_argument("--host", default=env.get("GRADIO_SERVER_NAME", d.host),
                   help="address to listen on; 0.0.0.0 for every network interface [GRADIO_SERVER_NAME]")
    p.add_argument("--port", type=int, default=_int(env, "GRADIO_SERVER_PORT", d.port),
                   help="port to listen on [GRADIO_SERVER_PORT]")
    p.add_argument("--share", action="store_true", default=_bool(env, "GRADIO_SHARE", d.share),
                   help="also serve through a temporary public gradio.live link [GRADIO_SHARE]")
    p.add_argument("--concurrency", type=int, default=_int(env, "LTU_CONCURRENCY", d.concurrency),
                   help="answers generated at the same time [LTU_CONCURRENCY]")
    p.add_argument("--max-queue", type=int, default=_int(env, "LTU_MAX_QUEUE", d.max_queue),
                   help="requests that may wait for a turn [LTU_MAX_QUEUE]")
    p.add_argument("--max-seconds", type=float, default=_float(env, "LTU_MAX_SECONDS", d.max_seconds),
                   help=f"the longest clip the model hears, in seconds, up to {MAX_SECONDS_CEILING:g} (10 minutes); "
                        "the page marks the rest of a longer clip as not heard [LTU_MAX_SECONDS; default: the "
                        "checkpoint's, 60 for LTU-small]")
    args = p.parse_args(argv)
    if args.quantization not in QUANTIZATION_CHOICES:  # argparse checks flags, not environment defaults
        p.error(f"LTU_QUANTIZATION must be one of {', '.join(QUANTIZATION_CHOICES)}, not {args.quantization!r}")
    if args.concurrency < 1 or args.max_queue < 1:
        p.error("--concurrency and --max-queue must be at least 1")
    if args.max_seconds is not None:
        try:
            check_max_seconds(args.max_seconds)
        except ConfigError as err:
            p.error(str(err))
    return ServeOptions(**vars(args))


def is_paper_model(config: LTUConfig) -> bool:
    """True for the paper's LTU-7B layout (CAV-MAE encoder on a Vicuna LLM)."""
    return config.encoder.kind == PAPER_ENCODER and PAPER_LLM_FAMILY in config.llm.lower()


def choose_runtime(options: ServeOptions, config: LTUConfig) -> Runtime:
    """The Runtime to load with; resolves ``quantization="auto"``."""
    quantization = options.quantization
    if quantization == "auto":
        on_gpu = Runtime(device=options.device).torch_device().type == "cuda"
        quantization = "4bit" if on_gpu and is_paper_model(config) else "none"
    return Runtime(device=options.device, dtype=options.dtype, quantization=quantization)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "a whole number")  # type: ignore[return-value]


def _float(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    return _number(env, name, default, float, "a number")


def _number(env: Mapping[str, str], name: str, default: float | None, kind: type, what: str) -> float | None:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except ValueError as err:
        raise ConfigError(f"The environment variable {name} must be {what}, not {value!r}.") from err


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"The environment variable {name} must be true or false, not {value!r}.")
