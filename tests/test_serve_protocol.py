"""The OpenAI chat-completions protocol without a server: parsing, errors, stop strings, the session pool."""

from __future__ import annotations

import base64

import pytest

from ltu.errors import AudioTooLargeError, EmptyAudioError
from ltu.generation import GenerationSettings
from ltu.serve.config import ServeConfig
from ltu.serve.engine import StopScanner
from ltu.serve.errors import APIError, from_ltu_error
from ltu.serve.protocol import parse_request
from ltu.serve.sessions import SessionPool, steps_of

DEFAULTS = GenerationSettings()
AUDIO = base64.b64encode(b"RIFF....fake").decode()


def audio_part(data: str = AUDIO) -> dict:
    return {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}


def test_messages_become_turns_answers_and_settings():
    body = {"model": "ltu", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "What is it?"}, audio_part()]},
        {"role": "assistant", "content": "A dog."},
        {"role": "user", "content": "Is it loud?"}],
        "temperature": 0, "top_p": 0.5, "max_tokens": 7, "seed": 3, "stop": "\n", "stream": True,
        "stream_options": {"include_usage": True}}
    request = parse_request(body, DEFAULTS)
    assert [t.question for t in request.turns] == ["What is it?", "Is it loud?"]
    assert request.answers == ["A dog."]
    assert request.turns[0].clip.data == b"RIFF....fake" and request.turns[1].clip is None
    assert request.settings == GenerationSettings(temperature=0, top_p=0.5, max_new_tokens=7, seed=3)
    assert request.stop == ["\n"] and request.stream and request.include_usage
    assert steps_of(request.turns[:-1], request.answers) == (("What is it?", request.turns[0].clip.key, "A dog."),)


def test_audio_in_a_later_message_and_data_urls_are_accepted():
    body = {"messages": [
        {"role": "user", "content": [audio_part(), {"type": "text", "text": "What is it?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A dog."}]},
        {"role": "user", "content": [{"type": "audio_url", "audio_url": {"url": f"data:audio/wav;base64,{AUDIO}"}},
                                     {"type": "text", "text": "And this one?"}]}]}
    request = parse_request(body, DEFAULTS)
    assert len(request.clips) == 2 and request.turns[1].clip.key == request.turns[0].clip.key


@pytest.mark.parametrize("body, param", [
    ([], None),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "assistant", "content": "hi"}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}, "messages"),
    ({"messages": [{"role": "tool", "content": "a"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [audio_part("not base64!")]}]}, "messages[0].content[0].input_audio.data"),
    ({"messages": [{"role": "user", "content": [audio_part(), audio_part(), {"type": "text", "text": "?"}]}]},
     "messages[0].content[1]"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     "messages[0].content[0]"),
    ({"messages": [{"role": "user", "content": "hi"}], "temperature": -1}, "temperature"),
    ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": "many"}, "max_tokens"),
    ({"messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
    ({"messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"messages": [{"role": "user", "content": "hi"}], "presence_penalty": 1}, "presence_penalty"),
])
def test_bad_requests_are_400_with_the_field_named(body, param):
    with pytest.raises(APIError) as caught:
        parse_request(body, DEFAULTS)
    assert caught.value.status == 400 and caught.value.param == param
    error = caught.value.body()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].endswith(".")


def test_audio_errors_map_to_400_and_413():
    assert from_ltu_error(EmptyAudioError("The audio data holds no samples.")).status == 400
    assert from_ltu_error(AudioTooLargeError("too big.")).status == 413


@pytest.mark.parametrize("pieces, stops, shown, stopped", [
    (["Hel", "lo wor", "ld"], ["wor"], "Hello ", True),
    (["ab", "c"], ["x"], "abc", False),
    (["a\n", "\nb"], ["\n\n"], "a", True),
    (["one. ", "Two"], ["Three", "Two"], "one. ", True),
    (["wo", "rm"], ["wor", "worm!"], "", True),
])
def test_stop_scanner_cuts_before_the_first_stop_string(pieces, stops, shown, stopped):
    scanner = StopScanner(stops)
    text, hit = "", False
    for piece in pieces:
        part, hit = scanner.feed(piece)
        text += part
        if hit:
            break
    text += "" if hit else scanner.flush()
    assert (text, hit) == (shown, stopped)


class FakeSession:
    def __init__(self, size: int) -> None:
        self.size = size


def test_pool_takes_the_longest_prefix_and_evicts_by_count_and_memory(monkeypatch):
    monkeypatch.setattr("ltu.serve.sessions.cache_bytes", lambda session: session.size)
    pool = SessionPool(max_sessions=2, max_bytes=100)
    one, two = FakeSession(10), FakeSession(10)
    a, b, c = ("q1", "k", "a1"), ("q2", None, "a2"), ("q3", None, "a3")
    pool.put(one, (a,))
    pool.put(two, (a, b))
    assert pool.take((a, c)) == (one, 1)  # two's history is not a prefix of this one
    assert pool.take((a, b, c)) == (two, 2)
    assert pool.take((a, b)) is None and len(pool) == 0  # taken sessions are out until put back
    for size in (10, 20, 30):
        pool.put(FakeSession(size), (a,))
    assert len(pool) == 2 and pool.total_bytes == 50  # count limit: the oldest went
    pool.put(FakeSession(90), (b,))
    assert len(pool) == 1 and pool.total_bytes == 90  # memory limit
    pool.put(FakeSession(101), (c,))
    assert pool.total_bytes == 90  # one bigger than the cap is never kept


def test_config_checks_its_limits():
    with pytest.raises(Exception, match="at least 1"):
        ServeConfig(max_concurrent=0)
    assert ServeConfig().is_local and not ServeConfig(host="0.0.0.0").is_local
