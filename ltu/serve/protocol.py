"""OpenAI chat-completions requests in, responses and stream chunks out.

A request's ``messages`` become user turns (each with at most one clip, from an
``input_audio`` part or an ``audio_url`` data URL) and the answers between them; the last
message must come from the user. System and developer messages are accepted and left out:
the model's prompt format (its config) decides the system text it was trained with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ltu.errors import ConfigError
from ltu.generation import GenerationSettings
from ltu.serve.errors import BAD_REQUEST, APIError

MAX_STOP_STRINGS = 4  # OpenAI's limit
IGNORED_ROLES = {"system", "developer"}
DATA_URL_PREFIX = "data:"
NEUTRAL_PENALTY = 0.0  # frequency/presence penalties other than this are refused: the model has no such setting


@dataclass(frozen=True)
class Clip:
    """One audio part: the file's bytes and their SHA-256, which names the clip across requests."""

    data: bytes
    key: str


@dataclass(frozen=True)
class UserTurn:
    """What one user message (or several in a row) said, and the clip it carried."""

    question: str
    clip: Clip | None = None


@dataclass
class ChatRequest:
    """A parsed chat-completions request."""

    turns: list[UserTurn]  # every user turn; the last is the one to answer
    answers: list[str]  # the assistant's answers to every turn but the last
    settings: GenerationSettings
    model: str | None = None
    stream: bool = False
    include_usage: bool = False  # stream_options.include_usage: a last chunk that carries the token counts
    stop: list[str] = field(default_factory=list)

    @property
    def history(self) -> list[tuple[UserTurn, str]]:
        """The answered turns before the new question."""
        return list(zip(self.turns[:-1], self.answers))

    @property
    def clips(self) -> list[Clip]:
        """Every clip of the conversation, in order."""
        return [t.clip for t in self.turns if t.clip is not None]


def parse_request(body: Any, defaults: GenerationSettings) -> ChatRequest:
    """Check and read a chat-completions body; raises ``APIError`` (400) with the offending field."""
    if not isinstance(body, dict):
        raise APIError(BAD_REQUEST, "The request body must be a JSON object.")
    turns, answers = _conversation(body.get("messages"))
    stream = _optional(body, "stream", bool, False)
    options = _optional(body, "stream_options", dict, {}) or {}
    model = _optional(body, "model", str, None)
    if _optional(body, "n", int, 1) != 1:
        raise APIError(BAD_REQUEST, "Only one answer per request is supported (n must be 1).", "n")
    for name in ("frequency_penalty", "presence_penalty"):
        if _optional(body, name, (int, float), NEUTRAL_PENALTY) != NEUTRAL_PENALTY:
            raise APIError(BAD_REQUEST, f"{name} is not supported by this server; leave it out or send 0.", name)
    return ChatRequest(turns, answers, _settings(body, defaults), model, stream,
                       bool(options.get("include_usage")), _stop(body.get("stop")))


def _conversation(messages: Any) -> tuple[list[UserTurn], list[str]]:
    if not isinstance(messages, list) or not messages:
        raise APIError(BAD_REQUEST, "messages must be a non-empty list of chat messages.", "messages")
    turns: list[UserTurn] = []
    answers: list[str] = []
    texts: list[str] = []
    clip: Clip | None = None
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise APIError(BAD_REQUEST, f"{param} must be an object with a 'role'.", param)
        role = message["role"]
        if role in IGNORED_ROLES:
            continue
        if role == "user":
            text, found = _user_content(message.get("content"), f"{param}.content")
            if found is not None and clip is not None:
                raise APIError(BAD_REQUEST, "A turn can carry one clip; send the next clip with a later question.",
                               param)
            texts.append(text)
            clip = found or clip
        elif role == "assistant":
            if not texts and clip is None:
                raise APIError(BAD_REQUEST, f"{param} is an assistant message with no user message before it.", param)
            turns.append(UserTurn(_joined(texts), clip))
            answers.append(_text_content(message.get("content"), f"{param}.content"))
            texts, clip = [], None
        else:
            raise APIError(BAD_REQUEST, f"{param} has role {role!r}; this server takes user, assistant and system "
                           "messages.", f"{param}.role")
    if not texts and clip is None:
        raise APIError(BAD_REQUEST, "The last message must be the user's question.", "messages")
    question = _joined(texts)
    if not question.strip():
        raise APIError(BAD_REQUEST, "The last user message has no text; ask something about the sound.", "messages")
    turns.append(UserTurn(question, clip))
    return turns, answers


def _user_content(content: Any, param: str) -> tuple[str, Clip | None]:
    if isinstance(content, str):
        return content, None
    if not isinstance(content, list):
        raise APIError(BAD_REQUEST, f"{param} must be text or a list of content parts.", param)
    texts: list[str] = []
    clip: Clip | None = None
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in ("input_audio", "audio_url"):
            if clip is not None:
                raise APIError(BAD_REQUEST, "A message can carry one clip; send the next clip with a later "
                               "question.", where)
            clip = _input_audio(part, where) if kind == "input_audio" else _audio_url(part, where)
        else:
            raise APIError(BAD_REQUEST, f"{where} must be a 'text' or 'input_audio' part.", where)
    return "\n".join(texts), clip


def _input_audio(part: dict[str, Any], param: str) -> Clip:
    audio = part.get("input_audio")
    if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
        raise APIError(BAD_REQUEST, f"{param}.input_audio must hold 'data' (base64) and 'format'.", param)
    if "format" in audio and not isinstance(audio["format"], str):
        raise APIError(BAD_REQUEST, f"{param}.input_audio.format must be text such as 'wav' or 'mp3'.", param)
    return _clip(audio["data"], f"{param}.input_audio.data")


def _audio_url(part: dict[str, Any], param: str) -> Clip:
    url = part.get("audio_url")
    url = url.get("url") if isinstance(url, dict) else url
    if not isinstance(url, str) or not url.startswith(DATA_URL_PREFIX) or ";base64," not in url:
        raise APIError(BAD_REQUEST, f"{param}.audio_url must be a base64 data URL (data:audio/wav;base64,...); "
                       "this server does not fetch addresses.", param)
    return _clip(url.split(";base64,", 1)[1], f"{param}.audio_url")


def _clip(data: str, param: str) -> Clip:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as err:
        raise APIError(BAD_REQUEST, "The audio is not valid base64.", param) from err
    if not raw:
        raise APIError(BAD_REQUEST, "The audio part is empty.", param)
    return Clip(raw, hashlib.sha256(raw).hexdigest())


def _text_content(content: Any, param: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return "".join(str(p.get("text") or "") for p in content)
    raise APIError(BAD_REQUEST, f"{param} must be text.", param)


def _joined(texts: list[str]) -> str:
    return "\n".join(t for t in texts if t)


def _settings(body: dict[str, Any], defaults: GenerationSettings) -> GenerationSettings:
    number = (int, float)
    changes: dict[str, Any] = {}
    for name, key, kind in (("temperature", "temperature", number), ("top_p", "top_p", number),
                            ("max_new_tokens", "max_completion_tokens", int), ("max_new_tokens", "max_tokens", int),
                            ("seed", "seed", int)):
        value = _optional(body, key, kind, None)
        if value is not None and name not in changes:
            changes[name] = value
    try:
        return defaults.replace(**changes)
    except ConfigError as err:
        raise APIError(BAD_REQUEST, str(err), next(iter(changes), None)) from err


def _stop(stop: Any) -> list[str]:
    stops = [stop] if isinstance(stop, str) else stop if stop is not None else []
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise APIError(BAD_REQUEST, "stop must be a string or a list of non-empty strings.", "stop")
    if len(stops) > MAX_STOP_STRINGS:
        raise APIError(BAD_REQUEST, f"stop takes at most {MAX_STOP_STRINGS} strings.", "stop")
    return stops


def _optional(body: dict[str, Any], key: str, kind: Any, default: Any) -> Any:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise APIError(BAD_REQUEST, f"{key} has the wrong type ({type(value).__name__}).", key)
    return value


# ----- responses
def completion_id() -> str:
    """A fresh id in OpenAI's style."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """Token counts; the prompt's include its audio positions."""
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion(cid: str, model: str, text: str, finish_reason: str, counts: dict[str, int]) -> dict[str, Any]:
    """A whole (non-streamed) chat completion."""
    return {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                         "finish_reason": finish_reason}],
            "usage": counts}


def chunk(cid: str, model: str, delta: dict[str, str], finish_reason: str | None = None,
          counts: dict[str, int] | None = None) -> dict[str, Any]:
    """One streamed piece (``delta``); the usage-only chunk has no choices."""
    choices = [] if counts is not None else [{"index": 0, "delta": delta, "logprobs": None,
                                              "finish_reason": finish_reason}]
    out: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                           "choices": choices}
    if counts is not None:
        out["usage"] = counts
    return out


def model_list(name: str, created: int) -> dict[str, Any]:
    """GET /v1/models."""
    return {"object": "list", "data": [{"id": name, "object": "model", "created": created, "owned_by": "ltu"}]}
