"""Audio encoders: feature windows in, ``(W, tokens_per_window, width)`` audio tokens out.

Encoders are chosen by ``EncoderConfig.kind`` through one registry, ``ENCODERS``. Each
encoder class answers, from the configs alone, which front end it reads
(``frontend_kind``), the width of its tokens (``config_width``) and how many leading
tokens of a window the LLM receives (``tokens_for_window``); a built encoder exposes
``width`` and ``tokens_per_window``, and ``load_pretrained_weights(source)`` when its
weights can come from outside the checkpoint.
"""

from __future__ import annotations

from torch import nn

from ltu.config import EncoderConfig, FrontEndConfig
from ltu.encoders.cavmae import CAVMAEEncoder
from ltu.encoders.whisper import WhisperAudioEncoder, whisper_architecture
from ltu.errors import ConfigError

ENCODERS: dict[str, type] = {"cavmae": CAVMAEEncoder, "whisper": WhisperAudioEncoder}

__all__ = [
    "CAVMAEEncoder",
    "ENCODERS",
    "WhisperAudioEncoder",
    "build_encoder",
    "encoder_class",
    "tokens_for_window",
    "whisper_architecture",
]


def encoder_class(kind: str) -> type:
    """The encoder class registered for ``kind``."""
    try:
        return ENCODERS[kind]
    except KeyError:
        raise ConfigError(f"Unknown encoder kind {kind!r}; known kinds: {', '.join(map(repr, ENCODERS))}.") from None


def build_encoder(encoder: EncoderConfig, frontend: FrontEndConfig) -> nn.Module:
    """The encoder module ``encoder.kind`` names, randomly initialised."""
    return encoder_class(encoder.kind)(encoder, frontend)


def tokens_for_window(encoder: EncoderConfig, frontend: FrontEndConfig, num_real_samples: int) -> int:
    """Audio tokens the LLM receives for a window holding ``num_real_samples`` samples of real audio."""
    return encoder_class(encoder.kind).tokens_for_window(encoder, frontend, num_real_samples)
