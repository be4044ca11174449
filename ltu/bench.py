"""``python -m ltu bench``: how fast the pieces run on this machine, as a table.

Measured for one checkpoint (the default LTU-small, or ``--checkpoint``; ``--tiny`` builds
a tiny random model so the command runs anywhere in seconds):

- front end: decoding a file and computing encoder features, for a 10 s and a 60 s clip;
- encoder: one window through the audio encoder and projector;
- time to first token for turns 1-5 of a conversation through ``ChatSession`` (the clip
  encoded once, the KV cache reused) next to the original approach (decode, encode and
  prefill the whole conversation for every question);
- decode speed in tokens/s through the session and through plain ``generate`` on the LLM;
- batched answering: clips/s at batch 1 and batch 8 (left-padded greedy generation);
- training: samples/s of forward + backward + optimizer step on the trainable groups;
- peak memory: the process's resident set (CPU) or allocated memory (CUDA).

Every number is the median of ``--repeat`` runs after one warm-up. The table is printed as
Markdown and, with ``--out``, written as JSON and Markdown files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from ltu import model_thread

QUESTIONS = ("What do you hear?", "Is it loud?", "Where might this be?", "What could be making it?",
             "Describe it in one sentence.")
SAMPLE_RATE = 16_000
CLIP_SECONDS = (10.0, 60.0)  # front-end lengths
TURN_CLIP_SECONDS = 30.0  # the conversation benchmark's clip (several encoder windows)
BATCH_SIZES = (1, 8)
DECODE_REPEATS = 3  # the session's decode rate is the median of this many answers


@dataclass
class Row:
    """One measurement."""

    name: str
    value: float
    unit: str
    note: str = ""


def median_time(run: Callable[[], Any], repeat: int) -> float:
    """Median wall seconds of ``run`` over ``repeat`` calls, after one warm-up call."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_clip(folder: Path, seconds: float, seed: int = 0) -> Path:
    """A wav of a tone plus noise (something for every encoder to chew on)."""
    import soundfile

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    path = folder / f"clip-{seconds:g}s.wav"
    soundfile.write(path, wave.astype(np.float32), SAMPLE_RATE)
    return path


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory so far: allocated CUDA memory on a GPU, else the process's peak resident set."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def bench_frontend(processor: Any, clips: dict[float, Path], repeat: int) -> list[Row]:
    rows = []
    for seconds, path in clips.items():
        taken = median_time(lambda: processor.audio_features(path), repeat)
        rows.append(Row(f"front end, {seconds:g} s clip", taken * 1000, "ms", "decode + features"))
    return rows


def bench_encoder(model: Any, processor: Any, clip: Path, repeat: int) -> list[Row]:
    features = processor.audio_features(clip)
    one = features.features[:1]
    tokens = torch.tensor(features.window_tokens[:1])
    with torch.no_grad():
        taken = median_time(lambda: model.audio_embeddings(one, tokens), repeat)
    return [Row("encoder + projector, one window", taken * 1000, "ms", f"{int(tokens[0])} audio tokens")]


def first_token_seconds(start_answer: Callable[[], Any]) -> float:
    """Seconds from calling ``start_answer`` until the answer it streams yields text; the rest is drained."""
    start = time.perf_counter()
    first = None
    for _ in start_answer():
        if first is None:
            first = time.perf_counter() - start
    return first if first is not None else time.perf_counter() - start


def bench_turns(model: Any, processor: Any, clip: Path, new_tokens: int, turns: int = len(QUESTIONS)) -> list[Row]:
    """Time to first token per turn: the session (cache reused) vs. everything redone each question."""
    from ltu.chat import ChatSession
    from ltu.generation import GenerationSettings

    settings = GenerationSettings.greedy_settings(new_tokens)
    sessions: list[ChatSession] = []

    def open_and_ask(question: str) -> Any:  # turn 1 decodes and encodes the clip; later turns reuse it
        if not sessions:
            sessions.append(ChatSession(model, processor, clip, settings, transcriber=None))
        return sessions[0].ask(question)

    rows = []
    for turn, question in enumerate(QUESTIONS[:turns], 1):
        ours = first_token_seconds(lambda: open_and_ask(question))
        history = [(e.turn.question, e.answer) for e in sessions[0].exchanges[:-1]]

        def original() -> Any:
            fresh = ChatSession(model, processor, clip, settings, transcriber=None)  # decode + encode again
            for q, a in history:
                fresh.add_exchange(q, a)
            return fresh.ask(question)

        theirs = first_token_seconds(original)
        rows.append(Row(f"first token, turn {turn}", ours * 1000, "ms",
                        f"original approach {theirs * 1000:.0f} ms ({theirs / max(ours, 1e-9):.1f}x)"))
    return rows


def bench_decode(model: Any, processor: Any, clip: Path, new_tokens: int) -> list[Row]:
    """Decode tokens/s through the session, and plain ``generate`` on the same LLM for reference."""
    from ltu.chat import ChatSession
    from ltu.generation import GenerationSettings

    settings = GenerationSettings.greedy_settings(new_tokens)
    session = ChatSession(model, processor, clip, settings, transcriber=None)

    def rate(answer: Iterator[str]) -> float:  # tokens/s after the first piece arrived
        start, first = time.perf_counter(), None
        for _ in answer:
            first = first or time.perf_counter()
        return (len(session.exchanges[-1].answer_ids) - 1) / max(time.perf_counter() - (first or start), 1e-9)

    rates = [rate(session.ask("Describe the sound in detail, as long as you can."))]
    rates += [rate(session.retry()) for _ in range(DECODE_REPEATS - 1)]  # the same answer again, prompt cached
    ours = statistics.median(rates)
    generated = len(session.exchanges[-1].answer_ids)
    ids = processor.tokenizer("Describe a sound in detail.", return_tensors="pt").input_ids.to(model.audio_device)
    config = settings.to_generation_config([processor.eos_id], processor.pad_id)

    def generate(tokens: int) -> float:
        config.min_new_tokens = config.max_new_tokens = tokens  # decode the full length, like a long answer
        # generate computes without gradients itself (a no_grad here would not reach the model thread)
        return model_thread.call(model.audio_device, median_time,
                                 lambda: model.llm.generate(ids, generation_config=config), 1)

    short, full = generate(2), generate(new_tokens)
    # Per-call set-up and prefill cancel out; on a tiny model the difference can drown in timing noise.
    plain = (new_tokens - 2) / (full - short) if full > short else float("nan")
    return [Row("decode, through the session", ours, "tokens/s",
                f"{generated} tokens after the first, median of {DECODE_REPEATS}"),
            Row("decode, plain generate", plain, "tokens/s", "the same LLM on text alone")]


def bench_batches(model: Any, processor: Any, clips: list[Path], new_tokens: int) -> list[Row]:
    from ltu.batch import Question, answer_questions
    from ltu.generation import GenerationSettings

    questions = [Question("What do you hear?", p) for p in clips]
    settings = GenerationSettings.greedy_settings(new_tokens)

    def answer(batch: int, count: int) -> None:  # decode, encode and answer, as python -m ltu batch does
        for results in answer_questions(model, processor, questions[:count], settings, batch):
            assert all(r.error is None for r in results), results

    result = []
    for size in BATCH_SIZES:
        answer(size, size)  # warm-up
        start = time.perf_counter()
        answer(size, len(questions))
        result.append(Row(f"answers, batch {size}", len(questions) / (time.perf_counter() - start), "clips/s",
                          f"{len(questions)} clips, {new_tokens} new tokens"))
    return result


def bench_training(model: Any, processor: Any, clip: Path, batch: int, steps: int) -> list[Row]:
    from ltu.prompt import Turn

    clip_features = processor.audio_features(clip)
    segment = processor.training_example(Turn("What do you hear?"), "A tone with some noise.",
                                         clip_features.num_tokens)
    inputs = processor.collate([segment] * batch, [clip_features] * batch).to(model.audio_device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return []
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    model.train()

    def step() -> None:
        loss = model(**inputs.as_kwargs()).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    taken = median_time(step, steps)
    model.eval()
    return [Row("training step", batch / taken, "samples/s", f"batch {batch}, trainable groups as loaded")]


def markdown(rows: Sequence[Row], header: str) -> str:
    lines = [header, "", "| measurement | value | unit | note |", "|---|---:|---|---|"]
    lines += [f"| {r.name} | {r.value:.3g} | {r.unit} | {r.note} |" for r in rows]
    return "\n".join(lines) + "\n"


def machine() -> str:
    """A short description of where the numbers were taken."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), torch {torch.__version__}, " \
           f"{torch.get_num_threads()} threads"


def load(args: argparse.Namespace, trainable: bool = False) -> tuple[Any, Any]:
    """The model as answering loads it (LoRA added into the weights), or with ``trainable`` as training does."""
    from ltu.checkpoint import build_model, load_pretrained
    from ltu.runtime import Runtime

    runtime = Runtime(device=args.device, dtype=args.dtype, quantization=args.quantization)
    if not args.tiny:
        return load_pretrained(args.checkpoint, runtime, trainable=trainable)
    from ltu.tiny import make_llm_folder, tiny_config

    llm = make_llm_folder(Path(tempfile.mkdtemp(prefix="ltu-bench-llm-")))
    return build_model(tiny_config(llm, "whisper", format="chat_template", audio_position="user"), runtime)


def run(args: argparse.Namespace) -> list[Row]:
    model, processor = load(args)
    model.eval()
    device = model.audio_device
    repeat = 1 if args.quick else 3
    new_tokens = 8 if args.quick else 48
    with tempfile.TemporaryDirectory(prefix="ltu-bench-") as tmp:
        folder = Path(tmp)
        clips = {s: test_clip(folder, s) for s in CLIP_SECONDS}
        turn_clip = test_clip(folder, TURN_CLIP_SECONDS, seed=1)
        short = [test_clip(folder, 5.0 + i % 3, seed=10 + i) for i in range(8 if args.quick else 16)]
        # what the library computes on the model thread (ltu.model_thread) is timed there too
        rows = model_thread.call(device, bench_frontend, processor, clips, repeat)
        rows += model_thread.call(device, bench_encoder, model, processor, clips[CLIP_SECONDS[0]], repeat)
        rows += bench_turns(model, processor, turn_clip, new_tokens)
        rows += bench_decode(model, processor, clips[CLIP_SECONDS[0]], 24 if args.quick else 128)
        rows += bench_batches(model, processor, short, new_tokens)
        if not args.tiny:  # training keeps the adapter apart, so it gets the model as training loads it
            del model
            model, processor = model_thread.call(device, load, args, True)
        # on the model thread too: a second thread with its own OpenMP pool would slow both (ltu.model_thread)
        rows += model_thread.call(device, bench_training, model, processor, clips[CLIP_SECONDS[0]],
                                  2 if args.quick else 8, repeat)
    rows.append(Row("peak memory", peak_memory_mb(device), "MiB", "RSS" if device.type == "cpu" else "allocated"))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; returns the exit code."""
    from ltu.cli import DEFAULT_CHECKPOINT, DTYPE_HELP

    parser = argparse.ArgumentParser(prog="python -m ltu bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", "-c", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--tiny", action="store_true", help="a tiny random model: seconds, anywhere (CI)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and shorter answers")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help=DTYPE_HELP)
    parser.add_argument("--quantization", default="none", choices=["none", "8bit", "4bit"])
    parser.add_argument("--out", type=Path, default=None, help="write bench.json and bench.md into this folder")
    args = parser.parse_args(argv)
    rows = run(args)
    what = "tiny random model" if args.tiny else args.checkpoint
    header = f"### {what} on {machine()}, {time.strftime('%Y-%m-%d')}" + (" (quick)" if args.quick else "")
    table = markdown(rows, header)
    print(table)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench.md").write_text(table)
        (args.out / "bench.json").write_text(json.dumps({"machine": machine(), "checkpoint": what,
                                                         "rows": [asdict(r) for r in rows]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
