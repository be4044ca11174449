"""Hedgewars voice packs: short acted phrases by several speakers in five languages.

Each pack is one speaker (or character) and file names are the phrase. The packs with
processed or sung voices (Robot, Singer) and the non-verbal clips (grunts, ows, laughs,
coughs, jumps) are dropped. The words are known only from file names and accents change
them, so no reference transcript is kept: these clips teach "speech" and the language.
"""

from __future__ import annotations

import re
from pathlib import Path

from train.builder.sources.base import Recording, Source, unique

DIR = Path("/usr/share/games/hedgewars/Data/Sounds/voices")
LICENCE = "GFDL-1.3 (Hedgewars sounds)"
PACK_LANGUAGES = {"British": "English", "Classic": "English", "Default": "English", "HillBilly": "English",
                  "Mobster": "English", "Pirate": "English", "Surfer": "English", "Default_es": "Spanish",
                  "Default_pl": "Polish", "Default_ru": "Russian", "Russian": "Russian", "Default_uk": "Ukrainian"}
NON_VERBAL = re.compile(r"^(Ow|Ooff|Laugh|Nooo|Hmm|Jump|Firepunch|Poison|Uh-oh|Ouch|Kamikaze|Melon)", re.I)


def recordings(*_) -> list[Recording]:
    """Every distinct word clip of the packs in PACK_LANGUAGES."""
    result = []
    for pack, language in PACK_LANGUAGES.items():
        for path in unique(list((DIR / pack).glob("*.ogg"))):
            if NON_VERBAL.match(path.stem):
                continue
            rec_id = f"hedgewars_voices/{pack}/{path.stem}"
            result.append(Recording(
                id=rec_id, dataset="hedgewars_voices", path=path, source=str(path), licence=LICENCE, category="Speech",
                fine_label="Speech", is_speech=True, language=language, speaker=f"Hedgewars {pack} voice",
                split_key=rec_id, group=f"hedgewars-{pack}"))
    return result


SOURCE = Source("hedgewars_voices", "Hedgewars acted voice phrases (English, Spanish, Polish, Russian, Ukrainian)",
                apt=("hedgewars-data",), marker=DIR.is_dir, recordings=recordings)
