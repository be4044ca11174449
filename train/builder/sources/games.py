"""Game data packages: music tracks and labelled sound effects, by file-name tables.

Each package is its own source. Long music tracks are used as excerpts (``build.py`` cuts
every clip to a length drawn from one distribution for all classes). Rules drop speech
hidden in effect folders, non-verbal grunts and screams, user-interface blips and files
whose names do not say what they sound like (``sound-sources.md`` lists the traps).
"""

from __future__ import annotations

from pathlib import Path

from train.builder.sources.base import Source
from train.builder.sources.table import table_source

MUSIC = "Video game music"

SUPERTUX_DIR = Path("/usr/share/games/supertux2")
SUPERTUX_RULES = (
    (r"^speech/(penny_runt|tux_murp)", None),  # a cartoon stutter ("b-b-b") and murmur ("n-n-n"): no words
    (r"^music/", MUSIC), (r"^speech/", "Speech"), (r"sounds/excellent$", "Speech"),
    (r"welldone|grunts|hurt|yeti|empty|tada", None),  # welldone is applause-like, not speech
    (r"rain", "Rain"), (r"thunder|lightning", "Thunder"), (r"waterfall", "Waterfall"),
    (r"splash|splat", "Splash, splatter"), (r"explosion|firecracker", "Explosion"), (r"fireworks", "Fireworks"),
    (r"phone", "Telephone bell ringing"), (r"savebell", "Bell"), (r"ticking", "Clock"), (r"/door$", "Door"),
    (r"coin", "Coin (dropping)"), (r"icecrash|shatter", "Shatter"), (r"/saw$", "Power tool"),
    (r"thud|stomp|brick|iceblock_bump", "Thump, thud"), (r"/wood$", "Wood"), (r"fire$|flame|sizzle", "Fire"),
    (r"skid", "Scrape"), (r"/pop$", "Pop"),
)

FREEDROID_DIR = Path("/usr/share/freedroidrpg/data/sound")
FREEDROID_RULES = (
    (r"^music/", MUSIC), (r"voice_samples/|First_Contact|Start_Attack|Cant|ICant|Not_Enough|Requires|Tux_",
                           "Speech"),
    (r"Glass_Break", "Shatter"), (r"Blast", "Explosion"), (r"CameraTakesPicture", "Camera"),
    (r"Laser|Pulse|Plasma|Phaser|Exterminator|Military", "Gunshot, gunfire"), (r"footstep", "Footsteps"),
    (r"swing_then_hit", "Thump, thud"), (r"swing_then_nohit|Sword", "Whoosh, swoosh, swish"),
)

ETR_DIR = Path("/usr/share/games/etr")
ETR_RULES = ((r"^music/", MUSIC), (r"_slide$", "Scrape"), (r"tree_hit", "Wood"))

FROZEN_BUBBLE_DIR = Path("/usr/share/games/frozen-bubble/snd")
FROZEN_BUBBLE_RULES = ((r"zik", MUSIC), (r"typewriter", "Typing"), (r"rebound|stick", "Thump, thud"),
                       (r"destroy_group", "Pop"))

SUPERTUXKART_DIR = Path("/usr/share/games/supertuxkart/data")
SUPERTUXKART_RULES = (
    (r"^music/|tracks/.*/(Gran_Paradiso|Battle_Theme|beneath_the_rabbit|hot$|intro2$)", MUSIC),
    (r"nolok_speech|sara_airport_pa", "Speech"), (r"Scream|wee$|ugh$|spaceship|restaurant", None),
    (r"engine_(large|small)", "Engine"), (r"car_accel|car_revup", "Car"), (r"jetEngine", "Jet engine"),
    (r"steamLocomotive", "Train"), (r"sfx/rain$", "Rain"), (r"thunder", "Thunder"), (r"river", "Stream"),
    (r"waterfall", "Waterfall"), (r"splash", "Splash, splatter"), (r"exotic-birds", "Bird"),
    (r"/cow$", "Cattle, bovinae"), (r"/sheep$", "Sheep"), (r"static-radio", "Static"),
    (r"sfx/explosion$", "Explosion"), (r"fireworks", "Fireworks"), (r"sfx/horn$", "Vehicle horn, car horn, honking"),
    (r"skid", "Scrape"), (r"sfx/crash", "Smash, crash"), (r"sfx/clock$", "Clock"), (r"machine_sound", "Mechanisms"),
    (r"sfx/hammer$|anvil|metal_clang", "Hammer"), (r"gnu_flute", "Flute"), (r"bowling_roll", "Thump, thud"),
)

HEDGEWARS_DIR = Path("/usr/share/games/hedgewars/Data")
HEDGEWARS_RULES = (
    (r"^Music/", MUSIC), (r"voices/", None),  # voices: see hedgewars.py
    (r"custom[78]|[1-9][A-G]$|hell_|Kiss|Yoohoo|hogchant|ufo|warp|portal|TARDIS", None),
    (r"explosion|grenadeimpact|mineimpact|mortar|airmine|melonimpact|cake", "Explosion"),
    (r"shotgunfire|minigun|/gun$|sniper|sinegun|landgun", "Gunshot, gunfire"), (r"Droplet", "Drip"),
    (r"splash|planewater|rubberduck_water", "Splash, splatter"), (r"/bee$", "Bee, wasp, etc."),
    (r"/plane$|rcplane", "Aircraft"), (r"pickhammer", "Jackhammer"), (r"/hammer$", "Hammer"),
    (r"steps", "Footsteps"), (r"shutterclick", "Camera"), (r"Whistle", "Whistle"), (r"steam", "Steam"),
    (r"baseballbat|bump|graveimpact|knife_impact", "Thump, thud"), (r"ride_of_the_valkyries", "Orchestra"),
    (r"/beep$|minetick|countdown", "Beep, bleep"), (r"blowtorch|flamethrower|molotov", "Fire"),
    (r"drillgun", "Power tool"),
)

_LICENCES = {
    "supertux": "GPL-3.0-or-later (sounds), GPL-2.0-or-later (music) - SuperTux",
    "freedroid": "GPL-2.0-or-later (FreedroidRPG)",
    "etr": "GPL-2.0-or-later (Extreme Tux Racer)",
    "frozenbubble": "GPL-2.0 (Frozen-Bubble)",
    "supertuxkart": "CC-BY-SA-3.0 and others, per file (SuperTuxKart; see the package's copyright file)",
    "hedgewars": "GFDL-1.3 (sounds), Droplet*.ogg CC-BY-SA-3.0 - Hedgewars",
}


def _source(name: str, what: str, package: str, root: Path, rules: tuple, marker: Path) -> Source:
    return table_source(name, what, package, root, rules, _LICENCES[name], marker)


SOURCES = (
    _source("supertux", "SuperTux music tracks and cartoon effects (rain, thunder, bells)", "supertux-data",
            SUPERTUX_DIR, SUPERTUX_RULES, SUPERTUX_DIR / "sounds"),
    _source("freedroid", "FreedroidRPG robot voices, weapons and music", "freedroidrpg-data",
            FREEDROID_DIR, FREEDROID_RULES, FREEDROID_DIR / "effects"),
    _source("etr", "Extreme Tux Racer music and sliding sounds", "extremetuxracer-data",
            ETR_DIR, ETR_RULES, ETR_DIR / "sounds"),
    _source("frozenbubble", "Frozen-Bubble music and effects", "frozen-bubble-data",
            FROZEN_BUBBLE_DIR, FROZEN_BUBBLE_RULES, FROZEN_BUBBLE_DIR),
    _source("supertuxkart", "SuperTuxKart engines, ambience and music", "supertuxkart-data",
            SUPERTUXKART_DIR, SUPERTUXKART_RULES, SUPERTUXKART_DIR / "sfx"),
    _source("hedgewars", "Hedgewars weapons, impacts, water and music", "hedgewars-data",
            HEDGEWARS_DIR, HEDGEWARS_RULES, HEDGEWARS_DIR / "Sounds"),
)
