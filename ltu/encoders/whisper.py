"""A Whisper encoder as LTU's audio tower (an option beyond the paper, in the spirit of LTU-AS).

Whisper reads 30 s windows of log-mel features (3000 frames at a 10 ms hop), halves the
frame rate in its second convolution and yields 1500 frames of width ``d_model`` (50 per
second). Groups of ``EncoderConfig.frames_per_token`` frames are averaged into one LLM
token: 16 frames -> 94 tokens per window (the last group holds the 12 remaining frames).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from ltu.config import EncoderConfig, FrontEndConfig
from ltu.errors import CheckpointError, ConfigError
from ltu.weights.packaged import locate
from ltu.weights.strict import load_strict

CONV_STRIDE = 2  # Whisper's second input convolution has stride 2: two mel frames per encoder frame
# WhisperConfig fields that shape the encoder; the decoder's are irrelevant here
ARCHITECTURE_FIELDS = (
    "d_model",
    "encoder_layers",
    "encoder_attention_heads",
    "encoder_ffn_dim",
    "num_mel_bins",
    "max_source_positions",
    "activation_function",
    "scale_embedding",
    "dropout",
    "attention_dropout",
    "activation_dropout",
    "encoder_layerdrop",
)
# where a saved model keeps its encoder: WhisperForConditionalGeneration, WhisperModel, a bare WhisperEncoder
ENCODER_PREFIXES = ("model.encoder.", "encoder.", "")


def whisper_architecture(source: str) -> dict[str, Any]:
    """Read a Whisper model's config (folder or hub id) and return the fields for ``EncoderConfig.whisper``."""
    try:
        config = AutoConfig.from_pretrained(locate(source))
    except (OSError, ValueError) as err:
        raise CheckpointError(f"Cannot read a model config from {source!r}: {err}") from err
    if not isinstance(config, WhisperConfig):
        raise CheckpointError(f"{source!r} is a {config.model_type!r} model, not a Whisper model.")
    return {name: getattr(config, name) for name in ARCHITECTURE_FIELDS}


def encoder_frames_per_window(frontend: FrontEndConfig) -> int:
    """Encoder frames one window yields (1500 for 3000 mel frames)."""
    return math.ceil(frontend.window_frames / CONV_STRIDE)


def whisper_tokens_per_window(encoder: EncoderConfig, frontend: FrontEndConfig) -> int:
    """Audio tokens per window (94 for 1500 frames at 16 frames per token)."""
    return math.ceil(encoder_frames_per_window(frontend) / encoder.frames_per_token)


def whisper_tokens_for_samples(encoder: EncoderConfig, frontend: FrontEndConfig, num_real_samples: int) -> int:
    """How many leading tokens of a window cover real audio (at least 1, at most a full window)."""
    hop = frontend.frame_shift_ms * frontend.sample_rate / 1000  # 160 samples per mel frame at 16 kHz, 10 ms
    mel_frames = math.ceil(num_real_samples / hop)
    enc_frames = math.ceil(mel_frames / CONV_STRIDE)
    tokens = math.ceil(enc_frames / encoder.frames_per_token)
    return min(max(tokens, 1), whisper_tokens_per_window(encoder, frontend))


def pool_frames(frames: torch.Tensor, group: int) -> torch.Tensor:
    """Average ``group`` consecutive frames ``(W, N, d)`` -> ``(W, ceil(N/group), d)``; a partial last group
    is averaged over its real frames only."""
    windows, length, dim = frames.shape
    tokens = math.ceil(length / group)
    padded = nn.functional.pad(frames, (0, 0, 0, tokens * group - length))  # (W, tokens*group, d), zeros at the end
    sums = padded.reshape(windows, tokens, group, dim).sum(dim=2)  # (W, tokens, d)
    counts = torch.full((tokens,), float(group), dtype=frames.dtype, device=frames.device)
    counts[-1] = length - (tokens - 1) * group
    return sums / counts[None, :, None]  # (W, tokens, d)


class WhisperAudioEncoder(nn.Module):
    """Hugging Face ``WhisperEncoder`` plus time pooling: ``(W, mels, 3000)`` -> ``(W, tokens_per_window, d)``."""

    frontend_kind = "whisper"  # reads Whisper log-mel windows

    @staticmethod
    def config_width(encoder: EncoderConfig) -> int:
        """Width of the tokens handed to the projector (Whisper's d_model)."""
        if encoder.whisper is None:
            raise ConfigError("The Whisper encoder's architecture is unknown: set encoder.whisper or encoder.source.")
        return int(encoder.whisper["d_model"])

    @staticmethod
    def tokens_for_window(encoder: EncoderConfig, frontend: FrontEndConfig, num_real_samples: int) -> int:
        """The leading tokens of a window that cover real audio (at least 1, at most a full window)."""
        return whisper_tokens_for_samples(encoder, frontend, num_real_samples)

    def __init__(self, encoder: EncoderConfig, frontend: FrontEndConfig) -> None:
        super().__init__()
        architecture = encoder.whisper
        if architecture is None:
            if encoder.source is None:
                raise ConfigError(
                    "The Whisper encoder's architecture is unknown: set encoder.whisper or encoder.source."
                )
            architecture = whisper_architecture(encoder.source)
        config = WhisperConfig(**architecture)
        if config.num_mel_bins != frontend.num_mel_bins:
            raise ConfigError(
                f"The Whisper encoder reads {config.num_mel_bins} mel bins but the front end makes "
                f"{frontend.num_mel_bins}: set frontend.num_mel_bins to {config.num_mel_bins}."
            )
        if frontend.window_frames != config.max_source_positions * CONV_STRIDE:
            raise ConfigError(
                f"The Whisper encoder reads windows of {config.max_source_positions * CONV_STRIDE} frames, "
                f"but frontend.window_frames is {frontend.window_frames}."
            )
        if encoder.hidden_layer is not None and not 0 < encoder.hidden_layer < config.encoder_layers:
            raise ConfigError(
                f"encoder.hidden_layer is {encoder.hidden_layer}, but this Whisper encoder has layers "
                f"1 to {config.encoder_layers}: choose 1 to {config.encoder_layers - 1}, or null for its output."
            )
        if encoder.summary_layer is not None and not (
                encoder.window_summary and 0 <= encoder.summary_layer <= config.encoder_layers):
            raise ConfigError(
                f"encoder.summary_layer is {encoder.summary_layer}: it needs encoder.window_summary true and "
                f"a hidden state of this Whisper encoder, 0 (the embedded input) to {config.encoder_layers} "
                f"(its output), or null for the projector's own tokens."
            )
        self.encoder = WhisperEncoder(config)  # random init; see load_pretrained_weights
        self.hidden_layer = encoder.hidden_layer
        self.summary_layer = encoder.summary_layer
        self.frames_per_token = encoder.frames_per_token
        self.num_mel_bins = frontend.num_mel_bins
        self.num_frames = frontend.window_frames
        self.width = config.d_model  # of the tokens the projector reads
        # of the tokens handed on: with a summary layer, its tokens follow the projector's as more channels
        self.token_width = self.width * (1 if encoder.summary_layer is None else 2)
        self.tokens_per_window = whisper_tokens_per_window(encoder, frontend)

    def encoder_frames(self, features: torch.Tensor) -> torch.Tensor:
        """Log-mel windows ``(W, mels, frames)`` -> the encoder's output ``(W, frames/2, d)``, or that of
        layer ``hidden_layer`` when one is chosen; with a summary layer, its frames follow as ``d`` more
        channels."""
        if features.dim() != 3 or features.shape[1:] != (self.num_mel_bins, self.num_frames):
            raise ValueError(
                f"Expected features of shape (windows, {self.num_mel_bins}, {self.num_frames}), "
                f"got {tuple(features.shape)}."
            )
        features = features.to(self.encoder.conv1.weight.dtype)
        if self.hidden_layer is None and self.summary_layer is None:
            return self.encoder(input_features=features).last_hidden_state  # (W, 1500, d)
        # hidden_states[k] is layer k's output as the next layer receives it (index 0: the embedded input;
        # the last one is the output after the final norm)
        states = self.encoder(input_features=features, output_hidden_states=True).hidden_states
        frames = states[-1 if self.hidden_layer is None else self.hidden_layer]
        if self.summary_layer is None:
            return frames
        return torch.cat([frames, states[self.summary_layer]], dim=-1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Log-mel windows ``(W, mels, frames)`` -> audio tokens ``(W, tokens_per_window, token_width)``."""
        return pool_frames(self.encoder_frames(features), self.frames_per_token)

    def load_pretrained_weights(self, source: str) -> None:
        """Copy the encoder weights of a saved Whisper model (folder or hub id); every key must be found."""
        expected = self.encoder.state_dict()
        found = _read_encoder_weights(locate(source))
        positions = found.get(POSITIONS_KEY)
        if positions is not None and POSITIONS_KEY in expected and len(positions) > len(expected[POSITIONS_KEY]):
            # A shorter window than Whisper's 30 s: keep the leading positions (the time axis starts at 0).
            found[POSITIONS_KEY] = positions[: len(expected[POSITIONS_KEY])]
        load_strict(self.encoder, found, f"Whisper encoder (from {source!r}; check encoder.whisper)")


POSITIONS_KEY = "embed_positions.weight"  # (max_source_positions, d) sinusoidal table of the encoder


def _weight_files(folder: Path) -> list[Path]:
    """The weight files of a saved model folder, safetensors preferred."""
    return sorted(folder.glob("model*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))


def _model_folder(source: str) -> Path:
    """A local folder holding the model's weight files (downloaded from the hub when ``source`` is no folder)."""
    folder = Path(source)
    if folder.is_dir():
        return folder
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(source, allow_patterns=["*.json", "model*.safetensors"]))
        if not _weight_files(folder):
            folder = Path(snapshot_download(source, allow_patterns=["*.json", "pytorch_model*.bin"]))
    except Exception as err:  # hub errors have many types; all mean "cannot get the weights"
        raise CheckpointError(f"{source!r} is neither a folder nor a downloadable hub model: {err}") from err
    return folder


def _read_encoder_weights(source: str) -> dict[str, torch.Tensor]:
    """The encoder tensors of a saved Whisper model, keyed as in ``WhisperEncoder.state_dict()``."""
    files = _weight_files(_model_folder(source))
    if not files:
        raise CheckpointError(f"No model*.safetensors or pytorch_model*.bin weight files found for {source!r}.")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        try:
            state.update(_read_encoder_tensors(file))
        except Exception as err:  # corrupt or foreign files raise many error types
            raise CheckpointError(f"Cannot read the weight file {file}: {err}") from err
    for prefix in ENCODER_PREFIXES:
        if prefix + "conv1.weight" in state:
            return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    raise CheckpointError(f"The weights in {source!r} hold no Whisper encoder (no '*encoder.conv1.weight' key).")


def _read_encoder_tensors(file: Path) -> dict[str, torch.Tensor]:
    """Tensors of one weight file, without the decoder's when the file is safetensors (read lazily)."""
    if file.suffix != ".safetensors":
        return torch.load(file, map_location="cpu", weights_only=True)
    from safetensors import safe_open

    with safe_open(str(file), framework="pt") as handle:
        return {k: handle.get_tensor(k) for k in handle.keys() if "decoder" not in k}
