"""Long clips: ``--max-seconds`` sets the longest clip (up to 10 minutes); the commands refuse a longer
clip with one sentence naming its length, the limit and the option; the page keeps it and says so; a
prompt that outgrows the LLM's context says how much audio would fit. A tiny random model."""

from __future__ import annotations

import base64
import json
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ASSETS, randomize_lora, sine, tiny_config
from ltu.audio.length import MAX_SECONDS_CEILING, with_max_seconds
from ltu.chat import ChatSession
from ltu.checkpoint import build_model, load_pretrained, save_pretrained
from ltu.cli import main
from ltu.errors import USER_ERROR, ConfigError, LTUError
from ltu.generation import GenerationSettings

FAST = ["--greedy", "--max-new-tokens", "5"]
LONG_SECONDS = 15.0


@pytest.fixture(scope="module")
def checkpoint(tiny_llm, tmp_path_factory) -> str:
    torch.manual_seed(0)
    model, _ = build_model(tiny_config(tiny_llm))
    randomize_lora(model)
    return str(save_pretrained(model, tmp_path_factory.mktemp("long") / "ckpt"))


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory) -> Path:
    """A 15 s, 16 kHz mono tone as a 16-bit wav."""
    path = tmp_path_factory.mktemp("clips") / "long.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes((sine(LONG_SECONDS) * 32767).astype(np.int16).tobytes())
    return path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_a_clip_over_the_limit_is_refused_with_its_length_the_limit_and_the_option(checkpoint, long_wav, capsys):
    code = main(["chat", "-c", checkpoint, "--audio", str(long_wav), "--max-seconds", "5", *FAST, "What is it?"])
    line = one_error_line(capsys)
    assert code == USER_ERROR
    assert "long.wav is 15.0 s long" in line and "the 5 s limit" in line and "--max-seconds" in line


def test_a_higher_limit_hears_the_whole_clip(checkpoint, long_wav, capsys):
    code = main(["chat", "-c", checkpoint, "--audio", str(long_wav), "--max-seconds", "20", *FAST, "What is it?"])
    out = capsys.readouterr()
    assert code == 0 and out.out.strip()
    assert "15.00 s" in out.err and "truncated" not in out.err  # the description: all of it


@pytest.mark.parametrize("value", ["0", "-3", "601", "nan"])
def test_a_limit_out_of_bounds_is_a_sentence(checkpoint, value, capsys):
    code = main(["chat", "-c", checkpoint, "--max-seconds", value, *FAST, "What is it?"])
    assert code == USER_ERROR and f"at most {MAX_SECONDS_CEILING:g} seconds" in one_error_line(capsys)


def test_the_limit_composes_into_the_loaded_config(checkpoint, tiny_llm):
    model, processor = load_pretrained(checkpoint, max_seconds=MAX_SECONDS_CEILING)
    assert processor.config.frontend.max_seconds == model.config.frontend.max_seconds == MAX_SECONDS_CEILING
    assert load_pretrained(checkpoint)[1].config.frontend.max_seconds == 60.0  # the checkpoint's own
    config = tiny_config(tiny_llm)
    assert with_max_seconds(config, None) is config
    with pytest.raises(ConfigError, match="more than 0"):
        with_max_seconds(config, MAX_SECONDS_CEILING + 1)


def test_batch_answers_other_rows_and_gives_the_long_one_the_sentence(checkpoint, long_wav, tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"audio": str(long_wav), "question": "What is it?"}) + "\n"
                    + json.dumps({"audio": str(ASSETS / "dog.mp3"), "question": "What is it?"}) + "\n")
    out = tmp_path / "answers.jsonl"
    code = main(["batch", "-c", checkpoint, "-i", str(rows), "-o", str(out), "--max-seconds", "10", "--no-progress",
                 *FAST])
    long_row, dog_row = [json.loads(line) for line in out.read_text().splitlines()]
    assert code == 0 and "answer" in dog_row
    assert "long.wav is 15.0 s long" in long_row["error"] and "--max-seconds" in long_row["error"]


def test_the_endpoint_refuses_a_clip_over_the_limit_with_400(checkpoint, long_wav):
    from fastapi.testclient import TestClient

    from ltu.serve.app import create_app
    from ltu.serve.engine import Engine

    model, processor = load_pretrained(checkpoint, max_seconds=5)
    clip = base64.b64encode(long_wav.read_bytes()).decode()
    body = {"messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": clip, "format": "wav"}},
        {"type": "text", "text": "What is it?"}]}], "max_tokens": 4}
    reply = TestClient(create_app(Engine(model, processor, transcriber=None))).post("/v1/chat/completions", json=body)
    assert reply.status_code == 400
    assert "15.0 s long" in reply.json()["error"]["message"] and "--max-seconds" in reply.json()["error"]["message"]


def test_audio_that_outgrows_the_context_says_how_much_would_fit(checkpoint, long_wav):
    model, processor = load_pretrained(checkpoint, max_seconds=20)
    session = ChatSession(model, processor, long_wav, max_context=60)  # 15 s = 2 windows = 64 audio tokens
    with pytest.raises(LTUError) as caught:
        next(session.ask("What is it?"))
    message = str(caught.value)
    assert "64 of them for 15.0 s of audio" in message and "context of 60" in message
    assert "use a shorter clip" in message


def test_the_page_keeps_a_cut_clip_and_says_how_to_hear_all_of_it(checkpoint, long_wav):
    pytest.importorskip("gradio", reason="the web app needs gradio")
    from webapp.ui import Handlers

    model, processor = load_pretrained(checkpoint, max_seconds=5)
    handlers = Handlers(model, processor, GenerationSettings(max_new_tokens=8), transcriber=None)
    conv, picture, facts, status = handlers.new_clip(str(long_wav), None)
    assert conv is not None and picture is not None and "truncated" in facts
    assert "15.0 s long" in status and "first 5 s" in status and "--max-seconds 15" in status
