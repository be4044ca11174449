"""Six more games whose effects are edited field recordings: vehicles, weather, water, fire, machines.

The classes with the fewest distinct recordings were vehicles, natural sounds and noise
(51, 45 and 47 training recordings in ``data/ltu-small-v3b``, most of the noise SoX's), and a
model learns a class from its recordings, not from the clips cut from them. These packages add about a
hundred such recordings (surveyed in docs/data.md, "Field-recording games"):

- Simutrans (``simutrans-pak64``): a bus, a truck, a diesel and a steam locomotive, a jet, a
  low-flying plane, a buzz saw, a level-crossing bell, gulls, a horse.
- UFO: Alien Invasion (``ufoai-sound``; a zip, ``0snd.pk3``): fires, thunder, water, arctic
  wind, steam, mains hum, television static, machinery, a diesel vehicle, doors, footsteps,
  breaking glass, metal and wood. Its voices, radio message, news, jingles and alien sounds
  are left out.
- Scorched 3D (``scorched3d-data``): jets, a helicopter, a Cessna, a tank, rain, thunder,
  ocean waves, frogs, birds, gulls, a wolf, car horns, police and fire-engine sirens, farm
  animals, bees. Screams, cheering, lasers and shield sounds are left out.
- Battle Tanks (``btanks-data``): a train, a helicopter, car and tank engines, fire, a klaxon,
  a cow, explosions, footsteps. Laughs, zombies and the synthetic ambiences are left out.
- Lugaru (``lugaru-data``): wind, fire, a hawk, dog barks, footsteps, a thud and five music
  tracks. The rabbits' voices, growls and snarls, combat sounds and whooshes are left out.
- OpenClonk (``openclonk-data``; groups in its own format, read by ``c4group``): wind, rain, a
  waterfall, thunder, fire, a furnace, birdsong, a mosquito, splashes, bubbling, a steam engine,
  an oil pump, a fan, an elevator, a turning wheel, a sawmill's saw and engine, a propeller engine,
  doors, glass, wood, explosions, gunshots and eight music tracks. Clonk voices, fantasy creatures,
  spells, weapons' swishes and the interface sounds are left out.

Names that do not say plainly what is heard (Simutrans' climate ambiences, ``dock``,
UFO: AI's ``droning`` and ``sparks``, Battle Tanks' ``vehicle-sound``, Lugaru's ``DesertAmbient``
and ``Alarm``, OpenClonk's ``Earthquake``, ``Electrical`` and ``Fuse``) are left out.
"""

from __future__ import annotations

from pathlib import Path

from train.builder.sources.table import archive_source, group_source, table_source

SIMUTRANS_DIR = Path("/usr/share/games/simutrans/pak/sound")
SIMUTRANS_RULES = (
    (r"^bus$", "Bus"), (r"^truck$", "Truck"), (r"^(diesel|steam)$", "Train"), (r"^comet-jet$", "Jet engine"),
    (r"^planelow$", "Aircraft"), (r"^buzzsaw$", "Power tool"), (r"^jackhammer$", "Jackhammer"),
    (r"^crossing$", "Bell"), (r"^seagulls$", "Gull, seagull"), (r"^horse$", "Horse"), (r"^explosion$", "Explosion"),
    (r"^boat-horn$", "Vehicle horn, car horn, honking"),
)

SCORCHED_DIR = Path("/usr/share/games/scorched3d/data/globalmods")
SCORCHED_RULES = (
    (r"/music/", None), (r"scream|cheering|fight4life", None),  # voices
    (r"misc/(f16_\d|f18_\d|t38|jet)$", "Jet engine"), (r"misc/(apache_1|helicopter)$", "Helicopter"),
    (r"misc/cessna$", "Aircraft"), (r"movement/tankmove$", "Engine"), (r"misc/factoryloop\d$", "Mechanisms"),
    (r"misc/rain$", "Rain"), (r"misc/thunder\d?$|explosions/(thunder|lightningbolt)$", "Thunder"),
    (r"misc/oceanwaves$", "Ocean"), (r"misc/splash$", "Splash, splatter"), (r"misc/frogs$", "Frog"),
    (r"misc/(birds\d|birdchirp\d)$", "Bird"), (r"misc/gull\d$", "Gull, seagull"), (r"misc/wolf$", "Wild animals"),
    (r"misc/carhorn\d$", "Vehicle horn, car horn, honking"), (r"misc/(policecar|firetruck)$", "Siren"),
    (r"misc/dog\d?$", "Dog"), (r"misc/rooster$", "Chicken, rooster"), (r"misc/sheep$", "Sheep"),
    (r"misc/(cows|moo)$", "Cattle, bovinae"), (r"explosions/bees$", "Bee, wasp, etc."),
    (r"none/data/wav/explosions/(small|medium|large|xlarge|tank)$", "Explosion"),
    (r"shoot/(machinegun|shotgun)$", "Gunshot, gunfire"),
)

BTANKS_DIR = Path("/usr/share/games/btanks/data/sounds")
BTANKS_RULES = (
    (r"^train$", "Train"), (r"^helicopter$", "Helicopter"), (r"^engine-(car|start)$", "Car"),
    (r"^(engine-vehicle|tank-move)$", "Engine"), (r"^fire(-fadeout)?$", "Fire"),
    (r"^klaxon$", "Vehicle horn, car horn, honking"), (r"^cow$", "Cattle, bovinae"),
    (r"^((building|vehicle)-explosion\d?|explosion)$", "Explosion"), (r"^man-steps$", "Footsteps"),
)

UFOAI_ARCHIVE = Path("/usr/share/games/ufoai/base/0snd.pk3")  # a zip; rules see paths under sound/
UFOAI_RULES = (
    (r"^ambience/(fire\d*|firesoft|smallfire)$", "Fire"), (r"^ambience/thunder\d$", "Thunder"),
    (r"^ambience/(water\d*|waterfontain)$", "Stream"), (r"^ambience/arcticwind$", "Wind"),
    (r"^ambience/steam$", "Steam"), (r"^ambience/(hum2?|lights_loop)$", "Hum"), (r"^ambience/tv_static$", "Static"),
    (r"^ambience/(machine1|minepump03)$", "Mechanisms"), (r"^ambience/cricket_loop$", "Insect"),
    (r"^ugv/diesel-(idle|move|stop)$", "Engine"), (r"^seq/humanflyby$", "Aircraft"),
    (r"^doors/door\d-(open|close)$", "Door"), (r"^footsteps/", "Footsteps"),
    (r"^misc/breakglass\d+$", "Shatter"), (r"^misc/breakmetal\d+$", "Smash, crash"),
    (r"^misc/breakwood\d+$", "Wood"),
)

LUGARU_DIR = Path("/usr/share/games/lugaru/Sounds")
LUGARU_RULES = (
    (r"^Wind$", "Wind"), (r"^Fire$", "Fire"), (r"^Hawk$", "Bird"), (r"^Bark\d?$", "Dog"),
    (r"^FootStep(Grass|Snow|Stone)\d$", "Footsteps"), (r"^Thud$", "Thump, thud"), (r"^Music", "Video game music"),
)

OPENCLONK_DIR = Path("/usr/share/games/openclonk")  # group files; rules see paths without the groups' suffixes
OPENCLONK_RULES = (
    (r"^Music/", "Video game music"), (r"^Sound/Environment/WindLoop$", "Wind"),
    (r"^Sound/Environment/Waterfall$", "Waterfall"), (r"^Sound/Environment/Lightning/Thunder\d$", "Thunder"),
    (r"^Sound/Environment/BirdsLoop$", "Bird"), (r"^Sound/Environment/Tree/(Chop\d|Crack|Landing)$", "Wood"),
    (r"^Sound/Fire/Fire$|^Sound/Structures/Furnace/Loop$", "Fire"), (r"^Sound/Liquids/StereoRain$", "Rain"),
    (r"^Sound/Fire/Blast(\d|3alt|Metal)$", "Explosion"), (r"^Sound/Fire/BlastFirework$", "Fireworks"),
    (r"^Sound/Liquids/(Splash|Swim)\d$", "Splash, splatter"), (r"^Sound/Liquids/(Boiling|Bubble\d)$", "Bubbling"),
    (r"^Sound/Hits/Materials/Glass/Glass(Break|Shatter)$", "Shatter"),
    (r"^Sound/Hits/Materials/Glass/GlassHit\d$", "Glass"), (r"^Sound/Hits/Materials/Wood/(Dull)?WoodHit\d$", "Wood"),
    (r"^Sound/Hits/Materials/Rock/Rockfall\d$", "Smash, crash"), (r"^Sound/Animals/MosquitoBuzz$", "Insect"),
    (r"^Sound/Structures/(SteamEngine|Pumpjack|FanLoop|WheelsTurn|Elevator/Moving)$", "Mechanisms"),
    (r"^Sound/Structures/SawmillRipcut$", "Power tool"), (r"^Sound/Structures/Door(Open|Close)\d$", "Door"),
    (r"^Objects/Structures/Sawmill/Engine(Loop|Start|Stop)$|^Sound/Objects/Plane/PropellerLoop$", "Engine"),
    (r"^Sound/Objects/Weapons/Blunderbuss/GunShoot\d$", "Gunshot, gunfire"), (r"^Sound/Objects/Balloon/Pop$", "Pop"),
)

_LICENCES = {
    "simutrans": "Artistic-1.0 (Simutrans pak64)",
    "scorched3d": "GPL-2.0-or-later (Scorched 3D); the apoc mod's files CC-BY-SA-3.0",
    "btanks": "GPL-2.0-or-later with the Battle Tanks exception",
    "ufoai": "mostly GPL-2.0-or-later; some CC-BY-3.0, CC-BY-SA-3.0 or public domain, per file in "
             "/usr/share/doc/ufoai-sound/copyright (UFO: Alien Invasion)",
    "lugaru": "CC-BY-SA-3.0 (Wolfire Games, Lugaru's Data/)",
    "openclonk": "CC-BY-3.0; some CC0-1.0, per file in Sound.ocg's authors.txt (OpenClonk)",
}

UFOAI = archive_source("ufoai", "UFO: Alien Invasion fire, thunder, water, wind, hum, static, machinery, doors, "
                       "breakage", "ufoai-sound", UFOAI_ARCHIVE, "sound/", UFOAI_RULES, _LICENCES["ufoai"])
OPENCLONK = group_source("openclonk", "OpenClonk wind, rain, thunder, fire, water, birds, machines, engines, music",
                         "openclonk-data", OPENCLONK_DIR, OPENCLONK_RULES, _LICENCES["openclonk"],
                         marker=OPENCLONK_DIR / "Sound.ocg")

SOURCES = (
    table_source("simutrans", "Simutrans buses, trucks, trains, aircraft, tools, a crossing bell, gulls",
                 "simutrans-pak64", SIMUTRANS_DIR, SIMUTRANS_RULES, _LICENCES["simutrans"]),
    table_source("scorched3d", "Scorched 3D aircraft, rain, thunder, waves, birds, farm animals, horns, sirens",
                 "scorched3d-data", SCORCHED_DIR, SCORCHED_RULES, _LICENCES["scorched3d"]),
    table_source("btanks", "Battle Tanks train, helicopter, engines, fire, a klaxon, explosions",
                 "btanks-data", BTANKS_DIR, BTANKS_RULES, _LICENCES["btanks"]),
    UFOAI,
    table_source("lugaru", "Lugaru wind, fire, a hawk, dog barks, footsteps, music", "lugaru-data", LUGARU_DIR,
                 LUGARU_RULES, _LICENCES["lugaru"]),
    OPENCLONK,
)
