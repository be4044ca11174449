"""Decode audio files and arrays into one mono float32 waveform at the front end's rate.

Files go through PyAV (FFmpeg): wav (8/16/24/32-bit int, 32-bit float), mp3, flac,
ogg/vorbis, ogg/opus, webm/opus (browser microphones) and m4a/aac all work. Arrays from a
microphone widget take the same path after decoding: one channel is kept (the first, as
``docs/paper.md`` "Audio front end" says), the rate is converted with soxr, and audio longer than ``max_seconds`` is
cut. ``AudioInfo`` records what was done so callers can tell the user.

Every problem a user can cause raises a typed error from ``ltu.errors`` whose message is
a sentence; FFmpeg's own exception stays attached as ``__cause__`` for developers.

Damaged files: when FFmpeg reports an error (at open or partway through), the file is
refused with ``AudioDecodeError``, even if some audio came out before the error. When
a file simply ends early without any error (a wav or mp3 cut short), it is accepted as
a shorter recording, because a decoder cannot tell that apart from a short file.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soxr

from ltu.config import FrontEndConfig
from ltu.errors import AudioDecodeError, AudioTooLargeError, EmptyAudioError, InvalidAudioError

# Integer sample formats: float value = (x - offset) / scale, which maps the full integer
# range onto [-1, 1). FFmpeg's packed names; 24-bit audio arrives left-aligned in "s32".
_INT_FORMATS: dict[str, tuple[float, float]] = {
    "u8": (128.0, 128.0),
    "s16": (0.0, 2.0**15),
    "s32": (0.0, 2.0**31),
    "s64": (0.0, 2.0**63),
}
_FLOAT_FORMATS = ("flt", "dbl")

# Same scaling for numpy integer dtypes (arrays from a microphone widget).
_INT_DTYPES: dict[np.dtype, tuple[float, float]] = {
    np.dtype(np.uint8): (128.0, 128.0),
    np.dtype(np.int8): (0.0, 2.0**7),
    np.dtype(np.int16): (0.0, 2.0**15),
    np.dtype(np.int32): (0.0, 2.0**31),
    np.dtype(np.int64): (0.0, 2.0**63),
}

# Arrays are (samples,) or (samples, channels) as Gradio delivers them. FFmpeg caps
# channel layouts at 64, so more columns than this means the array is channels-first.
_MAX_CHANNELS = 64

# soxr's "HQ" preset (its default): 20-bit precision, flat passband to 0.91 of Nyquist.
_RESAMPLE_QUALITY = "HQ"

# Short, familiar names for FFmpeg demuxers whose name lists several formats.
_CONTAINER_NAMES = {"matroska,webm": "webm", "mov,mp4,m4a,3gp,3g2,mj2": "mp4"}

_BYTES_PER_MB = 2**20


@dataclass(frozen=True)
class AudioInfo:
    """Where a waveform came from and what decoding did to it."""

    source_sample_rate: int
    source_channels: int
    source_seconds: float  # duration of the original recording
    seconds: float  # duration kept (after truncation)
    resampled: bool
    channel: str  # "mono", "first of 2 channels" or "mean of 2 channels"
    truncated: bool
    format: str  # "mp3", "wav (pcm_s16le)", "webm (opus)", ... or "array"
    sample_rate: int  # rate of the decoded samples (the front end's rate)

    def describe(self) -> str:
        """One short line for a person, e.g. '3.05 s, 48000 Hz mono mp3; resampled to 16000 Hz'."""
        layout = {1: "mono", 2: "stereo"}.get(self.source_channels, f"{self.source_channels}-channel")
        parts = [f"{self.source_seconds:.2f} s, {self.source_sample_rate} Hz {layout} {self.format}"]
        if self.resampled:
            parts.append(f"resampled to {self.sample_rate} Hz")
        if self.source_channels > 1:
            how = "kept the first" if self.channel.startswith("first") else "took the mean"
            parts.append(f"{how} of {self.source_channels} channels")
        if self.truncated:
            parts.append(f"truncated from {self.source_seconds:.1f} s to the first {self.seconds:.1f} s")
        return "; ".join(parts)


@dataclass(frozen=True)
class Audio:
    """A mono float32 waveform and how it was obtained."""

    samples: np.ndarray  # (n,) float32, mono, at sample_rate
    sample_rate: int
    info: AudioInfo

    @property
    def seconds(self) -> float:
        """Duration of the samples."""
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class _Decoded:
    """Raw output of the decoder, before channel choice, resampling and truncation."""

    channels: np.ndarray  # (C, n) float32 at rate; n may already be cut at max_seconds
    rate: int
    format: str
    source_seconds: float  # the whole recording, including any part not decoded
    cut: bool  # decoding kept only the first max_seconds


def load_audio(source: str | os.PathLike | bytes, config: FrontEndConfig = FrontEndConfig()) -> Audio:
    """Decode a file (path) or in-memory file (bytes) into a mono waveform at ``config.sample_rate``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = "The audio data"
        _check_size(len(data), label, config)
        decoded = _decode(io.BytesIO(data), label, None, config.max_seconds)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = f"The file {path.name}"
        if not path.exists():
            raise AudioDecodeError(f"The file {path} does not exist.")
        if not path.is_file():
            raise AudioDecodeError(f"The path {path} is a folder or device, not an audio file.")
        _check_size(path.stat().st_size, label, config)
        try:
            file = path.open("rb")  # a file object, so FFmpeg never reads the name as a URL
        except OSError as err:
            raise AudioDecodeError(f"{label} cannot be read: {err.strerror or 'access denied'}.") from err
        with file:
            decoded = _decode(file, label, path.suffix, config.max_seconds)
    else:
        raise TypeError(f"load_audio takes a path or bytes, not {type(source).__name__}")
    return _finish(decoded, label, config)


def audio_from_array(samples: np.ndarray, sample_rate: int, config: FrontEndConfig = FrontEndConfig()) -> Audio:
    """Turn a (n,) or (n, channels) array, integer or float, into a mono waveform like ``load_audio``."""
    label = "The recording"
    array = np.asarray(samples)
    if array.ndim not in (1, 2):
        raise InvalidAudioError(f"{label} must have shape (samples,) or (samples, channels), not {array.shape}.")
    if array.ndim == 2 and array.shape[1] > _MAX_CHANNELS:
        raise InvalidAudioError(
            f"{label} has shape {array.shape}, which looks like (channels, samples); "
            "pass (samples, channels) instead."
        )
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise InvalidAudioError(f"{label} has an invalid sample rate ({sample_rate!r}); it must be a positive integer.")
    if array.size == 0:
        raise EmptyAudioError(f"{label} is empty: it holds no samples.")
    channels = _array_to_float(array, label).reshape(array.shape[0], -1).T  # (C, n)
    seconds = array.shape[0] / sample_rate
    decoded = _Decoded(np.ascontiguousarray(channels), int(sample_rate), "array", seconds, cut=False)
    return _finish(decoded, label, config)


def _check_size(num_bytes: int, label: str, config: FrontEndConfig) -> None:
    if num_bytes == 0:
        raise EmptyAudioError(f"{label} is empty (0 bytes).")
    if num_bytes > config.max_bytes:
        raise AudioTooLargeError(
            f"{label} is {num_bytes / _BYTES_PER_MB:.1f} MB, more than the "
            f"{config.max_bytes / _BYTES_PER_MB:.1f} MB limit for audio files."
        )


def _decode(file: io.BufferedIOBase, label: str, suffix: str | None, max_seconds: float) -> _Decoded:
    """Decode the first audio stream, stopping once max_seconds are read when the duration is known."""
    try:
        container = av.open(file, mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as err:
        raise AudioDecodeError(
            f"{label} could not be opened as audio: it is not in a format we can read, or it is damaged."
        ) from err
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(f"{label} contains no audio stream, so there is nothing to listen to.")
        stream = container.streams.audio[0]
        fmt = _format_name(container, stream, suffix)
        declared = _declared_seconds(container, stream)
        try:
            channels, rate, total = _read_frames(container, stream, label, max_seconds, declared is not None)
        except av.error.FFmpegError as err:
            raise AudioDecodeError(
                f"{label} is damaged or cut short: the {fmt} decoder failed partway through the audio."
            ) from err
    if total == 0:
        raise EmptyAudioError(f"{label} holds no audio samples.")
    cut = channels.shape[1] < total
    source_seconds = total / rate  # exact when everything was decoded
    if cut and declared is not None:
        # Decoding stopped early: trust the header, but never below what was decoded.
        source_seconds = max(declared, source_seconds)
    return _Decoded(channels, rate, fmt, source_seconds, cut)


def _read_frames(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    label: str,
    max_seconds: float,
    duration_known: bool,
) -> tuple[np.ndarray, int, int]:
    """Decode frames to (C, n) float32 kept at most max_seconds long; also return the total decoded count.

    With a known duration, decoding stops once enough is kept; otherwise the rest is
    decoded and counted (not stored) so the original duration can be reported.
    """
    kept: list[np.ndarray] = []
    num_kept = 0
    total = 0
    rate = channels = 0
    limit = None
    for frame in container.decode(stream):
        if limit is None:  # first frame: fixes the rate and channel count
            rate, channels = frame.sample_rate, frame.layout.nb_channels
            limit = int(max_seconds * rate)
        elif (frame.sample_rate, frame.layout.nb_channels) != (rate, channels):
            raise AudioDecodeError(
                f"{label} changes its sample rate or channel count partway through, which is not supported."
            )
        total += frame.samples
        if num_kept < limit:
            block = _frame_to_float(frame)[:, : limit - num_kept]
            kept.append(block)
            num_kept += block.shape[1]
        elif duration_known:
            break
    if total == 0:
        return np.zeros((max(channels, 1), 0), np.float32), max(rate, 1), 0
    return np.concatenate(kept, axis=1), rate, total


def _frame_to_float(frame: av.AudioFrame) -> np.ndarray:
    """One decoded frame as (channels, samples) float32, integers scaled to [-1, 1)."""
    array = frame.to_ndarray()
    num_channels = frame.layout.nb_channels
    if not frame.format.is_planar:  # packed: one row of interleaved samples
        array = array.reshape(-1, num_channels).T
    name = frame.format.packed.name
    if name in _FLOAT_FORMATS:
        return array.astype(np.float32, copy=False)
    offset, scale = _INT_FORMATS[name]
    return ((array.astype(np.float64) - offset) / scale).astype(np.float32)


def _array_to_float(array: np.ndarray, label: str) -> np.ndarray:
    """Scale an integer array to [-1, 1) or pass a float array through, as float32."""
    if array.dtype in _INT_DTYPES:
        offset, scale = _INT_DTYPES[array.dtype]
        return ((array.astype(np.float64) - offset) / scale).astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32)
    raise InvalidAudioError(f"{label} has samples of type {array.dtype}; expected integers or floats.")


def _finish(decoded: _Decoded, label: str, config: FrontEndConfig) -> Audio:
    """Keep one channel, check values, cut at max_seconds, resample; describe what was done."""
    num_channels = decoded.channels.shape[0]
    if num_channels == 1:
        mono, channel = decoded.channels[0], "mono"
    elif config.channel == "first":
        mono, channel = decoded.channels[0], f"first of {num_channels} channels"
    else:
        mono, channel = decoded.channels.mean(axis=0, dtype=np.float64), f"mean of {num_channels} channels"
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if not np.isfinite(mono).all():
        raise InvalidAudioError(f"{label} contains invalid sample values (NaN or infinity).")

    limit = int(config.max_seconds * decoded.rate)
    truncated = decoded.cut or len(mono) > limit
    mono = mono[:limit]
    resampled = decoded.rate != config.sample_rate
    if resampled:
        mono = soxr.resample(mono, decoded.rate, config.sample_rate, quality=_RESAMPLE_QUALITY)
        mono = np.ascontiguousarray(mono[: int(config.max_seconds * config.sample_rate)], dtype=np.float32)
    if len(mono) == 0:
        raise EmptyAudioError(f"{label} is too short to use: it holds less than one sample at {config.sample_rate} Hz.")

    info = AudioInfo(
        source_sample_rate=decoded.rate,
        source_channels=num_channels,
        source_seconds=decoded.source_seconds,
        seconds=len(mono) / config.sample_rate,
        resampled=resampled,
        channel=channel,
        truncated=truncated,
        format=decoded.format,
        sample_rate=config.sample_rate,
    )
    return Audio(samples=mono, sample_rate=config.sample_rate, info=info)


def _declared_seconds(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    """Duration the file's headers declare, if any (stream first, then container)."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _format_name(container: av.container.InputContainer, stream: av.audio.stream.AudioStream, suffix: str | None) -> str:
    """A short name like 'mp3', 'wav (pcm_s16le)' or 'webm (opus)'."""
    demuxer = container.format.name
    ext = (suffix or "").lower().lstrip(".")
    if ext and (ext in demuxer.split(",") or ext in container.format.extensions):
        name = ext  # the file's own extension, when the demuxer agrees with it (m4a, webm, ...)
    else:
        name = _CONTAINER_NAMES.get(demuxer, demuxer.split(",")[0])
    codec = stream.codec_context.codec.canonical_name
    return name if codec == name else f"{name} ({codec})"
