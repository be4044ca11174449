"""Synthetic sentences in six languages from espeak-ng, female and male voice variants."""

from __future__ import annotations

import random
from pathlib import Path

from train.builder import phrases
from train.builder.sources.base import Recording, Source, portable

LICENCE = "generated with espeak-ng (program GPL-3.0-or-later)"
VARIANTS = {"female": ("f1", "f2", "f3", "f4", "f5"), "male": ("m1", "m2", "m3", "m4", "m5", "m6", "m7")}
SPEED = (135, 185)  # words per minute
PITCH = (35, 65)  # espeak-ng -p, 0..99 around its default 50
FINE = {"female": "Female speech, woman speaking", "male": "Male speech, man speaking"}


def recordings(count: int | None, rng: random.Random, work: Path) -> list[Recording]:
    """About ``count`` sentences spread over the languages, alternating female and male voices."""
    per_language = max(1, (count or 120) // len(phrases.ESPEAK_VOICES))
    result = []
    for language, voice in phrases.ESPEAK_VOICES.items():
        for i, index in enumerate(rng.sample(range(phrases.NUM_SENTENCES), per_language)):
            gender = ("female", "male")[i % 2]
            variant = rng.choice(VARIANTS[gender])
            speed, pitch = rng.randint(*SPEED), rng.randint(*PITCH)
            text = phrases.sentence(language, index)
            rec_id = f"espeak/{language.lower()}-{index:03d}"
            path = work / f"{rec_id.replace('/', '_')}.wav"
            command = ("espeak-ng", "-v", f"{voice}+{variant}", "-s", str(speed), "-p", str(pitch), "-w", str(path),
                       text)
            result.append(Recording(
                id=rec_id, dataset="espeak", path=path, source=portable(command, path), licence=LICENCE,
                category="Speech", fine_label=FINE[gender], is_speech=True, transcript=text, language=language,
                gender=gender, speaker=f"espeak-ng {voice}+{variant}",
                translation=None if language == "English" else phrases.gloss(index),
                details={"voice": f"{voice}+{variant}", "synthetic": True}, command=command, split_key=rec_id,
                group=f"espeak-{language}"))
    return result


SOURCE = Source("espeak", "espeak-ng synthetic sentences in six languages", apt=("espeak-ng",), tools=("espeak-ng",),
                recordings=recordings)
