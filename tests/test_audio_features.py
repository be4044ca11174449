"""Encoder features: our Kaldi filter bank against transformers' references, windows and spans."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import ASTFeatureExtractor, WhisperFeatureExtractor

from ltu.audio.decode import load_audio
from ltu.audio.features import (
    extract_features,
    fbank_windows,
    kaldi_fbank,
    num_windows,
    whisper_windows,
    window_spans,
)
from ltu.config import FrontEndConfig, whisper_frontend
from ltu.errors import EmptyAudioError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
RATE = 16_000
LOG_FLOOR = float(np.log(np.float32(1.1920929e-07)))  # Kaldi floors energies at float32 eps

# Kaldi's bank has an all-zero triangle (bin 3, see _kaldi_mel_banks); AST warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values:UserWarning")
PAPER = FrontEndConfig()

# Measured: on every input below, kaldi_fbank equals ASTFeatureExtractor's numpy path
# to 9.5e-7 max abs (one float32 step at values of 8..16), given the same float32 input.
FBANK_TOLERANCE = 2e-6
# Feeding AST a waveform whose mean was removed in float32 (as LTU's code does) moves
# low-energy bands by up to 4.5e-4 (chirp) and 1.6e-4 (rooster.mp3): float32 rounding of
# the waveform, not a difference in the algorithm.
FLOAT32_MEAN_TOLERANCE = 1e-3


def synthetic(kind: str, seconds: float = 4.0) -> np.ndarray:
    """Test waveforms at 16 kHz, float32."""
    t = np.arange(int(seconds * RATE)) / RATE
    if kind == "tone":
        wave = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.01  # with a DC offset to remove
    elif kind == "chirp":  # 100 Hz -> 7 kHz
        wave = 0.5 * np.sin(2 * np.pi * (100 * t + (7000 - 100) / (2 * seconds) * t**2))
    elif kind == "noise":
        wave = 0.3 * np.random.default_rng(0).standard_normal(len(t))
    elif kind == "click":  # silence with a single click
        wave = np.zeros(len(t))
        wave[len(t) // 2] = 0.9
    else:
        raise ValueError(kind)
    return wave.astype(np.float32)


def ast_fbank(wave: np.ndarray) -> np.ndarray:
    """The reference: transformers' AST filter bank (numpy path), unpadded and not normalised."""
    extractor = ASTFeatureExtractor(num_mel_bins=128, max_length=10**6, do_normalize=False, mean=-5.081, std=4.4849 / 2)
    frames = 1 + (len(wave) - 400) // 160
    return extractor(wave, sampling_rate=RATE, return_tensors="np")["input_values"][0][:frames]


def waveforms() -> list[tuple[str, np.ndarray]]:
    synth = [(kind, synthetic(kind)) for kind in ("tone", "chirp", "noise", "click")]
    real = [(name, load_audio(ASSETS / name).samples) for name in ("cat.mp3", "duck.mp3", "rooster.mp3", "sheep.mp3")]
    return synth + real


WAVEFORMS = waveforms()


@pytest.mark.parametrize(("name", "wave"), WAVEFORMS, ids=[name for name, _ in WAVEFORMS])
def test_kaldi_fbank_matches_ast(name: str, wave: np.ndarray) -> None:
    ours = kaldi_fbank(torch.from_numpy(wave), PAPER)
    assert ours.dtype == torch.float32 and ours.shape == (1 + (len(wave) - 400) // 160, 128)
    # Each frame's DC offset is removed, so the waveform mean matters only through rounding.
    np.testing.assert_allclose(ours.numpy(), ast_fbank(wave), rtol=0, atol=FBANK_TOLERANCE)
    centred = (wave - wave.mean()).astype(np.float32)  # LTU's code subtracts the mean in float32
    np.testing.assert_allclose(ours.numpy(), ast_fbank(centred), rtol=0, atol=FLOAT32_MEAN_TOLERANCE)


def test_kaldi_fbank_edge_cases() -> None:
    silence = kaldi_fbank(torch.zeros(RATE), PAPER)
    assert torch.all(silence == LOG_FLOOR)
    noise = kaldi_fbank(torch.from_numpy(synthetic("noise")), PAPER)
    assert torch.all(noise[:, 3] == LOG_FLOOR) and torch.all(noise[:, [0, 1, 2, 4]] > LOG_FLOOR)
    short = kaldi_fbank(torch.from_numpy(synthetic("noise", seconds=0.01)), PAPER)  # 160 samples < one frame
    assert short.shape == (1, 128) and torch.isfinite(short).all()
    assert kaldi_fbank(torch.zeros(400), PAPER).shape == (1, 128)
    assert kaldi_fbank(torch.zeros(559), PAPER).shape == (1, 128)
    assert kaldi_fbank(torch.zeros(560), PAPER).shape == (2, 128)
    assert kaldi_fbank(torch.zeros(RATE), dataclasses.replace(PAPER, num_mel_bins=64)).shape == (98, 64)
    with pytest.raises(EmptyAudioError):
        kaldi_fbank(torch.zeros(0), PAPER)


def test_fbank_windows_split_long_audio() -> None:
    wave = torch.from_numpy(synthetic("chirp", seconds=25.0))
    fbank = kaldi_fbank(wave, PAPER)  # (2498, 128)
    windows = fbank_windows(wave, PAPER)
    assert windows.shape == (3, 1024, 128) == (num_windows(len(wave), PAPER), 1024, 128)
    normalised = (fbank - PAPER.norm_mean) / PAPER.norm_std
    torch.testing.assert_close(windows[0], normalised[:1024], rtol=0, atol=0)
    torch.testing.assert_close(windows[1], normalised[1024:2048], rtol=0, atol=0)
    tail = fbank.shape[0] - 2048
    torch.testing.assert_close(windows[2, :tail], normalised[2048:], rtol=0, atol=0)
    padded = torch.tensor((0 - PAPER.norm_mean) / PAPER.norm_std)
    assert torch.all(windows[2, tail:] == padded)  # zeros padded before normalising: (0 + 5.081) / 4.4849


@pytest.mark.parametrize(("samples", "windows"), [(100, 1), (RATE, 1), (163_840, 1), (164_239, 1), (164_240, 2)])
def test_fbank_window_count(samples: int, windows: int) -> None:
    """10.24 s (163,840 samples = 1022 frames) is one window; 1025 frames need two."""
    assert num_windows(samples, PAPER) == windows
    assert fbank_windows(torch.zeros(samples), PAPER).shape == (windows, 1024, 128)


def test_one_window_equals_the_paper_pipeline() -> None:
    """Up to 10.24 s: AST's pad-to-1024 + normalise, with LTU's mean and std, is our window."""
    wave = load_audio(ASSETS / "duck.mp3").samples
    ours = extract_features(wave, PAPER)
    extractor = ASTFeatureExtractor(num_mel_bins=128, max_length=1024, mean=-5.081, std=4.4849 / 2)
    reference = extractor(wave, sampling_rate=RATE, return_tensors="np")["input_values"][0]
    assert ours.shape == (1, 1024, 128)
    np.testing.assert_allclose(ours[0].numpy(), reference, rtol=0, atol=1e-6)  # normalised values ~1


def test_whisper_windows_match_whisper_on_a_short_clip() -> None:
    config = whisper_frontend()
    wave = load_audio(ASSETS / "duck.mp3").samples
    ours = whisper_windows(torch.from_numpy(wave), config)
    reference = WhisperFeatureExtractor(feature_size=80)(wave, sampling_rate=RATE, return_tensors="np")
    assert ours.shape == (1, 80, 3000)
    np.testing.assert_array_equal(ours[0].numpy(), reference["input_features"][0])


def test_whisper_windows_of_long_audio() -> None:
    config = whisper_frontend(num_mel_bins=128, max_seconds=70.0)
    wave = synthetic("noise", seconds=65.0)
    ours = extract_features(wave, config)
    assert ours.shape == (3, 128, 3000) and num_windows(len(wave), config) == 3
    reference = WhisperFeatureExtractor(feature_size=128)
    for k, (start, end) in enumerate(window_spans(len(wave), config)):
        chunk = reference(wave[start:end], sampling_rate=RATE, return_tensors="np")["input_features"][0]
        np.testing.assert_array_equal(ours[k].numpy(), chunk)


@pytest.mark.parametrize("config", [PAPER, whisper_frontend()], ids=["fbank", "whisper"])
@pytest.mark.parametrize("samples", [1, 399, 16_000, 163_840, 164_240, 400_000, 480_000, 480_001, 960_000])
def test_window_spans(config: FrontEndConfig, samples: int) -> None:
    spans = window_spans(samples, config)
    assert len(spans) == num_windows(samples, config)
    assert spans[0][0] == 0
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end == start  # contiguous
    for k, (start, end) in enumerate(spans):
        assert start == k * config.window_samples and 0 < end - start <= config.window_samples
    # Only a tail shorter than one 25 ms frame is left out, and only with the filter bank.
    assert 0 <= samples - spans[-1][1] < (400 if config.kind == "fbank" else 1)


def test_extract_features_accepts_numpy_and_torch() -> None:
    wave = synthetic("tone", seconds=1.0)
    from_numpy = extract_features(wave, PAPER)
    from_torch = extract_features(torch.from_numpy(wave), PAPER)
    assert from_numpy.shape == (1, 1024, 128) and from_numpy.dtype == torch.float32
    torch.testing.assert_close(from_numpy, from_torch, rtol=0, atol=0)
