"""Clips from recordings: excerpts, repeats, padding with silence or noise, mixtures, levels.

Every clip is built from one or two recordings (``Part``s) at a length chosen before the
recording is looked at (``clip_length``; the same draw for every class), then levelled
to a loudness class, quantised to 16-bit, and its labels are measured from the samples
that are written: loudness and duration come from the final audio, everything else from
the recordings it contains. Signals are float32 at 16 kHz.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from train.builder.labels import LOUDNESS_BOUNDS_DB, duration_label, loudness_class
from train.builder.sources.base import SAMPLE_RATE, Recording

# Levels (loudest 100 ms, dB re full scale) that clips are set to: the middle of each class.
LEVEL_TARGETS_DB = {"quiet": (-45.0, -39.0), "moderate": (-31.0, -25.0), "loud": (-17.0, -11.0)}
BOUNDARY_MARGIN_DB = 1.5  # levels this close to a class boundary are moved 3 dB down
PEAK_LIMIT = 0.97
SILENT_DB = -90.0  # below this a clip counts as silent (no loudness label)
WINDOW_S, HOP_S = 0.1, 0.05  # loudness windows
FADE_S = 0.005  # at every cut, so crops never click
NOISE_SNR_DB = (15.0, 25.0)  # background noise below the sound's level


@dataclass
class Part:
    """One recording (or a stretch of it) inside a clip."""

    recording: Recording
    start_s: float  # where it starts in the clip
    seconds: float  # how long it lasts in the clip
    offset_s: float = 0.0  # where the stretch starts in the recording
    gain_db: float = 0.0  # relative gain before the clip is levelled
    role: str = "main"  # main | foreground | background
    details: dict[str, Any] = field(default_factory=dict)  # e.g. how often a short event repeats


@dataclass
class Clip:
    """A written audio clip: its parts, how it was made, its samples and its labels."""

    clip_id: str
    split: str
    dataset: str  # the source's name, or "mix"
    kind: str  # base | excerpt | repeat | pad_silence | pad_noise | silence | mix
    parts: list[Part]
    samples: np.ndarray  # float32, exactly the values the 16-bit file holds
    noise: str | None = None  # colour of added background noise
    level_db: float = 0.0  # gain applied to the whole clip
    labels: dict[str, Any] = field(default_factory=dict)

    @property
    def audio_id(self) -> str:
        """Path of the clip's file relative to the dataset folder."""
        return f"audio/{self.clip_id}.wav"

    @property
    def recording_ids(self) -> list[str]:
        """Every source recording heard in the clip."""
        return [p.recording.id for p in self.parts]


# --- measurements ---------------------------------------------------------------------------
def loudness_db(x: np.ndarray) -> float:
    """RMS of the loudest 100 ms window (50 ms hop), in dB re full scale."""
    win, hop = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE)
    power = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    if len(x) <= win:
        mean_square = power[-1] / max(len(x), 1)
    else:
        starts = np.arange(0, len(x) - win + 1, hop)
        mean_square = float(np.max(power[starts + win] - power[starts]) / win)
    return 10.0 * math.log10(mean_square + 1e-12)


def quantize(x: np.ndarray) -> np.ndarray:
    """Round to 16-bit PCM and back, so labels are measured on what the file holds."""
    return (np.clip(np.round(x * 32768.0), -32768, 32767) / 32768.0).astype(np.float32)


def to_pcm16(x: np.ndarray) -> np.ndarray:
    """The 16-bit integers of a quantised clip."""
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


# --- signal helpers -------------------------------------------------------------------------
def loudest_window(x: np.ndarray, seconds: float) -> int:
    """Start sample of the ``seconds``-long stretch of ``x`` with the most energy."""
    n = int(seconds * SAMPLE_RATE)
    if len(x) <= n:
        return 0
    hop = int(HOP_S * SAMPLE_RATE)
    power = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    starts = np.arange(0, len(x) - n + 1, hop)
    return int(starts[np.argmax(power[starts + n] - power[starts])])


def fade(x: np.ndarray) -> np.ndarray:
    """Short linear fade-in and fade-out."""
    n = min(int(FADE_S * SAMPLE_RATE), len(x) // 2)
    if n == 0:
        return x
    y = x.copy()
    ramp = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float32)
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y


def excerpt(x: np.ndarray, seconds: float) -> tuple[np.ndarray, float]:
    """The loudest ``seconds`` of ``x`` (faded at the cuts) and its offset in seconds; all of x if shorter."""
    if len(x) <= int(seconds * SAMPLE_RATE):
        return x, 0.0
    start = loudest_window(x, seconds)
    return fade(x[start:start + int(seconds * SAMPLE_RATE)]), start / SAMPLE_RATE


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """White, pink (1/f) or brown (1/f^2) noise with unit RMS."""
    white = rng.standard_normal(n)
    if colour != "white":
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
        freqs[0] = freqs[1] if n > 1 else 1.0
        spectrum /= np.sqrt(freqs) if colour == "pink" else freqs
        white = np.fft.irfft(spectrum, n)
    return (white / (np.sqrt(np.mean(white ** 2)) + 1e-12)).astype(np.float32)


def _db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def _place(total: int, pieces: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Sum pieces (signal, start sample) into a buffer of ``total`` samples."""
    out = np.zeros(total, np.float32)
    for signal, start in pieces:
        end = min(total, start + len(signal))
        out[start:end] += signal[: end - start]
    return out


# --- clips ----------------------------------------------------------------------------------
CLIP_SECONDS = (1.5, 10.0)  # every clip's length is drawn from this range, whatever its class
REPEAT_GAP_S = (0.2, 1.2)  # silence between repetitions of a short event
MIX_SNR_DB = (0.0, 5.0, 10.0, 20.0)  # foreground over background, loudest-100-ms levels


def clip_length(rng: random.Random) -> float:
    """A clip length drawn log-uniformly from CLIP_SECONDS: the same draw for every class."""
    low, high = CLIP_SECONDS
    return round(math.exp(rng.uniform(math.log(low), math.log(high))), 2)


def fit_clip(recording: Recording, audio: np.ndarray, target_s: float,
             rng: random.Random) -> tuple[np.ndarray, list[Part], str | None, str]:
    """One recording made into a clip of about ``target_s`` seconds; returns (samples, parts, noise, kind).

    Longer sounds are cut to an excerpt (speech never: its clip is as long as the utterance);
    shorter ones are repeated with gaps, or placed in silence or faint noise.
    """
    seconds = len(audio) / SAMPLE_RATE
    n = int(round(target_s * SAMPLE_RATE))
    if recording.category == "Silence":
        return np.zeros(n, np.float32), [Part(recording, 0.0, target_s)], None, "silence"
    if seconds >= target_s and not recording.is_speech:
        offset = rng.randint(0, len(audio) - n)
        return fade(audio[offset:offset + n]), [Part(recording, 0.0, target_s, offset / SAMPLE_RATE)], None, "excerpt"
    if seconds >= target_s - 0.3:
        return audio, [Part(recording, 0.0, seconds)], None, "base"
    choice = rng.random()
    if not recording.is_speech and seconds < target_s / 2 and choice < 0.4:
        pieces, t = [], round(rng.uniform(0.0, 0.5), 2)
        while t + seconds <= target_s:
            pieces.append((audio, int(t * SAMPLE_RATE)))
            t += seconds + rng.uniform(*REPEAT_GAP_S)
        out = _place(n, pieces)
        first = pieces[0][1] / SAMPLE_RATE
        last_end = pieces[-1][1] / SAMPLE_RATE + seconds
        part = Part(recording, first, last_end - first, details={"repeats": len(pieces)})
        return out, [part], None, "repeat"
    start = round(rng.uniform(0.0, target_s - seconds), 2)
    out = _place(n, [(audio, int(start * SAMPLE_RATE))])
    noise = None
    if choice > 0.7 and recording.category != "Noise":
        noise = rng.choice(("white", "pink", "brown"))
        level = loudness_db(audio) - rng.uniform(*NOISE_SNR_DB)
        out = out + coloured_noise(n, noise, np.random.default_rng(rng.getrandbits(63))) * _db_to_gain(level)
    return out, [Part(recording, start, seconds)], noise, "pad_noise" if noise else "pad_silence"


def mix_clip(foreground: Recording, fg_audio: np.ndarray, background: Recording, bg_audio: np.ndarray,
             snr_db: float, target_s: float, rng: random.Random) -> tuple[np.ndarray, list[Part]]:
    """A foreground sound over a background that fills the clip, ``snr_db`` above it."""
    fg_seconds = len(fg_audio) / SAMPLE_RATE
    if not foreground.is_speech and fg_seconds > target_s - 0.5:
        fg_audio, _ = excerpt(fg_audio, max(1.0, target_s - 0.5))
        fg_seconds = len(fg_audio) / SAMPLE_RATE
    total = max(target_s, fg_seconds + 0.4)
    n = int(round(total * SAMPLE_RATE))
    if len(bg_audio) < n:  # a short background is looped
        bg = np.resize(bg_audio, n)
    else:
        offset = rng.randint(0, len(bg_audio) - n)
        bg = bg_audio[offset:offset + n]
    bg = fade(bg.astype(np.float32))
    bg = bg * _db_to_gain(loudness_db(fg_audio) - loudness_db(bg) - snr_db)
    lead = round(rng.uniform(0.1, total - fg_seconds - 0.1), 2)
    out = _place(n, [(bg, 0), (fg_audio, int(lead * SAMPLE_RATE))])
    return out, [Part(foreground, lead, fg_seconds, role="foreground"),
                 Part(background, 0.0, total, gain_db=-snr_db, role="background")]


def level(x: np.ndarray, target: str, rng: random.Random) -> tuple[np.ndarray, float]:
    """Scale ``x`` into loudness class ``target`` (peak-limited, kept off class boundaries), then quantise."""
    current = loudness_db(x)
    if current < SILENT_DB:
        return quantize(x), 0.0
    gain_db = rng.uniform(*LEVEL_TARGETS_DB[target]) - current
    peak = float(np.max(np.abs(x))) * _db_to_gain(gain_db)
    if peak > PEAK_LIMIT:
        gain_db -= 20.0 * math.log10(peak / PEAK_LIMIT)
    if any(abs(current + gain_db - bound) < BOUNDARY_MARGIN_DB for bound in LOUDNESS_BOUNDS_DB):
        gain_db -= 2 * BOUNDARY_MARGIN_DB
    return quantize(x * _db_to_gain(gain_db)), round(gain_db, 2)


def clip_labels(clip: Clip) -> dict[str, Any]:
    """Ground-truth labels of a built clip: from its recordings, and measured from its samples."""
    from train.builder.ontology import label

    recs = [p.recording for p in clip.parts]
    speech = [r for r in recs if r.is_speech]
    single = len(recs) == 1
    only = recs[0] if single else None
    db = loudness_db(clip.samples)
    silent = db < SILENT_DB or (single and only.category == "Silence")
    seconds = len(clip.samples) / SAMPLE_RATE
    voice = speech[0] if len(speech) == 1 else None
    return {
        "category": only.category if single else None,
        "fine_label": only.fine_label if single else None,
        "categories": [r.category for r in recs],
        "fine_labels": [r.fine_label for r in recs],
        "label_paths": [label(r.fine_label).path for r in recs],
        "is_speech": bool(speech),
        "is_music": any(r.is_music for r in recs),
        "language": voice.language if voice else None,
        "transcript": voice.transcript if voice else None,
        "translation": voice.translation if voice else None,
        "gender": voice.gender if voice else None,
        "speaker": voice.speaker if voice else None,
        "synthetic_voice": bool(voice.details.get("synthetic")) if voice else None,
        "pitch_hz": only.pitch_hz if single else None,
        "pitch_class": only.pitch_class if single else None,
        "loudness_db": round(db, 2) if not silent else None,
        "loudness_class": loudness_class(db) if not silent else None,
        "duration_s": round(seconds, 3),
        "duration_label": duration_label(seconds),
        "n_events": 0 if silent else len(recs),
        "background_noise": clip.noise,
        "snr_db": -clip.parts[1].gain_db if len(clip.parts) == 2 else None,
        "repeats": clip.parts[0].details.get("repeats", 1) if single else None,
        "events": [{"recording_id": p.recording.id, "label": p.recording.fine_label, "role": p.role,
                    "start_s": round(p.start_s, 3), "end_s": round(p.start_s + p.seconds, 3)}
                   for p in sorted(clip.parts, key=lambda p: p.start_s)],
    }
