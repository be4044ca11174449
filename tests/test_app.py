"""The web app: options, the clip picture, conversation helpers, the page's handlers, and the
running app driven through ``gradio_client`` (a tiny random model: answers are gibberish, so
the tests check structure: an answer arrives, the history grows, errors read as sentences)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ASSETS, REPO, make_llm_folder, randomize_lora, tiny_config
from ltu.audio.decode import audio_from_array, load_audio
from ltu.checkpoint import build_model, load_pretrained, save_pretrained
from ltu.config import FrontEndConfig, paper_config
from ltu.errors import AudioDecodeError, LTUError
from ltu.generation import GenerationSettings
from ltu.prompt import Turn
from webapp.conversation import (OUT_OF_MEMORY, history_pairs, messages, model_summary, open_conversation, replay,
                                 user_message)
from webapp.options import ServeOptions, choose_runtime, parse_options
from webapp.picture import HEIGHT, WIDTH, spectrogram_image

gr = pytest.importorskip("gradio", reason="the web app needs gradio (pip install -r requirements.txt)")
from webapp.ui import Handlers, build_app, launch  # noqa: E402

FAST = GenerationSettings(max_new_tokens=24)  # the paper's sampling, short answers
DOG = ASSETS / "dog.mp3"


# ----- helpers shared with test_browser.py
def make_tiny_checkpoint(folder: Path) -> Path:
    """A tiny random LTU checkpoint folder (with its tiny base LLM beside it)."""
    llm = make_llm_folder(folder / "llm")
    torch.manual_seed(0)
    model, _ = build_model(tiny_config(llm), trainable=False)
    randomize_lora(model)
    return save_pretrained(model, folder / "ckpt")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(model, processor, defaults: GenerationSettings = FAST, **app_options):
    """Build the page and serve it on 127.0.0.1 in a background thread; returns (demo, url)."""
    demo = build_app(model, processor, defaults, **app_options)
    url = launch(demo, host="127.0.0.1", port=free_port(), block=False, quiet=True)
    return demo, url


@contextlib.contextmanager
def endless(model, eos_id: int, seconds_per_token: float = 0.0):
    """While inside, ``model`` never writes EOS (answers run to max_new_tokens), optionally slowly."""

    def no_eos(module, args, logits):  # (B, T, V)
        logits[..., eos_id] = float("-inf")
        time.sleep(seconds_per_token)
        return logits

    handle = model.llm.get_output_embeddings().register_forward_hook(no_eos)
    try:
        yield
    finally:
        handle.remove()


# ----- fixtures
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("app_model"))


@pytest.fixture(scope="module")
def loaded(checkpoint):
    return load_pretrained(checkpoint)


@pytest.fixture(scope="module")
def server(loaded):
    model, processor = loaded
    demo, url = serve(model, processor, concurrency=1, max_queue=8)
    yield demo, url
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server[1], verbose=False)


# ----- serving options
def test_options_come_from_flags_then_environment_then_defaults():
    assert parse_options([], {}) == ServeOptions()
    env = {"LTU_CHECKPOINT": "some/repo", "LTU_QUANTIZATION": "8bit", "LTU_DEVICE": "cpu",
           "GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "8000", "GRADIO_SHARE": "true",
           "LTU_CONCURRENCY": "2", "LTU_MAX_QUEUE": "5"}
    from_env = parse_options([], env)
    assert (from_env.checkpoint, from_env.quantization, from_env.device, from_env.host, from_env.port, from_env.share,
            from_env.concurrency, from_env.max_queue) == ("some/repo", "8bit", "cpu", "0.0.0.0", 8000, True, 2, 5)
    flags = parse_options(["-c", "folder", "-q", "4bit", "--port", "9000", "--host", "127.0.0.1"], env)
    assert (flags.checkpoint, flags.quantization, flags.port, flags.host) == ("folder", "4bit", 9000, "127.0.0.1")


def test_bad_option_values_are_refused(capsys):
    with pytest.raises(SystemExit):
        parse_options([], {"LTU_QUANTIZATION": "3bit"})
    assert "LTU_QUANTIZATION" in capsys.readouterr().err
    with pytest.raises(LTUError, match="GRADIO_SERVER_PORT"):
        parse_options([], {"GRADIO_SERVER_PORT": "eighty"})


def test_paper_checkpoint_on_a_gpu_defaults_to_4bit(monkeypatch, tiny_llm):
    auto = ServeOptions(quantization="auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_runtime(auto, paper_config()).quantization == "4bit"
    assert choose_runtime(auto, tiny_config(tiny_llm)).quantization == "none"  # not the paper's LLM
    assert choose_runtime(ServeOptions(quantization="none"), paper_config()).quantization == "none"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_runtime(auto, paper_config()).quantization == "none"  # no GPU


# ----- the clip picture
def test_spectrogram_picture_of_a_clip():
    image = spectrogram_image(load_audio(DOG))
    assert image.size[0] == WIDTH and image.size[1] > HEIGHT
    pixels = np.asarray(image)[:HEIGHT]
    assert pixels.std() > 10  # a picture, not a blank


def test_spectrogram_marks_the_part_the_model_does_not_hear():
    config = FrontEndConfig(max_seconds=4.0)
    audio = audio_from_array(np.random.default_rng(0).normal(0, 0.1, 16_000 * 8).astype("float32"), 16_000, config)
    assert audio.info.truncated
    pixels = np.asarray(spectrogram_image(audio))[:HEIGHT].astype(int)
    cut = WIDTH // 2  # 4 of 8 s heard
    heard, unheard = pixels[HEIGHT // 2, : cut - 10], pixels[HEIGHT - 5, cut + 10:]
    assert (np.abs(unheard - unheard.mean(axis=1, keepdims=True)) < 30).all()  # greys: hatched band
    assert not (np.abs(heard - heard.mean(axis=1, keepdims=True)) < 30).all()  # colours: the spectrogram
    assert (pixels[HEIGHT // 2, cut - 1 : cut + 2, 0] > 200).any()  # the red cut line


# ----- conversation helpers
def test_history_accepts_pairs_and_chat_messages():
    pairs = [("What is it?", "A dog."), ("Is it loud?", "Yes.")]
    assert history_pairs([list(p) for p in pairs]) == pairs
    assert history_pairs(messages(pairs)) == pairs
    gradio6 = [{"role": "user", "content": [{"type": "text", "text": "What is it?"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "A dog."}]}]
    assert history_pairs(gradio6) == pairs[:1]
    assert history_pairs(None) == [] and history_pairs([]) == []
    with pytest.raises(LTUError, match="pairs"):
        history_pairs(["just a string"])


def test_replayed_history_is_in_the_follow_up_prompt(loaded):
    model, processor = loaded
    conv = open_conversation(model, processor, DOG, FAST)
    replay(conv.session, [("What animal barks?", "A dog barks loudly.")])
    prompt = processor.decode(conv.session.prompt_segment(Turn("Why?")).ids)
    assert prompt.index("What animal barks?") < prompt.index("A dog barks loudly.") < prompt.index("Why?")


def test_errors_become_sentences_and_bugs_do_not():
    assert user_message(AudioDecodeError("The file x.wav is damaged.")) == "The file x.wav is damaged."
    assert user_message(torch.OutOfMemoryError("CUDA out of memory")) == OUT_OF_MEMORY
    assert user_message(RuntimeError("DefaultCPUAllocator: can't allocate memory")) == OUT_OF_MEMORY
    assert user_message(ValueError("a bug")) is None


def test_model_summary_names_the_model_and_its_size(loaded):
    summary = model_summary(loaded[0])
    assert summary.startswith("tiny · ") and "parameters" in summary and "cpu" in summary


# ----- the page's handlers, called directly
def last(generator):
    out = None
    for out in generator:
        pass
    return out


def test_a_new_clip_starts_a_new_conversation(loaded):
    handlers = Handlers(*loaded, FAST)
    conv, picture, facts, status = handlers.new_clip(str(DOG), None)
    assert picture.size[0] == WIDTH and "48000 Hz" in facts and "new conversation" in status
    chat, _, conv, *_ = last(handlers.respond(str(DOG), "What is it?", [], conv, 0.1, 0.95, 8))
    assert len(chat) == 2 and len(conv.session.exchanges) == 1
    chat, _, conv2, *_ = last(handlers.respond(str(ASSETS / "cat.mp3"), "And this?", chat, conv, 0.1, 0.95, 8))
    assert conv2 is not conv and len(chat) == 2 and len(conv2.session.exchanges) == 1


def test_follow_ups_retry_and_clear(loaded):
    handlers = Handlers(*loaded, FAST)
    conv, *_ = handlers.new_clip(str(DOG), None)
    chat, _, conv, *_ = last(handlers.respond(str(DOG), "What is it?", [], conv, 0.0, 0.95, 8))
    chat, _, conv, *_ = last(handlers.respond(str(DOG), "Is it loud?", chat, conv, 0.0, 0.95, 8))
    assert [m["role"] for m in chat] == ["user", "assistant"] * 2 and len(conv.session.exchanges) == 2
    answer = chat[-1]["content"]
    chat, conv, status = last(handlers.regenerate(chat, conv, 0.0, 0.95, 8))
    assert len(chat) == 4 and len(conv.session.exchanges) == 2 and chat[-1]["content"] == answer  # greedy: same
    assert "Temperature 0 always writes the same answer" in status  # and the page says why
    chat, status, question = handlers.clear(conv)
    assert chat == [] and conv.session.exchanges == [] and "cleared" in status


def test_text_only_questions_work(loaded):
    handlers = Handlers(*loaded, FAST)
    chat, _, conv, status, *_ = last(handlers.respond(None, "Say something.", [], None, 0.1, 0.95, 8))
    assert conv.clip_key is None and conv.session.clip is None and len(chat) == 2


def test_stop_keeps_the_partial_answer(loaded):
    model, processor = loaded
    handlers = Handlers(model, processor, FAST)
    conv, *_ = handlers.new_clip(str(DOG), None)
    with endless(model, processor.eos_id):
        answer = handlers.respond(str(DOG), "What is it?", [], conv, 0.1, 0.95, 400)
        for chat, *_ in answer:
            if chat and chat[-1]["content"]:
                handlers.stop(conv)
                break
        rest = list(answer)  # the handler finishes at once
    assert len(rest) == 1 and "Stopped" in rest[0][3]
    exchange = conv.session.exchanges[-1]
    assert exchange.stopped and len(exchange.answer_ids) < 400


def test_an_error_while_answering_is_shown_and_the_app_keeps_working(loaded, monkeypatch):
    model, processor = loaded
    handlers = Handlers(model, processor, FAST)
    conv, *_ = handlers.new_clip(str(DOG), None)

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    with monkeypatch.context() as m:
        m.setattr(model, "generate", out_of_memory)
        chat, question, conv, status, *_ = last(handlers.respond(str(DOG), "What is it?", [], conv, 0.1, 0.95, 8))
    assert "ran out of memory" in status and "error" in status
    assert chat == [] and question == "What is it?" and conv is None  # the question is given back to send again
    chat, _, conv, *_ = last(handlers.respond(str(DOG), "What is it?", chat, conv, 0.1, 0.95, 8))
    assert len(chat) == 2 and len(conv.session.exchanges) == 1


def test_a_lost_engine_carries_on_from_the_chat_on_the_page(loaded):
    handlers = Handlers(*loaded, FAST)
    chat = messages([("What animal barks?", "A dog barks loudly.")])
    chat, _, conv, *_ = last(handlers.respond(str(DOG), "Why?", chat, None, 0.1, 0.95, 8))
    assert len(chat) == 4 and [e.turn.question for e in conv.session.exchanges] == ["What animal barks?", "Why?"]


def test_a_bad_clip_is_reported_in_the_page(loaded, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio" * 100)
    handlers = Handlers(*loaded, FAST)
    conv, picture, facts, status = handlers.new_clip(str(bad), None)
    assert conv is None and picture is None and "could not be opened as audio" in status
    chat, question, conv, status, *_ = last(handlers.respond(str(bad), "What is it?", [], None, 0.1, 0.95, 8))
    assert "could not be opened as audio" in status and conv is None
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert "empty" in handlers.new_clip(str(empty), None)[-1]


# ----- the running app, through gradio_client
def test_api_answers_and_follows_up_with_history(client, loaded, monkeypatch):
    from gradio_client import handle_file

    processor = loaded[1]
    turns_seen: list[int] = []
    conversation = processor.conversation

    def spy(turns, answers, *audio_tokens):
        turns_seen.append(len(turns))
        return conversation(turns, answers, *audio_tokens)

    monkeypatch.setattr(processor, "conversation", spy)
    answer, history = client.predict(handle_file(DOG), "What is this sound?", [], api_name="/ask")
    assert answer and history == [["What is this sound?", answer]]
    assert turns_seen[-1] == 1
    answer2, history2 = client.predict(handle_file(DOG), "Why might it be doing that?", history, api_name="/ask")
    assert answer2 and len(history2) == 2 and history2[0] == history[0] and history2[1][0].startswith("Why")
    assert turns_seen[-1] == 2  # the model saw the first exchange before the follow-up


def test_api_streams_with_submit(client):
    from gradio_client import handle_file

    job = client.submit(handle_file(ASSETS / "cat.mp3"), "Describe it.", [], 1.0, 1.0, 24, api_name="/ask")
    answer, history = job.result(timeout=60)
    outputs = job.outputs()
    assert len(outputs) > 1  # piece by piece
    assert outputs[-1][0] == answer and all(answer.startswith(o[0]) for o in outputs)


def test_api_text_only_and_chat_message_history(client):
    history = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there."}]
    answer, out = client.predict(None, "How are you?", history, api_name="/ask")
    assert out[0] == ["Hello", "Hi there."] and len(out) == 2


def test_api_errors_are_sentences(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    bad = tmp_path / "notes.wav"
    bad.write_text("hello " * 50)
    with pytest.raises(AppError, match="could not be opened as audio"):
        client.predict(handle_file(bad), "What is it?", [], api_name="/ask")
    with pytest.raises(AppError, match="question is empty"):
        client.predict(handle_file(DOG), "  ", [], api_name="/ask")
    answer, _ = client.predict(handle_file(DOG), "Still there?", [], api_name="/ask")  # still serving
    assert answer


def test_only_the_ask_endpoint_is_public(client):
    info = client.view_api(print_info=False, return_format="dict")
    assert list(info["named_endpoints"]) == ["/ask"]
    names = [p["parameter_name"] for p in info["named_endpoints"]["/ask"]["parameters"]]
    assert names == ["audio", "question", "history", "temperature", "top_p", "max_new_tokens"]


def test_queue_is_limited_and_nothing_is_reported(server):
    demo, url = server
    assert demo._queue.max_size == 8
    assert demo.analytics_enabled is False
    with urllib.request.urlopen(url) as page:
        assert page.status == 200


# ----- python app.py
def test_app_without_a_model_explains_what_to_do(tmp_path, capsys):
    import app

    assert app.main(["--checkpoint", str(tmp_path / "missing")]) == 2
    assert "No checkpoint folder" in capsys.readouterr().err


def test_python_app_py_serves_the_page(checkpoint):
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--checkpoint", str(checkpoint), "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        url = re.search(r"http://\S+/", _wait_for_line(lines, "Serving the page on ", proc, timeout=90)).group()
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200 and "LTU" in page.read().decode()
        print(f"python app.py served the page after {time.perf_counter() - start:.1f} s")
        assert url == f"http://127.0.0.1:{port}/"
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl+C
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert any(line.startswith("Loading tiny") for line in lines) and any("Model ready" in line for line in lines)


def _wait_for_line(lines: list[str], text: str, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in list(lines) if line.startswith(text)]
        if found:
            return found[0]
        if proc.poll() is not None:
            time.sleep(0.5)  # let the reader thread collect the last lines
            pytest.fail(f"app.py exited with {proc.returncode}:\n{''.join(lines)}")
        time.sleep(0.1)
    pytest.fail(f"app.py printed no '{text}' within {timeout} s:\n{''.join(lines)}")
