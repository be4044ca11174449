"""Synthetic speech from two more text-to-speech engines: flite (CMU) and festival.

Sentences come from ``phrases`` (English, and Italian for festival's Italian voice), so
every clip has a known text, language and voice. Each engine is its own source.
"""

from __future__ import annotations

import random
from pathlib import Path

from train.builder import phrases
from train.builder.sources.base import Recording, Source, portable

FLITE_VOICES = {"slt": "female", "kal16": "male", "awb": "male", "rms": "male"}
FESTIVAL_VOICES = {"kal_diphone": ("English", "male"), "cmu_us_slt_arctic_hts": ("English", "female"),
                   "lp_diphone": ("Italian", "female")}
FESTIVAL_DIR = Path("/usr/share/festival/voices")
FINE = {"female": "Female speech, woman speaking", "male": "Male speech, man speaking"}


def _speech(engine: str, voice: str, language: str, gender: str, index: int, command_for, licence: str,
            work: Path) -> Recording:
    text = phrases.sentence(language, index)
    rec_id = f"{engine}/{voice}-{language.lower()}-{index:03d}"
    path = work / f"{rec_id.replace('/', '_')}.wav"
    command = command_for(path, text)
    return Recording(
        id=rec_id, dataset=engine, path=path, source=portable(command, path), licence=licence, category="Speech",
        fine_label=FINE[gender], is_speech=True, transcript=text, language=language, gender=gender,
        speaker=f"{engine} {voice}", translation=None if language == "English" else phrases.gloss(index),
        details={"voice": voice, "synthetic": True}, command=command, split_key=rec_id, group=f"{engine}-{voice}")


def flite(count: int | None, rng: random.Random, work: Path) -> list[Recording]:
    """``count`` English sentences over the four general-domain flite voices."""
    result = []
    for i, index in enumerate(rng.sample(range(phrases.NUM_SENTENCES), min(count or 80, phrases.NUM_SENTENCES))):
        voice = list(FLITE_VOICES)[i % len(FLITE_VOICES)]
        result.append(_speech("flite", voice, "English", FLITE_VOICES[voice], index,
                              lambda path, text, v=voice: ("flite", "-voice", v, "-t", text, "-o", str(path)),
                              "generated with flite (CMU licence, BSD-like)", work))
    return result


def festival(count: int | None, rng: random.Random, work: Path) -> list[Recording]:
    """``count`` sentences over the installed festival voices (English and Italian)."""
    voices = [v for v in FESTIVAL_VOICES if any(FESTIVAL_DIR.glob(f"*/{v}"))]
    result = []
    for i, index in enumerate(rng.sample(range(phrases.NUM_SENTENCES), min(count or 60, phrases.NUM_SENTENCES))):
        voice = voices[i % len(voices)]
        language, gender = FESTIVAL_VOICES[voice]
        result.append(_speech("festival", voice, language, gender, index,
                              lambda path, text, v=voice: ("text2wave", "-eval", f"(voice_{v})", "-o", str(path)),
                              "generated with festival (X11-style licence) and its festvox voices", work))
    return result


SOURCES = (
    Source("flite", "flite synthetic English speech, four voices", apt=("flite",), tools=("flite",), recordings=flite),
    Source("festival", "festival synthetic speech (English kal and slt, Italian lp)",
           apt=("festival", "festvox-kallpc16k", "festvox-us-slt-hts", "festvox-italp16k"), tools=("text2wave",),
           marker=lambda: any(FESTIVAL_DIR.glob("*/*")), recordings=festival),
)
