"""LTU: Listen, Think, and Understand, on stock Hugging Face libraries.

    from ltu import load_pretrained, ChatSession
    model, processor = load_pretrained("checkpoints/ltu-small")
    chat = ChatSession(model, processor, "assets/dog.mp3")
    print(chat.answer("What is this sound?"))

The LTU core, read in this order: ``config`` (every architecture choice, saved beside the
weights), ``audio/`` (decoding and encoder features), ``encoders/`` (CAV-MAE and Whisper,
chosen through one registry), ``model`` (encoder -> projector -> an unmodified causal LM),
``processor`` (the one place audio and text become tensors), ``prompt``, ``generation``,
``chat`` (a multi-turn conversation that reuses its KV cache), ``checkpoint`` (folders that
save and load a whole model), ``runtime`` (device, dtype, quantisation), ``transcribe`` (the
optional Whisper transcriber passed to a chat), ``errors``, ``files`` and ``cli``.
``ltu.weights`` holds where weights come from (released checkpoints, packaged models).
Around the core: ``batch`` (``python -m ltu batch``: many questions over many files),
``serve/`` (``python -m ltu serve``: an OpenAI-compatible HTTP endpoint), ``bench`` and
``gpu_check`` (measurements), ``tiny`` (tiny random models for smoke runs and tests),
``console`` (quiet command lines).
"""

from __future__ import annotations

import importlib
from typing import Any

# Public names and the module each lives in; imported on first use, so that ``import ltu``
# (and ``python -m ltu``) can set up logging before torch, transformers and peft load.
_EXPORTS = {
    "ChatSession": "ltu.chat",
    "build_model": "ltu.checkpoint",
    "load_pretrained": "ltu.checkpoint",
    "save_pretrained": "ltu.checkpoint",
    "EncoderConfig": "ltu.config",
    "FrontEndConfig": "ltu.config",
    "LoRAConfig": "ltu.config",
    "LTUConfig": "ltu.config",
    "PromptConfig": "ltu.config",
    "paper_config": "ltu.config",
    "LTUError": "ltu.errors",
    "GenerationSettings": "ltu.generation",
    "LTUModel": "ltu.model",
    "LTUProcessor": "ltu.processor",
    "Turn": "ltu.prompt",
    "Runtime": "ltu.runtime",
    "Transcriber": "ltu.transcribe",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ltu' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
