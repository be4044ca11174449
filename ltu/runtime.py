"""Where and how the model runs: device, dtype, quantisation; loading the base LLM.

These are load-time choices, not part of a checkpoint: the same checkpoint runs in fp32
on a laptop CPU or in 4-bit on a small GPU.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any, Literal

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

from ltu.errors import CheckpointError, DeviceError, hub_fetch_failed
from ltu.weights.packaged import locate

Quantization = Literal["none", "8bit", "4bit"]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
CPU_4BIT_BLOCK = 32  # bitsandbytes 0.50's CPU 4-bit kernel rejects layers whose out_features is not a multiple of 32


@dataclass(frozen=True)
class Runtime:
    """Device, dtype and quantisation for loading a model."""

    device: str = "auto"  # "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", "mps"
    dtype: str = "auto"  # "auto" (bfloat16 on CUDA, float32 elsewhere; see half_decode), "float32", "bfloat16", "float16"
    quantization: Quantization = "none"  # the LLM's weights: "none", "8bit" or "4bit" (nf4) via bitsandbytes

    def torch_device(self) -> torch.device:
        """The resolved device; raises DeviceError when it is not available here."""
        name = self.device
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise DeviceError(f"Device '{name}' was asked for, but this machine has no CUDA GPU "
                              f"(torch {torch.__version__}). Use --device cpu.")
        if name == "mps" and not torch.backends.mps.is_available():
            raise DeviceError("Device 'mps' was asked for, but Apple's Metal backend is not available here.")
        try:
            return torch.device(name)
        except RuntimeError as err:
            raise DeviceError(f"'{name}' is not a device name torch knows (try cpu or cuda).") from err

    def torch_dtype(self) -> torch.dtype:
        """The resolved floating dtype for weights and activations."""
        if self.dtype == "auto":
            return torch.bfloat16 if self.torch_device().type == "cuda" else torch.float32
        if self.dtype not in DTYPES:
            raise DeviceError(f"Unknown dtype '{self.dtype}'; choose one of auto, {', '.join(DTYPES)}.")
        return DTYPES[self.dtype]

    def half_decode(self) -> bool:
        """Whether answering adds half-precision copies of the LLM's weights (float16 for one-token decoding,
        bfloat16 for prompts on CPUs with bfloat16 instructions; ``ltu.decode_weights``): with dtype "auto" on
        a CPU and no quantisation."""
        return self.dtype == "auto" and self.quantization == "none" and self.torch_device().type == "cpu"

    def quantization_config(self) -> BitsAndBytesConfig | None:
        """The bitsandbytes config for the LLM, or None; checks that bitsandbytes is installed."""
        if self.quantization == "none":
            return None
        if self.quantization not in ("8bit", "4bit"):
            raise DeviceError(f"Unknown quantization '{self.quantization}'; choose none, 8bit or 4bit.")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise DeviceError(f"{self.quantization} quantisation needs the bitsandbytes package: pip install bitsandbytes.")
        if self.quantization == "8bit":
            return BitsAndBytesConfig(load_in_8bit=True)
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=self.torch_dtype())


def load_llm(name: str, runtime: Runtime) -> tuple[Any, Any]:
    """Load the base causal LM and its tokenizer from a hub id, a folder or ``packaged:NAME``."""
    name = locate(name)
    device = runtime.torch_device()
    quant = runtime.quantization_config()
    kwargs: dict[str, Any] = {"dtype": runtime.torch_dtype()}
    if quant is not None:
        kwargs.update(quantization_config=quant, device_map={"": device})
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        llm = AutoModelForCausalLM.from_pretrained(name, **kwargs)
    except OSError as err:
        raise CheckpointError(_not_found(name, "base LLM", err)) from err
    if quant is None:
        llm.to(device)
    if quant is not None and device.type == "cpu" and runtime.quantization == "4bit":
        _check_cpu_4bit(llm)
    return llm, tokenizer


def _check_cpu_4bit(llm: torch.nn.Module) -> None:
    for name, module in llm.named_modules():
        out = getattr(module, "out_features", None)
        if type(module).__name__ == "Linear4bit" and out is not None and out % CPU_4BIT_BLOCK:
            raise DeviceError(f"4-bit on CPU needs every quantised layer's width divisible by {CPU_4BIT_BLOCK}, "
                              f"but {name} has {out}; use 8bit or none on this machine.")


def _not_found(name: str, what: str, err: Exception) -> str:
    if os.path.isdir(name):
        return f"The {what} folder {name} could not be read: {err}"
    if os.path.exists(name) or name.startswith((".", "/", "~")):
        return f"The {what} {name} is not a folder that holds a model."
    return hub_fetch_failed(name, what)
