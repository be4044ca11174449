"""The model thread: every computation for a CPU model's answers runs in one thread, whoever asks."""

from __future__ import annotations

import threading

import pytest
import torch

from conftest import ASSETS, randomize_lora, tiny_config
from ltu import model_thread
from ltu.batch import Question, answer_questions
from ltu.chat import ChatSession
from ltu.checkpoint import build_model, load_pretrained, save_pretrained
from ltu.clips import ClipStore
from ltu.generation import GenerationSettings

GREEDY = GenerationSettings.greedy_settings(max_new_tokens=6)


def test_call_runs_cpu_work_on_one_thread_and_may_nest():
    outer = model_thread.call("cpu", lambda: (threading.current_thread(),
                                              model_thread.call("cpu", threading.current_thread)))
    assert outer[0] is outer[1]  # the nested call ran at once on the same thread instead of waiting for itself
    assert outer[0].name == model_thread.THREAD_NAME and outer[0] is not threading.current_thread()
    assert model_thread.call("cpu", threading.current_thread) is outer[0]


def test_errors_reach_the_caller():
    def fail() -> None:
        raise ValueError("bad clip")

    with pytest.raises(ValueError, match="bad clip"):
        model_thread.call("cpu", fail)
    assert model_thread.call("cpu", lambda: 7) == 7  # the thread goes on after an error


def test_gpu_work_stays_with_the_caller():
    assert model_thread.call("cuda", threading.current_thread) is threading.current_thread()
    started = model_thread.begin("cuda", threading.current_thread).result()
    assert started is not threading.current_thread() and started.name != model_thread.THREAD_NAME


def test_begin_on_the_model_thread_finishes_before_returning():
    def inner() -> bool:
        future = model_thread.begin("cpu", threading.current_thread)
        return future.done() and future.result() is threading.current_thread()

    assert model_thread.call("cpu", inner)


@pytest.fixture(scope="module")
def checkpoint(tiny_llm, tmp_path_factory):
    torch.manual_seed(0)
    model, _ = build_model(tiny_config(tiny_llm), trainable=False)
    randomize_lora(model)
    return save_pretrained(model, tmp_path_factory.mktemp("tiny") / "ckpt")


def record_threads(model) -> list[str]:
    """Names of the threads that run the LLM's and the encoder's forward passes from now on."""
    seen: list[str] = []
    for module in (model.llm, model.encoder):
        module.register_forward_pre_hook(lambda *_: seen.append(threading.current_thread().name))
    return seen


def test_answers_are_computed_on_the_model_thread_whoever_asks(checkpoint):
    model, processor = load_pretrained(checkpoint)
    seen = record_threads(model)

    def converse() -> list[str]:
        chat = ChatSession(model, processor, ASSETS / "dog.mp3", GREEDY, transcriber=None)
        answers = [chat.answer("What is this sound?"), "".join(chat.ask("Is it loud?"))]
        chat.add_clip(ASSETS / "dog.mp3")
        answers.append(chat.answer("And this one?"))
        store = ClipStore(model, processor, transcriber=None)
        store.encode(ASSETS / "dog.mp3")
        for _ in answer_questions(model, processor, [Question("What is it?", ASSETS / "dog.mp3")] * 2, GREEDY, 2):
            pass
        return answers

    here = converse()
    box: dict[str, list[str]] = {}
    other = threading.Thread(target=lambda: box.setdefault("answers", converse()), name="a-web-request")
    other.start()
    other.join()
    assert box["answers"] == here  # the same answers, whichever thread asked
    assert len(seen) > 20 and set(seen) == {model_thread.THREAD_NAME}


def test_training_loads_stay_in_the_callers_thread(checkpoint):
    """Training runs its loop in one thread; its model is built there, not on the model thread."""
    model, _ = load_pretrained(checkpoint, trainable=True)
    seen = record_threads(model)
    with torch.no_grad():
        model.llm(torch.tensor([[1, 2, 3]]))
    assert seen == [threading.current_thread().name]
