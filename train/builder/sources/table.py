"""Recordings from a package's files, labelled by a table of path patterns.

Most packages name their files after what they sound like, so a source is a folder, a
licence and a list of ``(pattern, fine label)`` rules: the first rule whose regular
expression matches the path (relative to the folder, without extension) gives the label;
a rule with label ``None`` drops the file on purpose (speech in a sound folder, a silent
placeholder, a name that does not say what it is). Files no rule matches are left out.
Byte-identical duplicates are dropped. ``archive_recordings`` does the same for the members
of a zip archive, and ``group_recordings`` for the files inside OpenClonk's group files
(``c4group``); both extract what the rules label into the build's work folder.
"""

from __future__ import annotations

import re
import zipfile
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

from train.builder.ontology import label
from train.builder.sources import c4group
from train.builder.sources.base import Recording, Source, unique

AUDIO_SUFFIXES = (".ogg", ".oga", ".wav", ".flac", ".mp3")
Rule = tuple[str, str | None]


def match(rules: tuple[Rule, ...], name: str) -> str | None | bool:
    """The fine label of the first matching rule, None if it drops the file, False if no rule matches."""
    for pattern, fine in rules:
        if re.search(pattern, name, re.I):
            return fine
    return False


def table_recordings(dataset: str, root: Path, rules: tuple[Rule, ...], licence: str,
                     glob: str = "**/*", group_by_label: bool = True) -> list[Recording]:
    """Every audio file under ``root`` (matching ``glob``) that a rule labels, one recording each."""
    if not root.is_dir():
        return []
    files = unique([p for p in root.glob(glob) if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()])
    recordings = []
    for path in files:
        name = path.relative_to(root).with_suffix("").as_posix()
        fine = match(rules, name)
        if fine:
            recordings.append(_recording(dataset, name, fine, path, str(path), licence, group_by_label))
    return recordings


def table_source(name: str, what: str, package: str, root: Path, rules: tuple[Rule, ...], licence: str,
                 marker: Path | None = None) -> Source:
    """A source made of one Debian package's folder labelled by ``rules``; present when ``marker`` (default
    ``root``) is a folder."""
    return Source(name, what, apt=(package,), marker=(marker or root).is_dir,
                  recordings=lambda *_: table_recordings(name, root, rules, licence))


def archive_source(name: str, what: str, package: str, archive: Path, prefix: str, rules: tuple[Rule, ...],
                   licence: str) -> Source:
    """A source made of the audio members of one Debian package's zip ``archive`` under ``prefix``, labelled by
    ``rules`` and extracted into the build's work folder; present when the archive is a file."""
    return Source(name, what, apt=(package,), marker=archive.is_file,
                  recordings=lambda count, rng, work: archive_recordings(name, archive, prefix, rules, licence, work))


def group_source(name: str, what: str, package: str, root: Path, rules: tuple[Rule, ...], licence: str,
                 marker: Path) -> Source:
    """A source made of the audio files inside the OpenClonk groups (and group folders) directly under ``root``,
    labelled by ``rules`` and extracted into the build's work folder; present when ``marker`` is a file."""
    return Source(name, what, apt=(package,), marker=marker.is_file,
                  recordings=lambda count, rng, work: group_recordings(name, root, rules, licence, work))


def archive_recordings(dataset: str, archive: Path, prefix: str, rules: tuple[Rule, ...], licence: str,
                       work: Path) -> list[Recording]:
    """Every audio member of the zip ``archive`` under ``prefix`` that a rule labels, extracted into ``work``.

    Rules see the member's path after ``prefix``, without extension; byte-identical members are kept once.
    """
    if not archive.is_file():
        return []
    with zipfile.ZipFile(archive) as zf:
        members = ((PurePosixPath(m).relative_to(prefix).as_posix(), f"{archive}#{m}", partial(zf.read, m))
                   for m in zf.namelist() if m.startswith(prefix) and PurePosixPath(m).suffix.lower() in AUDIO_SUFFIXES)
        return extracted_recordings(dataset, members, rules, licence, work)


def group_recordings(dataset: str, root: Path, rules: tuple[Rule, ...], licence: str, work: Path) -> list[Recording]:
    """Every audio file inside the groups under ``root`` that a rule labels, extracted into ``work``.

    Rules see the path from the top group on, with the groups' suffixes and the file's extension dropped
    (``Sound/Environment/WindLoop`` for ``Sound.ocg/Environment.ocg/WindLoop.ogg``).
    """
    groups = sorted(p for p in root.glob("*") if c4group.is_group_name(p.name)) if root.is_dir() else []
    return extracted_recordings(dataset, (m for group in groups for m in _group_members(group)), rules, licence, work)


def extracted_recordings(dataset: str, members: Iterable[tuple[str, str, Callable[[], bytes]]],
                         rules: tuple[Rule, ...], licence: str, work: Path) -> list[Recording]:
    """Recordings of the ``(name with extension, provenance, read)`` members that a rule labels: each is read
    and written into ``work``; rules see the name without extension; byte-identical files are kept once."""
    labelled = {}  # extracted file -> (name, fine label, provenance)
    for inner_name, source, read in members:
        inner = PurePosixPath(inner_name)
        name = inner.with_suffix("").as_posix()
        fine = match(rules, name)
        if fine:
            path = work / f"{dataset}_{name.replace('/', '_')}{inner.suffix}"
            path.write_bytes(read())
            labelled[path] = (name, fine, source)
    recordings = []
    for path in unique(list(labelled)):
        name, fine, source = labelled[path]
        recordings.append(_recording(dataset, name, fine, path, source, licence, True))
    return recordings


def _group_members(group: Path) -> Iterator[tuple[str, str, Callable[[], bytes]]]:
    for inner, data in c4group.members(group):
        if PurePosixPath(inner).suffix.lower() in AUDIO_SUFFIXES:
            read = partial(c4group.without_empty_ogg_end, data)
            yield c4group.plain(f"{group.name}/{inner}"), f"{group}#{inner}", read


def _recording(dataset: str, name: str, fine: str, path: Path, source: str, licence: str,
               group_by_label: bool) -> Recording:
    entry = label(fine)
    rec_id = f"{dataset}/{name}"
    return Recording(
        id=rec_id, dataset=dataset, path=path, source=source, licence=licence, category=entry.category,
        fine_label=fine, is_speech=entry.category == "Speech", is_music=entry.is_music,
        split_key=rec_id, group=f"{dataset}-{fine}" if group_by_label else dataset)
