"""Signals made with SoX: tones and beeps of known pitch, sweeps, coloured noise and silence."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from train.builder.sources.base import SAMPLE_RATE, Recording, Source, portable

LICENCE = "generated with SoX (program GPL-2.0-or-later)"
WAVEFORMS = ("sine", "square", "triangle", "sawtooth")
NOISES = {"white": "White noise", "pink": "Pink noise", "brown": "Brown noise"}
NOISE_STRIDE_S = 12.0  # each noise recording is a different stretch of SoX's repeatable noise stream
SHARES = {"tone": 0.3, "beep": 0.2, "sweep": 0.1, "noise": 0.3, "silence": 0.1}  # of ``count``
_OUT = ("-r", str(SAMPLE_RATE), "-b", "16", "-c", "1")


def recordings(count: int | None, rng: random.Random, work: Path) -> list[Recording]:
    """About ``count`` signals in the proportions of SHARES, described as SoX commands."""
    from train.builder.labels import PITCH_BANDS

    count = count or 100
    result: list[Recording] = []
    bands = list(PITCH_BANDS)

    def add(kind: str, n: int, category: str, fine: str, effects: list[str], **known: Any) -> None:
        rec_id = f"sox/{kind}-{n:03d}"
        path = work / f"{rec_id.replace('/', '_')}.wav"
        command = ("sox", "-R", "-n", *_OUT, str(path), *effects)
        result.append(Recording(
            id=rec_id, dataset="sox", path=path, source=portable(command, path), licence=LICENCE, category=category,
            fine_label=fine, command=command, split_key=rec_id, group=f"sox-{kind}", pitch_hz=known.get("pitch_hz"),
            details=known.get("details", {})))

    plan = {kind: max(1, round(share * count)) for kind, share in SHARES.items()}
    for n in range(plan["tone"]):
        hz, wave, seconds = _frequency(rng, bands[n % 3], PITCH_BANDS), WAVEFORMS[(n // 3) % 4], rng.uniform(1, 9)
        add("tone", n, "Alarm", "Sine wave", ["synth", f"{seconds:.1f}", wave, hz, "fade", "q", "0.01",
                                              f"{seconds:.1f}", "0.01", "vol", "0.5"],
            pitch_hz=float(hz), details={"waveform": wave})
    for n in range(plan["beep"]):
        hz, count_beeps = _frequency(rng, bands[n % 3], PITCH_BANDS), rng.randint(2, 8)
        beep, gap = rng.uniform(0.1, 0.3), rng.uniform(0.1, 0.6)
        add("beep", n, "Alarm", "Beep, bleep",
            ["synth", f"{beep:.2f}", "sine", hz, "fade", "q", "0.005", f"{beep:.2f}", "0.005", "pad", "0",
             f"{gap:.2f}", "repeat", str(count_beeps - 1), "vol", "0.5"],
            pitch_hz=float(hz), details={"beeps": count_beeps})
    for n in range(plan["sweep"]):
        low, high = _frequency(rng, "low", PITCH_BANDS), _frequency(rng, "high", PITCH_BANDS)
        rising, seconds = n % 2 == 0, rng.uniform(1.0, 8.0)
        start, end = (low, high) if rising else (high, low)
        add("sweep", n, "Alarm", "Chirp tone", ["synth", f"{seconds:.1f}", "sine", f"{start}/{end}", "fade", "q",
                                                "0.01", f"{seconds:.1f}", "0.01", "vol", "0.5"],
            details={"direction": "rising" if rising else "falling"})
    for n in range(plan["noise"]):
        colour = list(NOISES)[n % 3]
        add("noise", n, "Noise", NOISES[colour],
            ["synth", f"{n * NOISE_STRIDE_S + 10.5:.1f}", f"{colour}noise", "trim", f"{n * NOISE_STRIDE_S:.1f}", "vol",
             "0.3"], details={"colour": colour})
    for n in range(plan["silence"]):
        add("silence", n, "Silence", "Silence", ["trim", "0", f"{rng.uniform(2.0, 10.0):.1f}"])
    return result


def _frequency(rng: random.Random, band: str, bands: dict) -> str:
    """A whole-number frequency drawn log-uniformly inside a pitch band."""
    low, high = bands[band]
    return str(int(round(math.exp(rng.uniform(math.log(low), math.log(high))))))


SOURCE = Source("sox", "SoX tones, beeps, sweeps, coloured noise and silence", apt=("sox",), tools=("sox",),
                recordings=recordings)
