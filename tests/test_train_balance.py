"""train.balance: yes/no families get as many yes as no rows; stage 3 trains on every clip, balanced."""

from __future__ import annotations

import json
from collections import Counter

from train.balance import balance_answers, yes_no
from train.ltu_small import stage_rows


def _row(task: str, output: str, clip: int) -> dict:
    return {"instruction": "q", "input": "", "audio_id": f"audio/c{clip}.wav", "dataset": "s", "task": task,
            "output": output}


def _rows() -> list[dict]:
    rows = [_row("music_yn", "Yes, there is music.", i) for i in range(3)]
    rows += [_row("music_yn", "No, there is no music.", 10 + i) for i in range(11)]
    rows += [_row("speech_yn", "Yes, someone is speaking.", 30 + i) for i in range(5)]
    rows += [_row("speech_yn", "No, nothing is said.", 40 + i) for i in range(2)]
    rows += [_row("cla_category", "Sound category: Music", 50 + i) for i in range(4)]
    return rows


def _answers(rows: list[dict]) -> Counter:
    return Counter((r["task"], yes_no(r)) for r in rows)


def test_the_rarer_answer_is_repeated_until_both_are_equal():
    rows = _rows()
    balanced = balance_answers(rows)
    counts = _answers(balanced)
    assert counts[("music_yn", "yes")] == counts[("music_yn", "no")] == 11
    assert counts[("speech_yn", "yes")] == counts[("speech_yn", "no")] == 5  # here "no" is the rarer one
    assert counts[("cla_category", None)] == 4  # other families untouched
    assert balanced[:len(rows)] == rows  # originals first, in order
    extra = balanced[len(rows):]
    assert all(row in rows for row in extra)  # only copies of existing rows
    # 3 music "yes" rows make up 8: each twice more, plus 2 drawn without repeats
    assert sorted(Counter(r["audio_id"] for r in extra if r["task"] == "music_yn").values()) == [2, 3, 3]
    assert balance_answers(rows) == balanced  # seeded


def test_a_family_with_one_answer_only_is_left_alone():
    rows = [_row("music_yn", "No, there is no music.", i) for i in range(4)]
    assert balance_answers(rows) == rows


def test_stage3_trains_on_every_clip_with_balanced_answers(tmp_path):
    data, runs = tmp_path / "data", tmp_path / "runs"
    data.mkdir()
    rows = _rows()
    (data / "train.json").write_text(json.dumps(rows))
    (data / "train_closed.json").write_text(json.dumps(rows))
    stage2 = json.loads(stage_rows("stage2", runs, data, 4).read_text())
    stage3 = json.loads(stage_rows("stage3", runs, data, 4).read_text())
    assert len({r["audio_id"] for r in stage2}) == 4  # --train-clips limits stage 2 ...
    assert {r["audio_id"] for r in stage3} == {r["audio_id"] for r in rows}  # ... not stage 3
    assert stage3 == balance_answers(rows)
