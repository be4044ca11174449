"""``python -m train.eval``: score a checkpoint on a JSON split of OpenAQA rows.

Answers are generated in left-padded batches. Closed-ended tasks are scored by the
paper's protocol (sentence-embedding classifier: accuracy, or mAP for multi-label
sets), ``asr`` tasks by word error rate, and the rest (open-ended) by answer length and
word overlap with the reference. ``--silence S`` replaces every clip with S seconds of
silence: the baseline that shows whether answers come from the audio.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ltu.batch import ClipLoader, Question, answer_questions
from ltu.errors import USER_ERROR, ConfigError, LTUError
from ltu.generation import GenerationSettings
from ltu.model import LTUModel
from ltu.processor import AudioFeatures, LTUProcessor
from ltu.cli import DTYPE_HELP
from ltu.runtime import Runtime
from ltu.transcribe import Transcriber, transcriber_for
from train import scoring
from train.data import StoredTranscriber, audio_path, check_rows, read_rows

MAX_CLOSED_LABELS = 100  # a task with at most this many distinct short answers is scored as classification
MAX_LABEL_WORDS = 4
SAMPLE_SEED = 0  # --sample draws the same rows every time, so runs compare
METADATA_FILE = "metadata.json"  # the data builder's, beside its rows files: holds each closed family's labels
MULTI_LABEL_SEPARATOR = ";"  # "Sound category: dog; music" lists several labels


def generate_answers(model: LTUModel, processor: LTUProcessor, rows: Sequence[dict[str, Any]], root: Path,
                     settings: GenerationSettings, batch_size: int, silence_seconds: float | None = None,
                     transcriber: Transcriber | None = None) -> list[str]:
    """One answer per row, through ``ltu.batch`` (left-padded batches of similar prompt length).

    ``transcriber`` fills an empty ``input`` field with the clip's speech, as at inference."""
    silent = _silence(processor, silence_seconds) if silence_seconds else None
    if silent is not None and transcriber is not None:
        silent.transcript = transcriber.heard(silent.audio.samples)
    loader = ClipLoader(processor, transcriber)
    questions = [Question(row["instruction"], audio_path(row, root), row.get("input") or "") for row in rows]
    answers: list[str] = [""] * len(rows)
    with tqdm(total=len(rows), unit="rows", desc="answers", dynamic_ncols=True, mininterval=1.0) as bar:
        for results in answer_questions(model, processor, questions, settings, batch_size,
                                        clip_of=(lambda q: silent) if silent is not None else loader):
            for result in results:
                if result.error is not None:
                    raise LTUError(f"Row {result.index}: {result.error}")
                answers[result.index] = result.answer or ""
            bar.update(len(results))
    return answers


def score(rows: Sequence[dict[str, Any]], answers: Sequence[str], closed: set[str] | None = None,
          wer_tasks: set[str] = frozenset({"asr"}), embedder: scoring.SentenceEmbedder | None = None,
          label_sets: dict[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Metrics per task: accuracy/mAP (closed-ended), WER (asr) or length/overlap (open-ended).

    ``label_sets`` (task -> every label of the family, as ``scoring.answer_label`` reads them; the data
    builder's ``metadata.json`` holds them) make those tasks closed and score each answer against the
    whole family, so the method and the chance level do not depend on which rows were drawn; other
    tasks are detected from their rows unless ``closed`` names them."""
    label_sets = label_sets or {}
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_task[row.get("task") or "default"].append(i)
    if closed is None:
        closed = {t for t, idx in by_task.items() if t in label_sets or _looks_closed(rows, idx)}
    results: dict[str, Any] = {}
    for task, idx in sorted(by_task.items()):
        refs, preds = [rows[i]["output"] for i in idx], [answers[i] for i in idx]
        if task in wer_tasks:
            results[task] = {"n": len(idx), "wer": round(scoring.word_error_rate(refs, preds), 4)}
        elif task in closed:
            embedder = embedder or scoring.SentenceEmbedder()
            results[task] = _classification(refs, preds, embedder, label_sets.get(task, ()))
        else:
            results[task] = {"n": len(idx), "words": round(float(np.mean([len(scoring.words(p)) for p in preds])), 1),
                             "ref_words": round(float(np.mean([len(scoring.words(r)) for r in refs])), 1),
                             "overlap_f1": round(float(np.mean([scoring.overlap_f1(r, p) for r, p in zip(refs, preds)])), 4)}
    return results


def _classification(refs: list[str], preds: list[str], embedder: scoring.SentenceEmbedder,
                    family: Sequence[str] = ()) -> dict[str, Any]:
    """Each answer's nearest label among the family's (``family``, plus any label the rows hold)."""
    ref_labels = [[part.strip() for part in scoring.answer_label(r.replace(MULTI_LABEL_SEPARATOR, " ; ")).split(" ; ")]
                  for r in refs]
    labels = sorted({label for row in ref_labels for label in row} | set(family))
    similarity = scoring.classify(preds, labels, embedder)
    if any(len(row) > 1 for row in ref_labels):
        targets = np.array([[label in row for label in labels] for row in ref_labels], dtype=float)
        return {"n": len(refs), "map": round(scoring.mean_average_precision(similarity, targets), 4),
                "labels": len(labels)}
    truth = [labels.index(row[0]) for row in ref_labels]
    majority = max(truth.count(t) for t in set(truth)) / len(truth)
    return {"n": len(refs), "accuracy": round(scoring.accuracy(similarity, truth), 4), "labels": len(labels),
            "chance": round(1 / len(labels), 4), "majority": round(majority, 4)}


def _label_sets(rows_file: Path) -> dict[str, list[str]]:
    """The closed families' label sets from the data builder's ``metadata.json`` beside the rows, if any."""
    metadata = rows_file.parent / METADATA_FILE
    if not metadata.is_file():
        return {}
    return json.loads(metadata.read_text()).get("label_sets", {})


def _looks_closed(rows: Sequence[dict[str, Any]], idx: list[int]) -> bool:
    labels = {scoring.answer_label(rows[i]["output"]) for i in idx}
    return len(labels) <= MAX_CLOSED_LABELS and all(len(label.split()) <= MAX_LABEL_WORDS for label in labels)


def _silence(processor: LTUProcessor, seconds: float) -> AudioFeatures:
    rate = processor.config.frontend.sample_rate
    return processor.audio_features((rate, np.zeros(int(seconds * rate), dtype=np.float32)))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m train.eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", "-c", required=True, help="checkpoint folder (or a training run folder)")
    parser.add_argument("--data", "-d", required=True, help="JSON list or JSON Lines of OpenAQA rows")
    parser.add_argument("--data-root", default=None, help="folder that relative audio_id paths start from")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--paper-sampling", action="store_true",
                        help="the paper's batch evaluation (docs/paper.md): temperature 0.1, top_p 0.95, top_k 500, repetition 1.1")
    parser.add_argument("--closed", default=None, help="comma list of closed-ended tasks (default: detected)")
    parser.add_argument("--wer-tasks", default="asr", help="comma list of tasks scored by word error rate")
    parser.add_argument("--silence", type=float, default=None, help="replace every clip with this many seconds of silence")
    parser.add_argument("--tasks", default=None, help="comma list: score only rows of these tasks (before --limit/--sample)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N rows")
    parser.add_argument("--sample", type=int, default=0, help="a fixed random subset of N rows (seed 0)")
    parser.add_argument("--out", default=None, help="write metrics JSON here and predictions next to it")
    parser.add_argument("--transcript-cache", default=None,
                        help="keep the transcripts of the clips here (train.data.StoredTranscriber), so later runs reuse them")
    parser.add_argument("--rescore", action="store_true",
                        help="score the answers already written beside --out again, without running the model")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help=DTYPE_HELP)
    args = parser.parse_args(argv)
    try:
        return _evaluate(args)
    except LTUError as err:
        print(f"error: {err}", file=sys.stderr)
        return USER_ERROR


def _score_as_asked(args: argparse.Namespace, rows: Sequence[dict[str, Any]], answers: Sequence[str]) -> dict[str, Any]:
    """``score`` with the command line's --closed and --wer-tasks and the data's label sets."""
    closed = set(args.closed.split(",")) if args.closed else None
    return score(rows, answers, closed, set(args.wer_tasks.split(",")), label_sets=_label_sets(Path(args.data)))


def _rescore(args: argparse.Namespace) -> int:
    """--rescore: the metrics of an earlier run's predictions, scored as today's code scores them."""
    if not args.out:
        raise ConfigError("--rescore needs --out: the metrics file whose predictions are scored again.")
    out = Path(args.out)
    predictions = out.with_suffix(".predictions.jsonl")
    if not predictions.is_file():
        raise ConfigError(f"--rescore: {predictions} does not exist; run the evaluation first.")
    rows = read_rows(predictions)
    summary = json.loads(out.read_text()) if out.is_file() else {}
    summary["tasks"] = _score_as_asked(args, rows, [row["prediction"] for row in rows])
    print(json.dumps(summary, indent=2))
    out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from ltu.checkpoint import load_pretrained

    if args.rescore:
        return _rescore(args)
    rows = read_rows(args.data)
    if args.tasks:
        wanted = set(args.tasks.split(","))
        rows = [row for row in rows if row.get("task") in wanted]
        if not rows:
            raise ConfigError(f"No row of {args.data} has a task in --tasks {args.tasks}.")
    rows = rows[: args.limit or None]
    if args.sample and args.sample < len(rows):
        picked = sorted(random.Random(SAMPLE_SEED).sample(range(len(rows)), args.sample))
        rows = [rows[i] for i in picked]
    root = Path(args.data_root) if args.data_root else Path(args.data).parent
    report = check_rows(rows, root)  # seconds, before the model loads
    report.problems.pop("unknown fields", None)  # extra fields (an earlier run's predictions) do no harm here
    if any(report.problems.values()):
        raise ConfigError(f"The rows of {args.data} have problems (--data-root sets the folder that relative "
                          f"audio_id paths start from):\n{report.summary()}")
    print(f"{len(rows)} rows; loading {args.checkpoint} ...", file=sys.stderr)
    model, processor = load_pretrained(args.checkpoint, Runtime(device=args.device, dtype=args.dtype))
    settings = (GenerationSettings(temperature=0.1, top_p=0.95, top_k=500, repetition_penalty=1.1,
                                   max_new_tokens=args.max_new_tokens, seed=0) if args.paper_sampling
                else GenerationSettings.greedy_settings(args.max_new_tokens))
    started = time.perf_counter()
    transcriber = transcriber_for(model.config)
    if transcriber is not None and args.transcript_cache:
        transcriber = StoredTranscriber(transcriber, Path(args.transcript_cache))
    answers = generate_answers(model, processor, rows, root, settings, args.batch_size, args.silence, transcriber)
    elapsed = time.perf_counter() - started
    results = _score_as_asked(args, rows, answers)
    summary = {"checkpoint": args.checkpoint, "data": args.data, "rows": len(rows), "silence": args.silence,
               "seconds": round(elapsed, 1), "rows_per_s": round(len(rows) / max(elapsed, 1e-9), 2), "tasks": results}
    print(json.dumps(summary, indent=2))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(summary, indent=2) + "\n")
        with open(out.with_suffix(".predictions.jsonl"), "w") as f:
            for row, answer in zip(rows, answers):
                f.write(json.dumps({**row, "prediction": answer}) + "\n")
    return 0


if __name__ == "__main__":
    from ltu.console import quiet_libraries

    quiet_libraries()  # library warnings and loading bars off; the command's own progress stays
    torch.set_grad_enabled(False)
    sys.exit(main())
