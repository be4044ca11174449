"""The paper's released checkpoints, fetched by name and converted once: ``python -m ltu download ltu-7b``.

A released file is downloaded from the link the original project's README gives
(``docs/paper.md``, "Released checkpoints") into ``<cache>/downloads/``, resumably: an
interrupted transfer leaves ``NAME.part`` and the next call asks the server only for the
rest (HTTP Range). The finished file must have the size the server announced and load with
``torch.load(weights_only=True)``; it is then converted (``ltu.weights.convert``) into the
checkpoint folder ``<cache>/<name>``, which later calls return at once. The cache is
``$LTU_CACHE/released`` or ``~/.cache/ltu/released`` (``$XDG_CACHE_HOME`` is honoured).

The base LLM (Vicuna) is not part of these files: the converted folder names its Hugging
Face id and ``from_pretrained`` fetches it into the normal Hub cache on first load.
"""

from __future__ import annotations

import http.client
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ltu.config import PAPER_LLM
from ltu.errors import CheckpointError

CACHE_ENV = "LTU_CACHE"
CONFIG_FILE = "ltu_config.json"  # what makes a converted folder complete (ltu.checkpoint.CONFIG_FILE)
CHUNK_BYTES = 1 << 20  # read and write 1 MiB at a time
CONNECT_TIMEOUT_S = 30  # a server that says nothing for this long counts as unreachable
USER_AGENT = "ltu-downloader"  # some file hosts refuse Python's default agent
RANGE_NOT_SATISFIABLE = 416  # the answer to a Range that starts at the end of the file


@dataclass(frozen=True)
class ReleasedModel:
    """A checkpoint the original project published, and how to make it a checkpoint folder."""

    name: str  # what users type: --checkpoint ltu-7b
    filename: str  # the released file's name
    url: str  # direct download link (Dropbox sends the file for links ending in dl=1)
    llm: str  # the base LLM the file's LoRA belongs to
    summary: str


RELEASED = {
    model.name: model
    for model in (
        ReleasedModel(
            name="ltu-7b",
            filename="ltu_ori_paper.bin",
            url="https://www.dropbox.com/scl/fi/ir69ci3bhf4cthxnnnl76/ltu_ori_paper.bin"
                "?rlkey=zgqin9hh1nn2ua39jictcdhil&dl=1",
            llm=PAPER_LLM,
            summary="LTU-7B as in the paper: CAV-MAE encoder, projector and LoRA on Vicuna-7B v1.1 (about 370 MB)",
        ),
    )
}


def cache_root() -> Path:
    """Where released files and their converted folders live."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "released"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ltu" / "released"


def is_released_name(source: str) -> bool:
    """Whether ``source`` names a released model (and not a local path)."""
    return source in RELEASED


def fetch(name: str, log: Callable[[str], None] | None = None, progress: bool = True) -> Path:
    """The converted checkpoint folder of released model ``name``, downloading and converting on first use."""
    model = RELEASED.get(name)
    if model is None:
        raise CheckpointError(f"Unknown released model {name!r}; known: {', '.join(RELEASED)}.")
    say = log or (lambda text: print(text, file=sys.stderr, flush=True))
    folder = cache_root() / name
    if (folder / CONFIG_FILE).is_file():
        return folder
    raw = cache_root() / "downloads" / model.filename
    if not raw.is_file():
        say(f"Downloading {model.summary} to {raw} ...")
        download(model.url, raw, progress=progress, what=model.name)
    say(f"Converting {raw.name} into {folder} ...")
    from ltu.weights.convert import convert_official  # reads the file with weights_only=True

    try:
        convert_official(raw, folder, llm=model.llm)
    except CheckpointError as err:
        raise CheckpointError(f"The downloaded {raw} is not a usable {model.name} checkpoint ({err}) Delete it "
                              "to download it again.") from err
    return folder


def download(url: str, target: Path, progress: bool = True, what: str = "the file") -> Path:
    """Fetch ``url`` to ``target``, resuming a ``target.part`` left by an interrupted call."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **({"Range": f"bytes={have}-"}
                                                                                 if have else {})})
    try:
        with urllib.request.urlopen(request, timeout=CONNECT_TIMEOUT_S) as response:
            resumed = have > 0 and response.status == 206
            total = _total_size(response, have if resumed else 0)
            _write(response, part, append=resumed, total=total, progress=progress)
    except urllib.error.HTTPError as err:
        if err.code == RANGE_NOT_SATISFIABLE and have:  # the part holds the whole file already
            os.replace(part, target)
            return target
        raise CheckpointError(_failed(what, url, target, err)) from err
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:  # IncompleteRead: cut mid-transfer
        raise CheckpointError(_failed(what, url, target, err)) from err
    size = part.stat().st_size
    if total is not None and size != total:
        raise CheckpointError(f"The download of {what} stopped at {size:,} of {total:,} bytes; run the same "
                              f"command again to resume it (the part is kept in {part}).")
    os.replace(part, target)
    return target


def _total_size(response: object, offset: int) -> int | None:
    """The whole file's size: from Content-Range on a resumed answer, else from Content-Length."""
    headers = response.headers  # type: ignore[attr-defined]
    content_range = headers.get("Content-Range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].strip().isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else None


def _write(response: object, part: Path, append: bool, total: int | None, progress: bool) -> None:
    from tqdm import tqdm

    done = part.stat().st_size if append else 0
    with open(part, "ab" if append else "wb") as out, tqdm(total=total, initial=done, unit="B", unit_scale=True,
                                                         unit_divisor=1024, disable=not progress,
                                                         file=sys.stderr) as bar:
        while chunk := response.read(CHUNK_BYTES):  # type: ignore[attr-defined]
            out.write(chunk)
            bar.update(len(chunk))


def _failed(what: str, url: str, target: Path, err: Exception) -> str:
    reason = getattr(err, "reason", None) or err
    return (f"Could not download {what} ({reason}). Fetch it where there is network access from {url} "
            f"(it is listed in the original LTU repository's README) and put it at {target}, or convert it "
            "yourself: python -m ltu convert-official --input FILE --output FOLDER.")
