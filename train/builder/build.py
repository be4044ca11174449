"""Build the LTU-small dataset: sources -> recordings -> splits -> clips -> question rows -> files.

``build(out, seed, size)`` writes into a fresh folder next to ``out`` and swaps it in at
the end, so a rerun replaces an earlier build completely and an interrupted run leaves
the old one untouched. Everything random draws from generators seeded by ``seed`` and a
fixed name, so the same seed gives byte-identical files.

Three splits: ``train``; ``heldout`` (recordings of the training sources never trained
on); ``heldout_sources`` (whole packages never trained on, chosen in ``HELDOUT_SOURCES``
before any number was measured). Every clip's length is drawn from one distribution for
all classes, so length does not tell the class.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile

from ltu.audio.decode import load_audio
from ltu.config import FrontEndConfig
from ltu.errors import LTUError
from ltu.files import staged_folder
from train.builder import labels as L
from train.builder import mixing, questions, sources
from train.builder.mixing import Clip
from train.builder.sources import SAMPLE_RATE, Recording
from train.builder.sources.base import MIN_EVENT_S, SILENT_RMS

FORMAT = "ltu-small-data/2"
SPLITS = ("train", "heldout", "heldout_sources")
HELDOUT_FRACTION = 0.15  # of the recordings in each stratum (same source and label) of the training sources
# Whole sources never trained on (docs/data.md says why): a TTS engine, a music-and-effects game, a field-recording set.
HELDOUT_SOURCES = ("flite", "supertux", "openttd")
TINY_HELDOUT_SOURCES = ("espeak",)  # the tiny build runs on CI machines with only the core sources
PLAIN_EVERY = 4  # one clip in four of each class (and of the mixtures) is asked exactly "What do you hear?"
SILENCE_BASELINE_S = 5.0  # one fixed length, so the silent baseline cannot learn durations
SILENCE_BASELINE_ID = "silence_baseline"
MAX_RECORDING_S = 30.0  # longer recordings (music tracks) keep their loudest 30 s
MAX_SPEECH_S = 10.0  # longer utterances are not used (clips are at most 10 s)


class OutputFolderError(LTUError):
    """The output folder cannot be (re)written."""


@dataclass(frozen=True)
class SizePlan:
    """Which sources to use, how much of each, and how many clips and questions to make."""

    sources: tuple[str, ...] | None  # None: every known source
    counts: dict[str, int]  # recordings to generate or sample, for sources that take a count
    clips_per_category: tuple[int, int, int]  # train, heldout, heldout_sources
    max_clips_per_recording: int
    mixes: tuple[int, int, int]
    questions_per_clip: tuple[int, int, int]
    heldout_sources: tuple[str, ...] = HELDOUT_SOURCES
    required: tuple[str, ...] = field(default=sources.CORE)


SIZES = {
    "tiny": SizePlan(sources=sources.CORE, counts={"espeak": 24, "sox": 30, "asterisk": 60},
                     clips_per_category=(16, 4, 6), max_clips_per_recording=4, mixes=(8, 4, 4),
                     questions_per_clip=(3, 3, 3), heldout_sources=TINY_HELDOUT_SOURCES),
    "small": SizePlan(sources=None, counts={"espeak": 240, "sox": 160, "gm": 420, "flite": 120, "festival": 150,
                                            "tuxpaint": 900, "asterisk": 700},
                      clips_per_category=(600, 60, 80), max_clips_per_recording=20, mixes=(500, 60, 80),
                      questions_per_clip=(3, 3, 3)),
    "full": SizePlan(sources=None, counts={"espeak": 480, "sox": 300, "gm": 900, "flite": 200, "festival": 300,
                                           "tuxpaint": 2400, "asterisk": 1400},
                     clips_per_category=(1200, 120, 150), max_clips_per_recording=24, mixes=(1000, 120, 150),
                     questions_per_clip=(3, 3, 3)),
}


def build(out: str | Path, seed: int = 0, size: str = "small", log: Callable[[str], None] = print,
          without: tuple[str, ...] = ()) -> dict[str, Any]:
    """Build the dataset into ``out`` (replacing an earlier build); returns its statistics. ``without`` names
    sources left out although installed (to rebuild the data of a model trained before they were added)."""
    if size not in SIZES:
        raise OutputFolderError(f"Unknown size {size!r}; choose one of {', '.join(SIZES)}.")
    out = Path(out).resolve()
    _check_output(out)
    plan = SIZES[size]
    present = chosen_sources(plan, without, log)
    with staged_folder(out) as staging:  # an interrupted run leaves the previous build as it was
        (staging / "audio").mkdir()
        stats = _build_into(staging, present, plan, seed, size, log)
    return stats


def chosen_sources(plan: SizePlan, without: tuple[str, ...], log: Callable[[str], None]) -> list[sources.Source]:
    """The plan's installed sources except those named in ``without``, which must be known and not required."""
    unknown = sorted(set(without) - set(sources.BY_NAME))
    if unknown:
        raise sources.DataSourceError(f"Unknown source {', '.join(unknown)}; the sources are "
                                      f"{', '.join(sources.BY_NAME)}.")
    needed = sorted(set(without) & set(plan.required))
    if needed:
        raise sources.DataSourceError(f"The {', '.join(needed)} source cannot be left out: every build needs it.")
    return [s for s in _present_sources(plan, log) if s.name not in without]


def _present_sources(plan: SizePlan, log: Callable[[str], None]) -> list[sources.Source]:
    """The plan's sources that are installed; stops if a required one is missing, names the others."""
    present, missing = sources.available(plan.sources)
    required = [name for name in plan.required if name in missing]
    if required:
        raise sources.DataSourceError(
            "The dataset builder cannot find " + "; ".join(f"{n}: {', '.join(missing[n])}" for n in required)
            + ". Install it with: " + sources.install_command(required))
    for name, what in missing.items():
        log(f"skipping source {name}: missing {', '.join(what)} (install: {sources.install_command([name])})")
    return present


def _build_into(folder: Path, present: list[sources.Source], plan: SizePlan, seed: int, size: str,
                log: Callable[[str], None]) -> dict[str, Any]:
    """Every step of the build, writing into ``folder``; returns the statistics."""
    with tempfile.TemporaryDirectory(prefix="ltu-data-") as work:
        recordings, audio, dropped = _recordings(present, plan, seed, Path(work), log)
    heldout_sources = tuple(s for s in plan.heldout_sources if any(r.dataset == s for r in recordings))
    split = assign_splits(recordings, seed, heldout_sources)
    log("split: " + ", ".join(f"{sum(s == name for s in split.values())} {name}" for name in SPLITS) + " recordings")
    clips = []
    for index, name in enumerate(SPLITS):
        members = [r for r in recordings if split[r.id] == name]
        clips += make_clips(members, audio, name, plan, index, seed)
    rows: dict[str, list[dict[str, str]]] = {name: [] for name in SPLITS}
    plain = Counter()  # clips per (split, class) so far: every PLAIN_EVERY-th is asked the plain question
    for clip in clips:
        clip.labels = mixing.clip_labels(clip)
        rng = random.Random(f"{seed}:rows:{clip.clip_id}")
        k = plan.questions_per_clip[SPLITS.index(clip.split)]
        tasks = questions.choose_tasks(questions.task_weights(clip), k, rng)
        plain[clip.split, clip.labels["category"]] += 1
        if plain[clip.split, clip.labels["category"]] % PLAIN_EVERY == 1:
            rows[clip.split].append(questions.row(clip, "what_hear", rng, wording=questions.PLAIN_QUESTION))
            tasks = [t for t in tasks if t != "what_hear"]
        for task in tasks:
            rows[clip.split].append(questions.row(clip, task, rng))
    log(f"clips: {len(clips)}; rows: " + ", ".join(f"{len(rows[n])} {n}" for n in SPLITS) + "; writing")
    return _write(folder, clips, rows, recordings, split, seed, size, heldout_sources, dropped)


# --- recordings -------------------------------------------------------------------------------
def _recordings(present: list[sources.Source], plan: SizePlan, seed: int, work: Path, log: Callable[[str], None]
                ) -> tuple[list[Recording], dict[str, np.ndarray], dict[str, Counter]]:
    """Every present source's recordings (generated ones rendered), decoded and checked."""
    recordings: list[Recording] = []
    for source in present:
        rng = random.Random(f"{seed}:source:{source.name}")
        made = source.recordings(plan.counts.get(source.name), rng, work)
        recordings += _limit(made, plan.counts.get(source.name), rng)
    generated = [r for r in recordings if r.command is not None]
    log(f"{len(recordings)} recordings from {len(present)} sources; rendering {len(generated)}")
    sources.render(generated)
    config = FrontEndConfig()
    audio, kept, dropped = {}, [], defaultdict(Counter)
    for recording in recordings:
        try:
            x = load_audio(recording.path, config).samples
        except LTUError:  # a damaged file in a package (SuperTux's thud.ogg): counted, not fatal
            dropped[recording.dataset]["cannot be decoded"] += 1
            continue
        reason = _unusable(recording, x)
        if reason:
            dropped[recording.dataset][reason] += 1
            continue
        audio[recording.id] = mixing.excerpt(x, MAX_RECORDING_S)[0]
        kept.append(recording)
    log(f"decoded {len(kept)} usable recordings; dropped " + ", ".join(
        f"{d}: {dict(c)}" for d, c in sorted(dropped.items())))
    return kept, audio, dropped


def _limit(recordings: list[Recording], n: int | None, rng: random.Random) -> list[Recording]:
    """At most ``n`` recordings, spread round robin over the split groups (small groups are kept whole)."""
    if n is None or len(recordings) <= n:
        return recordings
    groups: dict[str, list[Recording]] = defaultdict(list)
    for r in recordings:
        groups[r.group].append(r)
    queues = [rng.sample(g, len(g)) for _, g in sorted(groups.items())]
    chosen: list[Recording] = []
    while len(chosen) < n:
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(queue.pop())
    return sorted(chosen, key=lambda r: r.id)


def _unusable(recording: Recording, x: np.ndarray) -> str | None:
    """Why a decoded recording cannot be used (silent placeholder, click, over-long speech), or None."""
    seconds = len(x) / SAMPLE_RATE
    if recording.category == "Silence":
        return None
    if len(x) == 0 or float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) < SILENT_RMS:
        return "silent"
    if seconds < MIN_EVENT_S:
        return "shorter than 0.3 s"
    if recording.is_speech and seconds > MAX_SPEECH_S:
        return "speech longer than 10 s"
    return None


def assign_splits(recordings: list[Recording], seed: int, heldout_sources: tuple[str, ...]) -> dict[str, str]:
    """Recording id -> split: held-out sources whole, then ~15 % of each stratum by split key."""
    key_split: dict[str, str] = {}
    strata: dict[str, list[str]] = defaultdict(list)
    for r in recordings:
        if r.dataset in heldout_sources:
            key_split[r.split_key] = "heldout_sources"
    for r in recordings:
        if r.split_key not in key_split and r.split_key not in strata[r.group]:
            strata[r.group].append(r.split_key)
    for group, keys in sorted(strata.items()):
        keys = [k for k in sorted(keys) if k not in key_split]
        random.Random(f"{seed}:split:{group}").shuffle(keys)
        held = int(len(keys) * HELDOUT_FRACTION + 0.5) if len(keys) > 2 else 0
        for i, key in enumerate(keys):
            key_split[key] = "heldout" if i < held else "train"
    return {r.id: key_split[r.split_key] for r in recordings}


# --- clips ------------------------------------------------------------------------------------
def make_clips(recordings: list[Recording], audio: dict[str, np.ndarray], split: str, plan: SizePlan, index: int,
               seed: int) -> list[Clip]:
    """Single-recording clips (about the same number per coarse class) and mixtures, from this split only."""
    rng = random.Random(f"{seed}:clips:{split}")
    levels = _Cycle(L.LOUDNESSES, rng)
    clips: list[Clip] = []

    def add(dataset: str, kind: str, parts: list, samples: np.ndarray, noise: str | None = None) -> None:
        silent = all(p.recording.category == "Silence" for p in parts)
        samples, gain = (mixing.quantize(samples), 0.0) if silent else mixing.level(samples, levels.next(), rng)
        first = parts[0].recording.id.split("/", 1)[1].replace("/", "_")[:60]
        clip_id = f"{split}-{len(clips):05d}-{dataset}-{kind}-{first}"
        clips.append(Clip(clip_id, split, dataset, kind, parts, samples, noise, gain))

    by_category: dict[str, list[Recording]] = defaultdict(list)
    for r in recordings:
        by_category[r.category].append(r)
    lengths: list[float] = []  # speech clips' lengths: every other class draws its lengths from these
    for category in L.CATEGORIES:  # Speech comes first
        for recording in _spread(by_category.get(category, []), plan.clips_per_category[index],
                                 plan.max_clips_per_recording, rng):
            target = _target_length(lengths, category, rng)
            samples, parts, noise, kind = mixing.fit_clip(recording, audio[recording.id], target, rng)
            if category == "Speech":
                lengths.append(len(samples) / SAMPLE_RATE)
            add(recording.dataset, kind, parts, samples, noise)
    for _ in range(plan.mixes[index]):
        made = _mixture(recordings, audio, rng, lengths)
        if made:
            add("mix", "mix", *made)
    return clips


def _target_length(speech_lengths: list[float], category: str, rng: random.Random) -> float:
    """A clip length: speech draws from the common range (and keeps whole utterances, so it comes out
    a little longer); every other class re-draws from the speech clips' lengths, so no class is
    longer or shorter than another."""
    if category == "Speech" or not speech_lengths:
        return mixing.clip_length(rng)
    low, high = mixing.CLIP_SECONDS
    return round(min(high, max(low, rng.choice(speech_lengths) * rng.uniform(0.95, 1.05))), 2)


def _spread(pool: list[Recording], target: int, cap: int, rng: random.Random) -> list[Recording]:
    """``target`` draws from ``pool``, round robin over (source, label) groups, each recording at most ``cap`` times."""
    groups: dict[tuple[str, str], list[Recording]] = defaultdict(list)
    for r in pool:
        groups[(r.dataset, r.fine_label)].append(r)
    queues = [rng.sample(g, len(g)) * cap for _, g in sorted(groups.items())]
    rng.shuffle(queues)
    chosen: list[Recording] = []
    while len(chosen) < target and any(queues):
        for queue in queues:
            if queue and len(chosen) < target:
                chosen.append(queue.pop(0))
    return chosen


def _mixture(pool: list[Recording], audio: dict[str, np.ndarray], rng: random.Random, lengths: list[float]
             ) -> tuple[list, np.ndarray] | None:
    """Speech over music, or a sound event over noise, at one of several SNRs."""
    speech = [r for r in pool if r.is_speech]
    music = [r for r in pool if r.category == "Music"]
    noise = [r for r in pool if r.category == "Noise"]
    events = [r for r in pool if r.category not in ("Speech", "Music", "Noise", "Silence")]
    options = [(speech, music), (events, noise), (speech, noise), (events, music)]
    options = [(fg, bg) for fg, bg in options if fg and bg]
    if not options:
        return None
    fg_pool, bg_pool = rng.choice(options)
    fg, bg = rng.choice(fg_pool), rng.choice(bg_pool)
    snr = rng.choice(mixing.MIX_SNR_DB) if bg.category == "Noise" else rng.uniform(8.0, 15.0)
    target = _target_length(lengths, "mix", rng)
    samples, parts = mixing.mix_clip(fg, audio[fg.id], bg, audio[bg.id], snr, target, rng)
    if len(samples) > L.MAX_SECONDS * SAMPLE_RATE:
        return None
    return parts, samples


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
            return json.load(f).get("format", "").startswith(FORMAT.split("/")[0] + "/")
    except (OSError, ValueError, AttributeError):
        return False


def _write(folder: Path, clips: list[Clip], rows: dict[str, list[dict]], recordings: list[Recording],
           split: dict[str, str], seed: int, size: str, heldout_sources: tuple[str, ...],
           dropped: dict[str, Counter]) -> dict[str, Any]:
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
        "heldout_sources.json": rows["heldout_sources"],
        "heldout_sources_silence.json": [{**r, "audio_id": baseline} for r in rows["heldout_sources"]],
        "train_cla.json": [r for r in rows["train"] if r["task"] in L.CLASSIFICATION_TASKS],
        "train_closed.json": [r for r in rows["train"] if r["task"] in L.CLOSED_TASKS],
    }
    for name, content in files.items():
        _dump(folder / name, content)
    used = {rid for clip in clips for rid in clip.recording_ids}
    metadata = {
        "format": FORMAT, "seed": seed, "size": size, "sample_rate": SAMPLE_RATE,
        "heldout_fraction": HELDOUT_FRACTION, "heldout_sources": list(heldout_sources),
        "silence_baseline": {"audio_id": baseline, "seconds": SILENCE_BASELINE_S,
                             "rows": ["heldout_silence.json", "heldout_sources_silence.json"]},
        "label_sets": L.closed_task_labels(),
        "heldout_only_wordings": questions.heldout_only_wordings(),
        "recordings": {r.id: _recording_meta(r, split[r.id]) for r in recordings if r.id in used},
        "clips": {clip.audio_id: _clip_meta(clip) for clip in clips},
    }
    _dump(folder / "metadata.json", metadata)
    stats = statistics(clips, rows, seed, size, heldout_sources, dropped)
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
def duration_quantiles(clips: list[Clip]) -> dict[str, dict[str, float]]:
    """Per coarse class (mixtures as "mix"): 10/50/90 % quantiles of clip length in seconds."""
    by_class: dict[str, list[float]] = defaultdict(list)
    for c in clips:
        by_class[c.labels["category"] or "mix"].append(len(c.samples) / SAMPLE_RATE)
    return {k: {f"q{int(q * 100)}": round(float(np.quantile(v, q)), 2) for q in (0.1, 0.5, 0.9)}
            for k, v in sorted(by_class.items())}


def statistics(clips: list[Clip], rows: dict[str, list[dict]], seed: int, size: str,
               heldout_sources: tuple[str, ...], dropped: dict[str, Counter]) -> dict[str, Any]:
    """Counts per task, source, kind, class and label for each split, and clip-length quantiles per class."""
    unseen_wordings = {w for ws in questions.heldout_only_wordings().values() for w in ws}
    stats: dict[str, Any] = {"seed": seed, "size": size, "heldout_sources": list(heldout_sources),
                             "dropped_recordings": {d: dict(c) for d, c in sorted(dropped.items())}, "splits": {}}
    for split in SPLITS:
        members = [c for c in clips if c.split == split]
        split_rows = rows[split]
        seconds = sum(len(c.samples) for c in members) / SAMPLE_RATE
        label_counts: dict[str, Counter] = defaultdict(Counter)
        for r in split_rows:
            if r["task"] in L.closed_task_labels():
                label_counts[r["task"]][L.parse_label(r["output"])] += 1
        stats["splits"][split] = {
            "rows": len(split_rows),
            "clips": len(members),
            "recordings": len({rid for c in members for rid in c.recording_ids}),
            "audio_seconds": round(seconds, 1),
            "audio_megabytes": round(seconds * SAMPLE_RATE * 2 / 2**20, 1),
            "rows_per_task": dict(sorted(Counter(r["task"] for r in split_rows).items())),
            "clips_per_source": dict(sorted(Counter(c.dataset for c in members).items())),
            "recordings_per_source": dict(sorted(Counter(
                rid.split("/")[0] for rid in {rid for c in members for rid in c.recording_ids}).items())),
            "clips_per_kind": dict(sorted(Counter(c.kind for c in members).items())),
            "clips_per_category": dict(sorted(Counter(c.labels["category"] or "mix" for c in members).items())),
            "duration_quantiles_s": duration_quantiles(members) if members else {},
            "labels_per_task": {t: dict(sorted(c.items())) for t, c in sorted(label_counts.items())},
            "rows_with_heldout_only_wording": sum(r["instruction"] in unseen_wordings for r in split_rows),
        }
    return stats


def readme(stats: dict[str, Any]) -> str:
    """A short description of a built dataset with its counts."""
    splits = stats["splits"]
    lines = [
        "# LTU-small data (generated)",
        "",
        f"Built by `python -m train.builder --size {stats['size']} --seed {stats['seed']}`; see docs/data.md in the "
        "repository for sources, licences and the recipe. Not for committing: rebuild it instead.",
        "",
        "Rows are OpenAQA-format JSON lists (`instruction`, `input`, `audio_id`, `dataset`, `task`, `output`); "
        "`audio_id` is relative to this folder. Ground truth per clip is in `metadata.json`.",
        "",
        f"Held-out sources (never trained on): {', '.join(stats['heldout_sources'])}.",
        "",
        "| | " + " | ".join(SPLITS) + " |",
        "|---|" + "---:|" * len(SPLITS),
    ]
    for key in ("rows", "clips", "recordings", "audio_seconds"):
        lines.append(f"| {key} | " + " | ".join(str(splits[s][key]) for s in SPLITS) + " |")
    for category in L.CATEGORIES + ("mix",):
        lines.append(f"| clips `{category}` | " + " | ".join(
            str(splits[s]["clips_per_category"].get(category, 0)) for s in SPLITS) + " |")
    return "\n".join(lines) + "\n"
