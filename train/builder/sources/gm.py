"""Music with known instruments: MIDI pieces written here, rendered by fluidsynth with the FluidR3 GM soundfont.

Each piece is a short melody (a random walk on a major, minor or pentatonic scale at a
random tempo) for one General MIDI instrument, with an optional bass line and drum
pattern. The label is the lead instrument (a drums-only piece is "Drum kit"); the
instrument, tempo, scale and drums are kept in the recording's details.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from train.builder.sources.base import SAMPLE_RATE, Recording, Source, portable

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
LICENCE = "rendered with fluidsynth (LGPL-2.1+) and FluidR3_GM.sf2 (MIT); MIDI written by the builder"
# GM program (0-based) -> (fine label, instrument name)
PROGRAMS = {
    0: ("Piano", "acoustic grand piano"), 4: ("Piano", "electric piano"), 19: ("Organ", "church organ"),
    16: ("Organ", "drawbar organ"), 24: ("Guitar", "nylon-string guitar"), 25: ("Guitar", "steel-string guitar"),
    27: ("Electric guitar", "clean electric guitar"), 29: ("Electric guitar", "overdriven guitar"),
    33: ("Bass guitar", "electric bass"), 46: ("Harp", "harp"), 40: ("Violin, fiddle", "violin"),
    42: ("Cello", "cello"), 48: ("String section", "string ensemble"), 56: ("Trumpet", "trumpet"),
    57: ("Brass instrument", "trombone"), 61: ("Brass instrument", "brass section"), 65: ("Saxophone", "alto sax"),
    66: ("Saxophone", "tenor sax"), 73: ("Flute", "flute"), 71: ("Clarinet", "clarinet"), 70: ("Bassoon", "bassoon"),
    21: ("Accordion", "accordion"), 22: ("Harmonica", "harmonica"), 109: ("Bagpipes", "bagpipe"),
    105: ("Banjo", "banjo"), 104: ("Sitar", "sitar"), 12: ("Marimba, xylophone", "marimba"),
    13: ("Marimba, xylophone", "xylophone"), 11: ("Vibraphone", "vibraphone"), 114: ("Steelpan", "steel drums"),
    52: ("Choir", "choir aahs"), 80: ("Synthesizer", "square lead"), 81: ("Synthesizer", "sawtooth lead"),
    89: ("Synthesizer", "warm pad"),
}
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10), "pentatonic": (0, 2, 4, 7, 9)}
DRUMS_SHARE = 0.4  # of melodic pieces that also get a drum pattern
DRUMS_ONLY_SHARE = 0.08
TICKS = 480  # per quarter note


def recordings(count: int | None, rng: random.Random, work: Path) -> list[Recording]:
    """``count`` pieces cycling through the instruments; their MIDI files are written into ``work``."""
    programs = sorted(PROGRAMS)
    result = []
    for n in range(count or 200):
        drums_only = rng.random() < DRUMS_ONLY_SHARE
        program = programs[n % len(programs)]
        tempo, scale = rng.randint(70, 160), rng.choice(sorted(SCALES))
        drums = drums_only or rng.random() < DRUMS_SHARE
        seconds = rng.uniform(4.0, 11.0)
        midi = work / f"gm_{n:04d}.mid"
        midi.write_bytes(_piece(None if drums_only else program, tempo, scale, drums, seconds, rng))
        fine, name = ("Drum kit", "drum kit") if drums_only else PROGRAMS[program]
        path = work / f"gm_{n:04d}.wav"
        command = ("fluidsynth", "-ni", "-g", "1.0", "-F", str(path), "-r", str(SAMPLE_RATE), str(SOUNDFONT), str(midi))
        rec_id = f"gm/{n:04d}"
        result.append(Recording(
            id=rec_id, dataset="gm", path=path, source=portable(command, path).replace(str(midi), midi.name),
            licence=LICENCE, category="Music", fine_label=fine, is_music=True, command=command, split_key=rec_id,
            group=f"gm-{fine}", details={"instrument": name, "tempo_bpm": tempo, "scale": scale, "drums": drums}))
    return result


def _piece(program: int | None, tempo: int, scale: str, drums: bool, seconds: float, rng: random.Random) -> bytes:
    """A format-0 MIDI file: melody (+ bass an octave or two down) on channel 0, drums on channel 9."""
    events: list[tuple[int, bytes]] = []  # (absolute tick, message)
    beats = int(seconds * tempo / 60)
    end = beats * TICKS
    if program is not None:
        events.append((0, bytes([0xC0, program])))
        root, steps, degree, t = rng.randint(55, 67), SCALES[scale], 0, 0
        while t < end:
            length = rng.choice((TICKS // 2, TICKS // 2, TICKS, TICKS, 2 * TICKS))
            degree = max(-5, min(9, degree + rng.choice((-2, -1, -1, 0, 1, 1, 2))))
            octave, step = divmod(degree, len(steps))
            note = root + 12 * octave + steps[step]
            events += [(t, bytes([0x90, note, rng.randint(70, 110)])), (t + length - 10, bytes([0x80, note, 0]))]
            if t % (2 * TICKS) == 0:
                bass = root - 24 + steps[0]
                events += [(t, bytes([0x90, bass, 80])), (t + 2 * TICKS - 10, bytes([0x80, bass, 0]))]
            t += length
    if drums:
        for beat in range(beats * 2):
            t = beat * TICKS // 2
            hits = [42] + ([36] if beat % 4 == 0 else []) + ([38] if beat % 4 == 2 else [])
            for note in hits:
                events += [(t, bytes([0x99, note, 100])), (t + 100, bytes([0x89, note, 0]))]
    events.sort(key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80))
    track, last = bytearray(), 0
    micro = 60_000_000 // tempo
    track += b"\x00\xff\x51\x03" + micro.to_bytes(3, "big")
    for tick, message in events:
        track += _varlen(tick - last) + message
        last = tick
    track += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS) + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


SOURCE = Source("gm", "General MIDI pieces rendered with fluidsynth and FluidR3_GM", apt=("fluidsynth", "fluid-soundfont-gm"),
                tools=("fluidsynth",), marker=SOUNDFONT.is_file, recordings=recordings)
