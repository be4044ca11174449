"""Desktop sound themes: Oxygen (KDE), Yaru (Ubuntu) and Deepin notification sounds.

Synthetic user-interface chimes and beeps, plus a few real-object sounds (a camera
shutter, a bin being emptied). Labels come from the freedesktop event names.
"""

from __future__ import annotations

from pathlib import Path

from train.builder.sources.base import Source
from train.builder.sources.table import table_recordings

OXYGEN_DIR = Path("/usr/share/sounds")
YARU_DIR = Path("/usr/share/sounds/Yaru/stereo")
DEEPIN_DIR = Path("/usr/share/sounds/deepin/stereo")

_RULES = (
    (r"trash|emptied", "Dishes, pots, and pans"), (r"camera|screen-capture|shutter", "Camera"),
    (r"window-(move|shade)", "Whoosh, swoosh, swish"), (r"phone-ring|incoming-call", "Ringtone"),
    (r"audio-volume-change|device-added|device-removed", None),  # under 0.2 s (sound-sources.md)
    (r"bell|alarm|error|warning|critical|problem|lost|negative", "Beep, bleep"),
    (r".", "Chime"),
)


def oxygen() -> list:
    return table_recordings("oxygen", OXYGEN_DIR, _RULES, "LGPL-3.0-or-later (KDE Oxygen sounds)", glob="Oxygen-*")


def yaru() -> list:
    return table_recordings("yaru", YARU_DIR, _RULES, "CC-BY-SA-4.0 (Yaru sound theme)")


def deepin() -> list:
    return table_recordings("deepin", DEEPIN_DIR, _RULES, "GPL-3.0-or-later (Deepin sound theme)")


SOURCES = (
    Source("oxygen", "KDE Oxygen desktop notification sounds", apt=("oxygen-sounds",),
           marker=lambda: any(OXYGEN_DIR.glob("Oxygen-*.ogg")), recordings=lambda *_: oxygen()),
    Source("yaru", "Ubuntu Yaru desktop notification sounds", apt=("yaru-theme-sound",),
           marker=YARU_DIR.is_dir, recordings=lambda *_: yaru()),
    Source("deepin", "Deepin desktop notification sounds", apt=("deepin-sound-theme",),
           marker=DEEPIN_DIR.is_dir, recordings=lambda *_: deepin()),
)
