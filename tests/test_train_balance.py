"""train.balance: yes/no families get as many yes as no rows; stage 3 trains on every clip, balanced."""

from __future__ import annotations

import json
import shutil
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


def _clip(dataset: str, music: bool, speech: bool = False) -> dict:
    return {"dataset": dataset, "labels": {"is_music": music, "is_speech": speech}}


def test_within_a_source_the_rarer_answer_gets_new_clips_then_repeats():
    from train.balance import even_within_sources

    # source "game": 2 music clips asked ("yes"), 6 effects asked ("no"), 1 music clip never asked
    # source "synth": only music, asked twice; nothing to even out against
    clips = {f"audio/g{i}.wav": _clip("game", music=i < 3) for i in range(9)}
    clips |= {f"audio/s{i}.wav": _clip("synth", music=True) for i in range(2)}
    rows = [dict(_row("music_yn", "Yes, there is music.", 0), audio_id="audio/g0.wav", dataset="game"),
            dict(_row("music_yn", "Yes, there is music.", 0), audio_id="audio/g1.wav", dataset="game")]
    rows += [dict(_row("music_yn", "No, there is no music.", 0), audio_id=f"audio/g{i}.wav", dataset="game")
             for i in range(3, 9)]
    rows += [dict(_row("music_yn", "Yes, there is music.", 0), audio_id=f"audio/s{i}.wav", dataset="synth")
             for i in range(2)]
    evened = even_within_sources(rows, clips, clips, tasks=("music_yn",))
    assert evened[:len(rows)] == rows
    extra = evened[len(rows):]
    assert all(r["dataset"] == "game" and yes_no(r) == "yes" for r in extra)
    assert len(extra) == 4  # game: 2 yes -> 6, as many as its no rows
    assert extra[0]["audio_id"] == "audio/g2.wav"  # the unasked music clip is asked first ...
    assert extra[0]["output"] == "Yes, there is music." and extra[0]["instruction"] and extra[0]["input"] == ""
    # ... then the three yes rows are repeated once each to reach 6
    assert Counter(r["audio_id"] for r in extra) == {"audio/g0.wav": 1, "audio/g1.wav": 1, "audio/g2.wav": 2}
    assert even_within_sources(rows, clips, clips, tasks=("music_yn",)) == evened  # seeded


def test_new_rows_only_come_from_the_pool_and_use_training_wordings():
    from train.balance import even_within_sources
    from train.builder.questions import heldout_only_wordings

    clips = {f"audio/g{i}.wav": _clip("game", music=i < 10) for i in range(40)}
    rows = [dict(_row("music_yn", "No, there is no music.", 0), audio_id=f"audio/g{i}.wav", dataset="game")
            for i in range(10, 40)]
    pool = [f"audio/g{i}.wav" for i in range(5)]  # only half the music clips may be used
    extra = even_within_sources(rows, clips, pool, tasks=("music_yn",))[len(rows):]
    assert len(extra) == 30
    assert {r["audio_id"] for r in extra} == set(pool)
    assert not {r["instruction"] for r in extra} & set(heldout_only_wordings()["music_yn"])


def test_even_sources_stage_rows_draw_new_clips_from_all_training_clips(tmp_path):
    data, runs = tmp_path / "data", tmp_path / "runs"
    data.mkdir()
    rows = _rows()
    clips = {r["audio_id"]: _clip("s", music=r["output"].startswith("Yes") and r["task"] == "music_yn")
             for r in rows}
    rows.append(_row("cla_category", "Sound category: Music", 99))  # a music clip never asked "Is this music?"
    clips["audio/c99.wav"] = _clip("s", music=True)
    (data / "train.json").write_text(json.dumps(rows))
    (data / "train_closed.json").write_text(json.dumps(rows))
    (data / "metadata.json").write_text(json.dumps({"clips": clips}))
    plain = json.loads(stage_rows("stage2", runs, data, 0).read_text())
    evened_file = stage_rows("stage2", runs, data, 0, even=True)
    assert evened_file.name == "0-even-train.json"
    evened = json.loads(evened_file.read_text())
    assert evened[:len(plain)] == plain
    counts = _answers(r for r in evened if r["task"] == "music_yn")
    assert counts[("music_yn", "yes")] == counts[("music_yn", "no")] == 11
    assert any(r["audio_id"] == "audio/c99.wav" and r["task"] == "music_yn" for r in evened)


def test_an_experiments_model_config_reaches_the_cache_and_every_stage(tmp_path, monkeypatch):
    """``--model`` swaps LTU-small's config for an experiment's in the cache and in each stage (the cache's
    tokens depend on the encoder settings, so both must read the same file)."""
    import train.cache
    import train.ltu_small as recipe

    filled, staged = [], []
    monkeypatch.setattr(train.cache, "fill", lambda model, *rest: filled.append(model))
    monkeypatch.setattr(recipe, "train_stage", lambda stage, runs, data, clips, extra, even: staged.append(
        (stage, extra)))
    config = tmp_path / "experiment.json"
    shutil.copy(recipe.CONFIGS / "model.json", config)
    recipe.main(["--data", str(tmp_path / "data"), "--runs", str(tmp_path / "runs"), "--model", str(config),
                 "--only", "cache", "--only", "stage1", "--only", "stage2", "--no-even-sources", "lr=1e-4"])
    assert filled == [config]
    assert [s for s, _ in staged] == ["stage1", "stage2"]
    assert all(extra == [f"model={config.resolve()}", "lr=1e-4"] for _, extra in staged)
    filled.clear()
    recipe.main(["--data", str(tmp_path / "data"), "--only", "cache", "--no-even-sources"])
    assert filled == [recipe.CONFIGS / "model.json"]


def test_a_class_hint_config_fits_the_hint_and_stage_one_starts_with_it(tmp_path, monkeypatch):
    import train.hint
    import train.ltu_small as recipe

    fitted, staged = [], []
    monkeypatch.setattr(train.hint, "run", lambda model, data, rows, out, cache: fitted.append((model, rows, out)))
    monkeypatch.setattr(recipe, "train_stage", lambda stage, runs, data, clips, extra, even: staged.append(extra))
    config = recipe.CONFIGS / "model-class-hint.json"
    runs = tmp_path / "runs"
    recipe.main(["--data", str(tmp_path / "data"), "--runs", str(runs), "--model", str(config),
                 "--only", "hint", "--only", "stage1", "--no-even-sources", "--train-clips", "0"])
    hint = (runs / recipe.HINT_FILE).resolve()
    assert fitted == [(config, tmp_path / "data" / "train.json", runs / recipe.HINT_FILE)]
    assert staged == [[f"model={config.resolve()}", f"class_hint={hint}"]]
    fitted.clear()
    recipe.main(["--data", str(tmp_path / "data"), "--runs", str(runs), "--only", "hint", "--no-even-sources"])
    assert fitted == []  # LTU-small's own config has no hint: the step does nothing
