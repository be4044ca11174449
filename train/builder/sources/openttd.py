"""OpenTTD's OpenSFX: edited field recordings of trains, buses, planes, machinery, farm animals and weather.

The sounds live in one archive, ``opensfx.cat``: a table of (offset, size) pairs, then
per entry a length-prefixed description ("\"Ship horn\". Original ... License: ...") and
a RIFF WAV file. The quoted title is the label; cartoon "Toyland" mixes, jingles, crowd
sounds and the two empty placeholders are dropped.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from train.builder.sources.base import Recording, Source
from train.builder.sources.table import match

CAT = Path("/usr/share/games/openttd/baseset/opensfx/opensfx.cat")
LICENCE = "CC-BY-SA-3.0 (OpenSFX); each sound's own licence (CC-BY-3.0, CC-BY-SA or CC0) is in its description"
RULES = (
    (r"Toyland|Year|Applause|Oooh|Unused|Splat|Building bridge|breakdown", None),
    (r"Whistle", "Whistle"), (r"horn", "Vehicle horn, car horn, honking"), (r"Level crossing", "Bell"),
    (r"Cash till", "Cash register"), (r"Beep|Morse", "Beep, bleep"), (r"Steam \(", "Steam"),
    (r"train|Steam engine", "Train"), (r"Helicopter", "Helicopter"), (r"jet", "Jet engine"),
    (r"plane|Plane", "Aircraft"), (r"bus", "Bus"), (r"Truck", "Truck"), (r"Mining|Sawmill", "Mechanisms"),
    (r"Jackhammer", "Jackhammer"), (r"Chainsaw", "Chainsaw"), (r"Electric sparking", "Static"),
    (r"Big crash|^Crash", "Smash, crash"), (r"Explosion", "Explosion"), (r"tree", "Wood"), (r"Sheep", "Sheep"),
    (r"Cow", "Cattle, bovinae"), (r"Horse", "Horse"), (r"Bird", "Bird"), (r"Lion", "Roaring cats (lions, tigers)"),
    (r"Monkeys", "Monkey"), (r"[Ww]ind", "Wind"),
)


def entries(cat: Path = CAT) -> list[tuple[int, str, bytes]]:
    """(index, description, WAV bytes) of every WAV entry in the archive."""
    data = cat.read_bytes()
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    result = []
    for i in range(count):
        offset = struct.unpack_from("<I", data, 8 * i)[0] & 0x7FFFFFFF
        name_len = data[offset]
        name = data[offset + 1:offset + name_len].decode("utf-8", "replace")
        start = offset + 1 + name_len
        if data[start:start + 4] != b"RIFF":
            continue
        size = struct.unpack_from("<I", data, start + 4)[0] + 8
        result.append((i, name, data[start:start + size]))
    return result


def recordings(count: int | None, rng, work: Path) -> list[Recording]:
    """The labelled entries, written as WAV files into ``work``."""
    result = []
    for index, description, wav in entries():
        title = re.match(r'"([^"]*)"', description)
        fine = match(RULES, title.group(1) if title else description)
        if not fine:
            continue
        path = work / f"openttd_{index:02d}.wav"
        path.write_bytes(wav)
        rec_id = f"openttd/{index:02d}"
        result.append(Recording(
            id=rec_id, dataset="openttd", path=path, source=f"{CAT}#{index}", licence=LICENCE,
            category=_category(fine), fine_label=fine, details={"description": description}, split_key=rec_id,
            group=f"openttd-{fine}"))
    return result


def _category(fine: str) -> str:
    from train.builder.ontology import label

    return label(fine).category


SOURCE = Source("openttd", "OpenTTD OpenSFX vehicles, machinery, animals, wind and signals", apt=("openttd-opensfx",),
                marker=CAT.is_file, recordings=recordings)
