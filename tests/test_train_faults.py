"""Training faults: SIGKILL at random steps then resume; damaged checkpoints; settings typed wrong.

The kill test runs ``python -m train``'s entry point (``train.cli.main``) in child processes of
one driver process (this file run as a script): the driver imports torch once and forks a
child per run segment, so five kills cost seconds instead of five interpreter start-ups.
The driver never runs a tensor operation itself, which keeps forking safe.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

TESTS = Path(__file__).resolve().parent
# Each setting (with and without gradient accumulation) gets TRIALS runs of MAX_STEPS steps, each
# SIGKILLed at KILLS random steps. CI runs a small version; the measurement is
# LTU_KILL_TRIALS=3 LTU_KILLS=5 LTU_KILL_STEPS=10 (a few minutes).
TRIALS = int(os.environ.get("LTU_KILL_TRIALS", "1"))
KILLS = int(os.environ.get("LTU_KILLS", "3"))
MAX_STEPS = int(os.environ.get("LTU_KILL_STEPS", "6"))
SEGMENT_TIMEOUT_S = 120.0


def toy_run_files(folder: Path, llm: Path) -> Path:
    """Twelve rows over four example clips and a tiny model config in ``folder``."""
    from conftest import ASSETS, tiny_config

    (folder / "audio").mkdir(parents=True)
    rows = []
    for animal in ("cat", "dog", "duck", "sheep"):
        shutil.copy(ASSETS / f"{animal}.mp3", folder / "audio" / f"{animal}.mp3")
        rows += [{"instruction": q, "input": "", "audio_id": f"audio/{animal}.mp3", "output": f"Sound: {animal}"}
                 for q in ("What is this sound?", "Which animal is this?", "Name the source.")]
    (folder / "train.json").write_text(json.dumps(rows))
    tiny_config(llm).save(folder / "ltu_config.json")
    return folder


def train_args(toy: Path, **extra: object) -> list[str]:
    base = dict(train_data=toy / "train.json", model=toy / "ltu_config.json", trainable="[projector,lora]", lr=3e-3,
                max_steps=MAX_STEPS, batch_size=1, warmup_steps=2, log_every=1, save_every=1, seed=0, device="cpu")
    return [f"{k}={v}" for k, v in {**base, **extra}.items()]


def model_tensors(run_folder: Path) -> dict[str, torch.Tensor]:
    model = run_folder / "model"
    state = load_file(model / "audio.safetensors")
    state.update({f"lora.{k}": v for k, v in load_file(model / "adapter" / "adapter_model.safetensors").items()})
    return state


def metric_lines(run_folder: Path) -> list[dict]:
    return [json.loads(line) for line in (run_folder / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def toy(tiny_llm, tmp_path_factory) -> Path:
    return toy_run_files(tmp_path_factory.mktemp("faults"), tiny_llm)


# ----- settings typed wrong: exit 2, one sentence, no traceback


@pytest.mark.parametrize("override, words", [("lr=-1", "lr must be above 0"),
                                             ("schedule=cosin", "schedule must be one of cosine"),
                                             ("mixed_precision=bf17", "mixed_precision must be one of no, bf16"),
                                             ("shuffle=maybe", "shuffle must be true or false"),
                                             ("device=gpu", "device must be one of auto, cpu")])
def test_bad_settings_exit_2_with_one_sentence_from_the_command(tmp_path, override, words):
    result = subprocess.run([sys.executable, "-m", "train", "train_data=x.json", f"output_dir={tmp_path / 'o'}",
                             "model=m.json", override], cwd=TESTS.parent, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {words}") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout and not (tmp_path / "o").exists()


# ----- SIGKILL at random steps, then resume


def test_sigkill_at_random_steps_then_resume_ends_with_the_uninterrupted_weights(toy, tmp_path):
    rng = random.Random(0)
    trials = [{"name": f"{name}-{i}", "args": train_args(toy, grad_accum=accum, seed=i),
               "kills": sorted(rng.sample(range(1, MAX_STEPS), KILLS))}  # kill once this step is logged
              for i in range(TRIALS) for name, accum in (("plain", 1), ("accum", 2))]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"root": str(tmp_path), "trials": trials}))
    started = time.perf_counter()
    driver = subprocess.run([sys.executable, __file__, str(spec)], cwd=TESTS.parent, capture_output=True, text=True,
                            timeout=600)
    assert driver.returncode == 0, driver.stderr[-3000:]
    report = json.loads(driver.stdout.splitlines()[-1])
    for trial in report:
        straight, resumed = Path(trial["straight"]), Path(trial["resumed"])
        assert trial["killed_at"], trial  # at least some kills landed before the run ended
        a, b = model_tensors(straight), model_tensors(resumed)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (trial["name"], key)
        assert metric_lines(straight)[-1]["step"] == MAX_STEPS
        steps = [r["step"] for r in metric_lines(resumed) if "loss" in r]
        assert steps == list(range(1, MAX_STEPS + 1))  # every step logged once
        assert [r["loss"] for r in metric_lines(resumed)] == [r["loss"] for r in metric_lines(straight)]
        assert not list(resumed.rglob("*.partial-*"))  # what a kill mid-write left was cleaned up
    print(f"kill trials: {json.dumps(report)}; {time.perf_counter() - started:.1f} s")


# ----- damaged or mismatched checkpoints: a sentence naming the problem


def test_damaged_or_mismatched_training_checkpoints_fail_with_a_sentence(toy, tmp_path):
    from conftest import make_llm_folder
    from ltu.errors import CheckpointError
    from train.config import load_train_config
    from train.recipe import run
    from train.state import CHECKPOINTS, STATE_FILE

    model_config = tmp_path / "ltu_config.json"
    shutil.copy(toy / "ltu_config.json", model_config)
    out = tmp_path / "run"
    args = train_args(toy, model=model_config, max_steps=4, save_every=2, output_dir=out, batch_size=4)
    assert run(load_train_config(None, args + ["stop_after=2"])) is None
    folder = out / CHECKPOINTS / "step-000002"
    state_file = folder / STATE_FILE
    whole = state_file.read_bytes()

    def resume_fails(words: str) -> None:
        with pytest.raises(CheckpointError, match=words):
            run(load_train_config(None, args))

    state_file.write_bytes(whole[: len(whole) // 2])  # cut short: a disk filled up, a copy interrupted
    resume_fails("cannot be read.*damaged")
    state_file.write_bytes(whole)
    state = torch.load(state_file, weights_only=False)
    projector = "audio_proj.1.weight"
    key = next(k for k in state["trainable"] if k.endswith(projector))
    value = state["trainable"].pop(key)
    torch.save(state, state_file)
    resume_fails("1 missing")
    state["trainable"][key] = value[:, :8]
    torch.save(state, state_file)
    resume_fails("wrong shape")
    state_file.write_bytes(whole)
    other = make_llm_folder(tmp_path / "other-llm", seed=1)
    original = model_config.read_text()
    model_config.write_text(json.dumps({**json.loads(original), "llm": str(other)}))  # the config now names another LLM
    resume_fails("made for another model.*llm")
    model_config.write_text(original)
    state_file.unlink()
    resume_fails("incomplete")
    state_file.write_bytes(whole)
    leftover = out / CHECKPOINTS / ".step-000004.partial-1-deadbeef"  # a kill while step 4 was being written
    leftover.mkdir()
    (leftover / STATE_FILE).write_bytes(whole[:100])
    assert run(load_train_config(None, args)) == out / "model"
    assert not leftover.exists()


def _drive(spec_path: str) -> None:
    """Script mode: run each trial straight, then with SIGKILLs at its steps and resumes; print a JSON report."""
    import train.recipe  # noqa: F401  torch, transformers, peft: imported once, before any fork
    from train.cli import main

    spec = json.loads(Path(spec_path).read_text())
    root = Path(spec["root"])
    report = []
    for trial in spec["trials"]:
        straight, resumed = root / f"{trial['name']}-straight", root / f"{trial['name']}-resumed"
        assert _segment(main, trial["args"] + [f"output_dir={straight}"], straight, None) == 0
        killed_at, mid_write = [], 0
        for step in trial["kills"]:
            if (resumed / "model").is_dir():
                break  # the run finished before this kill
            killed = _segment(main, trial["args"] + [f"output_dir={resumed}"], resumed, step)
            if killed is None:
                killed_at.append(_last_step(resumed))
                mid_write += bool(list((resumed / "checkpoints").glob(".*.partial-*")))
        assert _segment(main, trial["args"] + [f"output_dir={resumed}"], resumed, None) == 0
        report.append({"name": trial["name"], "straight": str(straight), "resumed": str(resumed),
                       "killed_at": killed_at, "kills_mid_checkpoint_write": mid_write})
    print(json.dumps(report))


def _segment(main, args: list[str], out: Path, kill_after: int | None) -> int | None:
    """Run ``python -m train args`` in a forked child; SIGKILL it once step ``kill_after`` is logged.

    Returns the child's exit code, or None when it was killed."""
    pid = os.fork()
    if pid == 0:  # child: what `python -m train` does, output to a log file
        log = os.open(str(out) + ".log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(log, 1)
        os.dup2(log, 2)
        code = 1
        try:
            torch.set_num_threads(1)  # 4-6x faster on a small shared machine; every segment runs alike
            code = main(args)
        finally:
            os._exit(code)
    if kill_after is not None:  # a resumed child first forgets steps logged after its checkpoint: wait for new ones
        kill_after = max(kill_after, _last_step(out) + 1)
    deadline = time.monotonic() + SEGMENT_TIMEOUT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if kill_after is not None and _last_step(out) >= kill_after:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise TimeoutError(f"training segment in {out} ran past {SEGMENT_TIMEOUT_S} s")


def _last_step(out: Path) -> int:
    try:
        lines = (out / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return 0
    steps = [json.loads(line)["step"] for line in lines if line.endswith("}")]
    return max(steps, default=0)


if __name__ == "__main__":
    sys.path.insert(0, str(TESTS.parent))
    _drive(sys.argv[1])
