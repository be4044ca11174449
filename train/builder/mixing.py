"""Clips from recordings: levels, padding with silence or noise, sequences and overlays.

Every clip is built from one or more recordings (``Part``s), then levelled to a loudness
class, quantised to 16-bit, and its labels are measured from the samples that are
written: loudness and duration come from the final audio, everything else from the
recordings it contains. Signals are float32 at 16 kHz.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from train.builder.labels import LOUDNESS_BOUNDS_DB, MAX_SECONDS, duration_label, loudness_class
from train.builder.sources import SAMPLE_RATE, Recording

# Levels (loudest 100 ms, dB re full scale) that clips are set to: the middle of each class.
LEVEL_TARGETS_DB = {"quiet": (-45.0, -39.0), "moderate": (-31.0, -25.0), "loud": (-17.0, -11.0)}
BOUNDARY_MARGIN_DB = 1.5  # levels this close to a class boundary are moved 3 dB down
PEAK_LIMIT = 0.97
SILENT_DB = -90.0  # below this a clip counts as silent (no loudness label)
WINDOW_S, HOP_S = 0.1, 0.05  # loudness windows
MIN_CLIP_S = 1.0  # shorter clips are padded with silence at the end
FADE_S = 0.005  # at every cut, so crops never click
MAX_EVENT_S = 3.5  # non-speech parts of a sequence are cut to their loudest stretch of this length
MAX_SPEECH_EVENT_S = 4.5  # speech is never cut: longer utterances are not used in sequences
NOISE_SNR_DB = (15.0, 25.0)  # background noise below the sound's level
BACKGROUND_DB = (8.0, 14.0)  # overlay background below the foreground's level


@dataclass
class Part:
    """One recording (or a stretch of it) inside a clip."""

    recording: Recording
    start_s: float  # where it starts in the clip
    seconds: float  # how long it lasts in the clip
    offset_s: float = 0.0  # where the stretch starts in the recording
    gain_db: float = 0.0  # relative gain before the clip is levelled
    role: str = "main"  # main | event | foreground | background


@dataclass
class Clip:
    """A written audio clip: its parts, how it was made, its samples and its labels."""

    clip_id: str
    split: str
    dataset: str  # animals | asterisk | sonicpi | espeak | sox | mix | baseline
    kind: str  # base | gain | pad_silence | pad_noise | sequence | overlay | silence_baseline
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
def single_clip(recording: Recording, audio: np.ndarray, kind: str,
                rng: random.Random) -> tuple[np.ndarray, list[Part], str | None]:
    """One recording as ``base`` / ``gain`` (as is), ``pad_silence`` or ``pad_noise`` (placed in a longer clip)."""
    seconds = len(audio) / SAMPLE_RATE
    if kind in ("base", "gain"):
        total, start = max(seconds, MIN_CLIP_S), 0.0
    else:
        extra = rng.uniform(1.0, 4.0) if kind == "pad_silence" else rng.uniform(0.5, 3.0)
        total = max(MIN_CLIP_S, min(float(MAX_SECONDS), seconds + extra))
        start = round(rng.uniform(0.0, max(0.0, total - seconds)), 2)
    n = int(round(total * SAMPLE_RATE))
    out = _place(n, [(audio, int(start * SAMPLE_RATE))])
    noise = None
    if kind == "pad_noise":
        noise = rng.choice(("white", "pink", "brown"))
        level = loudness_db(audio) - rng.uniform(*NOISE_SNR_DB)  # steady noise: RMS ~ loudest window
        generator = np.random.default_rng(rng.getrandbits(63))
        out = out + coloured_noise(n, noise, generator) * _db_to_gain(level)
    return out, [Part(recording, start, seconds)], noise


def sequence_clip(recordings: list[Recording], audios: list[np.ndarray],
                  rng: random.Random) -> tuple[np.ndarray, list[Part]] | None:
    """Recordings one after another with short gaps; None if they do not fit in MAX_SECONDS."""
    pieces, parts = [], []
    t = round(rng.uniform(0.0, 0.4), 2)
    for recording, audio in zip(recordings, audios):
        offset = 0.0
        if not recording.is_speech:
            audio, offset = excerpt(audio, MAX_EVENT_S)
        audio = audio * _db_to_gain(-loudness_db(audio) + rng.uniform(-4.0, 4.0) - 20.0)
        seconds = len(audio) / SAMPLE_RATE
        pieces.append((audio, int(t * SAMPLE_RATE)))
        parts.append(Part(recording, t, seconds, offset, role="event"))
        t = round(t + seconds + rng.uniform(0.3, 0.8), 2)
    total = parts[-1].start_s + parts[-1].seconds + rng.uniform(0.1, 0.5)
    if total > MAX_SECONDS:
        return None
    return _place(int(round(total * SAMPLE_RATE)), pieces), parts


def overlay_clip(foreground: Recording, fg_audio: np.ndarray, background: Recording, bg_audio: np.ndarray,
                 rng: random.Random) -> tuple[np.ndarray, list[Part]] | None:
    """A foreground sound over a quieter, longer background; None if the background is too short."""
    fg_seconds = len(fg_audio) / SAMPLE_RATE
    lead, tail = round(rng.uniform(0.2, 1.0), 2), rng.uniform(0.2, 1.0)
    total = min(float(MAX_SECONDS), lead + fg_seconds + tail)
    if lead + fg_seconds > total or len(bg_audio) < int(total * SAMPLE_RATE):
        return None
    bg, bg_offset = excerpt(bg_audio, total)
    relative = -rng.uniform(*BACKGROUND_DB)
    bg = bg * _db_to_gain(loudness_db(fg_audio) - loudness_db(bg) + relative)
    n = int(round(total * SAMPLE_RATE))
    out = _place(n, [(bg, 0), (fg_audio, int(lead * SAMPLE_RATE))])
    parts = [Part(foreground, lead, fg_seconds, role="foreground"),
             Part(background, 0.0, len(bg) / SAMPLE_RATE, bg_offset, relative, role="background")]
    return out, parts


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
    recs = [p.recording for p in clip.parts]
    speech = [r for r in recs if r.is_speech]
    single = len(recs) == 1
    only = recs[0] if single else None
    db = loudness_db(clip.samples)
    silent = db < SILENT_DB or (single and only.category == "silence")
    seconds = len(clip.samples) / SAMPLE_RATE
    voice = speech[0] if len(speech) == 1 else None
    return {
        "category": only.category if single else None,
        "fine_label": only.fine_label if single else None,
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
        "events": [{"recording_id": p.recording.id, "label": p.recording.fine_label or "speech",
                    "role": p.role, "start_s": round(p.start_s, 3), "end_s": round(p.start_s + p.seconds, 3)}
                   for p in sorted(clip.parts, key=lambda p: p.start_s)],
    }
