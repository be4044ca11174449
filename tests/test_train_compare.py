"""train.compare: the ship rule applied to two evaluations of the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from train.compare import family_scores, main, table, verdict

CLASSES = ("Speech", "Music", "Animal")


def scores(speech: float, music: float, category: float, hear: float) -> dict[str, tuple[int, float]]:
    return {"speech_yn": (200, speech), "music_yn": (210, music), "cla_category": (220, category),
            "what_hear": (360, hear)}


def test_the_rule_needs_a_mean_gain_and_no_large_drop():
    base = scores(87.6, 83.0, 55.4, 55.1)
    better = verdict(base, scores(88.0, 86.0, 60.0, 60.0))  # mean +3.2
    assert better["ships"] and better["change"]["cla_category"] == 4.6 and not better["reasons"]
    dropped = verdict(base, scores(83.0, 95.0, 65.0, 60.0))  # mean +9.2, but speech -4.6
    assert not dropped["ships"] and dropped["reasons"] == ["speech_yn drops 4.6 points (more than 3)"]
    flat = verdict(base, scores(88.6, 84.0, 56.4, 56.1))  # +1 everywhere
    assert not flat["ships"] and "the mean rises 1.0 points" in flat["reasons"][0]
    text = table(dropped)
    assert "| speech_yn | 200 | 87.6 % | 83.0 % | -4.6 |" in text and text.endswith("(more than 3).")


class KeywordEmbedder:
    """Stands in for MiniLM: a text's vector marks the classes it names."""

    def __call__(self, texts):
        return np.array([[float(c.lower() in t) for c in CLASSES] + [1e-3] for t in texts])


def write_eval(folder: Path, accuracy: float, hear: list[str]) -> Path:
    folder.mkdir(parents=True)
    metrics = folder / "heldout_sources.json"
    tasks = {f: {"n": 10, "accuracy": accuracy} for f in ("speech_yn", "music_yn", "cla_category")}
    metrics.write_text(json.dumps({"tasks": tasks}))
    rows = [{"task": "what_hear", "audio_id": f"clip{i}", "instruction": "What do you hear?", "prediction": p}
            for i, p in enumerate(hear)]
    metrics.with_suffix(".predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return metrics


def test_open_answers_count_when_they_name_the_clips_class(tmp_path):
    clips = {"clip0": {"labels": {"categories": ["Animal"]}}, "clip1": {"labels": {"categories": ["Music"]}}}
    metrics = write_eval(tmp_path / "a", 0.5, ["It is an animal, a dog barking.", "Someone speaking."])
    result, rows = family_scores(metrics, clips, CLASSES, KeywordEmbedder())
    assert result == {"speech_yn": (10, 50.0), "music_yn": (10, 50.0), "cla_category": (10, 50.0),
                      "what_hear": (2, 50.0)}
    assert rows == [("clip0", "What do you hear?"), ("clip1", "What do you hear?")]


def test_evaluations_of_different_rows_are_refused(tmp_path, monkeypatch, capsys):
    import train.scoring

    data = tmp_path / "data"
    data.mkdir()
    clips = {f"clip{i}": {"labels": {"categories": ["Music"]}} for i in range(3)}
    (data / "metadata.json").write_text(json.dumps({"clips": clips}))
    monkeypatch.setattr(train.scoring, "SentenceEmbedder", KeywordEmbedder)
    base = write_eval(tmp_path / "base", 0.5, ["Music is playing.", "Music."])
    other = write_eval(tmp_path / "other", 0.9, ["Music is playing.", "Music.", "Music."])
    assert main(["--data", str(data), "--base", str(base), "--candidate", str(other)]) == 2
    assert "not scored on the same rows" in capsys.readouterr().err
    same = write_eval(tmp_path / "same", 0.6, ["Music is playing.", "A dog."])
    out = tmp_path / "verdict.json"
    assert main(["--data", str(data), "--base", str(base), "--candidate", str(same), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["change"] == {"speech_yn": 10.0, "music_yn": 10.0, "cla_category": 10.0, "what_hear": -50.0}
    assert not result["ships"] and "what_hear drops 50.0 points" in capsys.readouterr().out
