"""Recording-chain changes for training clips: the same sound as another microphone, room or device gives it.

A source (one game's effects, one voice package) records every clip through the same chain, so its
clips share a spectral colour, a bandwidth, a noise floor and a room. A model can learn those instead
of the sound, and then fails on sources it never heard, which is what LTU-small's held-out-source
scores show (docs/encoders.md). ``augment`` changes the chain at random and keeps the sound:

- colour: a smooth random gain curve over log-frequency (up to ``MAX_TILT_DB`` either way);
- bandwidth: a random low-pass (``LOWPASS_HZ``) and high-pass (``HIGHPASS_HZ``) edge;
- room: a synthetic reverberation tail (noise decaying to -60 dB in ``RT60_SECONDS``), mixed in;
- noise floor: white, pink or brown noise at ``SNR_DB`` below the clip (not on near-silent clips, whose
  label would change);
- level: a gain in ``GAIN_DB``, clipped to [-1, 1].

Each change happens with probability ``P_CHANGE``. Only numpy is needed; one 10 s clip takes a few ms.
"""

from __future__ import annotations

import hashlib

import numpy as np

VERSION = 1  # bump when augment() changes: cached copies are keyed by it
COPY_MARK = "~"  # an augmented copy's name: <clip or content>~<copy number>
RATE = 16_000
P_CHANGE = 0.6
MAX_TILT_DB = 9.0
TILT_POINTS = 6  # control points of the colour curve, spread evenly over log-frequency
LOWPASS_HZ = (2_500.0, 7_500.0)
HIGHPASS_HZ = (20.0, 400.0)
EDGE_HZ = 300.0  # width of a band edge's cosine taper
RT60_SECONDS = (0.15, 0.9)
WET = (0.1, 0.5)  # share of the reverberated signal in the mix
SNR_DB = (8.0, 35.0)
GAIN_DB = (-12.0, 6.0)
SILENT_RMS = 1e-3  # below this a clip counts as silence: no noise is added


def augment(samples: np.ndarray, rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    """``samples`` (float, mono, in [-1, 1]) through a random recording chain; the same length."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return x.astype(np.float32)
    rms = float(np.sqrt(np.mean(x ** 2)))
    if rng.random() < P_CHANGE:
        x = _filter(x, rate, _tilt_curve(rng), rng)
    if rng.random() < P_CHANGE:
        x = _reverberate(x, rate, rng)
    if rms > SILENT_RMS and rng.random() < P_CHANGE:
        x = x + _noise(x.size, rng) * _rms(x) * 10 ** (-rng.uniform(*SNR_DB) / 20)
    if rng.random() < P_CHANGE:
        x = x * 10 ** (rng.uniform(*GAIN_DB) / 20)
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def augmented_copy(samples: np.ndarray, key: str, rate: int = RATE) -> np.ndarray:
    """A reproducible copy: the chain is drawn from a generator seeded by ``key`` (e.g. ``<clip>~1``)."""
    return augment(samples, np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)), rate)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2))) or 1.0


def _tilt_curve(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-MAX_TILT_DB, MAX_TILT_DB, TILT_POINTS)


def _filter(x: np.ndarray, rate: int, tilt_db: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour and band-limit in the frequency domain (zero-phase)."""
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size, 1.0 / rate)
    log_f = np.log10(np.maximum(freqs, 20.0))
    points = np.linspace(np.log10(20.0), np.log10(rate / 2), len(tilt_db))
    gain = 10 ** (np.interp(log_f, points, tilt_db) / 20)
    low, high = rng.uniform(*LOWPASS_HZ), rng.uniform(*HIGHPASS_HZ)
    gain *= _edge(freqs, low, falling=True) * _edge(freqs, high, falling=False)
    return np.fft.irfft(spectrum * gain, n=x.size)


def _edge(freqs: np.ndarray, at: float, falling: bool) -> np.ndarray:
    """1 on the kept side of ``at``, 0 on the other, with a cosine taper ``EDGE_HZ`` wide centred on it."""
    t = np.clip((freqs - at) / EDGE_HZ + 0.5, 0.0, 1.0)
    rising = 0.5 - 0.5 * np.cos(np.pi * t)
    return 1.0 - rising if falling else rising


def _reverberate(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(*RT60_SECONDS)
    t = np.arange(int(rt60 * rate)) / rate
    tail = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60)  # -60 dB (e^-6.9) at rt60
    n = x.size + tail.size - 1
    size = 1 << (n - 1).bit_length()
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(tail, size), size)[: x.size]
    wet *= _rms(x) / _rms(wet)
    share = rng.uniform(*WET)
    return (1 - share) * x + share * wet


def _noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white, pink (1/f power) or brown (1/f^2) noise."""
    white = np.fft.rfft(rng.standard_normal(n))
    slope = rng.choice([0.0, 0.5, 1.0])  # amplitude ~ f^-slope
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    noise = np.fft.irfft(white / f ** slope, n=n)
    return noise / _rms(noise)
