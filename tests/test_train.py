"""Training package on a tiny model and a toy set of real clips."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ASSETS, REPO, tiny_config
from ltu.chat import ChatSession
from ltu.checkpoint import load_pretrained
from ltu.errors import ConfigError
from ltu.generation import GenerationSettings
from train.cli import main as train_main
from train.config import build_train_config, load_train_config
from train import recipe
from train.recipe import run
from train.state import CHECKPOINTS, STATE_FILE

ANIMALS = ["cat", "dog", "duck", "rooster", "sheep", "horse"]
QUESTIONS = ["What is this sound?", "Which animal is this?", "Name the sound source."]


@pytest.fixture(scope="module")
def toy(tiny_llm, tmp_path_factory) -> Path:
    """Rows in OpenAQA format over the example clips, plus a tiny model config."""
    root = tmp_path_factory.mktemp("toy")
    (root / "audio").mkdir()
    rows = []
    for animal in ANIMALS:
        shutil.copy(ASSETS / f"{animal}.mp3", root / "audio" / f"{animal}.mp3")
        for q in QUESTIONS:
            rows.append({"instruction": q, "input": "", "audio_id": f"audio/{animal}.mp3", "dataset": "toy",
                         "task": "cla", "output": f"Sound category: {animal}"})
    (root / "train.json").write_text(json.dumps(rows))
    (root / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:6]))
    tiny_config(tiny_llm).save(root / "ltu_config.json")
    return root


def settings(toy: Path, out: Path, **extra) -> dict:
    base = dict(train_data=str(toy / "train.json"), model=str(toy / "ltu_config.json"), output_dir=str(out),
                trainable=["projector", "lora"], lr=3e-3, max_steps=8, batch_size=6, warmup_steps=2, log_every=1,
                seed=0, device="cpu")
    return {**base, **extra}


def trainable_weights(folder: Path) -> dict[str, torch.Tensor]:
    state = load_file(folder / "audio.safetensors")
    state.update({f"lora.{k}": v for k, v in load_file(folder / "adapter" / "adapter_model.safetensors").items()})
    return state


def losses(out: Path) -> list[float]:
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in records if "loss" in r]


def test_loss_goes_down_on_a_fixed_toy_set(toy, tmp_path):
    out = tmp_path / "run"
    run(build_train_config(settings(toy, out, max_steps=30, lr=1e-2, train_on_inputs=False)))
    curve = losses(out)
    assert len(curve) == 30 and sum(curve[-5:]) / 5 < 0.75 * sum(curve[:5]) / 5  # measured: ~0.6


def test_only_declared_groups_change(toy, tmp_path):
    from ltu.checkpoint import build_model

    torch.manual_seed(0)
    init, _ = build_model(tiny_config(Path(json.loads((toy / "ltu_config.json").read_text())["llm"])))
    final = run(build_train_config(settings(toy, tmp_path / "p", max_steps=3, trainable=["projector"])))
    model, _ = load_pretrained(final, trainable=True)  # the adapter kept apart, to inspect it
    assert not torch.equal(model.audio_proj[1].weight, init.audio_proj[1].weight)  # declared: learned
    for (name, a), (_, b) in zip(model.encoder.state_dict().items(), init.encoder.state_dict().items()):
        assert torch.equal(a, b), name  # not declared: untouched
    lora_b = [p for n, p in model.llm.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().max() == 0 for p in lora_b)  # LoRA not declared: B stays at its zero init
    final = run(build_train_config(settings(toy, tmp_path / "l", max_steps=3, trainable=["lora"])))
    model, _ = load_pretrained(final, trainable=True)  # the adapter kept apart, to inspect it
    assert torch.equal(model.audio_proj[1].weight, init.audio_proj[1].weight)
    assert any(p.abs().max() > 0 for n, p in model.llm.named_parameters() if "lora_B" in n)


def test_encoder_frozen_means_cached_tokens_and_no_encoder_calls(toy, tmp_path, monkeypatch):
    from ltu.encoders.cavmae import CAVMAEEncoder

    run(build_train_config(settings(toy, tmp_path / "warm", max_steps=1)))  # fills the cache
    calls = []
    monkeypatch.setattr(CAVMAEEncoder, "forward", lambda self, x: calls.append(1) or torch.zeros(1))
    run(build_train_config(settings(toy, tmp_path / "cached", max_steps=2)))
    assert calls == []


def test_output_folder_has_exactly_the_expected_files_and_loads_in_ltu(toy, tmp_path):
    out = tmp_path / "run"
    final = run(build_train_config(settings(toy, out, max_steps=4, save_every=2, keep_checkpoints=1)))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    model_files = ["adapter/adapter_config.json", "adapter/adapter_model.safetensors", "audio.safetensors",
                   "ltu_config.json"]
    expected = ["loss.png", "metrics.jsonl", "train_config.json"]
    expected += [f"model/{f}" for f in model_files]
    expected += [f"checkpoints/step-000004/model/{f}" for f in model_files] + [f"checkpoints/step-000004/{STATE_FILE}"]
    assert files == sorted(expected)
    model, processor = load_pretrained(out)  # the run folder itself loads
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GenerationSettings.greedy_settings(4))
    assert session.answer("What is this sound?") is not None and session.exchanges[0].answer_ids
    assert final == out / "model"


def test_killed_and_resumed_run_ends_with_the_same_weights(toy, tmp_path):
    common = dict(max_steps=8, save_every=2, trainable=["projector", "lora"], batch_size=4, grad_accum=2)
    straight = run(build_train_config(settings(toy, tmp_path / "straight", **common)))
    assert run(build_train_config(settings(toy, tmp_path / "resumed", stop_after=5, **common))) is None
    assert (tmp_path / "resumed" / CHECKPOINTS / "step-000004").is_dir()
    (tmp_path / "resumed" / CHECKPOINTS / ".step-000006.partial").mkdir()  # a crash mid-write: ignored
    resumed = run(build_train_config(settings(toy, tmp_path / "resumed", **common)))
    a, b = trainable_weights(straight), trainable_weights(resumed)
    assert losses(tmp_path / "straight") == losses(tmp_path / "resumed")  # each step logged once, same values
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_second_stage_starts_from_the_first(toy, tmp_path):
    first = run(build_train_config(settings(toy, tmp_path / "s1", max_steps=2, trainable=["projector"])))
    second = build_train_config({**settings(toy, tmp_path / "s2", max_steps=2, trainable=["projector", "lora"]),
                                 "model": None, "init_from": str(tmp_path / "s1")})
    run(second)
    before, after = trainable_weights(first), trainable_weights(tmp_path / "s2" / "model")
    assert not torch.equal(before["audio_proj.1.weight"], after["audio_proj.1.weight"])


def test_bad_rows_stop_the_run_before_the_model_loads_unless_skipped(toy, tmp_path, monkeypatch):
    rows = json.loads((toy / "train.json").read_text())  # 18 good rows
    rows.append({"instruction": "Q?", "input": "", "audio_id": "audio/missing.wav", "output": "x"})
    rows.append({"instruction": "Q?", "input": "", "audio_id": "audio/cat.mp3", "output": "  "})
    rows.append({"instruction": "Q?", "input": "", "audio_id": "audio/cat.mp3", "output": "x", "speaker": "a"})
    (toy / "notes.txt").write_text("not audio")
    undecodable = {"instruction": "Q?", "input": "", "audio_id": "notes.txt", "output": "x"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rows + [undecodable]))
    real_load = recipe._load_model
    monkeypatch.setattr(recipe, "_load_model", lambda *a: pytest.fail("the model loaded before the rows were checked"))
    with pytest.raises(ConfigError) as err:
        run(build_train_config(settings(toy, tmp_path / "r", train_data=str(bad), data_root=str(toy))))
    text = str(err.value)
    for kind in ("missing audio: 1", "row 19: audio/missing.wav", "empty answers: 1", "row 20:",
                 "unknown fields: 1", "row 21: speaker"):  # rows numbered as a person counts
        assert kind in text
    assert not (tmp_path / "r").exists()  # nothing written for a run that never started
    monkeypatch.setattr(recipe, "_load_model", real_load)
    only_undecodable = tmp_path / "undecodable.json"
    only_undecodable.write_text(json.dumps(rows[:18] + [undecodable]))
    with pytest.raises(ConfigError, match="undecodable audio: 1"):  # found when its features are computed
        run(build_train_config(settings(toy, tmp_path / "r", train_data=str(only_undecodable), data_root=str(toy))))
    final = run(build_train_config(settings(toy, tmp_path / "r2", train_data=str(bad), data_root=str(toy),
                                            skip_bad_rows=True, max_steps=1)))
    assert final is not None


def test_missing_data_file_is_reported_before_the_model_loads(toy, tmp_path, monkeypatch):
    monkeypatch.setattr(recipe, "_load_model", lambda *a: pytest.fail("the model loaded before the data was read"))
    with pytest.raises(ConfigError, match="Cannot read the data file"):
        run(build_train_config(settings(toy, tmp_path / "out", train_data=str(toy / "nowhere.json"))))
    with pytest.raises(ConfigError, match="Cannot read the data file"):
        run(build_train_config(settings(toy, tmp_path / "out", eval_data=str(toy / "nowhere.json"))))
    assert not (tmp_path / "out").exists()


def test_logged_loss_after_a_resume_equals_the_uninterrupted_run(toy, tmp_path):
    """save_every is not a multiple of log_every: the loss window open at the checkpoint is part of the state."""
    common = dict(max_steps=6, save_every=2, log_every=3, batch_size=3, trainable=["projector"])
    run(build_train_config(settings(toy, tmp_path / "straight", **common)))
    run(build_train_config(settings(toy, tmp_path / "resumed", stop_after=5, **common)))  # checkpoint at 4
    run(build_train_config(settings(toy, tmp_path / "resumed", **common)))
    assert len(losses(tmp_path / "straight")) == 2
    assert losses(tmp_path / "resumed") == losses(tmp_path / "straight")


def test_json_lines_and_yaml_config_with_overrides(toy, tmp_path):
    config = tmp_path / "stage.yaml"
    config.write_text("trainable: [projector]\nlr: 1.0e-3\nmax_steps: 1\nbatch_size: 2\n")
    cfg = load_train_config(config, [f"train_data={toy / 'train.jsonl'}", f"model={toy / 'ltu_config.json'}",
                                     f"output_dir={tmp_path / 'out'}", "lr=5e-4", "device=cpu"])
    assert cfg.lr == 5e-4 and cfg.trainable == ("projector",)
    assert run(cfg) is not None


def test_unknown_keys_and_bad_values_are_user_errors(toy, tmp_path, capsys):
    with pytest.raises(ConfigError, match="Unknown training setting"):
        build_train_config(settings(toy, tmp_path, lrr=1))
    with pytest.raises(ConfigError, match="trainable"):
        build_train_config(settings(toy, tmp_path, trainable=["decoder"]))
    code = train_main([str(REPO / "train" / "configs" / "stage1.yaml"), "train_data=x.json", "learning_rate=1"])
    assert code == 2 and "learning_rate" in capsys.readouterr().err


def test_paper_stage_configs_match_the_curriculum():
    expected = {1: (("projector",), 1e-3, 2), 2: (("encoder", "projector", "lora"), 1e-4, 2),
                3: (("encoder", "projector", "lora"), 1e-4, 1), 4: (("encoder", "projector", "lora"), 1e-4, 1)}
    for stage, (groups, lr, epochs) in expected.items():
        cfg = load_train_config(REPO / "train" / "configs" / f"stage{stage}.yaml",
                                ["train_data=x.json", "output_dir=o", "model=m.json"])
        assert (cfg.trainable, cfg.lr, cfg.epochs) == (groups, lr, epochs)
        assert cfg.batch_size * cfg.grad_accum * 4 == 256  # paper.md "Training curriculum": effective batch 256 on 4 GPUs


def test_rerun_with_other_settings_is_refused_and_no_history_is_lost(toy, tmp_path):
    out = tmp_path / "run"
    run(build_train_config(settings(toy, out, max_steps=2, trainable=["projector"])))
    first = json.loads((out / "train_config.json").read_text())
    with pytest.raises(ConfigError, match=r"other settings \(max_steps 2 -> 3, batch_size 6 -> 4\)"):
        run(build_train_config(settings(toy, out, max_steps=3, batch_size=4, trainable=["projector"])))
    assert json.loads((out / "train_config.json").read_text()) == first
    run(build_train_config(settings(toy, out, max_steps=2, trainable=["projector"], log_every=2)))  # bookkeeping only
    assert json.loads((out / "train_config.history.jsonl").read_text()) == first
    assert json.loads((out / "train_config.json").read_text())["log_every"] == 2
    run(build_train_config(settings(toy, out, max_steps=3, trainable=["projector"], resume=False)))  # start over
    earlier = out / "earlier-1"
    assert json.loads((earlier / "train_config.json").read_text()) == {**first, "log_every": 2}
    assert json.loads((earlier / "train_config.history.jsonl").read_text()) == first
    assert (earlier / "model" / "audio.safetensors").is_file() and (earlier / "checkpoints" / "step-000002").is_dir()
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step-000003"]
    assert len(losses(out)) == 3 and len(losses(earlier)) == 2


def test_trained_files_are_readable_as_the_umask_allows(toy, tmp_path):
    out = tmp_path / "run"
    previous = os.umask(0o022)
    try:
        run(build_train_config(settings(toy, out, max_steps=2, save_every=1, trainable=["projector", "lora"])))
    finally:
        os.umask(previous)
    saved = [p for p in [*(out / "model").rglob("*"), *(out / CHECKPOINTS / "step-000002").rglob("*")] if p.is_file()]
    assert any(p.suffix == ".safetensors" for p in saved)
    modes = {str(p.relative_to(out)): oct(p.stat().st_mode & 0o777) for p in saved}
    assert set(modes.values()) == {"0o644"}, modes  # safetensors alone writes 0o600


def test_augmented_copies_are_read_by_rows_and_change_the_run(toy, tmp_path):
    from train.data import row_copy

    plain = run(build_train_config(settings(toy, tmp_path / "plain", max_steps=3, cache_dir=str(tmp_path / "c"))))
    augmented = run(build_train_config(settings(toy, tmp_path / "aug", max_steps=3, augment_copies=1,
                                                cache_dir=str(tmp_path / "c"))))
    rows = json.loads((toy / "train.json").read_text())
    copies_read = {row["audio_id"] for i, row in enumerate(rows) if row_copy(i, 1) == 1}
    entries = [p for p in (tmp_path / "c").rglob("*.pt")]
    assert len(entries) == len(ANIMALS) + len(copies_read)  # the clips, and the copies some row reads
    assert losses(tmp_path / "plain") != losses(tmp_path / "aug")
    assert trainable_weights(plain).keys() == trainable_weights(augmented).keys()
    with pytest.raises(Exception, match="augment_copies"):
        build_train_config(settings(toy, tmp_path / "bad", augment_copies=-1))
