"""Where the server keeps uploads, recordings, pictures and downloads, and when they are deleted.

Each server gets a folder of its own, ``<GRADIO_TEMP_DIR or /tmp/gradio>/ltu-app-<port>``, which
Gradio then uses for every file it stores. The folder is emptied when the server starts (what a
previous run on that port left, e.g. after a crash or ``kill -9``) and removed when it stops
(Ctrl+C or SIGTERM). While it runs, Gradio deletes files older than a day every hour
(``build_app(delete_cache=...)``).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import MutableMapping

TEMP_DIR_VARIABLE = "GRADIO_TEMP_DIR"


def upload_folder(port: int, environ: MutableMapping[str, str] | None = None) -> Path:
    """The folder the server on ``port`` keeps its files in."""
    env = os.environ if environ is None else environ
    base = Path(env.get(TEMP_DIR_VARIABLE) or Path(tempfile.gettempdir()) / "gradio")
    return base / f"ltu-app-{port}"


def claim_upload_folder(port: int, environ: MutableMapping[str, str] | None = None) -> Path:
    """Empty (or create) the server's folder and point Gradio at it; call before building the page."""
    env = os.environ if environ is None else environ
    folder = upload_folder(port, env)
    shutil.rmtree(folder, ignore_errors=True)  # leftovers of a previous run
    folder.mkdir(parents=True)
    env[TEMP_DIR_VARIABLE] = str(folder)
    return folder


def remove_upload_folder(folder: Path) -> None:
    """Delete the server's folder and everything in it."""
    shutil.rmtree(folder, ignore_errors=True)


def stop_on_sigterm() -> None:
    """Make SIGTERM (``kill``, a container stop) end the server like Ctrl+C does, so it cleans up."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
