"""Audio encoders: feature windows in, ``(W, tokens_per_window, width)`` audio tokens out.

Every encoder exposes ``tokens_per_window`` and ``width``. ``tokens_for_window`` answers,
from the configs alone, how many leading tokens of a window the processor keeps.
"""

from __future__ import annotations

from torch import nn

from ltu.config import EncoderConfig, FrontEndConfig
from ltu.encoders.cavmae import CAVMAEEncoder, cavmae_tokens_per_window
from ltu.encoders.whisper import WhisperAudioEncoder, whisper_architecture, whisper_tokens_for_samples
from ltu.errors import ConfigError

__all__ = [
    "CAVMAEEncoder",
    "WhisperAudioEncoder",
    "build_encoder",
    "tokens_for_window",
    "whisper_architecture",
]


def build_encoder(encoder: EncoderConfig, frontend: FrontEndConfig) -> nn.Module:
    """The encoder module ``encoder.kind`` names, randomly initialised."""
    if encoder.kind == "cavmae":
        return CAVMAEEncoder(encoder, frontend)
    if encoder.kind == "whisper":
        return WhisperAudioEncoder(encoder, frontend)
    raise ConfigError(f"Unknown encoder kind {encoder.kind!r}; known kinds: 'cavmae', 'whisper'.")


def tokens_for_window(encoder: EncoderConfig, frontend: FrontEndConfig, num_real_samples: int) -> int:
    """Audio tokens the LLM receives for a window holding ``num_real_samples`` samples of real audio.

    cavmae: always the full window (32 at paper size): the paper pads every clip to 10.24 s
    and feeds all 32 tokens. whisper: only the leading tokens that cover real audio.
    """
    if encoder.kind == "cavmae":
        return cavmae_tokens_per_window(encoder, frontend)
    if encoder.kind == "whisper":
        return whisper_tokens_for_samples(encoder, frontend, num_real_samples)
    raise ConfigError(f"Unknown encoder kind {encoder.kind!r}; known kinds: 'cavmae', 'whisper'.")
