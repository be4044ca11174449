"""Build the LTU-small dataset: recordings -> split -> clips -> question rows -> files.

``build(out, seed, size)`` writes into a fresh folder next to ``out`` and swaps it in at
the end, so a rerun replaces an earlier build completely and an interrupted run leaves
the old one untouched. Everything random draws from generators seeded by ``seed`` and a
fixed name, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile

from ltu.audio.decode import load_audio
from ltu.config import FrontEndConfig
from ltu.errors import LTUError
from train.builder import labels as L
from train.builder import mixing, questions, sources
from train.builder.knowledge import SUSTAINED
from train.builder.mixing import Clip, Part
from train.builder.sources import SAMPLE_RATE, Recording, SoxPlan

FORMAT = "ltu-small-data/1"
SPLITS = ("train", "heldout")
HELDOUT_FRACTION = 0.2  # of the recordings in each stratum (same source and label)
UNSEEN_CLASSES = ("frog", "owl", "guitar")  # never trained: every recording of these is held out
SILENCE_BASELINE_S = 5.0  # one fixed length, so the silent baseline cannot learn durations
SILENCE_BASELINE_ID = "silence_baseline"
LOUDNESS_CYCLE = L.LOUDNESSES
OVERLAY_FOREGROUNDS = ("speech", "animal", "bell", "sound effect", "percussion", "tone")
MAX_OVERLAY_FOREGROUND_S = 8.0
MAX_SILENCE_VARIANTS = 2


class OutputFolderError(LTUError):
    """The output folder cannot be (re)written."""


@dataclass(frozen=True)
class SizePlan:
    """How much of each source to use and how many clips and questions to make."""

    asterisk_speech: int | None  # prompts (None: every one up to 10 s)
    asterisk_silences: int
    sonic_pi: int | None  # samples (None: all)
    espeak_per_language: int
    sox: SoxPlan
    clips_per_category: tuple[int, int]  # train, held-out: variants are added until a category has this many
    max_variants: int  # augmented variants per recording, at most
    extra_variant_share: float  # chance of one variant for recordings of categories already at the target
    sequences: tuple[int, int]  # train, held-out
    overlays: tuple[int, int]
    questions_per_clip: tuple[int, int]


SIZES = {
    "tiny": SizePlan(asterisk_speech=10, asterisk_silences=2, sonic_pi=24, espeak_per_language=3,
                     sox=SoxPlan(tones=6, beeps=3, sweeps=2, noises=3, silences=2),
                     clips_per_category=(6, 3), max_variants=2, extra_variant_share=0.0,
                     sequences=(6, 4), overlays=(4, 3), questions_per_clip=(4, 4)),
    "small": SizePlan(asterisk_speech=170, asterisk_silences=5, sonic_pi=None, espeak_per_language=40,
                      sox=SoxPlan(tones=90, beeps=24, sweeps=12, noises=12, silences=6),
                      clips_per_category=(64, 16), max_variants=7, extra_variant_share=0.15,
                      sequences=(100, 24), overlays=(70, 18), questions_per_clip=(4, 3)),
    "full": SizePlan(asterisk_speech=None, asterisk_silences=10, sonic_pi=None, espeak_per_language=80,
                     sox=SoxPlan(tones=150, beeps=36, sweeps=24, noises=24, silences=12),
                     clips_per_category=(120, 30), max_variants=12, extra_variant_share=0.15,
                     sequences=(220, 50), overlays=(160, 40), questions_per_clip=(5, 4)),
}


def build(out: str | Path, seed: int = 0, size: str = "small", log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build the dataset into ``out`` (replacing an earlier build); returns its statistics."""
    if size not in SIZES:
        raise OutputFolderError(f"Unknown size {size!r}; choose one of {', '.join(SIZES)}.")
    out = Path(out).resolve()
    _check_output(out)
    plan = SIZES[size]
    env = sources.find_environment()
    partial = out.parent / f".partial-{out.name}"
    if partial.exists():
        shutil.rmtree(partial)
    (partial / "audio").mkdir(parents=True)
    try:
        stats = _build_into(partial, env, plan, seed, size, log)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # an interrupted run leaves the previous build as it was
        raise
    _swap(partial, out)
    return stats


def _build_into(folder: Path, env: sources.Environment, plan: SizePlan, seed: int, size: str,
                log: Callable[[str], None]) -> dict[str, Any]:
    """Every step of the build, writing into ``folder``; returns the statistics."""
    with tempfile.TemporaryDirectory(prefix="ltu-data-") as work:
        recordings, audio = _recordings(env, plan, seed, Path(work), log)
    split = assign_splits(recordings, seed)
    log(f"split: {sum(s == 'train' for s in split.values())} train / "
        f"{sum(s == 'heldout' for s in split.values())} held-out recordings")
    clips = []
    for name in SPLITS:
        members = [r for r in recordings if split[r.id] == name]
        clips += make_clips(members, audio, name, plan, seed)
    rows: dict[str, list[dict[str, str]]] = {name: [] for name in SPLITS}
    for clip in clips:
        clip.labels = mixing.clip_labels(clip)
        rng = random.Random(f"{seed}:rows:{clip.clip_id}")
        k = plan.questions_per_clip[SPLITS.index(clip.split)]
        for task in questions.choose_tasks(questions.task_weights(clip), k, rng):
            rows[clip.split].append(questions.row(clip, task, rng))
    log(f"clips: {len(clips)}; rows: {len(rows['train'])} train / {len(rows['heldout'])} held-out; writing")
    return _write(folder, clips, rows, recordings, split, seed, size)


# --- recordings -------------------------------------------------------------------------------
def _recordings(env: sources.Environment, plan: SizePlan, seed: int, work: Path,
                log: Callable[[str], None]) -> tuple[list[Recording], dict[str, np.ndarray]]:
    """Chosen recordings (generated ones rendered) and their audio, cut to at most 10 s."""
    rng = random.Random(f"{seed}:sources")
    asterisk = sources.asterisk_recordings(env)
    speech = [r for r in asterisk if r.is_speech and soundfile.info(str(r.path)).duration <= L.MAX_SECONDS]
    if plan.asterisk_speech is not None:
        speech = sorted(rng.sample(speech, min(plan.asterisk_speech, len(speech))), key=lambda r: r.id)
    silences = [r for r in asterisk if r.category == "silence"]
    silences = sorted(rng.sample(silences, min(plan.asterisk_silences, len(silences))), key=lambda r: r.id)
    other = [r for r in asterisk if not r.is_speech and r.category != "silence"]
    sonic = _subset(sources.sonic_pi_recordings(env), plan.sonic_pi, rng)
    generated = (sources.espeak_recordings(plan.espeak_per_language, rng, work)
                 + sources.sox_recordings(plan.sox, rng, work))
    log(f"rendering {len(generated)} espeak-ng and sox recordings")
    sources.render(generated)
    recordings = sources.animal_recordings(env) + speech + other + silences + sonic + generated
    log(f"decoding {len(recordings)} recordings")
    config = FrontEndConfig()
    audio = {}
    for recording in recordings:
        samples = load_audio(recording.path, config).samples
        audio[recording.id] = mixing.excerpt(samples, L.MAX_SECONDS)[0]
    return recordings, audio


def _subset(recordings: list[Recording], n: int | None, rng: random.Random) -> list[Recording]:
    """``n`` recordings spread over labels (round robin), always keeping the unseen classes; None: all."""
    if n is None or n >= len(recordings):
        return recordings
    keep = [r for r in recordings if r.fine_label in UNSEEN_CLASSES]
    by_label: dict[str, list[Recording]] = defaultdict(list)
    for r in recordings:
        if r not in keep:
            by_label[r.fine_label].append(r)
    queues = [rng.sample(group, len(group)) for _, group in sorted(by_label.items())]
    rng.shuffle(queues)
    while len(keep) < n and any(queues):
        for queue in queues:
            if queue and len(keep) < n:
                keep.append(queue.pop())
    return sorted(keep, key=lambda r: r.id)


def assign_splits(recordings: list[Recording], seed: int) -> dict[str, str]:
    """Recording id -> "train" / "heldout": unseen classes held out, then ~20 % of each stratum by split key."""
    key_split: dict[str, str] = {}
    for r in recordings:
        if r.fine_label in UNSEEN_CLASSES:
            key_split[r.split_key] = "heldout"
    strata: dict[str, list[str]] = defaultdict(list)
    for r in recordings:
        if r.split_key not in key_split and r.split_key not in strata[r.group]:
            strata[r.group].append(r.split_key)
    for group, keys in sorted(strata.items()):
        keys = [k for k in sorted(keys) if k not in key_split]
        random.Random(f"{seed}:split:{group}").shuffle(keys)
        held = int(len(keys) * HELDOUT_FRACTION + 0.5)
        for i, key in enumerate(keys):
            key_split[key] = "heldout" if i < held else "train"
    return {r.id: key_split[r.split_key] for r in recordings}


# --- clips ------------------------------------------------------------------------------------
def make_clips(recordings: list[Recording], audio: dict[str, np.ndarray], split: str, plan: SizePlan,
               seed: int) -> list[Clip]:
    """Single-recording clips (original and augmented) and mixtures, all from this split's recordings."""
    index = SPLITS.index(split)
    rng = random.Random(f"{seed}:clips:{split}")
    per_category = Counter(r.category for r in recordings)
    levels = _Cycle(LOUDNESS_CYCLE, rng)
    clips: list[Clip] = []

    def add(dataset: str, kind: str, parts: list[Part], samples: np.ndarray, noise: str | None = None,
            target: str | None = None) -> None:
        gain = 0.0
        if target is not None:
            samples, gain = mixing.level(samples, target, rng)
        else:
            samples = mixing.quantize(samples)
        first = parts[0].recording.id.split("/", 1)[1].replace("/", "_")
        clip_id = f"{split}-{len(clips):05d}-{dataset}-{kind}-{first}"
        clips.append(Clip(clip_id, split, dataset, kind, parts, samples, noise, gain))

    for recording in recordings:
        x = audio[recording.id]
        silent = recording.category == "silence"
        kinds = ["base"] + _variant_kinds(recording, per_category[recording.category], plan.clips_per_category[index],
                                          plan, rng)
        for kind in kinds:
            samples, parts, noise = mixing.single_clip(recording, x, kind, rng)
            add(recording.dataset, kind, parts, samples, noise, None if silent else levels.next())

    eligible = [r for r in recordings if r.category != "silence"]
    for _ in range(plan.sequences[index]):
        made = _sequence(eligible, audio, rng)
        if made:
            samples, parts = made
            add("mix", "sequence", parts, samples, target=levels.next())
    for _ in range(plan.overlays[index]):
        made = _overlay(eligible, audio, rng)
        if made:
            samples, parts = made
            add("mix", "overlay", parts, samples, target=levels.next())
    return clips


def _variant_kinds(recording: Recording, in_category: int, target: int, plan: SizePlan,
                   rng: random.Random) -> list[str]:
    """Augmentations for one recording: enough to bring its category near ``target`` clips."""
    count = min(plan.max_variants, max(0, math.ceil(target / max(in_category, 1)) - 1))
    if count == 0 and rng.random() < plan.extra_variant_share:
        count = 1
    if recording.category == "silence":  # silence is easy: a couple of lengths are enough
        return ["pad_silence"] * min(count, MAX_SILENCE_VARIANTS)
    options = ["gain", "pad_silence"] + (["pad_noise"] if recording.category != "noise" else [])
    cycle = _Cycle(options, rng)
    return [cycle.next() for _ in range(count)]


def _sequence(pool: list[Recording], audio: dict[str, np.ndarray], rng: random.Random,
              attempts: int = 20) -> tuple[np.ndarray, list[Part]] | None:
    """2-3 recordings of different labels (at most one speaker) one after another."""
    by_category = _by_category(pool)
    for _ in range(attempts):
        k = rng.choice((2, 3))
        categories = rng.sample(sorted(by_category), min(k, len(by_category)))
        chosen = [rng.choice(by_category[c]) for c in categories]
        speech = [r for r in chosen if r.is_speech]
        if len(chosen) < 2 or len({r.fine_label or "speech" for r in chosen}) < len(chosen) or len(speech) > 1:
            continue
        if any(len(audio[r.id]) > mixing.MAX_SPEECH_EVENT_S * SAMPLE_RATE for r in speech):
            continue
        made = mixing.sequence_clip(chosen, [audio[r.id] for r in chosen], rng)
        if made:
            return made
    return None


def _overlay(pool: list[Recording], audio: dict[str, np.ndarray], rng: random.Random,
             attempts: int = 20) -> tuple[np.ndarray, list[Part]] | None:
    """A foreground sound over a sustained background of another category."""
    by_category = _by_category([r for r in pool if r.category in OVERLAY_FOREGROUNDS
                                and len(audio[r.id]) <= MAX_OVERLAY_FOREGROUND_S * SAMPLE_RATE])
    backgrounds = [r for r in pool if r.fine_label in SUSTAINED]
    if not by_category or not backgrounds:
        return None
    for _ in range(attempts):
        fg = rng.choice(by_category[rng.choice(sorted(by_category))])
        bg = rng.choice(backgrounds)
        if bg.category == fg.category or bg.fine_label == fg.fine_label:
            continue
        made = mixing.overlay_clip(fg, audio[fg.id], bg, audio[bg.id], rng)
        if made:
            return made
    return None


def _by_category(pool: list[Recording]) -> dict[str, list[Recording]]:
    groups: dict[str, list[Recording]] = defaultdict(list)
    for r in pool:
        groups[r.category].append(r)
    return dict(groups)


class _Cycle:
    """Items in shuffled rounds, so every item comes up equally often."""

    def __init__(self, items: tuple[str, ...] | list[str], rng: random.Random) -> None:
        self.items, self.rng, self.queue = list(items), rng, []

    def next(self) -> str:
        if not self.queue:
            self.queue = self.rng.sample(self.items, len(self.items))
        return self.queue.pop()


# --- output -----------------------------------------------------------------------------------
def _check_output(out: Path) -> None:
    """Refuse to replace anything but an earlier build (or an empty folder)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputFolderError(f"{out} exists and is not a folder; choose another --out.")
    meta = out / "metadata.json"
    if any(out.iterdir()) and not (meta.is_file() and _is_ours(meta)):
        raise OutputFolderError(f"{out} is not empty and was not made by this builder; "
                                "choose another --out or empty it first.")


def _is_ours(meta: Path) -> bool:
    try:
        with open(meta) as f:
            return json.load(f).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _swap(partial: Path, out: Path) -> None:
    """Replace ``out`` by ``partial``; the old build is removed only after the new one is in place."""
    old = out.parent / f".partial-old-{out.name}"
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    partial.rename(out)
    if old.exists():
        shutil.rmtree(old)


def _write(folder: Path, clips: list[Clip], rows: dict[str, list[dict]], recordings: list[Recording],
           split: dict[str, str], seed: int, size: str) -> dict[str, Any]:
    """Audio files, row files, metadata, statistics and a README."""
    for clip in clips:
        soundfile.write(folder / clip.audio_id, mixing.to_pcm16(clip.samples), SAMPLE_RATE, subtype="PCM_16")
    baseline = f"audio/{SILENCE_BASELINE_ID}.wav"
    soundfile.write(folder / baseline, np.zeros(int(SILENCE_BASELINE_S * SAMPLE_RATE), np.int16), SAMPLE_RATE,
                    subtype="PCM_16")
    files = {
        "train.json": rows["train"],
        "heldout.json": rows["heldout"],
        "heldout_silence.json": [{**r, "audio_id": baseline} for r in rows["heldout"]],
        "heldout_shuffled.json": _shuffled(rows["heldout"], seed),
        "train_cla.json": [r for r in rows["train"] if r["task"] in L.CLASSIFICATION_TASKS],
        "train_closed.json": [r for r in rows["train"] if r["task"] in L.CLOSED_TASKS],
    }
    for name, content in files.items():
        _dump(folder / name, content)
    used = {rid for clip in clips for rid in clip.recording_ids}
    metadata = {
        "format": FORMAT, "seed": seed, "size": size, "sample_rate": SAMPLE_RATE,
        "heldout_fraction": HELDOUT_FRACTION, "unseen_classes": list(UNSEEN_CLASSES),
        "silence_baseline": {"audio_id": baseline, "seconds": SILENCE_BASELINE_S,
                             "rows": "heldout_silence.json"},
        "label_sets": L.closed_task_labels(),
        "heldout_only_wordings": questions.heldout_only_wordings(),
        "recordings": {r.id: _recording_meta(r, split[r.id]) for r in recordings if r.id in used},
        "clips": {clip.audio_id: _clip_meta(clip) for clip in clips},
    }
    _dump(folder / "metadata.json", metadata)
    stats = statistics(clips, rows, seed, size)
    _dump(folder / "stats.json", stats)
    (folder / "README.md").write_text(readme(stats))
    return stats


def _shuffled(rows: list[dict], seed: int) -> list[dict]:
    """Held-out rows with every clip's audio swapped for another held-out clip's (a fixed derangement)."""
    ids = sorted({r["audio_id"] for r in rows})
    order = random.Random(f"{seed}:shuffle").sample(ids, len(ids))
    swap = {a: order[(i + 1) % len(order)] for i, a in enumerate(order)}
    return [{**r, "audio_id": swap[r["audio_id"]]} for r in rows]


def _dump(path: Path, content: Any) -> None:
    path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")


def _recording_meta(r: Recording, split: str) -> dict[str, Any]:
    keep = ("dataset", "source", "licence", "origin", "category", "fine_label", "is_speech", "is_music",
            "transcript", "language", "gender", "speaker", "translation", "pitch_hz", "details")
    meta = {k: v for k, v in asdict(r).items() if k in keep}
    meta["pitch_class"] = r.pitch_class
    meta["split"] = split
    return meta


def _clip_meta(clip: Clip) -> dict[str, Any]:
    return {
        "split": clip.split, "dataset": clip.dataset, "kind": clip.kind, "level_gain_db": clip.level_db,
        "sources": [{"recording_id": p.recording.id, "source_file": p.recording.source,
                     "licence": p.recording.licence, "role": p.role, "start_s": round(p.start_s, 3),
                     "seconds": round(p.seconds, 3), "offset_in_recording_s": round(p.offset_s, 3),
                     "relative_gain_db": round(p.gain_db, 2)} for p in clip.parts],
        "labels": clip.labels,
    }


# --- statistics -------------------------------------------------------------------------------
def statistics(clips: list[Clip], rows: dict[str, list[dict]], seed: int, size: str) -> dict[str, Any]:
    """Counts per task, dataset, kind and label for each split."""
    unseen_wordings = {w for ws in questions.heldout_only_wordings().values() for w in ws}
    stats: dict[str, Any] = {"seed": seed, "size": size, "unseen_classes": list(UNSEEN_CLASSES), "splits": {}}
    for split in SPLITS:
        members = [c for c in clips if c.split == split]
        split_rows = rows[split]
        seconds = sum(len(c.samples) for c in members) / SAMPLE_RATE
        label_counts: dict[str, Counter] = defaultdict(Counter)
        for r in split_rows:
            if r["task"] in L.closed_task_labels():
                label_counts[r["task"]][L.parse_label(r["output"])] += 1
        unseen_clips = [c for c in members
                        if any(p.recording.fine_label in UNSEEN_CLASSES for p in c.parts)]
        stats["splits"][split] = {
            "rows": len(split_rows),
            "clips": len(members),
            "recordings": len({rid for c in members for rid in c.recording_ids}),
            "audio_seconds": round(seconds, 1),
            "audio_megabytes": round(seconds * SAMPLE_RATE * 2 / 2**20, 1),
            "rows_per_task": dict(sorted(Counter(r["task"] for r in split_rows).items())),
            "rows_per_dataset": dict(sorted(Counter(r["dataset"] for r in split_rows).items())),
            "clips_per_kind": dict(sorted(Counter(c.kind for c in members).items())),
            "clips_per_category": dict(sorted(Counter(c.labels["category"] or "mix" for c in members).items())),
            "labels_per_task": {t: dict(sorted(c.items())) for t, c in sorted(label_counts.items())},
            "clips_with_unseen_classes": len(unseen_clips),
            "rows_with_heldout_only_wording": sum(r["instruction"] in unseen_wordings for r in split_rows),
            "max_answer_words": {t: max(len(r["output"].split()) for r in split_rows if r["task"] == t)
                                 for t in sorted({r["task"] for r in split_rows})},
        }
    return stats


def readme(stats: dict[str, Any]) -> str:
    """A short description of a built dataset with its counts."""
    train, held = stats["splits"]["train"], stats["splits"]["heldout"]
    tasks = sorted(set(train["rows_per_task"]) | set(held["rows_per_task"]))
    lines = [
        "# LTU-small data (generated)",
        "",
        f"Built by `python scripts/build_ltu_small_data.py --size {stats['size']} --seed {stats['seed']}`; "
        "see docs/data.md in the repository for sources, licences and the recipe. Not for committing: "
        "rebuild it instead.",
        "",
        "Rows are OpenAQA-format JSON lists (`instruction`, `input`, `audio_id`, `dataset`, `task`, `output`); "
        "`audio_id` is relative to this folder. Ground truth per clip is in `metadata.json`.",
        "",
        "| file | contents |",
        "|---|---|",
        "| train.json / heldout.json | question rows; no held-out recording is in any training clip |",
        "| heldout_silence.json | held-out rows with the audio replaced by one fixed-length silent clip |",
        "| heldout_shuffled.json | held-out rows with every clip's audio swapped for another held-out clip's |",
        "| train_cla.json / train_closed.json | training rows of the classification / all closed tasks "
        "(curriculum stages 1-2 / 3) |",
        "| metadata.json | per clip: sources, licences, labels; per recording; label sets |",
        "| stats.json | the counts below and label distributions |",
        "",
        f"Unseen classes (every recording held out, never trained): {', '.join(stats['unseen_classes'])}.",
        "",
        "| | train | held-out |",
        "|---|---:|---:|",
        f"| rows | {train['rows']} | {held['rows']} |",
        f"| clips | {train['clips']} | {held['clips']} |",
        f"| source recordings | {train['recordings']} | {held['recordings']} |",
        f"| audio (s) | {train['audio_seconds']} | {held['audio_seconds']} |",
        f"| rows with held-out-only wordings | {train['rows_with_heldout_only_wording']} | "
        f"{held['rows_with_heldout_only_wording']} |",
        f"| clips containing unseen classes | {train['clips_with_unseen_classes']} | "
        f"{held['clips_with_unseen_classes']} |",
    ]
    lines += [f"| task `{t}` | {train['rows_per_task'].get(t, 0)} | {held['rows_per_task'].get(t, 0)} |"
              for t in tasks]
    datasets = sorted(set(train["rows_per_dataset"]) | set(held["rows_per_dataset"]))
    lines += [f"| dataset `{d}` | {train['rows_per_dataset'].get(d, 0)} | {held['rows_per_dataset'].get(d, 0)} |"
              for d in datasets]
    return "\n".join(lines) + "\n"
