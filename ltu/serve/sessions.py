"""What the server keeps between requests: live conversations (encoded clips: ``ltu.clips``).

``SessionPool``
keeps recent ``ChatSession``s (each with its KV cache). A request whose history starts with
a kept conversation (same clips, questions and answers) takes that session, adds whatever
history came after, and asks only the new question: the model computes just the new tokens,
as a follow-up in the page does. The pool is bounded by count and by KV-cache memory; the
least recently used conversation goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from ltu.chat import ChatSession
from ltu.serve.protocol import UserTurn

Step = tuple[str, "str | None", str]  # (question, clip key or None, answer): one answered turn
MB = 2**20


def steps_of(turns: list[UserTurn], answers: list[str]) -> tuple[Step, ...]:
    """The answered turns of a conversation, as the pool compares them."""
    return tuple((t.question, t.clip.key if t.clip is not None else None, a) for t, a in zip(turns, answers))


@dataclass
class _Kept:
    session: ChatSession
    steps: tuple[Step, ...]
    bytes: int


class SessionPool:
    """Recent conversations, each taken out while a request uses it."""

    def __init__(self, max_sessions: int = 32, max_bytes: int = 2048 * MB) -> None:
        self.max_sessions = max_sessions
        self.max_bytes = max_bytes
        self._kept: OrderedDict[int, _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def take(self, history: tuple[Step, ...]) -> tuple[ChatSession, int] | None:
        """The kept session whose conversation is the longest prefix of ``history``, and its number of steps."""
        with self._lock:
            best: tuple[int, int] | None = None
            for key, kept in self._kept.items():
                n = len(kept.steps)
                if 0 < n <= len(history) and history[:n] == kept.steps and (best is None or n > best[1]):
                    best = (key, n)
            if best is None:
                self.misses += 1
                return None
            self.hits += 1
            return self._kept.pop(best[0]).session, best[1]

    def put(self, session: ChatSession, steps: tuple[Step, ...]) -> None:
        """Keep ``session``, whose answered turns are ``steps``, for a follow-up."""
        size = cache_bytes(session)
        if not steps or size > self.max_bytes:
            return
        with self._lock:
            self._kept[id(session)] = _Kept(session, steps, size)
            while len(self._kept) > self.max_sessions or self.total_bytes > self.max_bytes:
                self._kept.popitem(last=False)

    @property
    def total_bytes(self) -> int:
        """KV-cache memory held by the kept sessions."""
        return sum(k.bytes for k in self._kept.values())

    def __len__(self) -> int:
        return len(self._kept)


def cache_bytes(session: ChatSession) -> int:
    """Bytes of the keys and values a session's KV cache holds."""
    return session.cache_bytes
