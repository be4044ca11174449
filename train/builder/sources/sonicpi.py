"""Sonic Pi samples (mostly CC0, from freesound.org): loops, instruments and a few real objects.

Labels come from file names. Single drum strokes and one-shot notes (``bd_``, ``sn_``,
``drum_``, ``elec_``, ``tabla_`` strokes, ``bass_`` notes) are left out: one hit is not
what people call music. Loops, phrases and real-object recordings stay.
"""

from __future__ import annotations

from pathlib import Path

from train.builder.sources.base import Source
from train.builder.sources.table import table_recordings

DIR = Path("/usr/share/sonic-pi/samples")
LICENCE = "CC0-1.0 (freesound.org via Sonic Pi; see /usr/share/doc/sonic-pi-samples/copyright)"
RULES = (
    (r"^loop_3d_printer$", "Mechanisms"), (r"^loop_industrial$", "Mechanisms"), (r"^loop_tabla$", "Tabla"),
    (r"^loop_(amen|breakbeat|perc|garzul|safari|compus|mika|mehackit)", "Drum kit"), (r"^loop_", "Drum machine"),
    (r"^ambi_choir$", "Choir"), (r"^ambi_piano$", "Piano"), (r"^guit_", "Electric guitar"),
    (r"^ambi_(haunted_hum|soft_buzz|glass_hum)$", "Hum"), (r"^vinyl_hiss$", "Noise"),
    (r"^misc_crow$", "Crow"), (r"^misc_cineboom$", "Explosion"), (r"^perc_door$", "Door"),
    (r"^perc_impact", "Thump, thud"), (r"^perc_till$", "Cash register"), (r"^perc_bell", "Bell"),
    (r"^(perc|ambi)_swoosh|^ambi_dark_woosh", "Whoosh, swoosh, swish"), (r"^mehackit_phone", "Ringtone"),
    (r"^drum_roll$", "Drum kit"), (r"^elec_(bell|chime)$", "Chime"),
)

SOURCE = Source("sonicpi", "Sonic Pi samples: loops, guitar, choir, bells, doors, a crow", apt=("sonic-pi-samples",),
                marker=lambda: any(DIR.glob("*.flac")),
                recordings=lambda *_: table_recordings("sonicpi", DIR, RULES, LICENCE, glob="*.flac"))
