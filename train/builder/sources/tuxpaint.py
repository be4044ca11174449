"""Tux Paint stamps: labelled sound effects, and spoken descriptions in many languages.

Each stamp ``NAME`` may have ``NAME.ogg`` (a sound effect) and ``NAME_desc[_LANG].ogg``
(a person reading the stamp's description); ``NAME.txt`` holds the English text on line 1
and ``LANG.utf8=`` translations. ``symbols/`` sounds are spoken letters, not effects, and
four animal effects are digital silence (nandou, iguana, giraffe, wombat): all are dropped.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from pathlib import Path

from train.builder.sources.base import Recording, Source, unique
from train.builder.sources.table import table_recordings

DIR = Path("/usr/share/tuxpaint/stamps")
LICENCE = "GPL-2.0 (Tux Paint stamps)"
LANGUAGES = {"": "English", "fr": "French", "ru": "Russian", "ro": "Romanian", "ca": "Catalan", "bg": "Bulgarian",
             "es": "Spanish", "be": "Belarusian", "el": "Greek", "da": "Danish", "lt": "Lithuanian", "nl": "Dutch",
             "pt_BR": "Portuguese"}
EFFECT_RULES = (
    (r"^symbols/|_desc|nandou|iguana|giraffe|wombat|rubberduck|apple|gift|candy|santahat|dreydl|bat_left|ghost"
     r"|spider|apollo|bathyscape|town/|cymbal|tomtom", None),
    (r"amphibians/frog", "Frog"), (r"birds/crow", "Crow"), (r"birds/owl", "Owl"), (r"birds/(duck|drake)", "Duck"),
    (r"birds/gander", "Goose"), (r"birds/(hen|rooster)", "Chicken, rooster"), (r"seagull", "Gull, seagull"),
    (r"turkey", "Turkey"), (r"birds/", "Bird"), (r"bee|hornet", "Bee, wasp, etc."), (r"insects/", "Insect"),
    (r"apes/", "Monkey"), (r"dolphin|orca|whale", "Whale vocalization"), (r"bovines/(bull|cow)", "Cattle, bovinae"),
    (r"goat", "Goat"), (r"bovines/(ram|sheep)", "Sheep"), (r"cats/(lion|tiger)", "Roaring cats (lions, tigers)"),
    (r"dogs/dog", "Dog"), (r"donkey", "Donkey, ass"), (r"equines/horse", "Horse"), (r"mammals/pig", "Pig"),
    (r"blackcat", "Cat"), (r"animals/", "Wild animals"),
    (r"camera", "Camera"), (r"drumkit", "Drum kit"), (r"cello", "Cello"), (r"violin", "Violin, fiddle"),
    (r"bassoon", "Bassoon"), (r"final-roll-call", "Brass instrument"), (r"Washing-machine", "Washing machine"),
    (r"scissors", "Scissors"), (r"dishes/", "Dishes, pots, and pans"), (r"kettle", "Kettle whistle"),
    (r"toilet", "Toilet flush"), (r"hammer|mallet", "Hammer"), (r"tools/saw", "Sawing"),
    (r"vacuum", "Vacuum cleaner"), (r"lightningbolt", "Thunder"), (r"fireworks", "Fireworks"),
    (r"firetruck", "Emergency vehicle"),
)
_DESC = re.compile(r"^(?P<stamp>.+)_desc(?:_(?P<lang>[a-z]{2}(?:_[A-Z]{2})?))?$")


def effects(*_) -> list[Recording]:
    """The labelled, non-silent sound effects."""
    return table_recordings("tuxpaint", DIR, EFFECT_RULES, LICENCE)


def descriptions(count: int | None, rng: random.Random) -> list[Recording]:
    """Up to ``count`` spoken descriptions, spread evenly over the languages, with their text."""
    by_language: dict[str, list[Recording]] = defaultdict(list)
    for path in unique([p for p in DIR.rglob("*_desc*.ogg") if not p.relative_to(DIR).as_posix().startswith("symbols")]):
        m = _DESC.match(path.stem)
        if not m or (m["lang"] or "") not in LANGUAGES:
            continue
        code = m["lang"] or ""
        text = _text(path.parent / f"{m['stamp']}.txt", code)
        if not text:
            continue
        language = LANGUAGES[code]
        name = path.relative_to(DIR).with_suffix("").as_posix()
        english = _text(path.parent / f"{m['stamp']}.txt", "")
        by_language[language].append(Recording(
            id=f"tuxpaint/{name}", dataset="tuxpaint", path=path, source=str(path), licence=LICENCE,
            category="Speech", fine_label="Speech", is_speech=True, transcript=text, language=language,
            translation=english if language != "English" else None, speaker="Tux Paint volunteer",
            split_key=f"tuxpaint-text/{language}/{text.lower()}", group=f"tuxpaint-{language}"))
    queues = [rng.sample(v, len(v)) for _, v in sorted(by_language.items())]
    chosen: list[Recording] = []
    while queues and (count is None or len(chosen) < count):
        queues = [q for q in queues if q]
        for queue in queues:
            if count is None or len(chosen) < count:
                chosen.append(queue.pop())
    return sorted(chosen, key=lambda r: r.id)


def _text(txt: Path, code: str) -> str | None:
    """The description in language ``code`` ('' = English, line 1) from a stamp's .txt file."""
    if not txt.is_file():
        return None
    lines = txt.read_text(encoding="utf-8", errors="replace").splitlines()
    if code == "":
        return lines[0].strip() if lines else None
    for line in lines:
        if line.startswith(f"{code}.utf8="):
            return line.split("=", 1)[1].strip() or None
    return None


SOURCE = Source("tuxpaint", "Tux Paint stamps: animal and household effects, spoken descriptions in 13 languages",
                apt=("tuxpaint-stamps-default",), marker=lambda: (DIR / "animals").is_dir(),
                recordings=lambda count, rng, work: effects() + descriptions(count, rng))
