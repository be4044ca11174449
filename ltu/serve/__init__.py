"""An OpenAI-compatible HTTP endpoint for LTU: ``python -m ltu serve``.

Read in this order: ``config`` (every server limit, named), ``errors`` (OpenAI's error JSON
with the right status), ``protocol`` (chat-completions requests in, responses and stream
chunks out), ``sessions`` (decoded clips and live conversations kept between requests, so a
follow-up reuses the KV cache), ``engine`` (admission queue, one answer at a time, stop
strings, token counts) and ``app`` (the FastAPI routes, auth and server-sent events).

Nothing here imports Gradio; the model, processor and transcriber load once per server.
"""

from __future__ import annotations

from ltu.serve.config import ServeConfig

__all__ = ["ServeConfig"]
