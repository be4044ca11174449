"""train.augment: a random recording chain that changes how a clip was recorded, not what it holds."""

from __future__ import annotations

import numpy as np

from train.augment import RATE, augment


def tone(freq: float = 1000.0, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray) -> float:
    return float(np.fft.rfftfreq(x.size, 1 / RATE)[np.argmax(np.abs(np.fft.rfft(x)))])


def test_same_length_range_and_seed_gives_the_same_chain():
    x = tone()
    a, b = augment(x, np.random.default_rng(5)), augment(x, np.random.default_rng(5))
    assert a.shape == x.shape and a.dtype == np.float32 and np.abs(a).max() <= 1.0
    assert np.array_equal(a, b)
    assert not np.array_equal(a, augment(x, np.random.default_rng(6)))


def test_the_sound_stays_and_the_recording_changes():
    x = tone()
    outputs = [augment(x, np.random.default_rng(seed)) for seed in range(30)]
    assert all(abs(peak_hz(y) - 1000.0) < 2.0 for y in outputs)  # still a 1 kHz tone
    # beyond a change of level: the normalised correlation with the original drops (room, noise, colour)
    correlation = [abs(float(np.dot(x, y))) / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12) for y in outputs]
    assert sum(c < 0.98 for c in correlation) >= 10
    assert max(correlation) > 0.999  # and some copies are left as they were (each change has a probability)


def test_silence_stays_silent():
    silent = np.zeros(RATE, dtype=np.float32)
    assert all(not augment(silent, np.random.default_rng(seed)).any() for seed in range(20))


def test_band_limits_remove_the_top_of_the_spectrum_sometimes():
    noise = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    top = np.fft.rfftfreq(RATE, 1 / RATE) > 7_600

    def top_share(y: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(y)) ** 2
        return float(power[top].sum() / power.sum())

    shares = [top_share(augment(noise, np.random.default_rng(seed))) for seed in range(30)]
    assert top_share(noise) > 0.04 and sum(s < 0.01 for s in shares) >= 8
