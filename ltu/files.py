"""Folders written atomically: built in a staging folder beside the target, then renamed into place.

A crash leaves the previous folder (or none), never a half-written one that looks complete.
Files in the finished folder get the permissions the umask allows (some writers, such as
safetensors, create files readable by their owner only).
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

STAGING_TAG = ".partial-"  # staging folders are named ".<target>.partial-<pid>-<random>"


@contextmanager
def staged_folder(target: str | Path, keep_existing: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield an empty staging folder; when the block succeeds it replaces ``target``, otherwise it is removed.

    ``keep_existing(target)`` True means another writer finished an equivalent folder first: ours is dropped.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}{STAGING_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        make_readable(staging)
        if not (keep_existing is not None and target.exists() and keep_existing(target)):
            replace_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_folder(finished: Path, target: Path) -> None:
    """Move a finished folder to ``target``; an older ``target`` is removed only after the move."""
    old = target.parent / f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if target.exists():
        os.replace(target, old)
    os.replace(finished, target)
    shutil.rmtree(old, ignore_errors=True)


def make_readable(folder: Path) -> None:
    """Give every file under ``folder`` the read/write bits the umask allows (as ``mkdir`` gave the folder)."""
    mode = folder.stat().st_mode & 0o666
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(mode)
