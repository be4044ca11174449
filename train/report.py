"""Held-out tables for a model card: ``python -m train.report --data DATA --eval EVAL_DIR``.

Reads what ``python -m train.eval --out EVAL_DIR/<set>.json`` wrote for each evaluation set
(``heldout``: unseen recordings of trained sources; ``heldout_sources``: whole sources never
trained on; each with its ``*_silence`` run, the same rows with the audio replaced by silence)
and prints, per split, one Markdown table:

- closed families: accuracy with chance, majority answer and the silence baseline;
- open families ("What do you hear?", "Describe ...", ...): how often the answer names the
  clip's coarse class (the paper's MiniLM classifier on the whole answer against the class
  names; a mixture counts when the answer names any of its classes), with the silence
  baseline, and how often an answer is a verbatim copy of a training answer.

With ``--examples N`` it also lists N verbatim answers to open questions about clips of the
held-out sources (a seeded draw, right and wrong alike), each with the clip's label path.

The clip labels come from ``DATA/metadata.json``; the training answers from ``DATA/train.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from train import scoring

SPLITS = {"held-out recordings": "heldout", "held-out sources": "heldout_sources"}
SILENCE_SUFFIX = "_silence"
OPEN_TASKS = ("what_hear", "source", "describe", "reasoning", "where", "advice")  # answers in sentences
EXAMPLES_SPLIT = "heldout_sources"  # --examples are drawn from here
EXAMPLES_SEED = 0


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``*.predictions.jsonl`` file (each row with its ``prediction``)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def coarse_hits(rows: Sequence[dict[str, Any]], clip_ids: Sequence[str], clips: dict[str, Any],
                classes: Sequence[str], embedder: scoring.SentenceEmbedder) -> list[bool]:
    """Whether each answer names (one of) the coarse classes of its clip (``clip_ids``, row by row),
    by the MiniLM classifier."""
    if not rows:
        return []
    similarity = scoring.classify([r["prediction"] for r in rows], [c.lower() for c in classes], embedder)
    named = [classes[i] for i in similarity.argmax(axis=1)]
    return [name in clips[clip]["labels"]["categories"] for clip, name in zip(clip_ids, named)]


def table(split: str, metrics: dict[str, Any], silence: dict[str, Any] | None, open_rows: dict[str, list[bool]],
          open_silence: dict[str, list[bool]], copies: dict[str, float]) -> str:
    """One split's Markdown table."""
    lines = [f"**{split}**", "", "| family | n | model | silence | chance | majority |", "|---|---:|---:|---:|---:|---:|"]
    for task, m in sorted(metrics["tasks"].items()):
        if task in OPEN_TASKS:
            continue
        base = (silence or {}).get("tasks", {}).get(task, {})
        if "accuracy" in m:
            lines.append(f"| {task} | {m['n']} | {m['accuracy']:.1%} | {_pct(base.get('accuracy'))} | "
                         f"{m['chance']:.1%} | {m['majority']:.1%} |")
        elif "wer" in m:
            lines.append(f"| {task} (WER, lower is better) | {m['n']} | {m['wer']:.1%} | {_pct(base.get('wer'))} | | |")
    for task, hits in sorted(open_rows.items()):
        if hits:
            quiet = open_silence.get(task, [])
            lines.append(f"| {task}: names the coarse class | {len(hits)} | {np.mean(hits):.1%} | "
                         f"{_pct(np.mean(quiet) if quiet else None)} | | |")
    lines.append("")
    lines.append("Verbatim copies of a training answer (open families): " +
                 ", ".join(f"{task} {share:.1%}" for task, share in sorted(copies.items())) + ".")
    return "\n".join(lines) + "\n"


def split_report(split: str, stem: str, eval_dir: Path, clips: dict[str, Any], classes: Sequence[str],
                 train_answers: set[str], embedder: scoring.SentenceEmbedder) -> str | None:
    metrics_file = eval_dir / f"{stem}.json"
    if not metrics_file.is_file():
        return None
    silence_file = eval_dir / f"{stem}{SILENCE_SUFFIX}.json"
    silence = json.loads(silence_file.read_text()) if silence_file.is_file() else None
    rows = read_predictions(metrics_file.with_suffix(".predictions.jsonl"))
    quiet_rows = read_predictions(silence_file.with_suffix(".predictions.jsonl")) if silence else []
    # The silence set holds the same rows in the same order (the same --sample draws the same
    # indices), with one silent file as audio: its labels are those of the row's real clip.
    if quiet_rows and [r["instruction"] for r in quiet_rows] != [r["instruction"] for r in rows]:
        raise ValueError(f"{silence_file} does not hold the rows of {metrics_file} in the same order.")
    open_rows, open_silence, copies = defaultdict(list), defaultdict(list), {}
    for task in OPEN_TASKS:
        chosen = [i for i, r in enumerate(rows) if r.get("task") == task]
        if not chosen:
            continue
        clip_ids = [rows[i]["audio_id"] for i in chosen]
        open_rows[task] = coarse_hits([rows[i] for i in chosen], clip_ids, clips, classes, embedder)
        copies[task] = float(np.mean([_norm(rows[i]["prediction"]) in train_answers for i in chosen]))
        if quiet_rows:
            open_silence[task] = coarse_hits([quiet_rows[i] for i in chosen], clip_ids, clips, classes, embedder)
    return table(split, json.loads(metrics_file.read_text()), silence, open_rows, open_silence, copies)


def examples(eval_dir: Path, clips: dict[str, Any], count: int, seed: int = EXAMPLES_SEED) -> str:
    """``count`` verbatim answers to open questions on held-out-source clips, as a Markdown table."""
    path = eval_dir / f"{EXAMPLES_SPLIT}.predictions.jsonl"
    if not count or not path.is_file():
        return ""
    rows = [r for r in read_predictions(path) if r.get("task") in OPEN_TASKS]
    # one question per clip, so the list shows different recordings
    by_clip: dict[str, dict[str, Any]] = {}
    for row in random.Random(seed).sample(rows, len(rows)):
        by_clip.setdefault(row["audio_id"], row)
    lines = [f"**{count} answers on held-out-source clips** (drawn at random, seed {seed}; not picked by hand)", "",
             "| clip (label) | question | answer |", "|---|---|---|"]
    for row in list(by_clip.values())[:count]:
        label = "; ".join(clips[row["audio_id"]]["labels"]["label_paths"])
        lines.append(f"| {Path(row['audio_id']).name} ({label}) | {_cell(row['instruction'])} | "
                     f"{_cell(row['prediction'])} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the held-out tables; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m train.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the dataset folder (metadata.json, train.json)")
    parser.add_argument("--eval", type=Path, required=True, help="the folder train.eval wrote its results into")
    parser.add_argument("--examples", type=int, default=0, help="also list N verbatim answers on held-out sources")
    args = parser.parse_args(argv)
    from ltu.console import quiet_libraries
    from train.builder.ontology import CATEGORIES

    quiet_libraries()

    clips = json.loads((args.data / "metadata.json").read_text())["clips"]
    train_answers = {_norm(r["output"]) for r in json.loads((args.data / "train.json").read_text())}
    embedder = scoring.SentenceEmbedder()
    parts = [split_report(split, stem, args.eval, clips, CATEGORIES, train_answers, embedder)
             for split, stem in SPLITS.items()]
    parts.append(examples(args.eval, clips, args.examples))
    print("\n".join(p for p in parts if p) or "No evaluation results found.")
    return 0


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


if __name__ == "__main__":
    sys.exit(main())
