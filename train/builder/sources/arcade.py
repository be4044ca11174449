"""Minetest and Warmux: fire, water and footsteps, cartoon weapons and more game music.

Minetest's default game names its sounds after what makes them: flowing water, bubbling
lava, fires of three sizes, lava hissing as it cools, splashing footsteps, breaking glass and
doors; these add natural sounds from a source unlike the other games. Its digging and
placing clicks (what "dug" or "choppy" sound like is not said), the minecart and the
fuse sounds are left out. Warmux adds 13 music tracks (orchestral, jazzy, folk) and
explosions, gunfire, an aircraft and a beep; its voice folder (cartoon exclamations),
jingles and whooshes are left out.
"""

from __future__ import annotations

from pathlib import Path

from train.builder.sources.base import Source
from train.builder.sources.games import MUSIC
from train.builder.sources.table import table_source

MINETEST_DIR = Path("/usr/share/games/minetest/games/minetest_game/mods")
MINETEST_RULES = (
    (r"env_sounds_water", "Stream"), (r"env_sounds_lava", "Bubbling"),
    (r"fire/sounds/fire_(fire\.\d|large|small)$|default_furnace_active", "Fire"),
    (r"default_cool_lava|fire_extinguish_flame", "Steam"),  # hot lava or a flame meeting water: a hiss
    (r"default_water_footstep", "Splash, splatter"), (r"default_break_glass", "Shatter"),
    (r"doors_(door|fencegate|glass_door|steel_door)_(open|close)|xpanes_steel_bar_door", "Door"),
    (r"default_(grass|gravel|dirt|sand|snow)_footstep", "Footsteps"), (r"tnt_explode", "Explosion"),
)

WARMUX_DIR = Path("/usr/share/games/warmux")
WARMUX_RULES = (
    (r"^music/", MUSIC),
    (r"weapons/(explosion\d|dynamite_exp|cluzooka_hit)", "Explosion"),
    (r"weapons/(gun|m16|shotgun)$", "Gunshot, gunfire"), (r"weapons/aircraft_flying", "Aircraft"),
    (r"weapons/mine_beep", "Beep, bleep"),
)

_LICENCES = {
    "minetest": "CC-BY-SA-3.0 (Minetest Game sounds; doors CC-BY-3.0, glass doors and tnt CC0-1.0: the package's "
                "copyright file)",
    "warmux": "GPL-2.0-or-later (Warmux)",
}


def _source(name: str, what: str, package: str, root: Path, rules: tuple) -> Source:
    return table_source(name, what, package, root, rules, _LICENCES[name])


SOURCES = (  # after every older source, so those keep their random streams and splits
    _source("minetest", "Minetest flowing water, bubbling lava, fire, hisses, splashes, glass, doors and footsteps",
            "minetest-data", MINETEST_DIR, MINETEST_RULES),
    _source("warmux", "Warmux music tracks, explosions, gunfire, an aircraft and a beep", "warmux-data",
            WARMUX_DIR, WARMUX_RULES),
)
