"""Answers chat-completions requests with one model: admission, sessions, stop strings, token counts.

At most ``max_concurrent`` answers run at once and at most ``max_queue`` more wait; a request
beyond that is refused at once (429) rather than left hanging. ``Engine.start`` does every
step that can fail because of the request (decoding the audio, fitting the context) and
computes the first piece of the answer, so such failures still get an HTTP status; the rest
of the answer streams from the returned ``Answer``.
"""

from __future__ import annotations

import logging
import threading
from typing import Iterator, Literal

from ltu.audio.length import require_whole
from ltu.chat import ChatSession, TurnClip
from ltu.errors import AudioError, LTUError
from ltu.generation import GenerationSettings
from ltu.model import LTUModel
from ltu.processor import LTUProcessor
from ltu.serve.config import ServeConfig
from ltu.serve.errors import NOT_FOUND, TOO_MANY, APIError, from_ltu_error
from ltu.serve.protocol import ChatRequest, Clip, UserTurn
from ltu.clips import ClipStore
from ltu.serve.sessions import MB, SessionPool, steps_of
from ltu.transcribe import Transcriber

log = logging.getLogger(__name__)


class Engine:
    """The model, its processor and everything kept between requests."""

    def __init__(self, model: LTUModel, processor: LTUProcessor, config: ServeConfig = ServeConfig(),
                 defaults: GenerationSettings = GenerationSettings(),
                 transcriber: Transcriber | None | Literal["auto"] = "auto", *, clips: ClipStore | None = None) -> None:
        """``clips``: a store of encoded clips shared with the page (``serve --page``); by default the engine
        has its own, of ``config.clip_cache_size`` clips, with ``transcriber``."""
        self.model = model
        self.processor = processor
        self.config = config
        self.defaults = defaults
        self.clips = ClipStore(model, processor, transcriber, config.clip_cache_size) if clips is None else clips
        self.sessions = SessionPool(config.max_sessions, int(config.session_memory_mb * MB))
        self._slots = threading.Semaphore(config.max_concurrent)
        self._lock = threading.Lock()
        self._admitted = 0  # answering plus waiting

    def check_model(self, name: str | None) -> None:
        """Refuse a request that names another model (leaving it out is fine)."""
        if name is not None and name != self.config.model_name:
            raise APIError(NOT_FOUND, f"The model '{name}' does not exist here; this server answers as "
                           f"'{self.config.model_name}' (GET /v1/models).", "model", "model_not_found")

    def admit(self) -> "Admission":
        """A place in the queue, or 429 when it is full."""
        with self._lock:
            if self._admitted >= self.config.max_concurrent + self.config.max_queue:
                raise APIError(TOO_MANY, f"The server is busy ({self._admitted} requests answering or waiting); "
                               "try again in a moment.", None, "queue_full")
            self._admitted += 1
        return Admission(self)

    def start(self, request: ChatRequest, admission: "Admission") -> "Answer":
        """Wait for a slot, set up the conversation and compute the first piece of the answer."""
        admission.acquire_slot()
        try:
            session, reused = self._session(request)
            answer = Answer(self, session, request, admission, reused)
            answer.first()
            return answer
        except BaseException:
            admission.release()
            raise

    def _session(self, request: ChatRequest) -> tuple[ChatSession, int]:
        """A session holding the request's history, and how many of its turns came from the pool."""
        history = steps_of(request.turns[:-1], request.answers)
        taken = self.sessions.take(history)
        session, done = taken if taken is not None else (self._new_session(request.turns[0]), 0)
        try:
            for index, (turn, answer) in enumerate(request.history[done:], start=done):
                self._attach(session, turn, index)
                session.add_exchange(turn.question, answer)
            self._attach(session, request.turns[-1], len(request.turns) - 1)
        except LTUError as err:
            raise from_ltu_error(err, "messages") from err
        return session, done

    def _new_session(self, first: UserTurn) -> ChatSession:
        if first.clip is None:
            return ChatSession(self.model, self.processor, None, self.defaults, transcriber=None)
        try:
            encoded = self._encoded(first.clip)
        except AudioError as err:
            raise from_ltu_error(err, "messages") from err
        return ChatSession.from_encoded(self.model, self.processor, encoded.features, encoded.embeds, self.defaults)

    def _attach(self, session: ChatSession, turn: UserTurn, index: int) -> None:
        """Give the clip of turn ``index`` to the session for that turn (the first turn's clip opened it)."""
        if index > 0 and turn.clip is not None:
            encoded = self._encoded(turn.clip)
            session.add_clip_encoded(encoded.features, encoded.embeds)

    def _encoded(self, clip: Clip) -> TurnClip:
        """A request's clip, decoded and encoded once (kept by content hash); refused when the front end had
        to cut it at ``max_seconds``: a program gets no answer about part of its clip without knowing."""
        encoded = self.clips.get(clip.key, clip.data)
        require_whole(encoded.features.audio, self.processor.config.frontend)
        return encoded


class Admission:
    """One request's place: counted from admission, holding a generation slot once it has one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._slot = False
        self._done = False

    def acquire_slot(self) -> None:
        self.engine._slots.acquire()  # noqa: SLF001 (the engine's own helper)
        self._slot = True

    def release(self) -> None:
        """Give back the slot and the place in the queue (once)."""
        if self._done:
            return
        self._done = True
        if self._slot:
            self.engine._slots.release()  # noqa: SLF001
        with self.engine._lock:  # noqa: SLF001
            self.engine._admitted -= 1  # noqa: SLF001


class Answer:
    """The answer to one request, streamed as text pieces; token counts and finish reason at the end."""

    def __init__(self, engine: Engine, session: ChatSession, request: ChatRequest, admission: Admission,
                 reused_turns: int) -> None:
        self.engine = engine
        self.session = session
        self.request = request
        self.admission = admission
        self.reused_turns = reused_turns  # answered turns taken over from a kept session
        self.cached_tokens = 0  # prompt tokens whose keys/values came from the cache
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.finish_reason = "stop"
        self.text = ""
        self._stops = StopScanner(request.stop)
        self._pieces: Iterator[str] | None = None
        self._first = ""
        self._closed = False

    def first(self) -> str:
        """Prefill and the first piece (failures here are the request's, with a status)."""
        turn = self.request.turns[-1]
        self.cached_tokens = self.session.cached_tokens
        self._pieces = self.session.ask(turn.question, settings=self.request.settings)
        try:
            self._first = next(self._pieces, "")
        except LTUError as err:
            raise from_ltu_error(err, "messages") from err
        self.prompt_tokens = len(self.session.last_prompt or [])
        return self._first

    def __iter__(self) -> Iterator[str]:
        """The answer's text pieces, stop strings cut; the session is kept for a follow-up at the end."""
        try:
            for piece in self._all_pieces():
                shown, stopped = self._stops.feed(piece)
                if shown:
                    self.text += shown
                    yield shown
                if stopped:
                    self._pieces.close()  # type: ignore[union-attr]
                    self._cut_at_stop()
                    return
            rest = self._stops.flush()
            if rest:
                self.text += rest
                yield rest
            self._finish()
        finally:
            self.close()

    def close(self) -> None:
        """End generation if it still runs, keep the session for a follow-up, and free the slot (once)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._pieces is not None:
                self._pieces.close()  # type: ignore[attr-defined]
            if len(self.session.exchanges) == len(self.request.turns):  # nothing dropped to fit the context
                steps = steps_of(self.request.turns, [*self.request.answers, self.session.exchanges[-1].answer])
                self.engine.sessions.put(self.session, steps)
        except Exception:  # keeping the session is an optimisation; the answer was already sent
            log.exception("could not keep the session for a follow-up")
        finally:
            self.admission.release()

    def _all_pieces(self) -> Iterator[str]:
        if self._first:
            yield self._first
        yield from self._pieces  # type: ignore[misc]

    def _finish(self) -> None:
        last = self.session.exchanges[-1]
        self.completion_tokens = len(last.answer_ids)
        ended = bool(last.answer_ids) and last.answer_ids[-1] == self.engine.processor.eos_id
        self.finish_reason = "stop" if ended else "length"

    def _cut_at_stop(self) -> None:
        """Record the answer as sent (cut before the stop string), so the client's next history matches it."""
        last = self.session.exchanges.pop()
        self.completion_tokens = len(last.answer_ids)
        if last.clip is not None:
            self.session.add_clip_encoded(last.clip.features, last.clip.embeds)
        self.session.add_exchange(last.turn.question, self.text, last.turn.input)
        self.finish_reason = "stop"


class StopScanner:
    """Cuts streamed text before the first stop string, holding back a tail that may begin one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self._pending = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        """(text safe to show, whether a stop string was reached)."""
        text = self._pending + piece
        found = [text.find(s) for s in self.stops if s in text]
        if found:
            self._pending = ""
            return text[:min(found)], True
        hold = max((k for s in self.stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
        self._pending = text[len(text) - hold:] if hold else ""
        return text[:len(text) - hold], False

    def flush(self) -> str:
        """Text held back when the answer ended without a stop string."""
        rest, self._pending = self._pending, ""
        return rest
