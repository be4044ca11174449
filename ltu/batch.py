"""Answer many questions about many clips: ``python -m ltu batch --input rows.jsonl --output answers.jsonl``.

The engine (``answer_questions``) takes rows a chunk at a time in input order, decodes each
clip once per chunk, sorts the chunk's prompts by length and answers them in left-padded
batches; greedy answers equal one-at-a-time answers. ``train.eval`` uses the same path.

The command around it (options in ``ltu.cli``) reads JSON Lines rows (``audio``, ``question``, optional ``input``,
``history`` as ``[[question, answer], ...]``, ``id`` and settings ``temperature``, ``top_p``,
``max_tokens``, ``seed``), appends each answer to the output as soon as it exists, skips
rows already answered when run again, and under ``accelerate launch`` gives every process
its share of the rows; the output ends up in input order.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch

from ltu import model_thread
from ltu.audio.length import context_overflow, require_whole
from ltu.errors import LTUError
from ltu.generation import GenerationSettings
from ltu.model import LTUModel
from ltu.processor import AudioFeatures, AudioSource, LTUProcessor, Segment
from ltu.prompt import Turn
from ltu.transcribe import Transcriber

CHUNK_ROWS = 256  # rows decoded and sorted together: bounds memory, keeps batches of similar length
ROW_SETTINGS = {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_new_tokens", "seed": "seed"}
PART_SUFFIX = ".part-{rank}"  # each process's own output under accelerate, merged at the end


@dataclass
class Question:
    """One question about one clip (None: text only), after an optional history."""

    question: str
    audio: AudioSource | None = None
    input: str = ""  # the first turn's input field; empty: the clip's transcript, if a transcriber is given
    history: Sequence[tuple[str, str]] = ()  # earlier (question, answer) pairs about the same clip
    settings: GenerationSettings | None = None  # None: the run's settings


@dataclass
class Result:
    """The answer to question ``index`` of the input, or the sentence that says why there is none."""

    index: int
    answer: str | None = None
    error: str | None = None


class ClipLoader:
    """Decoded (and transcribed) clips by path, the ``size`` most recently used.

    ``whole``: refuse a clip longer than the front end's ``max_seconds`` (``AudioTooLongError``) instead of
    answering about its first part, as ``python -m ltu batch`` does.
    """

    def __init__(self, processor: LTUProcessor, transcriber: Transcriber | None = None, size: int = CHUNK_ROWS, *,
                 whole: bool = False) -> None:
        self.processor = processor
        self.transcriber = transcriber
        self.size = size
        self.whole = whole
        self._clips: OrderedDict[str, AudioFeatures] = OrderedDict()

    def __call__(self, question: Question) -> AudioFeatures | None:
        if question.audio is None:
            return None
        key = str(question.audio)
        if key not in self._clips:
            audio = self.processor.load_audio(question.audio)
            if self.whole:
                name = Path(question.audio).name if isinstance(question.audio, (str, Path)) else None
                require_whole(audio, self.processor.config.frontend, name)
            clip = self.processor.audio_features(audio)
            if self.transcriber is not None:
                clip.transcript = self.transcriber.heard(clip.audio.samples)
            self._clips[key] = clip
            while len(self._clips) > self.size:
                self._clips.popitem(last=False)
        self._clips.move_to_end(key)
        return self._clips[key]


def prompt(processor: LTUProcessor, question: Question, clip: AudioFeatures | None) -> Segment:
    """The tokens the LLM sees for ``question``: as ``ChatSession`` builds them after the same history."""
    turns = [Turn(q) for q, _ in question.history] + [Turn(question.question)]
    first_input = question.input or (clip.transcript if clip is not None else "")
    turns[0] = Turn(turns[0].question, first_input)
    answers = [processor.tokenizer(a, add_special_tokens=False)["input_ids"] for _, a in question.history]
    return processor.conversation(turns, answers, clip.num_tokens if clip is not None else 0)


def answer_questions(model: LTUModel, processor: LTUProcessor, questions: Sequence[Question],
                     settings: GenerationSettings, batch_size: int = 8, *,
                     clip_of: Callable[[Question], AudioFeatures | None] | None = None,
                     indices: Sequence[int] | None = None, chunk_rows: int = CHUNK_ROWS) -> Iterator[list[Result]]:
    """Results batch by batch (chunks of ``chunk_rows`` in input order, batches sorted by length).

    ``clip_of`` gives each question's clip (default: decode ``audio``, no transcript); ``indices`` name the
    questions in the results (default: their positions). A question whose clip will not decode or whose
    prompt does not fit the context gets an error instead of an answer; the others go on.
    """
    clip_of = clip_of or ClipLoader(processor)
    indices = list(indices) if indices is not None else list(range(len(questions)))
    context = int(getattr(model.llm.config, "max_position_embeddings", 0) or 0)
    for start in range(0, len(questions), chunk_rows):
        ready: list[tuple[int, Segment, AudioFeatures | None, GenerationSettings]] = []
        failed: list[Result] = []
        for index, question in zip(indices[start:start + chunk_rows], questions[start:start + chunk_rows]):
            row_settings = question.settings or settings
            try:
                clip = model_thread.call(model.audio_device, clip_of, question)
                segment = prompt(processor, question, clip)
                if context and len(segment) + row_settings.max_new_tokens > context:
                    seconds = clip.audio.seconds if clip is not None and clip.audio is not None else 0.0
                    raise LTUError(context_overflow(len(segment), sum(segment.audio_mask), seconds, context,
                                                    row_settings.max_new_tokens))
            except LTUError as err:
                failed.append(Result(index, error=str(err)))
                continue
            ready.append((index, segment, clip, row_settings))
        if failed:
            yield failed
        ready.sort(key=lambda item: (repr(item[3]), len(item[1])))  # same settings together, then by length
        for batch in _batches(ready, batch_size):
            answers = model_thread.call(model.audio_device, generate, model, processor, [b[1] for b in batch],
                                        [b[2] for b in batch], batch[0][3])
            yield [Result(b[0], answer) for b, answer in zip(batch, answers)]


def generate(model: LTUModel, processor: LTUProcessor, segments: Sequence[Segment],
             clips: Sequence[AudioFeatures | None], settings: GenerationSettings) -> list[str]:
    """Answers for one left-padded batch of prompts."""
    inputs = processor.collate(segments, clips, "left")
    out = model.generate(inputs.to(model.audio_device), settings, [processor.eos_id], processor.pad_id)
    return [processor.decode(ids[: ids.index(processor.eos_id)] if processor.eos_id in ids else ids)
            for ids in out.tolist()]


def _batches(items: list, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        if batch and (len(batch) == size or item[3] != batch[0][3]):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


# ----- the command: rows in, answers out, resumable, split across processes
def question_from_row(row: dict[str, Any], root: Path, defaults: GenerationSettings) -> Question:
    """A ``Question`` from an input row (OpenAQA's ``audio_id``/``instruction`` names work too)."""
    audio = row.get("audio", row.get("audio_id"))
    text = row.get("question", row.get("instruction"))
    if not isinstance(text, str) or not text.strip():
        raise LTUError("has no 'question'.")
    history = row.get("history") or []
    if not isinstance(history, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in history):
        raise LTUError("has a 'history' that is not a list of [question, answer] pairs.")
    changes = {field_: row[key] for key, field_ in ROW_SETTINGS.items() if row.get(key) is not None}
    path = None if audio is None else (Path(audio) if Path(audio).is_absolute() else root / audio)
    return Question(text, path, row.get("input") or "", [tuple(p) for p in history],
                    defaults.replace(**changes) if changes else None)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON Lines file; a user error names the line that is not a JSON object."""
    rows = []
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise LTUError(f"Cannot read {path}: {err.strerror or err}.") from err
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise LTUError(f"{path}, line {number}, is not JSON ({err.msg}).") from err
            if not isinstance(row, dict):
                raise LTUError(f"{path}, line {number}, is not a JSON object.")
            rows.append(row)
    return rows


def answered(paths: Sequence[Path]) -> dict[int, dict[str, Any]]:
    """Output rows already written (by index; a line cut off by a crash is ignored)."""
    done: dict[int, dict[str, Any]] = {}
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("index"), int):
                done[row["index"]] = row
    return done


def merge(output: Path, parts: Sequence[Path]) -> int:
    """Write every answered row of ``output`` and ``parts`` into ``output`` in input order; returns the count."""
    rows = answered([output, *parts])
    tmp = output.with_name(output.name + ".tmp")
    with open(tmp, "w") as file:
        for index in sorted(rows):
            file.write(json.dumps(rows[index], ensure_ascii=False) + "\n")
    tmp.replace(output)
    for part in parts:
        part.unlink(missing_ok=True)
    return len(rows)


def run_rows(model: LTUModel, processor: LTUProcessor, rows: Sequence[dict[str, Any]], output: Path,
             settings: GenerationSettings, batch_size: int, root: Path, transcriber: Transcriber | None = None,
             rank: int = 0, world: int = 1, progress: bool = True) -> int:
    """Answer this process's share of the rows not yet answered, appending to its output; returns rows written.

    A clip longer than the front end's ``max_seconds`` gets an error row, not an answer about its first part."""
    from tqdm import tqdm

    target = output.with_name(output.name + PART_SUFFIX.format(rank=rank)) if world > 1 else output
    # Shares are cut from what the merged output lacks, which every process reads alike; then this
    # process skips what its own part already holds (a run stopped before the merge).
    merged = {i for i, row in answered([output]).items() if "answer" in row}
    mine = {i for i, row in answered([target]).items() if "answer" in row}
    todo = [i for i in [i for i in range(len(rows)) if i not in merged][rank::world] if i not in mine]
    questions, indices, bad = [], [], []
    for i in todo:
        try:
            questions.append(question_from_row(rows[i], root, settings))
            indices.append(i)
        except LTUError as err:
            bad.append(Result(i, error=f"Row {i} {err}"))
    _drop_cut_line(target)
    written = 0
    bar = tqdm(total=len(todo), unit="rows", desc=f"answers{f' (process {rank})' if world > 1 else ''}",
               dynamic_ncols=True, disable=not progress, file=sys.stderr)
    with open(target, "a") as file:
        batches = answer_questions(model, processor, questions, settings, batch_size,
                                   clip_of=ClipLoader(processor, transcriber, whole=True), indices=indices)
        for results in _chain(bad, batches):
            for result in results:
                record = {"index": result.index, **rows[result.index]}
                record.update({"answer": result.answer} if result.error is None else {"error": result.error})
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
            file.flush()
            written += len(results)
            bar.update(len(results))
    bar.close()
    return written


def _drop_cut_line(path: Path) -> None:
    """Remove a last line left without its newline (the run stopped while writing it)."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def _chain(first: list[Result], rest: Iterator[list[Result]]) -> Iterator[list[Result]]:
    if first:
        yield first
    yield from rest


def run_command(args: argparse.Namespace, settings: GenerationSettings) -> int:
    """``python -m ltu batch`` after its options are read (``ltu.cli``); returns the exit code."""
    from accelerate import PartialState

    from ltu.checkpoint import load_pretrained
    from ltu.runtime import Runtime
    from ltu.transcribe import transcriber_for

    rows = read_jsonl(args.input)  # seconds, before the model loads
    # One process, or the ones `accelerate launch` (or torchrun) started. Without a GPU (or with --device cpu)
    # the processes must be told they share CPUs, or each would answer every row on its own.
    state = PartialState(cpu=args.device == "cpu" or not torch.cuda.is_available())
    device = str(state.device) if state.num_processes > 1 else args.device
    runtime = Runtime(device=device, dtype=args.dtype, quantization=args.quantization)
    model, processor = load_pretrained(args.checkpoint, runtime, llm=args.llm, max_seconds=args.max_seconds)
    model.eval()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        run_rows(model, processor, rows, args.output, settings, args.batch_size, args.audio_root or args.input.parent,
                 transcriber_for(model.config), state.process_index, state.num_processes, not args.no_progress)
    state.wait_for_everyone()
    if state.is_main_process:
        parts = [args.output.with_name(args.output.name + PART_SUFFIX.format(rank=r))
                 for r in range(state.num_processes)]
        total = merge(args.output, parts if state.num_processes > 1 else [])
        shared = f" by {state.num_processes} processes" if state.num_processes > 1 else ""
        print(f"{total} of {len(rows)} rows answered{shared} in {args.output}", file=sys.stderr)
    return 0
