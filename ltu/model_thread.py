"""One thread computes everything a CPU model does for answers: loading, encoding clips, generating.

Why one thread: torch's CPU kernels split their work with OpenMP (libgomp), which keeps a pool of
worker threads for every thread that has run a parallel region, for as long as that thread lives.
When there are more OpenMP threads than cores, libgomp cuts how long an idle worker spins before it
sleeps from about 300,000 spins to 100 (its GOMP_SPINCOUNT documentation), so every later parallel
region pays for waking sleeping workers. A streamed answer needs two threads (one generates, the
caller reads), so without this module every answer ran its model on a second thread with a second
pool. Measured on 2 cores ("Why the model has its own thread" in README's Performance): a decoding
step took 35 ms, and 75 ms while an idle second pool existed; LTU-small's session decoded 9.2
tokens/s instead of 21.1.

So the library's inference paths (``load_pretrained`` for inference, ``ChatSession``, ``ClipStore``,
``ltu.batch``) hand their CPU work to the single thread here. Calls made on that thread run at once
(re-entrant), so the paths may nest. Work for a CUDA model stays in the caller's thread (and
answers get their own thread, as before): the GPU does the arithmetic there, and answers for
several users may interleave.

Training does not use it: a training loop computes in one thread anyway.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any, Callable, TypeVar

import torch

T = TypeVar("T")
THREAD_NAME = "ltu-model"

_queue: SimpleQueue[tuple[Callable[[], Any], Future]] = SimpleQueue()
_thread: threading.Thread | None = None
_start_lock = threading.Lock()


def _work() -> None:
    while True:
        job, future = _queue.get()
        _run_into(job, future)


def _model_thread() -> threading.Thread:
    global _thread
    with _start_lock:
        if _thread is None:
            # a daemon, so a user's Ctrl-C during a long answer ends the process instead of waiting for the answer
            _thread = threading.Thread(target=_work, name=THREAD_NAME, daemon=True)
            _thread.start()
        return _thread


def on_model_thread() -> bool:
    """True in the thread that computes for CPU models."""
    return _thread is not None and threading.current_thread() is _thread


def routes(device: torch.device | str) -> bool:
    """Whether work for a model on ``device`` goes to the model thread (CPU work does)."""
    return torch.device(device).type == "cpu"


def call(device: torch.device | str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, on the model thread for a CPU model (waiting for it), else right here."""
    if not routes(device) or on_model_thread():
        return fn(*args, **kwargs)
    return begin(device, lambda: fn(*args, **kwargs)).result()


def begin(device: torch.device | str, fn: Callable[[], T]) -> Future:
    """Start ``fn`` without waiting: on the model thread for a CPU model, else on a new thread. Called on the
    model thread itself, ``fn`` runs to its end before this returns (the thread cannot wait for itself)."""
    future: Future = Future()
    if on_model_thread():
        _run_into(fn, future)
    elif routes(device):
        _model_thread()
        _queue.put((fn, future))
    else:
        threading.Thread(target=_run_into, args=(fn, future), daemon=True).start()
    return future


def _run_into(fn: Callable[[], Any], future: Future) -> None:
    if future.set_running_or_notify_cancel():
        try:
            future.set_result(fn())
        except BaseException as err:  # handed to whoever waits on the future
            future.set_exception(err)
