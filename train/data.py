"""Training data: OpenAQA rows, validation before training, and a feature cache on disk.

A row is ``{"instruction", "input", "audio_id", "dataset", "task", "output"}`` (paper.md "Training curriculum");
``dataset`` and ``task`` are optional. Audio paths are absolute or relative to a data
root. Features (or, when the encoder is frozen, the encoder's output tokens) are cached
by file content and front-end settings, so later epochs and stages never decode again.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch

from ltu.errors import AudioError, ConfigError
from ltu.model import LTUModel
from ltu.processor import AudioFeatures, LTUProcessor, Segment
from ltu.prompt import Turn
from ltu.transcribe import Transcriber
from train.augment import COPY_MARK, VERSION as AUGMENT_VERSION, augmented_copy

ROW_FIELDS = ("instruction", "input", "audio_id", "dataset", "task", "output")
REQUIRED_FIELDS = ("instruction", "audio_id", "output")
REPORT_EXAMPLES = 5  # bad rows listed per problem
TRANSCRIPTS_FOLDER = "transcripts"  # beside the settings folders of a feature cache
HEARD_FOLDER = "heard"  # transcripts by decoded samples (StoredTranscriber), beside TRANSCRIPTS_FOLDER
LATER_ENCODER_FIELDS = ("hidden_layer", "summary_layer")  # encoder options added after caches existed; left out of the key when unset
PROJECTION_FIELDS = ("window_summary", "class_hint")  # act after the cached tokens (on their projection): never in the key


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows from a JSON list or a JSON Lines file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"Cannot read the data file {path}: {err.strerror or err}.") from err
    try:
        if text.lstrip().startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is neither a JSON list nor JSON Lines (line {err.lineno}: {err.msg}).") from err
    if not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{path}: every row must be a JSON object.")
    return rows


@dataclass
class ValidationReport:
    """Problems found in the rows before training, by kind."""

    total: int
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    bad_rows: set[int] = field(default_factory=set)

    def add(self, index: int, kind: str, detail: str) -> None:
        """Note a problem with the row at ``index`` (0-based; reported as a person counts, from 1)."""
        self.problems[kind].append(f"row {index + 1}: {detail}")
        self.bad_rows.add(index)

    @property
    def ok(self) -> bool:
        """True when no row has a problem."""
        return not self.bad_rows

    def summary(self) -> str:
        """Counts per problem with the first few examples."""
        lines = [f"{self.total} rows, {len(self.bad_rows)} with problems"]
        for kind, items in sorted(self.problems.items()):
            lines.append(f"  {kind}: {len(items)}")
            lines += [f"    {x}" for x in items[:REPORT_EXAMPLES]]
        return "\n".join(lines)


def check_rows(rows: list[dict[str, Any]], root: Path) -> ValidationReport:
    """Field-level checks and that each audio file exists; cheap, so run before the model loads.

    The audio itself is checked when its features are computed."""
    report = ValidationReport(len(rows))
    for i, row in enumerate(rows):
        unknown = sorted(set(row) - set(ROW_FIELDS))
        if unknown:
            report.add(i, "unknown fields", ", ".join(unknown))
        missing = [f for f in REQUIRED_FIELDS if not isinstance(row.get(f), str)]
        if missing:
            report.add(i, "missing fields", ", ".join(missing))
            continue
        if not row["output"].strip():
            report.add(i, "empty answers", repr(row["instruction"])[:60])
        if not audio_path(row, root).is_file():
            report.add(i, "missing audio", row["audio_id"])
    return report


def audio_path(row: dict[str, Any], root: Path) -> Path:
    """The row's audio file: absolute, or relative to the data root."""
    path = Path(row["audio_id"])
    return path if path.is_absolute() else root / path


class FeatureCache:
    """Per-file encoder input (or frozen-encoder output) stored as ``<cache>/<settings>/<content>.pt``;
    transcripts apart, as ``<cache>/transcripts/<transcriber>/<content>.txt``, so that changing the encoder
    (another layer, another pooling) never runs speech recognition again."""

    def __init__(self, root: Path, model: LTUModel, processor: LTUProcessor, frozen_encoder: bool,
                 transcriber: Transcriber | None = None) -> None:
        """``transcriber`` fills each clip's transcript; None stores none."""
        self.model = model
        self.processor = processor
        self.frozen = frozen_encoder
        self.transcriber = transcriber
        encoder = {k: v for k, v in model.config.encoder.__dict__.items()
                   if not (k in LATER_ENCODER_FIELDS and v is None) and k not in PROJECTION_FIELDS}
        settings = {"frontend": model.config.frontend.__dict__, "encoder": encoder, "frozen": frozen_encoder}
        weights = model.encoder.state_dict().values() if frozen_encoder else ()  # cached tokens depend on them
        # Caches made before transcripts were kept apart also keyed the folder by the transcriber,
        # though its entries do not depend on it; such a folder is used as it is, not recomputed.
        legacy_settings = {**settings, "transcript": transcriber.cache_key if transcriber else None}
        self.folder, legacy = (root / name for name in _settings_digests((settings, legacy_settings), weights))
        if not self.folder.is_dir() and legacy.is_dir():
            self.folder = legacy
        self.folder.mkdir(parents=True, exist_ok=True)
        self.transcripts: Path | None = None
        if transcriber is not None:
            self.transcripts = _transcriber_folder(root / TRANSCRIPTS_FOLDER, transcriber)
        self.computed = 0  # clips this object computed (not found in the folder)

    def get(self, path: Path, copy: int = 0) -> AudioFeatures:
        """Features for ``path`` (``copy`` > 0: for that augmented copy of it, ``train.augment``; it gets the
        clip's own transcript), computed once; raises AudioError for unusable audio."""
        content = _file_digest(path)
        name = content if copy == 0 else f"{content}{COPY_MARK}{AUGMENT_VERSION}-{copy}"
        target = self.folder / f"{name}.pt"
        if target.is_file():
            stored = torch.load(target, weights_only=True)
            clip = AudioFeatures(stored.get("features"), stored["window_tokens"].tolist(), encoded=stored.get("encoded"),
                                 transcript=stored.get("transcript", ""))
            if self.transcripts is not None:
                if "transcript" in stored:  # an entry from before transcripts were kept apart: share it
                    self._keep_transcript(content, clip.transcript)
                else:
                    clip.transcript = self._transcript(content, lambda: self.processor.audio_features(path).audio.samples)
            return clip
        self.computed += 1
        clip = original = self.processor.audio_features(path)
        if copy:
            rate = self.model.config.frontend.sample_rate
            clip = self.processor.audio_features((rate, augmented_copy(original.audio.samples, name, rate)))
        if self.transcripts is not None:
            clip.transcript = self._transcript(content, lambda: original.audio.samples)
        stored = {"window_tokens": torch.tensor(clip.window_tokens)}
        if self.frozen:
            with torch.no_grad():
                encoded = self.model.encode_audio(clip.features, stored["window_tokens"]).float().cpu()
            stored["encoded"] = encoded
            clip = AudioFeatures(None, clip.window_tokens, clip.audio, encoded, clip.transcript)
        else:
            stored["features"] = clip.features
        _save_atomically(target, lambda partial: torch.save(stored, partial))
        return clip

    def _transcript(self, content: str, samples: Callable[[], Any]) -> str:
        """The stored transcript of the file with this content digest, made (and stored) when absent."""
        assert self.transcripts is not None and self.transcriber is not None
        return _stored_text(self.transcripts / f"{content}.txt", lambda: self.transcriber.heard(samples()))[0]

    def _keep_transcript(self, content: str, text: str) -> None:
        assert self.transcripts is not None
        _stored_text(self.transcripts / f"{content}.txt", lambda: text)


class StoredTranscriber:
    """A transcriber whose results are kept on disk, keyed by the decoded samples and the transcriber's settings,
    as ``<root>/heard/<transcriber>/<samples>.txt``: scoring a second model, or the same one again, on the same
    clips does not run speech recognition again (it is most of an evaluation's time on two cores)."""

    def __init__(self, transcriber: Transcriber, root: Path) -> None:
        self.transcriber = transcriber
        self.folder = _transcriber_folder(Path(root) / HEARD_FOLDER, transcriber)
        self.computed = 0  # transcripts this object had to compute

    @property
    def cache_key(self) -> str:
        return self.transcriber.cache_key

    def heard(self, samples: Any) -> str:
        """The stored transcript of these samples, computed (and stored) when absent."""
        import numpy as np

        digest = hashlib.sha256(np.ascontiguousarray(samples, dtype=np.float32).tobytes()).hexdigest()[:32]
        text, made = _stored_text(self.folder / f"{digest}.txt", lambda: self.transcriber.heard(samples))
        self.computed += made
        return text


def _settings_digests(settings: Sequence[dict[str, Any]], tensors: Iterable[torch.Tensor]) -> list[str]:
    """For each settings dict, 16 hex digits of it (as sorted JSON) followed by the tensors' values;
    each tensor is read once for all of them."""
    digests = [hashlib.sha256(json.dumps(one, sort_keys=True, default=str).encode()) for one in settings]
    for tensor in tensors:
        data = tensor.detach().float().cpu().numpy().tobytes()
        for digest in digests:
            digest.update(data)
    return [digest.hexdigest()[:16] for digest in digests]


def _transcriber_folder(parent: Path, transcriber: Transcriber) -> Path:
    """``parent/<digest of the transcriber's settings>``, created: transcripts of other settings never mix."""
    folder = parent / hashlib.sha256(transcriber.cache_key.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _stored_text(target: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The text stored at ``target``, or ``make()``'s, stored there first; and whether it had to be made."""
    if target.is_file():
        return target.read_text(encoding="utf-8"), False
    text = make()
    _save_atomically(target, lambda partial: partial.write_text(text, encoding="utf-8"))
    return text, True


def _save_atomically(target: Path, write: Callable[[Path], Any]) -> None:
    """Write through a partial file and rename, so a crash never leaves a truncated cache entry."""
    partial = target.with_suffix(".partial")
    write(partial)
    partial.replace(target)


class QADataset(torch.utils.data.Dataset):
    """Tokenised examples with their clips; every clip computed (or read from cache) up front."""

    def __init__(self, examples: list[tuple[Segment, AudioFeatures]]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> tuple[Segment, AudioFeatures]:
        return self.examples[index]


def stop_on_problems(report: ValidationReport, skip_bad_rows: bool, what: str = "training data") -> None:
    """Raise ConfigError with the report when rows have problems, unless they are to be skipped."""
    if not report.ok and not skip_bad_rows:
        raise ConfigError(f"The {what} has problems (set skip_bad_rows=true to train on the rest):\n"
                          + report.summary())


def prepare_dataset(rows: list[dict[str, Any]], root: Path, cache: FeatureCache, processor: LTUProcessor, *,
                    train_on_inputs: bool, max_text_tokens: int, skip_bad_rows: bool,
                    report: ValidationReport | None = None, copies: int = 0,
                    progress: Callable[[Iterable], Iterable] = lambda x: x) -> tuple[QADataset, ValidationReport]:
    """Validate rows (unless ``report`` holds ``check_rows``' result), compute or load their clips, tokenise;
    stop on problems unless told to skip. ``copies``: each row reads its clip or one of that many augmented
    copies of it (``row_copy``)."""
    report = report if report is not None else check_rows(rows, root)
    stop_on_problems(report, skip_bad_rows)
    clips: dict[tuple[Path, int], AudioFeatures] = {}
    wanted = sorted({(audio_path(r, root), row_copy(i, copies)) for i, r in enumerate(rows) if i not in report.bad_rows})
    for path, copy in progress(wanted):
        try:
            clips[path, copy] = cache.get(path, copy)
        except AudioError as err:
            for i, row in enumerate(rows):
                if i not in report.bad_rows and audio_path(row, root) == path:
                    report.add(i, "undecodable audio", f"{row['audio_id']}: {err}")
    stop_on_problems(report, skip_bad_rows)
    examples = []
    for i, row in enumerate(rows):
        if i in report.bad_rows:
            continue
        clip = clips[audio_path(row, root), row_copy(i, copies)]
        turn = Turn(row["instruction"], row.get("input") or clip.transcript)
        segment = processor.training_example(turn, row["output"], clip.num_tokens,
                                             train_on_inputs=train_on_inputs, max_text_tokens=max_text_tokens)
        examples.append((segment, clip))
    return QADataset(examples), report


def row_copy(index: int, copies: int) -> int:
    """Which version of its clip row ``index`` reads: 0 (the clip) or an augmented copy 1..``copies``, spread
    evenly by a hash of the index, so it is the same in every run and on resume."""
    if copies == 0:
        return 0
    return int(hashlib.sha256(str(index).encode()).hexdigest()[:8], 16) % (copies + 1)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:32]
