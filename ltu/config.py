"""Configuration: small frozen dataclasses, saved as JSON beside the weights.

Every number the paper's code hard-wires is a named field here, with a comment that
says where it comes from: ``paper.md "Heading"`` is that heading of ``docs/paper.md``, our
record of the paper's and the released code's facts. A checkpoint folder stores an
``LTUConfig`` that rebuilds its model.
"""

from __future__ import annotations

import dataclasses
import json
from types import UnionType
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

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
    sample_rate: int = 16_000  # paper.md "Audio front end": resample to 16 kHz
    num_mel_bins: int = 128  # paper.md "Audio front end": 128 mel bins (Whisper: 80, or 128 for large-v3)
    frame_length_ms: float = 25.0  # paper.md "Audio front end": 25 ms Hanning window
    frame_shift_ms: float = 10.0  # paper.md "Audio front end": 10 ms shift
    window_frames: int = 1024  # paper.md "Audio front end": 1024 frames = 10.24 s per encoder window (Whisper: 3000 = 30 s)
    norm_mean: float = -5.081  # paper.md "Audio front end": features are normalised as (x + 5.081) / 4.4849
    norm_std: float = 4.4849
    max_seconds: float = 60.0  # longer audio is truncated here, and the description says so
    max_bytes: int = 64 * 2**20  # files larger than this are refused before decoding
    channel: Literal["first", "mean"] = "first"  # paper.md "Audio front end": keep the first channel only

    @property
    def window_samples(self) -> int:
        """Samples of audio that one encoder window covers (frames x shift)."""
        return int(round(self.window_frames * self.frame_shift_ms * self.sample_rate / 1000))


@dataclass(frozen=True)
class EncoderConfig:
    """The audio encoder and how its output is pooled into LLM tokens."""

    kind: EncoderKind = "cavmae"
    # --- cavmae: the audio branch of CAV-MAE (ViT-B/16 on the spectrogram), paper.md "Audio encoder"
    embed_dim: int = 768  # paper.md "Audio encoder": patch tokens of width 768
    depth: int = 12  # paper.md "Audio encoder": 11 modality blocks (blocks_a) + 1 shared block (blocks_u)
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16  # paper.md "Audio encoder": 16x16 patches, stride 16 -> 8 x 64 = 512 tokens
    layer_norm_eps: float = 1e-5  # paper.md "Audio encoder": LayerNorm eps 1e-5
    time_pool: int = 2  # paper.md "Audio tokens": average-pool pairs in time, 64 -> 32 tokens per window
    output_scale: float = 1 / 50  # paper.md "Audio tokens": pooled tokens are divided by 50 in the original code
    # --- whisper: a Hugging Face WhisperEncoder
    source: str | None = None  # hub id or folder of a Whisper model whose encoder weights are used
    whisper: dict[str, Any] | None = None  # WhisperConfig fields (architecture); read from `source` when None
    frames_per_token: int = 16  # Whisper yields 50 frames/s; 16 per token = 3.125 tokens/s (paper: 3.2)
    # None: the encoder's own output (after its last layer and final norm); k: the output of layer k
    # (1 .. layers-1, before any norm). Earlier layers keep more of the sound and less of the words:
    # docs/encoders.md "Which Whisper layer".
    hidden_layer: int | None = None
    # True: every audio token also carries its window's mean and spread over time, projected by a second
    # projector (ltu/summary.py). Not in the paper; off for its checkpoints. docs/encoders.md "Window summary".
    window_summary: bool = False
    # None: the window summary reads the tokens the projector reads. k (0 .. layers): it reads Whisper's
    # hidden state k instead (0: the embedded input; layers: the output after the final norm), pooled the
    # same way and carried beside the projector's tokens as extra channels. Needs window_summary.
    # docs/encoders.md "Summary layer".
    summary_layer: int | None = None
    # Names of classes whose frozen tagger's guess, as a mix of the LLM's embeddings of these names, is added
    # to every audio token (ltu/class_hint.py; fitted by train.hint). Empty: none. Not in the paper.
    # docs/encoders.md "Class hint".
    class_hint: tuple[str, ...] = ()
    # --- both
    trainable: bool = True  # paper.md "Training curriculum": the paper fine-tunes the encoder in stages 2-4

    @property
    def width(self) -> int:
        """Width of the tokens the encoder hands to the projector."""
        from ltu.encoders import encoder_class  # the encoders import this module

        return encoder_class(self.kind).config_width(self)


@dataclass(frozen=True)
class LoRAConfig:
    """LoRA adapters on the LLM (applied through peft)."""

    r: int = 8  # paper.md "Language model and LoRA": r = 8
    alpha: int = 16  # paper.md "Language model and LoRA": alpha = 16
    dropout: float = 0.05  # paper.md "Language model and LoRA": 0.05 in training, 0 at inference
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")  # paper.md "Language model and LoRA": q_proj and v_proj of every layer


@dataclass(frozen=True)
class PromptConfig:
    """How questions, answers and audio are laid out for the LLM."""

    format: PromptFormat = "alpaca_short"  # paper.md "Prompt and generation": the paper's template; "chat_template": the LLM's own
    audio_position: AudioPosition = "start"  # paper.md "Audio in the LLM": audio before all text, BOS included; "user": inside the first user turn
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
        from ltu.encoders import encoder_class  # the encoders import this module

        wanted = encoder_class(self.encoder.kind).frontend_kind
        if self.frontend.kind != wanted:
            raise ConfigError(f"The {self.encoder.kind} encoder reads {wanted!r} features: "
                              f"set frontend.kind to {wanted!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LTUConfig":
        """Build from a dict, rejecting unknown keys at every level."""
        return dataclass_from_dict(cls, data, "config")

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


PAPER_LLM = "lmsys/vicuna-7b-v1.1"  # paper.md "Language model and LoRA": LTU-7B is built on Vicuna-7B v1.1


def paper_config(llm: str = PAPER_LLM) -> LTUConfig:
    """The LTU-7B architecture of the paper (CAV-MAE encoder, Vicuna, alpaca_short)."""
    return LTUConfig(llm=llm, name="LTU-7B (paper)")


def whisper_frontend(num_mel_bins: int = 80, **overrides: Any) -> FrontEndConfig:
    """Front end for a Whisper encoder: 30 s windows of 3000 log-mel frames."""
    fields = {"window_frames": WHISPER_WINDOW_FRAMES, **overrides}
    return FrontEndConfig(kind="whisper", num_mel_bins=num_mel_bins, **fields)


def dataclass_from_dict(cls: type, data: Any, where: str, what: str = "key") -> Any:
    """Build dataclass ``cls`` from JSON/YAML values, with a sentence for every kind of mistake.

    Unknown keys list the known ones; nested dataclasses, tuples (a single string becomes a
    1-tuple), numbers written as text (YAML reads ``5e-4`` as a string) and ``Literal``
    choices are checked; ``where`` names the place in messages, ``what`` the kind of entry.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping of settings, got {type(data).__name__}.")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"Unknown {what}(s) in {where}: {', '.join(unknown)}. Known: {', '.join(names)}.")
    kwargs = {key: _coerce(hints[key], value, key, where) for key, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"Incomplete {where}: {err}") from err


def _coerce(hint: Any, value: Any, key: str, where: str) -> Any:
    """Turn a JSON/YAML value into the field's type, or raise ConfigError naming ``key``."""
    if value is None:
        return None
    options = [a for a in get_args(hint) if a is not type(None)] if get_origin(hint) in (Union, UnionType) else [hint]
    target = options[0] if len(options) == 1 else hint  # "X | None" -> X
    if dataclasses.is_dataclass(target):
        return dataclass_from_dict(target, value, f"{where}.{key}")
    if get_origin(target) is Literal:
        if value not in get_args(target):
            choices = ", ".join(map(str, get_args(target)))
            raise ConfigError(f"{key} must be one of {choices}, not {value!r}.")
        return value
    if get_origin(target) is tuple:
        return (value,) if isinstance(value, str) else tuple(value)
    if target in (int, float) and not isinstance(value, bool):
        return _number(key, value, target)
    return value


def _number(key: str, value: Any, kind: type) -> int | float:
    """A number from a number or from text; whole numbers for int fields."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number, not {value!r}.") from None
    if kind is int and not number.is_integer():
        raise ConfigError(f"{key} must be a whole number, not {value!r}.")
    return int(number) if kind is int else number
