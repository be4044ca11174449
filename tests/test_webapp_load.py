"""A bounded load test of the running app on 127.0.0.1: 8 ``gradio_client`` sessions, each asking a
question and 3 follow-ups at once, with greedy decoding so every answer must equal the one the
same conversation gets when asked alone. Prints median and maximum latency and memory before
and after (tiny random model; the figures measure the serving, not a real model)."""

from __future__ import annotations

import gc
import statistics
import threading
import time
from pathlib import Path

import pytest

from conftest import ASSETS
from ltu.checkpoint import load_pretrained
from ltu.generation import GenerationSettings

pytest.importorskip("gradio", reason="the web app needs gradio (pip install -r requirements.txt)")
from gradio_client import Client, handle_file  # noqa: E402

from test_app import make_tiny_checkpoint, serve  # noqa: E402

SESSIONS = 8
FOLLOW_UPS = 3
CLIPS = ["dog.mp3", "cat.mp3", "rooster.mp3", "duck.mp3", "horse.mp3", None]
GREEDY = (0.0, 1.0, 12)  # temperature, top_p, max_new_tokens: deterministic answers


def rss_bytes() -> int:
    """Resident memory of this process (the server runs in it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    pytest.skip("no /proc/self/status to read memory from")


def conversation(url: str, session: int, latencies: list[float]) -> list[list[str]]:
    """One client session: a question and FOLLOW_UPS follow-ups; returns the final history."""
    client = Client(url, verbose=False)
    clip = CLIPS[session % len(CLIPS)]
    audio = handle_file(ASSETS / clip) if clip else None
    history: list = []
    for turn in range(1 + FOLLOW_UPS):
        start = time.perf_counter()
        answer, history = client.predict(audio, f"Session {session}, question {turn}: what now?", history,
                                         *GREEDY, api_name="/ask")
        latencies.append(time.perf_counter() - start)
        assert history[-1] == [f"Session {session}, question {turn}: what now?", answer]
    client.close()
    return history


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model, processor = load_pretrained(make_tiny_checkpoint(tmp_path_factory.mktemp("load_model")))
    demo, url = serve(model, processor, GenerationSettings(max_new_tokens=12), concurrency=1, max_queue=32)
    yield url
    demo.close()


def test_parallel_sessions_get_their_own_serial_answers(server):
    serial_latencies: list[float] = []
    serial = [conversation(server, s, serial_latencies) for s in range(SESSIONS)]  # also warms every cache
    gc.collect()
    before = rss_bytes()

    results: dict[int, list] = {}
    errors: list[BaseException] = []
    latencies: list[float] = []

    def run(session: int) -> None:
        try:
            results[session] = conversation(server, session, latencies)
        except BaseException as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    threads = [threading.Thread(target=run, args=(s,)) for s in range(SESSIONS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    wall = time.perf_counter() - start
    gc.collect()
    after = rss_bytes()

    assert not errors, errors
    assert len(latencies) == SESSIONS * (1 + FOLLOW_UPS)  # every answer arrived
    for s in range(SESSIONS):
        assert all(q.startswith(f"Session {s},") for q, _ in results[s])  # no cross-talk
        assert results[s] == serial[s]  # the same answers as alone
    print(f"\nload: {SESSIONS} sessions x {1 + FOLLOW_UPS} questions in {wall:.1f} s; latency median "
          f"{statistics.median(latencies):.2f} s, max {max(latencies):.2f} s (alone: median "
          f"{statistics.median(serial_latencies):.2f} s); memory {before / 2**20:.0f} MiB before, "
          f"{after / 2**20:.0f} MiB after")
    assert after <= before * 1.10
