"""The server's limits and switches, each with its default and why."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ltu.errors import ConfigError

API_KEY_ENV = "LTU_API_KEY"  # the bearer token clients must send, when --api-key is not given
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class ServeConfig:
    """How the OpenAI-compatible server runs."""

    host: str = "127.0.0.1"  # local only unless asked; other hosts want an API key
    port: int = 8000  # vLLM's default, so clients written for it connect unchanged
    model_name: str = "ltu"  # the id GET /v1/models lists and requests name in "model"
    api_key: str | None = None  # None: no auth (fine on localhost); else "Authorization: Bearer <key>"
    # answers generated at the same time; one model, so one is the fastest per answer (a CPU model computes them
    # one after another on its own thread anyway, ltu.model_thread; on CUDA they interleave)
    max_concurrent: int = 1
    max_queue: int = 8  # requests allowed to wait for a slot; beyond that the server answers 429
    max_body_mb: float = 25.0  # OpenAI's own upload limit for audio; bigger requests get 413
    max_sessions: int = 32  # conversations kept for follow-ups (least recently used go first)
    session_memory_mb: float = 2048.0  # KV caches kept for follow-ups, in total
    clip_cache_size: int = 32  # decoded, transcribed and encoded clips kept by content hash

    def __post_init__(self) -> None:
        for name in ("max_concurrent", "max_sessions", "clip_cache_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1.")
        if self.max_queue < 0 or self.max_body_mb <= 0 or self.session_memory_mb < 0:
            raise ConfigError("max_queue and session_memory_mb cannot be negative, and max_body_mb must be positive.")

    @property
    def max_body_bytes(self) -> int:
        """The request size limit in bytes."""
        return int(self.max_body_mb * 2**20)

    @property
    def is_local(self) -> bool:
        """True when only this machine can connect."""
        return self.host in LOCAL_HOSTS


def api_key_from(argument: str | None) -> str | None:
    """The key given on the command line, else the one in ``LTU_API_KEY``, else None (auth off)."""
    return argument or os.environ.get(API_KEY_ENV) or None
