"""``python -m ltu.serve.bench``: first token through the endpoint next to the page's path, and batch rows/s.

Measured on one checkpoint (``--tiny``: a tiny random model, seconds anywhere):

- first token of a follow-up (turn 3) streamed through ``POST /v1/chat/completions`` with the
  kept session (KV cache reused), through a server that keeps no sessions (the history is
  prefilled again; the clip's encoding is still reused), and through ``ChatSession`` directly,
  which is what the page does;
- first token of a first question through the endpoint (decode, encode and prefill);
- answers per second of ``ltu.batch`` at batch 1 and 8 (greedy, left-padded).

Every number is the median of ``--repeat`` runs. The table prints as Markdown (``ltu.bench``'s format).
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from ltu.bench import QUESTIONS, Row, first_token_seconds, load, machine, markdown, test_clip

FOLLOW_UP_TURN = 3
BATCH_SIZES = (1, 8)
BATCH_ROWS = 16


def _median(measure: Callable[[], float], repeat: int) -> float:
    measure()  # warm-up
    return statistics.median(measure() for _ in range(repeat))


def _user(question: str, clip: bytes | None = None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": question}]
    if clip is not None:
        parts.append({"type": "input_audio", "input_audio": {"data": base64.b64encode(clip).decode(), "format": "wav"}})
    return {"role": "user", "content": parts}


def _stream_first_token(client: Any, messages: list[dict[str, Any]], max_tokens: int) -> float:
    start = time.perf_counter()
    first = None
    for chunk in client.chat.completions.create(model="ltu", messages=messages, stream=True, max_tokens=max_tokens,
                                                temperature=0):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
    return first if first is not None else time.perf_counter() - start


def bench_endpoint(model: Any, processor: Any, clip: Path, new_tokens: int, repeat: int) -> list[Row]:
    """First token of turn 1 and of a follow-up, through the endpoint (kept session or not) and the session."""
    import openai

    from ltu.chat import ChatSession
    from ltu.generation import GenerationSettings
    from ltu.serve.app import create_app, serve_in_thread
    from ltu.serve.config import ServeConfig
    from ltu.serve.engine import Engine

    settings = GenerationSettings.greedy_settings(new_tokens)
    data = clip.read_bytes()
    questions = list(QUESTIONS[:FOLLOW_UP_TURN])
    encoded = ChatSession(model, processor, clip, settings, transcriber=None)

    def page_follow_up() -> float:  # what the page does: the clip is encoded, turns 1-2 are in the cache
        page = ChatSession.from_encoded(model, processor, encoded.clip, encoded.audio_embeds, settings)
        for question in questions[:-1]:
            page.answer(question)
        return first_token_seconds(lambda: page.ask(questions[-1]))

    rows = [Row(f"first token, turn {FOLLOW_UP_TURN}, ChatSession (the page)", _median(page_follow_up, repeat) * 1000,
                "ms", "clip encoded once, KV cache reused")]
    for label, memory in (("endpoint, kept session", ServeConfig().session_memory_mb), ("endpoint, no kept sessions", 0.0)):
        engine = Engine(model, processor, ServeConfig(session_memory_mb=memory), settings, transcriber=None)
        with serve_in_thread(create_app(engine)) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)

            def endpoint_follow_up() -> float:  # a client's conversation: turns 1-2, then the timed turn 3
                messages = [_user(questions[0], data)]
                for question in questions[1:]:
                    reply = client.chat.completions.create(model="ltu", messages=messages, max_tokens=new_tokens,
                                                           temperature=0)
                    messages += [{"role": "assistant", "content": reply.choices[0].message.content},
                                 _user(question)]
                return _stream_first_token(client, messages, new_tokens)

            rows.append(Row(f"first token, turn {FOLLOW_UP_TURN}, {label}", _median(endpoint_follow_up, repeat) * 1000,
                            "ms", "clip encoding reused; " + ("KV cache reused" if memory else "history prefilled again")))
            if memory:
                def first_turn() -> float:
                    engine.clips._clips.clear()  # noqa: SLF001 (decode and encode again, as for a new clip)
                    return _stream_first_token(client, [_user(questions[0], data)], new_tokens)

                rows.append(Row("first token, turn 1, endpoint", _median(first_turn, repeat) * 1000, "ms",
                                "decode + encode + prefill"))
    return rows


def bench_batch(model: Any, processor: Any, clips: list[Path], new_tokens: int) -> list[Row]:
    """Answers per second of ``ltu.batch`` at each batch size."""
    from ltu.batch import Question, answer_questions
    from ltu.generation import GenerationSettings

    settings = GenerationSettings.greedy_settings(new_tokens)
    questions = [Question(QUESTIONS[i % len(QUESTIONS)], clip) for i, clip in enumerate(clips)]
    rows = []
    for size in BATCH_SIZES:
        list(answer_questions(model, processor, questions[:size], settings, size))  # warm-up
        start = time.perf_counter()
        done = sum(len(batch) for batch in answer_questions(model, processor, questions, settings, size))
        rows.append(Row(f"ltu batch, batch {size}", done / (time.perf_counter() - start), "rows/s",
                        f"{done} rows, {new_tokens} new tokens, decoding included"))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements and print the table; returns the exit code."""
    import torch

    from ltu.cli import DEFAULT_CHECKPOINT, DTYPE_HELP

    parser = argparse.ArgumentParser(prog="python -m ltu.serve.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", "-c", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--tiny", action="store_true", help="a tiny random model: seconds, anywhere")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help=DTYPE_HELP)
    parser.add_argument("--quantization", default="none", choices=["none", "8bit", "4bit"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=16)
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    model, processor = load(args)
    model.eval()
    with tempfile.TemporaryDirectory(prefix="ltu-serve-bench-") as tmp:
        clip = test_clip(Path(tmp), 10.0)
        short = [test_clip(Path(tmp), 5.0 + i % 3, seed=10 + i) for i in range(BATCH_ROWS)]
        rows = bench_endpoint(model, processor, clip, args.new_tokens, args.repeat)
        rows += bench_batch(model, processor, short, args.new_tokens)
    what = "tiny random model" if args.tiny else args.checkpoint
    print(markdown(rows, f"### {what} on {machine()}, {time.strftime('%Y-%m-%d')}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
