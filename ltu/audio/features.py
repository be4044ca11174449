"""Encoder input features: the paper's Kaldi filter bank, or Whisper's log-mel.

Audio longer than one encoder window is not cut: its features are split into
consecutive windows (``window_frames`` frames each, the last one padded), and
``window_spans`` says which samples of real audio each window covers.

``kaldi_fbank`` is our torch version of Kaldi's filter bank with the settings of ``docs/paper.md``, "Audio front end"
lists (torchaudio is not used: its registry wheels are CUDA builds that break CPU torch).
It computes in float64 and returns float32; given the same waveform it equals
transformers' ``ASTFeatureExtractor`` (numpy path) to one float32 step (~1e-6), see
``tests/test_audio_features.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import torch
from transformers import WhisperFeatureExtractor

from ltu.config import FrontEndConfig
from ltu.errors import ConfigError, EmptyAudioError

# Kaldi defaults that LTU keeps (torchaudio.compliance.kaldi.fbank's defaults, paper.md "Audio front end"):
PREEMPHASIS = 0.97  # pre-emphasis coefficient; a frame's first sample uses itself as its predecessor
LOW_FREQ_HZ = 20.0  # lowest mel-bank edge; the highest is the Nyquist frequency
LOG_FLOOR = float(torch.finfo(torch.float32).eps)  # 1.1920929e-07: energies are floored here before the log
MEL_SCALE = 1127.0  # Kaldi's mel scale: mel = 1127 ln(1 + f / 700)
MEL_BREAK_HZ = 700.0


def kaldi_fbank(samples: torch.Tensor, config: FrontEndConfig) -> torch.Tensor:
    """Log-mel filter bank of a mono waveform, [n] -> [frames, num_mel_bins], not normalised.

    Kaldi settings (paper.md "Audio front end"): waveform mean removed, Hanning window, snip_edges, dither 0,
    no energy term (so htk_compat changes nothing). A waveform shorter than one frame is
    zero-padded to one frame.
    """
    if samples.ndim != 1:
        raise ValueError(f"kaldi_fbank takes a 1-D waveform, got shape {tuple(samples.shape)}")
    if samples.numel() == 0:
        raise EmptyAudioError("The audio holds no samples, so it has no features.")
    frame_length, frame_shift = _frame_sizes(config)
    wave = samples.to(torch.float64)
    wave = wave - wave.mean()  # paper.md "Audio front end": subtract the waveform's mean
    if wave.numel() < frame_length:
        wave = torch.nn.functional.pad(wave, (0, frame_length - wave.numel()))

    frames = wave.unfold(0, frame_length, frame_shift)  # (F, frame_length), snip_edges
    frames = frames - frames.mean(dim=1, keepdim=True)  # remove each frame's DC offset
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = frames - PREEMPHASIS * previous
    # Kaldi's "hanning" is the symmetric Hann window: 0.5 - 0.5 cos(2 pi i / (N - 1)).
    window = torch.hann_window(frame_length, periodic=False, dtype=torch.float64, device=wave.device)
    fft_size = _fft_size(frame_length)
    power = torch.fft.rfft(frames * window, n=fft_size).abs().pow(2)  # (F, fft_size / 2 + 1)

    banks = _kaldi_mel_banks(config.num_mel_bins, fft_size, config.sample_rate)  # (M, fft_size / 2 + 1)
    mel = power @ torch.from_numpy(banks).to(wave.device).T  # (F, M)
    return mel.clamp_min(LOG_FLOOR).log().to(torch.float32)


def fbank_windows(samples: torch.Tensor, config: FrontEndConfig) -> torch.Tensor:
    """Filter bank split into windows, [W, window_frames, num_mel_bins], normalised.

    The last window is zero-padded before normalisation, as the paper pads the raw
    filter bank; padded values therefore become (0 - norm_mean) / norm_std.
    """
    fbank = kaldi_fbank(samples, config)  # (F, M)
    count = math.ceil(fbank.shape[0] / config.window_frames)
    padded = torch.nn.functional.pad(fbank, (0, 0, 0, count * config.window_frames - fbank.shape[0]))
    windows = padded.reshape(count, config.window_frames, config.num_mel_bins)  # (W, T, M)
    return (windows - config.norm_mean) / config.norm_std


def whisper_windows(samples: torch.Tensor, config: FrontEndConfig) -> torch.Tensor:
    """Whisper log-mel of consecutive 30 s chunks, [W, num_mel_bins, window_frames].

    Each chunk is zero-padded to a full window and processed by transformers'
    ``WhisperFeatureExtractor`` on its own, exactly as Whisper treats a 30 s input.
    """
    if samples.ndim != 1:
        raise ValueError(f"whisper_windows takes a 1-D waveform, got shape {tuple(samples.shape)}")
    if samples.numel() == 0:
        raise EmptyAudioError("The audio holds no samples, so it has no features.")
    wave = samples.detach().to(torch.float32).cpu().numpy()
    chunks = [wave[start:end] for start, end in window_spans(len(wave), config)]
    extractor = _whisper_extractor(config)
    features = extractor(
        chunks,
        sampling_rate=config.sample_rate,
        padding="max_length",
        max_length=config.window_samples,
        return_tensors="np",
    )["input_features"]  # (W, M, T)
    if features.shape[1:] != (config.num_mel_bins, config.window_frames):
        raise ConfigError(
            f"Whisper features came out as {features.shape[1:]}, not ({config.num_mel_bins}, {config.window_frames}); "
            "check the front end's frame shift and window_frames."
        )
    return torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))


def num_windows(num_samples: int, config: FrontEndConfig) -> int:
    """How many encoder windows a waveform of num_samples fills (at least one)."""
    return max(1, _front_end(config).count_windows(num_samples, config))


def window_spans(num_samples: int, config: FrontEndConfig) -> list[tuple[int, int]]:
    """(start_sample, end_sample) of the real audio each window covers; the last may be shorter.

    Window k covers samples [k * window_samples, (k + 1) * window_samples), cut at the end
    of the audio. With the filter bank, a tail shorter than one frame (< 25 ms) past the
    last full window starts no frame, so no window (and no span) counts it.
    """
    step = config.window_samples
    return [(k * step, min(num_samples, (k + 1) * step)) for k in range(num_windows(num_samples, config))]


def extract_features(samples: np.ndarray | torch.Tensor, config: FrontEndConfig) -> torch.Tensor:
    """Encoder input for a mono waveform at config.sample_rate, per config.kind.

    "fbank": [W, window_frames, num_mel_bins]; "whisper": [W, num_mel_bins, window_frames].
    """
    return _front_end(config).windows(torch.as_tensor(samples, dtype=torch.float32), config)


@dataclass(frozen=True)
class _FrontEnd:
    windows: Callable[[torch.Tensor, FrontEndConfig], torch.Tensor]  # waveform -> (W, ...) feature windows
    count_windows: Callable[[int, FrontEndConfig], int]  # samples -> windows they start


FRONT_ENDS = {
    # The filter bank counts frames: a tail shorter than one frame starts no window.
    "fbank": _FrontEnd(lambda wave, c: fbank_windows(wave, c),
                       lambda n, c: math.ceil(_num_frames(n, c) / c.window_frames)),
    "whisper": _FrontEnd(lambda wave, c: whisper_windows(wave, c), lambda n, c: math.ceil(n / c.window_samples)),
}


def _front_end(config: FrontEndConfig) -> _FrontEnd:
    if config.kind not in FRONT_ENDS:
        raise ConfigError(f"Unknown front end kind {config.kind!r}; known: {', '.join(map(repr, FRONT_ENDS))}.")
    return FRONT_ENDS[config.kind]


def _frame_sizes(config: FrontEndConfig) -> tuple[int, int]:
    """Frame length and shift in samples (Kaldi truncates ms x rate to an integer)."""
    frame_length = int(config.sample_rate * config.frame_length_ms / 1000)
    frame_shift = int(config.sample_rate * config.frame_shift_ms / 1000)
    return frame_length, frame_shift


def _fft_size(frame_length: int) -> int:
    """Kaldi's round_to_power_of_two: the smallest power of two >= the frame length."""
    return 1 << (frame_length - 1).bit_length()


def _num_frames(num_samples: int, config: FrontEndConfig) -> int:
    """Frames of kaldi_fbank for num_samples (snip_edges; a short waveform still gives one)."""
    frame_length, frame_shift = _frame_sizes(config)
    return 1 + max(0, num_samples - frame_length) // frame_shift


@lru_cache(maxsize=8)
def _kaldi_mel_banks(num_bins: int, fft_size: int, sample_rate: int) -> np.ndarray:
    """Kaldi's triangular mel filters, [num_bins, fft_size / 2 + 1] float64.

    Triangles are linear in mel between equally spaced mel points from LOW_FREQ_HZ to
    Nyquist, evaluated at the fft_size / 2 bins below Nyquist; the Nyquist bin gets 0.
    With 128 bins at 16 kHz, triangle 3 falls between two FFT bins and is all zero, as in
    Kaldi and torchaudio: that feature is always log(LOG_FLOOR).
    """

    def mel(hz: np.ndarray | float) -> np.ndarray:
        return MEL_SCALE * np.log1p(np.asarray(hz, dtype=np.float64) / MEL_BREAK_HZ)

    num_fft_bins = fft_size // 2
    low, high = mel(LOW_FREQ_HZ), mel(sample_rate / 2)
    delta = (high - low) / (num_bins + 1)
    left = low + delta * np.arange(num_bins)[:, None]  # (M, 1)
    center, right = left + delta, left + 2 * delta
    bin_mel = mel(np.arange(num_fft_bins) * sample_rate / fft_size)[None, :]  # (1, K)
    rising = (bin_mel - left) / (center - left)
    falling = (right - bin_mel) / (right - center)
    banks = np.maximum(0.0, np.minimum(rising, falling))  # (M, K)
    return np.pad(banks, ((0, 0), (0, 1)))  # zero weight for the Nyquist bin


@lru_cache(maxsize=4)
def _whisper_extractor(config: FrontEndConfig) -> WhisperFeatureExtractor:
    """transformers' Whisper feature extractor with this front end's sizes (built locally)."""
    frame_length, frame_shift = _frame_sizes(config)
    if config.window_samples % config.sample_rate:
        raise ConfigError(
            f"A Whisper window must be a whole number of seconds; {config.window_frames} frames of "
            f"{config.frame_shift_ms} ms are not."
        )
    return WhisperFeatureExtractor(
        feature_size=config.num_mel_bins,
        sampling_rate=config.sample_rate,
        hop_length=frame_shift,
        chunk_length=config.window_samples // config.sample_rate,
        n_fft=frame_length,
    )
