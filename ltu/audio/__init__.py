"""Audio front end: decode files and arrays (``decode``), then compute encoder features (``features``)."""

from ltu.audio.decode import Audio, AudioInfo, audio_from_array, load_audio
from ltu.audio.features import (
    extract_features,
    fbank_windows,
    kaldi_fbank,
    num_windows,
    whisper_windows,
    window_spans,
)

__all__ = [
    "Audio",
    "AudioInfo",
    "audio_from_array",
    "extract_features",
    "fbank_windows",
    "kaldi_fbank",
    "load_audio",
    "num_windows",
    "whisper_windows",
    "window_spans",
]
