"""The OpenAI-compatible endpoint, through the real ``openai`` client against a live server on 127.0.0.1."""

from __future__ import annotations

import base64
import threading

import pytest
import torch

from conftest import ASSETS, randomize_lora, tiny_config
from ltu.chat import ChatSession
from ltu.checkpoint import build_model
from ltu.generation import GenerationSettings
from ltu.serve.app import create_app, serve_in_thread
from ltu.serve.config import ServeConfig
from ltu.serve.engine import Engine

openai = pytest.importorskip("openai", reason="the openai client is not installed")

GREEDY = GenerationSettings.greedy_settings(max_new_tokens=10)
KEY = "test-key"


@pytest.fixture(scope="module")
def model_and_processor(tiny_llm):
    torch.manual_seed(0)
    model, processor = build_model(tiny_config(tiny_llm, format="chat_template", audio_position="user"),
                                   trainable=False)
    randomize_lora(model)
    model.eval()
    return model, processor


def start(model_and_processor, **config):
    engine = Engine(*model_and_processor, ServeConfig(**config), GREEDY, transcriber=None)
    return engine, serve_in_thread(create_app(engine))


@pytest.fixture(scope="module")
def server(model_and_processor):
    engine, running = start(model_and_processor, max_body_mb=1.0, max_queue=8)
    with running as url:
        yield engine, openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def audio(name: str) -> dict:
    data = base64.b64encode((ASSETS / name).read_bytes()).decode()
    return {"type": "input_audio", "input_audio": {"data": data, "format": "mp3"}}


def ask(question: str, clip: str | None = None) -> dict:
    parts = [{"type": "text", "text": question}] + ([audio(clip)] if clip else [])
    return {"role": "user", "content": parts}


def local_answers(model_and_processor, clip: str, questions: list[str]) -> tuple[list[str], ChatSession]:
    session = ChatSession(*model_and_processor, ASSETS / clip, GREEDY, transcriber=None)
    return [session.answer(q) for q in questions], session


def test_models_lists_the_served_name(server):
    _, client = server
    assert [m.id for m in client.models.list()] == ["ltu"]


def test_plain_and_streamed_answers_equal_the_chat_session(server, model_and_processor):
    _, client = server
    (expected,), session = local_answers(model_and_processor, "dog.mp3", ["What is this sound?"])
    reply = client.chat.completions.create(model="ltu", messages=[ask("What is this sound?", "dog.mp3")],
                                           temperature=0, max_tokens=10)
    assert reply.choices[0].message.content == expected
    assert reply.usage.prompt_tokens == len(session.last_prompt)  # audio positions included
    assert reply.usage.completion_tokens == len(session.exchanges[-1].answer_ids)
    assert reply.choices[0].finish_reason in ("stop", "length")
    chunks = list(client.chat.completions.create(model="ltu", messages=[ask("What is this sound?", "dog.mp3")],
                                                 temperature=0, max_tokens=10, stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected
    assert chunks[-1].usage.total_tokens == reply.usage.total_tokens


def test_a_follow_up_with_history_reuses_the_kept_session(server, model_and_processor):
    engine, client = server
    questions = ["Describe the sound.", "Is it loud?"]
    expected, _ = local_answers(model_and_processor, "cat.mp3", questions)
    first = client.chat.completions.create(model="ltu", messages=[ask(questions[0], "cat.mp3")])
    assert first.choices[0].message.content == expected[0]
    hits = engine.sessions.hits
    history = [ask(questions[0], "cat.mp3"), {"role": "assistant", "content": first.choices[0].message.content},
               ask(questions[1])]
    second = client.chat.completions.create(model="ltu", messages=history)
    assert second.choices[0].message.content == expected[1]
    assert engine.sessions.hits == hits + 1


def test_a_second_clip_mid_conversation_answers_like_the_session(server, model_and_processor):
    engine, client = server
    session = ChatSession(*model_and_processor, ASSETS / "dog.mp3", GREEDY, transcriber=None)
    first = session.answer("What is it?")
    session.add_clip(ASSETS / "sheep.mp3")
    second = session.answer("Now listen to this one: how does it differ?")
    assert client.chat.completions.create(model="ltu", messages=[ask("What is it?", "dog.mp3")]
                                          ).choices[0].message.content == first
    hits = engine.sessions.hits
    messages = [ask("What is it?", "dog.mp3"), {"role": "assistant", "content": first},
                ask("Now listen to this one: how does it differ?", "sheep.mp3")]
    reply = client.chat.completions.create(model="ltu", messages=messages)
    assert reply.choices[0].message.content == second
    assert reply.usage.prompt_tokens == len(session.last_prompt)  # both clips' audio positions
    assert engine.sessions.hits == hits + 1  # the first clip's turn came from the kept session


def test_stop_strings_cut_the_answer(server, model_and_processor):
    _, client = server
    (full,), _ = local_answers(model_and_processor, "dog.mp3", ["Where is it?"])
    stop = full[4:6]
    reply = client.chat.completions.create(model="ltu", messages=[ask("Where is it?", "dog.mp3")], stop=[stop])
    assert reply.choices[0].message.content == full[:full.index(stop)]
    assert reply.choices[0].finish_reason == "stop"


def test_errors_are_openai_errors_with_the_right_status(server):
    _, client = server
    bad = {"role": "user", "content": [{"type": "text", "text": "What?"},
                                       {"type": "input_audio", "input_audio": {"data": base64.b64encode(
                                           b"this is not audio at all" * 50).decode(), "format": "wav"}}]}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="ltu", messages=[bad])
    assert "audio" in caught.value.message.lower() and "Traceback" not in caught.value.message
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="ltu", messages=[{"role": "assistant", "content": "hi"}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[ask("What?")])
    huge = {"role": "user", "content": [{"type": "text", "text": "x" * (2 * 2**20)}]}
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="ltu", messages=[huge])
    assert caught.value.status_code == 413


def test_four_concurrent_clients_all_get_their_answers(server, model_and_processor):
    _, client = server
    questions = ["What is this sound?", "Is it loud?", "Where is it?", "Describe the sound."]
    expected = [local_answers(model_and_processor, "horse.mp3", [q])[0][0] for q in questions]
    got: dict[int, str] = {}

    def one(i: int) -> None:
        reply = client.chat.completions.create(model="ltu", messages=[ask(questions[i], "horse.mp3")])
        got[i] = reply.choices[0].message.content

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [got.get(i) for i in range(4)] == expected


def test_a_full_queue_answers_429(model_and_processor):
    engine, running = start(model_and_processor, max_concurrent=1, max_queue=0)
    with running as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        slow = GenerationSettings.greedy_settings(200)
        stream = client.chat.completions.create(model="ltu", messages=[ask("Describe the sound.", "dog.mp3")],
                                                stream=True, max_tokens=slow.max_new_tokens)
        next(iter(stream))  # the first answer holds the only slot
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="ltu", messages=[ask("What?")])
        stream.close()


def test_an_api_key_is_required_when_set(model_and_processor):
    _, running = start(model_and_processor, api_key=KEY)
    with running as url:
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).models.list()
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
        assert client.chat.completions.create(model="ltu", messages=[ask("What?")]).choices[0].message.content
