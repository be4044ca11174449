"""``python -m ltu batch`` and ``ltu.batch``: batched answers equal one-at-a-time answers; resume; shards."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import ASSETS, randomize_lora, tiny_config
from ltu.batch import Question, answer_questions, merge, run_rows
from ltu.chat import ChatSession
from ltu.checkpoint import build_model, save_pretrained
from ltu.cli import main
from ltu.generation import GenerationSettings

GREEDY = GenerationSettings.greedy_settings(max_new_tokens=6)
QUESTIONS = [Question("What is it?", ASSETS / "dog.mp3"),
             Question("Describe the sound in detail.", ASSETS / "cat.mp3"),
             Question("Is it loud?", ASSETS / "dog.mp3", history=[("What is it?", "A dog barking.")]),
             Question("Which animal is this?", ASSETS / "sheep.mp3", input="no speech"),
             Question("Say something.", None),
             Question("Hm?", ASSETS / "sheep.mp3", settings=GREEDY.replace(max_new_tokens=3))]


@pytest.fixture(scope="module")
def model_and_processor(tiny_llm):
    torch.manual_seed(0)
    model, processor = build_model(tiny_config(tiny_llm, format="chat_template", audio_position="user"),
                                   trainable=False)
    randomize_lora(model)
    model.eval()
    return model, processor


def one_at_a_time(model, processor, question: Question) -> str:
    session = ChatSession(model, processor, question.audio, question.settings or GREEDY, transcriber=None)
    for q, a in question.history:
        session.add_exchange(q, a)
    return session.answer(question.question, question.input if not question.history else "")


def test_batched_greedy_answers_equal_chat_session_answers(model_and_processor):
    results = [r for batch in answer_questions(*model_and_processor, QUESTIONS, GREEDY, batch_size=4) for r in batch]
    assert sorted(r.index for r in results) == list(range(len(QUESTIONS)))
    got = {r.index: r.answer for r in results}
    assert [got[i] for i in range(len(QUESTIONS))] == [one_at_a_time(*model_and_processor, q) for q in QUESTIONS]


def test_a_bad_clip_is_an_error_row_and_the_rest_are_answered(model_and_processor, tmp_path):
    questions = [Question("What?", tmp_path / "missing.wav"), QUESTIONS[0]]
    results = {r.index: r for b in answer_questions(*model_and_processor, questions, GREEDY) for r in b}
    assert "does not exist" in results[0].error and results[1].answer == one_at_a_time(*model_and_processor,
                                                                                       QUESTIONS[0])


def write_rows(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


ROWS = [{"id": "a", "audio": "dog.mp3", "question": "What is it?"},
        {"id": "b", "audio": "cat.mp3", "question": "Is it loud?", "history": [["What is it?", "A cat."]]},
        {"id": "c", "audio": "missing.wav", "question": "What?"},
        {"id": "d", "audio": "sheep.mp3", "question": "Describe it.", "max_tokens": 3},
        {"id": "e", "audio": "dog.mp3", "question": ""}]


def test_batch_command_writes_answers_in_order_and_resumes(model_and_processor, tmp_path, capsys):
    model, processor = model_and_processor
    folder = save_pretrained(model, tmp_path / "ckpt")
    write_rows(tmp_path / "rows.jsonl", ROWS)
    out = tmp_path / "out" / "answers.jsonl"
    args = ["batch", "--input", str(tmp_path / "rows.jsonl"), "--output", str(out), "--audio-root", str(ASSETS),
            "--checkpoint", str(folder), "--greedy", "--max-new-tokens", "6", "--batch-size", "3"]
    assert main(args) == 0
    assert "rows/s" in capsys.readouterr().err  # the progress bar
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["index"] for r in written] == [0, 1, 2, 3, 4] and [r["id"] for r in written] == list("abcde")
    expected = one_at_a_time(model, processor, Question("What is it?", ASSETS / "dog.mp3"))
    assert written[0]["answer"] == expected
    assert "does not exist" in written[2]["error"] and "no 'question'" in written[4]["error"]
    assert "answer" in written[1] and "answer" in written[3]
    # Run again after losing two answers: only those are generated again; the rest stay as they were.
    kept = [written[0], written[3]]
    out.write_text("".join(json.dumps(r) + "\n" for r in kept) + '{"index": 1, "answ')  # a line cut off by a crash
    assert main(args) == 0
    again = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["index"] for r in again] == [0, 1, 2, 3, 4] and again[0] == written[0] and again[1] == written[1]


def test_shards_of_two_processes_merge_into_the_single_process_output(model_and_processor, tmp_path):
    rows = [{"audio": str(ASSETS / a), "question": q} for a in ("dog.mp3", "cat.mp3") for q in ("What?", "Loud?")]
    rows += [{"audio": str(ASSETS / "sheep.mp3"), "question": "Why?"}]
    single = tmp_path / "single.jsonl"
    run_rows(*model_and_processor, rows, single, GREEDY, 2, tmp_path, progress=False)
    merge(single, [])
    split = tmp_path / "split.jsonl"
    parts = [split.with_name(f"split.jsonl.part-{rank}") for rank in range(2)]
    for rank in range(2):
        run_rows(*model_and_processor, rows, split, GREEDY, 2, tmp_path, rank=rank, world=2, progress=False)
    assert all(p.exists() for p in parts)
    assert merge(split, parts) == len(rows)
    assert split.read_text() == single.read_text() and not any(p.exists() for p in parts)


def test_accelerate_launch_splits_rows_over_two_processes_and_merges_them_in_order(model_and_processor, tmp_path):
    """The real launcher: two CPU processes, each answering its share, merged into the single-process output."""
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("accelerate", path=os.path.dirname(sys.executable)) is None:
        pytest.skip("accelerate's launcher is not installed")
    model, processor = model_and_processor
    folder = save_pretrained(model, tmp_path / "ckpt")
    rows = [{"audio": str(ASSETS / a), "question": q} for a in ("dog.mp3", "cat.mp3", "sheep.mp3")
            for q in ("What?", "Loud?")]
    write_rows(tmp_path / "rows.jsonl", rows)
    common = ["--input", str(tmp_path / "rows.jsonl"), "--checkpoint", str(folder), "--greedy",
              "--max-new-tokens", "6", "--batch-size", "2", "--no-progress"]
    single = tmp_path / "single.jsonl"
    assert main(["batch", *common, "--output", str(single)]) == 0
    split = tmp_path / "split.jsonl"
    launcher = os.path.join(os.path.dirname(sys.executable), "accelerate")
    done = subprocess.run([launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "ltu", "batch", *common,
                           "--output", str(split)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{len(rows)} of {len(rows)} rows answered by 2 processes" in done.stderr
    assert split.read_text() == single.read_text()
    assert not list(tmp_path.glob("split.jsonl.part-*"))
