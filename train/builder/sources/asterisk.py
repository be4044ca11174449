"""Asterisk telephone prompts read by professional speakers: English (with transcripts), Spanish, French.

English and Mexican Spanish are read by Allison Smith (``en_US_f_Allison``,
``es_MX_f_Allison``), Canadian French by June Wallack (``fr_CA_f_June``); the folder names
give language and sex. Only English has transcripts (``core-sounds-en.txt.gz``); the
others are used with their language and speaker, without reference text. ``silence/``
holds digital silence (labelled so), a few prompts are beeps and one is monkeys.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from train.builder.sources.base import Recording, Source

ROOT = Path("/usr/share/asterisk/sounds")
ENGLISH = ("en_US_f_Allison", "en")
TRANSCRIPTS = (Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"),
               Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt"))
OTHER_LANGUAGES = {"es_MX_f_Allison": ("Spanish", "Allison Smith"), "fr_CA_f_June": ("French", "June Wallack")}
LICENCE = "CC-BY-SA-3.0 (Digium; Asterisk core sounds)"
FEMALE = "Female speech, woman speaking"
NON_SPEECH = {"tt-monkeys": "Monkey"}


def english_dir() -> Path | None:
    """The English prompt folder, or None."""
    for name in ENGLISH:
        if (ROOT / name / "beep.wav").is_file():
            return (ROOT / name).resolve()
    return None


def transcripts_file() -> Path | None:
    return next((p for p in TRANSCRIPTS if p.is_file()), None)


def read_transcripts(path: Path) -> dict[str, str]:
    """Prompt name -> transcript, from core-sounds-en.txt(.gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    result = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            result[name.strip()] = text.strip()
    return result


def clean_transcript(raw: str) -> str | None:
    """The words actually spoken, or None when the transcript cannot be trusted word for word.

    Drops notes in brackets ("at [@]" -> "at", "IAX (note: ...)" -> "IAX") and the "..."
    that marks a fragment; refuses transcripts that write keys as symbols (* #).
    """
    if any(symbol in raw for symbol in "*#<>"):
        return None
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", raw)
    text = text.replace("...", " ").replace("exclaimation", "exclamation")
    text = re.sub(r"\s+", " ", text).strip(" ,")
    return text or None


def recordings(*_) -> list[Recording]:
    """English prompts with transcripts, silences, beeps and monkeys; Spanish and French prompts."""
    root, transcripts = english_dir(), read_transcripts(transcripts_file())
    result = []
    for path in sorted(root.rglob("*.wav")):
        name = path.relative_to(root).with_suffix("").as_posix()
        raw = transcripts.get(name)
        if raw is None:
            continue
        common = dict(id=f"asterisk/{name}", dataset="asterisk", path=path, source=str(path), licence=LICENCE)
        if name.startswith("silence/"):
            result.append(Recording(**common, category="Silence", fine_label="Silence", split_key=common["id"],
                                    group="asterisk-silence"))
        elif name in NON_SPEECH:
            result.append(Recording(**common, category="Animal", fine_label=NON_SPEECH[name], split_key=common["id"],
                                    group="asterisk-animal"))
        elif raw.startswith(("[", "<")):
            result.append(Recording(**common, category="Alarm", fine_label="Beep, bleep", split_key=common["id"],
                                    group="asterisk-beep"))
        else:
            text = clean_transcript(raw)
            if text is None:
                continue
            folder = name.split("/")[0] if "/" in name else "prompts"
            result.append(Recording(
                **common, category="Speech", fine_label=FEMALE, is_speech=True, transcript=text, language="English",
                gender="female", speaker="Allison Smith", split_key="asterisk-text/" + text.lower(),
                group=f"asterisk-{folder}"))
    for folder, (language, speaker) in OTHER_LANGUAGES.items():
        for path in sorted((ROOT / folder).rglob("*.wav")) if (ROOT / folder).is_dir() else []:
            name = path.relative_to(ROOT / folder).with_suffix("").as_posix()
            raw = transcripts.get(name)  # the same prompt names: skip what is not speech in English
            if raw is None or raw.startswith(("[", "<")) or name in NON_SPEECH or name.startswith("silence/"):
                continue
            rec_id = f"asterisk/{folder}/{name}"
            result.append(Recording(
                id=rec_id, dataset="asterisk", path=path, source=str(path), licence=LICENCE, category="Speech",
                fine_label=FEMALE, is_speech=True, language=language, gender="female", speaker=speaker,
                split_key=f"asterisk-{folder}/{name.split('/')[-1]}", group=f"asterisk-{language}"))
    return result


SOURCE = Source("asterisk", "Asterisk telephone prompts (English with transcripts, Spanish, French)",
                apt=("asterisk-core-sounds-en-wav", "asterisk-core-sounds-en", "asterisk-core-sounds-es-wav",
                     "asterisk-core-sounds-fr-wav"),
                marker=lambda: english_dir() is not None and transcripts_file() is not None, recordings=recordings)
