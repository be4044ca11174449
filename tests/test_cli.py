"""``python -m ltu``: chat, info, convert-official; user errors exit 2 with one line."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import torch

from conftest import ASSETS, REPO, randomize_lora, tiny_config
from ltu.checkpoint import build_model, save_pretrained
from ltu.cli import main
from ltu.errors import USER_ERROR

FAST = ["--greedy", "--max-new-tokens", "5"]


@pytest.fixture(scope="module")
def checkpoint(tiny_llm, tmp_path_factory):
    torch.manual_seed(0)
    model, _ = build_model(tiny_config(tiny_llm))
    randomize_lora(model)
    return str(save_pretrained(model, tmp_path_factory.mktemp("cli") / "ckpt"))


def test_chat_one_question(checkpoint, capsys):
    code = main(["chat", "--checkpoint", checkpoint, "--audio", str(ASSETS / "cat.mp3"), *FAST, "What is this?"])
    out = capsys.readouterr()
    assert code == 0 and out.out.strip()
    assert "48000 Hz" in out.err  # the audio description


def test_chat_interactive_follow_ups(checkpoint, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("What is this?\nIs it loud?\n/quit\nnever asked\n"))
    code = main(["chat", "--checkpoint", checkpoint, "--audio", str(ASSETS / "dog.mp3"), *FAST])
    answers = capsys.readouterr().out.strip("\n").split("\n")
    assert code == 0 and len(answers) == 2


@pytest.mark.parametrize("argv, message", [
    (["chat", "--checkpoint", "{ckpt}", "--audio", "{missing}", "Q?"], "does not exist"),
    (["chat", "--checkpoint", "{ckpt}", "--audio", "{text}", "Q?"], "audio"),
    (["chat", "--checkpoint", "/no/such/folder", "Q?"], "No checkpoint folder"),
    (["chat", "--checkpoint", "{ckpt}", "--temperature", "-1", "Q?"], "temperature"),
    (["info", "/no/such/folder"], "No checkpoint folder"),
    (["convert-official", "--input", "{text}", "--output", "{out}"], "not a readable"),
])
def test_user_errors_exit_2_with_one_line(checkpoint, tmp_path, capsys, argv, message):
    text = tmp_path / "notes.txt"
    text.write_text("not audio at all")
    values = {"ckpt": checkpoint, "missing": str(tmp_path / "gone.wav"), "text": str(text), "out": str(tmp_path / "o")}
    code = main([a.format(**values) for a in argv])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert code == USER_ERROR
    assert last.startswith("error: ") and message in last and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1  # the sentence alone


def test_info_prints_the_checkpoint(checkpoint, capsys):
    assert main(["info", checkpoint]) == 0
    out = capsys.readouterr().out
    assert "cavmae" in out and "r=8 alpha=16 on q_proj, v_proj" in out


def test_module_entry_point_runs_as_a_process(checkpoint):
    done = subprocess.run([sys.executable, "-m", "ltu", "info", checkpoint, "--json"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and '"base_llm"' in done.stdout
    bad = subprocess.run([sys.executable, "-m", "ltu", "info", "/no/such"], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == USER_ERROR and "Traceback" not in bad.stderr
