"""The HTTP layer: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health``.

Routes parse and answer; everything else lives in ``ltu.serve.engine``. Every failure goes
out as OpenAI's error JSON with its status; an unexpected one is logged here with its
traceback and the client gets a sentence (500), never the traceback.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, Sequence

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ltu.serve import protocol
from ltu.serve.engine import Answer, Engine
from ltu.serve.errors import BAD_REQUEST, INTERNAL_MESSAGE, SERVER_ERROR, TOO_LARGE, UNAUTHORIZED, APIError

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)
SSE_DONE = "data: [DONE]\n\n"
STARTUP_POLL_S = 0.02
STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_GRACE_S = 5.0  # when the server stops, answers still streaming get this long to finish, then are cut


def create_app(engine: Engine) -> FastAPI:
    """The FastAPI application over ``engine``."""
    app = FastAPI(title="LTU", summary="OpenAI-compatible chat completions about sounds", docs_url=None,
                  redoc_url=None, openapi_url=None)
    created = int(time.time())
    config = engine.config

    @app.exception_handler(APIError)
    async def api_error(_: Request, err: APIError) -> JSONResponse:
        headers = {"Retry-After": "1"} if err.status == 429 else None
        return JSONResponse(err.body(), status_code=err.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        return JSONResponse(APIError(err.status_code, str(err.detail)).body(), status_code=err.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, err: Exception) -> JSONResponse:
        log.error("request failed", exc_info=err)
        return JSONResponse(APIError(SERVER_ERROR, INTERNAL_MESSAGE).body(), status_code=SERVER_ERROR)

    def authorize(request: Request) -> None:
        if config.api_key is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {config.api_key}".encode()):
            raise APIError(UNAUTHORIZED, "Missing or wrong API key: send 'Authorization: Bearer <key>'.", None,
                           "invalid_api_key")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        authorize(request)
        return protocol.model_list(config.model_name, created)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        authorize(request)
        body = await _json_body(request, config.max_body_bytes)
        chat = protocol.parse_request(body, engine.defaults)
        engine.check_model(chat.model)
        admission = engine.admit()
        answer = await run_in_threadpool(engine.start, chat, admission)
        name = chat.model or config.model_name
        if chat.stream:
            return StreamingResponse(_events(answer, name), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        text = await run_in_threadpool(lambda: "".join(answer))
        return protocol.completion(protocol.completion_id(), name, text, answer.finish_reason, _usage(answer))

    return app


async def _json_body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise APIError(TOO_LARGE, _too_large(limit), None, "request_too_large")
    data = bytearray()
    async for block in request.stream():
        data += block
        if len(data) > limit:
            raise APIError(TOO_LARGE, _too_large(limit), None, "request_too_large")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise APIError(BAD_REQUEST, f"The request body is not valid JSON ({err}).") from err


def _too_large(limit: int) -> str:
    return f"The request is larger than this server's limit of {limit / 2**20:g} MB; send a shorter clip."


def _usage(answer: Answer) -> dict[str, int]:
    return protocol.usage(answer.prompt_tokens, answer.completion_tokens)


def _sse(event: dict[str, Any]) -> str:
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n"


async def _events(answer: Answer, model: str) -> AsyncIterator[str]:
    """Server-sent events in OpenAI's chunk format, ending with ``[DONE]``."""
    cid = protocol.completion_id()
    pieces = iter(answer)
    try:
        yield _sse(protocol.chunk(cid, model, {"role": "assistant", "content": ""}))
        while (piece := await run_in_threadpool(next, pieces, None)) is not None:
            yield _sse(protocol.chunk(cid, model, {"content": piece}))
        yield _sse(protocol.chunk(cid, model, {}, answer.finish_reason))
        if answer.request.include_usage:
            yield _sse(protocol.chunk(cid, model, {}, counts=_usage(answer)))
    except Exception as err:  # headers are sent: the error goes in the stream
        log.error("streamed answer failed", exc_info=err)
        yield _sse(APIError(SERVER_ERROR, INTERNAL_MESSAGE).body())
    finally:
        with anyio.CancelScope(shield=True):  # also when the client went away: stop the model, free the slot
            await run_in_threadpool(_close, pieces, answer)
    yield SSE_DONE


def _close(pieces: Iterator[str], answer: Answer) -> None:
    pieces.close()  # type: ignore[attr-defined]
    answer.close()


def run_server(app: FastAPI, host: str, port: int, on_stop: Sequence[Callable[[], None]] = ()) -> None:
    """Serve ``app`` with uvicorn until Ctrl+C or SIGTERM. ``on_stop``: called as the server begins to stop,
    to end streams that would otherwise keep it waiting (the page's heartbeats, ``webapp.mount``)."""
    import uvicorn

    _server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                           timeout_graceful_shutdown=SHUTDOWN_GRACE_S), on_stop).run()


@contextlib.contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0,
                    on_stop: Sequence[Callable[[], None]] = ()) -> Iterator[str]:
    """Run ``app`` with uvicorn in a background thread; yields its base URL (``port`` 0: a free one)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = _server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=SHUTDOWN_GRACE_S), on_stop)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(STARTUP_POLL_S)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def _server(config: uvicorn.Config, on_stop: Sequence[Callable[[], None]]) -> uvicorn.Server:
    """A uvicorn server that calls ``on_stop`` when it begins to stop, before it waits for open connections."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            for stop in on_stop:
                stop()
            await super().shutdown(sockets)

    return Server(config)
