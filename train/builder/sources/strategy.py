"""Strategy and city-building games: recorded work, traffic, animal and nature sounds.

These games ship edited field recordings (many from freesound.org or soundbible.com,
credited per file in Widelands' ``wl-sound-docu.csv``), which gives the builder what the
other games lack: more distinct recordings of vehicles, machines, animals, water and
fire. Only files whose name says plainly what is heard are labelled; building ambiences
that mix several things (a market, a school, a harbour), creature grunts and cries,
fantasy weapons and user-interface sounds are left out.

Warzone 2100 keeps its sounds in a zip archive (``base.wz``); its effects (``audio/sfx/``)
are extracted into the work folder. Its voices (the spoken messages, tutorial, taunts,
pilots' radio) are all left out, and so are its science-fiction weapons (lasers, rail guns,
the NEXUS link), rockets, ricochets, construction "welding", screams and a shouted "Help!",
the silent file, cyborg footsteps and most interface sounds. ``building/freroar`` ("fire
roar") is dropped on purpose: it is a steady 60-125 Hz drone without any crackle.
"""

from __future__ import annotations

from pathlib import Path

from train.builder.sources.base import Source
from train.builder.sources.games import MUSIC
from train.builder.sources.table import archive_source, table_source

LINCITY_DIR = Path("/usr/share/games/lincity-ng/sounds")
LINCITY_RULES = (
    (r"^RailTrain", "Train"), (r"^Trafic", "Car"), (r"^RocketExplosion", "Explosion"), (r"^Raze", "Smash, crash"),
    (r"^Blacksmith", "Hammer"), (r"^Fire\d", "Fire"), (r"^(Mill|IndustryHigh|IndustryLight)\d", "Mechanisms"),
    (r"^Substation", None),  # a computer voice says "power on", "power off" (Whisper heard it)
)

WIDELANDS_DIR = Path("/usr/share/games/widelands/data")
WIDELANDS_RULES = (
    (r"^music/", MUSIC),
    (r"animals/bird", "Bird"), (r"animals/crickets", "Insect"), (r"animals/frog", "Frog"),
    (r"animals/(wolf|coyote|moose|stag)", "Wild animals"), (r"animals/boar", "Pig"),
    (r"farm/donkey", "Donkey, ass"), (r"farm/horse", "Horse"), (r"farm/ox", "Cattle, bovinae"),
    (r"farm/sheep", "Sheep"), (r"critters/duck", "Duck"),
    (r"saw/sawing|woodcutting/(fast_)?woodcutting", "Sawing"), (r"saw/benchsaw|sawmill/", "Power tool"),
    (r"hammering/|smiths/(smith|toolsmith)_", "Hammer"), (r"tree_falling", "Wood"),
    (r"(beer|wine)bubble", "Bubbling"), (r"blackwood", "Stream"), (r"metal/furnace", "Fire"),
    (r"taverns/(inn|biginn_00|tavern)", "Dishes, pots, and pans"), (r"mill/mill_turning", "Mechanisms"),
)

WESNOTH_DIR = Path("/usr/share/games/wesnoth/1.16/data/core/sounds")
WESNOTH_RULES = (
    (r"ambient/(birds\d|morning)", "Bird"), (r"ambient/campfire|^fire$|flame-big$", "Fire"),
    (r"^explosion$", "Explosion"), (r"^gunshot$", "Gunshot, gunfire"), (r"^lightning$", "Thunder"),
    (r"^horse-(elf-)?canter$", "Horse"), (r"^wolf-growl", "Wild animals"), (r"^water-blast$", "Splash, splatter"),
    (r"^(cave-in|rumble)$", "Smash, crash"), (r"^(club|mace|fist|staff)$", "Thump, thud"),
    (r"^(throw-\d|dagger-swish)$", "Whoosh, swoosh, swish"), (r"^gold$", "Coin (dropping)"),
)

WARZONE_ARCHIVE = Path("/usr/share/games/warzone2100/base.wz")  # a zip; rules see paths under audio/sfx/
WARZONE_RULES = (
    (r"^vehicle/(t(flight|hover|land|start)|vtol(-move|land|off))$", "Aircraft"),  # the transporter, VTOLs
    (r"^vehicle/(tread|hov(start|move|stop)|con-(move|move-off|shut-down))$", "Engine"),
    (r"^explons/(lrg|sml|mpod|atnk)expl$", "Explosion"), (r"^explons/bldfall$", "Smash, crash"),
    (r"^weapons/(mgbar\d|mgheavy|mgtower|asltmg|(sml|med|lrg|hivel|rapd)can|mortar)$", "Gunshot, gunfire"),
    (r"^weapons/splash$", "Splash, splatter"), (r"^building/oilpump$", "Mechanisms"),
    (r"^building/steam$", "Steam"), (r"^building/powerhum$", "Hum"),
    (r"^building/freroar$", None),  # "fire roar", but a steady low drone with no crackle
    (r"^interfce/beep[18]$", "Beep, bleep"),  # beep2/beep7 are noisy chirps; the other beeps last under 0.3 s
)

_LICENCES = {
    "lincity": "GPL-2.0-or-later or CC-BY-SA-2.0 (LinCity-NG sound effects)",
    "widelands": "GPL-2.0-or-later (Widelands); per-file sources and licences (many CC0, CC-BY-3.0, public "
                 "domain) in data/sound/wl-sound-docu.csv",
    "wesnoth": "GPL-2.0-or-later (Battle for Wesnoth)",
    "warzone": "GPL-2.0-or-later (Warzone 2100; (c) 1999-2004 Eidos Interactive, 2005-2013 Warzone 2100 Project)",
}


def _source(name: str, what: str, package: str, root: Path, rules: tuple) -> Source:
    return table_source(name, what, package, root, rules, _LICENCES[name])


WARZONE = archive_source("warzone", "Warzone 2100 aircraft, engines, explosions, gunfire, machinery and beeps",
                         "warzone2100-data", WARZONE_ARCHIVE, "audio/sfx/", WARZONE_RULES, _LICENCES["warzone"])

SOURCES = (  # new sources go last: the earlier ones keep their random streams and splits
    _source("lincity", "LinCity-NG trains, traffic, machinery, fire and demolition", "lincity-ng-data",
            LINCITY_DIR, LINCITY_RULES),
    _source("widelands", "Widelands wild and farm animals, sawing, hammering, water, fire and music",
            "widelands-data", WIDELANDS_DIR, WIDELANDS_RULES),
    _source("wesnoth", "Battle for Wesnoth birds, fire, horses, explosions and impacts", "wesnoth-1.16-data",
            WESNOTH_DIR, WESNOTH_RULES),
    WARZONE,
)
