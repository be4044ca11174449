"""The page on the OpenAI-compatible server: ``python -m ltu serve --page``.

One process, one loaded model: the page that ``app.py`` serves is mounted at ``/`` of the
FastAPI app that answers ``/v1/chat/completions`` (Gradio's ``mount_gradio_app``), and the page
and the endpoint share one ``ClipStore``, so a clip sent to either is decoded, transcribed and
encoded once. The server's routes come first; every other path is the page's.

The page keeps its own queue: up to ``--max-concurrent`` answers for the page and as many for the
endpoint run at once. With an API key, the page asks for it at a login form (as the password).
Each open tab holds a heartbeat stream; the server ends those when it stops (``end_streams``),
so Ctrl+C does not wait for the tabs to close.
"""

from __future__ import annotations

import contextlib
import hmac
from typing import Callable, Iterator

import gradio as gr
from fastapi import FastAPI
from gradio.routes import App as GradioApp
from starlette.routing import Mount

from ltu.clips import ClipStore
from ltu.generation import GenerationSettings
from ltu.serve.config import ServeConfig
from webapp.ui import CSS, build_app
from webapp.uploads import claim_upload_folder, remove_upload_folder

PAGE_PATH = "/"
LOGIN_MESSAGE = "This server needs its API key: type it as the password (any user name)."


def mount_page(app: FastAPI, clips: ClipStore, defaults: GenerationSettings,
               config: ServeConfig) -> Callable[[], None]:
    """Mount the page for ``clips``' model at ``/`` of ``app``, answering with ``defaults``; returns what
    ends the page's open streams, for the server to call as it stops (``ltu.serve.app.run_server``)."""
    demo = build_app(clips.model, clips.processor, defaults, concurrency=config.max_concurrent,
                     max_queue=max(1, config.max_queue), clips=clips)
    gr.mount_gradio_app(app, demo, PAGE_PATH, server_name=config.host, server_port=config.port,
                        footer_links=["api"], auth=_key_login(config.api_key), auth_message=LOGIN_MESSAGE,
                        max_file_size=clips.processor.config.frontend.max_bytes, ssr_mode=False,
                        enable_monitoring=False, css=CSS)
    return end_streams(app)


@contextlib.contextmanager
def page_mounted(app: FastAPI, clips: ClipStore, defaults: GenerationSettings,
                 config: ServeConfig) -> Iterator[Callable[[], None]]:
    """``mount_page`` for a server's whole run: uploads go to a folder of the server's own
    (``webapp.uploads``), emptied at the start and deleted at the end."""
    folder = claim_upload_folder(config.port)  # before the page is built: Gradio keeps its files there
    try:
        yield mount_page(app, clips, defaults, config)
    finally:
        remove_upload_folder(folder)


def end_streams(app: FastAPI) -> Callable[[], None]:
    """What ends the heartbeat streams of the page mounted on ``app``: the event Gradio's own server sets
    when it closes (the mounted app has no close of its own)."""
    pages = [route.app for route in app.routes if isinstance(route, Mount) and isinstance(route.app, GradioApp)]
    return pages[-1].stop_event.set


def _key_login(key: str | None) -> Callable[[str, str], bool] | None:
    """Gradio's login check for a server with an API key: any user name, the key as the password."""
    if key is None:
        return None
    return lambda _user, password: hmac.compare_digest(password.encode(), key.encode())
