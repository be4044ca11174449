"""What every source shares: the ``Recording`` record, the ``Source`` description, errors and helpers.

A source is one installable package (Debian or PyPI) or one generating program. It says
which packages it needs, whether they are present, and yields ``Recording``s: a file on
disk (or a command that renders one), its licence, its coarse AudioSet category and its
fine label (a key of ``ontology.LABELS``), plus what is known about any speech in it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ltu.errors import LTUError

SAMPLE_RATE = 16_000
MIN_EVENT_S = 0.3  # shorter clicks are dropped: too short to name
SILENT_RMS = 0.001  # about -60 dBFS: quieter files are placeholders


class DataSourceError(LTUError):
    """A tool or an installed sound collection the builder needs is missing or unusable."""


@dataclass(frozen=True)
class Recording:
    """One source recording (real or generated) and what is known about it."""

    id: str  # "<source>/<name>", unique
    dataset: str  # the source's name (also the row's ``dataset`` field)
    path: Path  # readable audio file (generated ones: inside the build's work folder)
    source: str  # portable provenance: package path, system path, or the generating command
    licence: str
    category: str  # coarse class, one of labels.CATEGORIES
    fine_label: str  # key of ontology.LABELS ("Dog", "Guitar", "Female speech", ...)
    is_speech: bool = False
    is_music: bool = False
    transcript: str | None = None  # reference text of the speech, where known
    language: str | None = None
    gender: str | None = None
    speaker: str | None = None
    translation: str | None = None  # English meaning of a non-English transcript
    pitch_hz: float | None = None  # fundamental of a generated tone or beep
    origin: str | None = None  # web page of the original recording, where known
    details: dict[str, Any] = field(default_factory=dict)  # voice, instrument, waveform, ...
    command: tuple[str, ...] | None = None  # how a generated recording is rendered
    split_key: str = ""  # recordings with the same key always share a split (e.g. same text)
    group: str = ""  # stratum for the split by recording

    @property
    def pitch_class(self) -> str | None:
        """low / medium / high for tones and beeps of known frequency."""
        from train.builder.labels import pitch_class

        return pitch_class(self.pitch_hz) if self.pitch_hz is not None else None


@dataclass(frozen=True)
class Source:
    """One source: the packages it needs and the function that lists its recordings."""

    name: str  # short id, used in recording ids and rows
    what: str  # one line for the docs and the log
    apt: tuple[str, ...] = ()  # Debian packages
    pip: tuple[str, ...] = ()  # PyPI packages (pinned, installed with --no-deps)
    tools: tuple[str, ...] = ()  # programs on PATH
    marker: Callable[[], bool] = lambda: True  # True when the installed files are present
    recordings: Callable[..., list[Recording]] = lambda *a, **k: []  # (budget, rng, work) -> recordings

    def missing(self) -> list[str]:
        """What is absent, as phrases ("the program `sox`", "the Debian package x")."""
        gone = [f"the program `{tool}`" for tool in self.tools if shutil.which(tool) is None]
        if not self.marker():
            gone += [f"the Debian package {p}" for p in self.apt] + [f"the PyPI package {p}" for p in self.pip]
        return gone


# --- helpers ---------------------------------------------------------------------------------
def package_dir(module: str) -> Path | None:
    """Folder of an installed Python package (without importing it)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def md5(path: Path) -> str:
    """MD5 of a file's bytes (duplicate detection)."""
    return hashlib.md5(path.read_bytes()).hexdigest()


def unique(paths: list[Path]) -> list[Path]:
    """``paths`` without byte-identical duplicates (the first in sorted order is kept)."""
    seen, kept = set(), []
    for path in sorted(paths):
        digest = md5(path)
        if digest not in seen:
            seen.add(digest)
            kept.append(path)
    return kept


def portable(command: tuple[str, ...], path: Path) -> str:
    """The command as a shell line, with the work-folder output path replaced by its file name."""
    return shlex.join(path.name if part == str(path) else part for part in command)


def render(recordings: list[Recording], workers: int = 2) -> None:
    """Run the command of every generated recording, a few at a time."""
    jobs = [r for r in recordings if r.command is not None and not r.path.is_file()]
    for job in jobs:
        job.path.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for job, result in zip(jobs, pool.map(_run, jobs)):
            if result.returncode != 0 or not job.path.is_file() or job.path.stat().st_size < 1000:
                raise DataSourceError(f"{job.command[0]} failed to make {job.id} "
                                      f"(exit {result.returncode}): {result.stderr.strip()[:300]}")


def _run(recording: Recording) -> subprocess.CompletedProcess:
    if recording.command[0] == "text2wave":  # festival reads the text from stdin, in Latin-1
        done = subprocess.run(recording.command, input=recording.transcript.encode("latin-1", "replace"),
                              capture_output=True, check=False)
        return subprocess.CompletedProcess(done.args, done.returncode, "", done.stderr.decode("latin-1"))
    return subprocess.run(recording.command, capture_output=True, encoding="utf-8", errors="replace", check=False)
