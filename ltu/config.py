"""Configuration: small frozen dataclasses, saved as JSON beside the weights.

Every number the paper's code hard-wires is a named field here, with a comment that
says where it comes from (``ltu.md`` is ``shared/reference/ltu.md``, the summary of the
released LTU code). A checkpoint folder stores an ``LTUConfig`` that rebuilds its model.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

from ltu.errors import ConfigError

FrontEndKind = Literal["fbank", "whisper"]
EncoderKind = Literal["cavmae", "whisper"]
PromptFormat = Literal["alpaca_short", "chat_template"]
AudioPosition = Literal["start", "user"]
WHISPER_WINDOW_FRAMES = 3000  # Whisper reads 30 s windows of 3000 log-mel frames (10 ms hop)


@dataclass(frozen=True)
class FrontEndConfig:
    """How a decoded waveform becomes encoder input features."""

    kind: FrontEndKind = "fbank"  # "fbank": the paper's Kaldi filter bank; "whisper": Whisper log-mel
    sample_rate: int = 16_000  # ltu.md: resample to 16 kHz
    num_mel_bins: int = 128  # ltu.md: 128 mel bins (Whisper: 80, or 128 for large-v3)
    frame_length_ms: float = 25.0  # ltu.md: 25 ms Hanning window
    frame_shift_ms: float = 10.0  # ltu.md: 10 ms shift
    window_frames: int = 1024  # ltu.md: 1024 frames = 10.24 s per encoder window (Whisper: 3000 = 30 s)
    norm_mean: float = -5.081  # ltu.md: features are normalised as (x + 5.081) / 4.4849
    norm_std: float = 4.4849
    max_seconds: float = 60.0  # longer audio is truncated here, and the description says so
    max_bytes: int = 64 * 2**20  # files larger than this are refused before decoding
    channel: Literal["first", "mean"] = "first"  # ltu.md: keep the first channel only

    @property
    def window_samples(self) -> int:
        """Samples of audio that one encoder window covers (frames x shift)."""
        return int(round(self.window_frames * self.frame_shift_ms * self.sample_rate / 1000))


@dataclass(frozen=True)
class EncoderConfig:
    """The audio encoder and how its output is pooled into LLM tokens."""

    kind: EncoderKind = "cavmae"
    # --- cavmae: the audio branch of CAV-MAE (ViT-B/16 on the spectrogram), ltu.md
    embed_dim: int = 768  # ltu.md: patch tokens of width 768
    depth: int = 12  # ltu.md: 11 modality blocks (blocks_a) + 1 shared block (blocks_u)
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16  # ltu.md: 16x16 patches, stride 16 -> 8 x 64 = 512 tokens
    layer_norm_eps: float = 1e-5  # ltu.md: LayerNorm eps 1e-5
    time_pool: int = 2  # ltu.md: average-pool pairs in time, 64 -> 32 tokens per window
    output_scale: float = 1 / 50  # ltu.md: pooled tokens are divided by 50 in the original code
    # --- whisper: a Hugging Face WhisperEncoder
    source: str | None = None  # hub id or folder of a Whisper model whose encoder weights are used
    whisper: dict[str, Any] | None = None  # WhisperConfig fields (architecture); read from `source` when None
    frames_per_token: int = 16  # Whisper yields 50 frames/s; 16 per token = 3.125 tokens/s (paper: 3.2)
    # --- both
    trainable: bool = True  # ltu.md: the paper fine-tunes the encoder in stages 2-4

    @property
    def width(self) -> int:
        """Width of the tokens the encoder hands to the projector."""
        if self.kind == "cavmae":
            return self.embed_dim
        if self.whisper is None:
            raise ConfigError("The Whisper encoder's architecture is unknown: set encoder.whisper or encoder.source.")
        return int(self.whisper["d_model"])


@dataclass(frozen=True)
class LoRAConfig:
    """LoRA adapters on the LLM (applied through peft)."""

    r: int = 8  # ltu.md: r = 8
    alpha: int = 16  # ltu.md: alpha = 16
    dropout: float = 0.05  # ltu.md: 0.05 in training, 0 at inference
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")  # ltu.md: q_proj and v_proj of every layer


@dataclass(frozen=True)
class PromptConfig:
    """How questions, answers and audio are laid out for the LLM."""

    format: PromptFormat = "alpaca_short"  # ltu.md: the paper's template; "chat_template": the LLM's own
    audio_position: AudioPosition = "start"  # ltu.md: audio before all text, BOS included; "user": inside the first user turn
    system_prompt: str | None = None  # chat_template only; None keeps the template's default
    transcript_source: str | None = None  # Whisper model whose transcript of speech fills the first turn's
    #                                       input field (LTU-AS does this); None: no transcript


@dataclass(frozen=True)
class LTUConfig:
    """Everything that defines an LTU model's architecture and input layout."""

    llm: str  # base causal LM: a Hugging Face hub id or a local folder
    frontend: FrontEndConfig = field(default_factory=FrontEndConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    lora: LoRAConfig | None = field(default_factory=LoRAConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    name: str = "ltu"  # shown to users (CLI, app)

    def __post_init__(self) -> None:
        if self.encoder.kind == "cavmae" and self.frontend.kind != "fbank":
            raise ConfigError("The cavmae encoder reads the paper's filter bank: set frontend.kind to 'fbank'.")
        if self.encoder.kind == "whisper" and self.frontend.kind != "whisper":
            raise ConfigError("The whisper encoder reads Whisper log-mel features: set frontend.kind to 'whisper'.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LTUConfig":
        """Build from a dict, rejecting unknown keys at every level."""
        return _build(cls, data, "config")

    def save(self, path: str | Path) -> None:
        """Write as indented JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "LTUConfig":
        """Read a JSON file written by ``save``."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f"Cannot read the model config {path}: {err}") from err
        return cls.from_dict(data)


def paper_config(llm: str = "lmsys/vicuna-7b-v1.1") -> LTUConfig:
    """The LTU-7B architecture of the paper (CAV-MAE encoder, Vicuna, alpaca_short)."""
    return LTUConfig(llm=llm, name="LTU-7B (paper)")


def whisper_frontend(num_mel_bins: int = 80, **overrides: Any) -> FrontEndConfig:
    """Front end for a Whisper encoder: 30 s windows of 3000 log-mel frames."""
    fields = {"window_frames": WHISPER_WINDOW_FRAMES, **overrides}
    return FrontEndConfig(kind="whisper", num_mel_bins=num_mel_bins, **fields)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a JSON object, got {type(data).__name__}.")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"Unknown key(s) in {where}: {', '.join(unknown)}. Known: {', '.join(sorted(names))}.")
    kwargs = {}
    for key, value in data.items():
        kwargs[key] = _coerce(hints[key], value, f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"Incomplete {where}: {err}") from err


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Turn JSON values back into the dataclass field types (nested configs, tuples)."""
    args = get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if value is None:
        return None
    for arg in args:  # Optional[Dataclass]
        if dataclasses.is_dataclass(arg):
            return _build(arg, value, where)
    if getattr(hint, "__origin__", None) is tuple or tuple in [getattr(a, "__origin__", None) for a in args]:
        return tuple(value)
    return value
