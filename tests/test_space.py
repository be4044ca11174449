"""A hosted Space installs only requirements.txt: LTU-small must then load its base models from the Hub.

The Hub is simulated offline by a pre-filled Hugging Face cache holding the same files the
packaged conversion made, so the answers must match the packaged path exactly. (The real
Hub weights of SmolLM2 are the bf16 originals, not the Q4_1 file the package carries: see
README, "Hosting it".)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from ltu.weights import packaged

COMMIT = "0" * 40  # any revision name; refs/main points at it
WEIGHT_MODULES = sorted({p.module for m in packaged.MODELS.values() for p in m.packages})
SCRIPT = """
import importlib.util, sys
hidden = set(sys.argv[1].split(",")) if sys.argv[1] else set()
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a, **k: None if name.split(".")[0] in hidden else real(name, *a, **k)
from ltu.console import quiet_libraries
quiet_libraries()
from ltu import ChatSession, GenerationSettings, load_pretrained
from ltu.weights.packaged import locate
print(locate("packaged:SmolLM2-135M-Instruct"), locate("packaged:whisper-base"))
model, processor = load_pretrained("checkpoints/ltu-small")
chat = ChatSession(model, processor, "assets/dog.mp3", GenerationSettings.greedy_settings(16))
print(repr(chat.clip.transcript))
print(chat.answer("What is this sound?"))
"""

pytestmark = pytest.mark.skipif(not all(packaged.is_ready(n) for n in packaged.MODELS),
                                reason="the packaged base weights are not converted (run scripts/setup.sh)")


def fill_hub_cache(hub: Path) -> None:
    """Put each packaged model's converted files where the Hub cache keeps its ``hub_id``."""
    for name, model in packaged.MODELS.items():
        repo = hub / f"models--{model.hub_id.replace('/', '--')}"
        snapshot = repo / "snapshots" / COMMIT
        shutil.copytree(packaged.cache_root() / name, snapshot,
                        ignore=shutil.ignore_patterns(packaged.MARKER, "conversion-notes.json"))
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(COMMIT)


def run(hidden: list[str], env: dict[str, str]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, ",".join(hidden)], cwd=REPO, capture_output=True,
                          text=True, timeout=900, env={**os.environ, "HF_HUB_OFFLINE": "1", **env})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def test_without_weight_packages_ltu_small_loads_from_the_hub_and_answers_the_same(tmp_path: Path) -> None:
    packaged_run = run([], {})
    fill_hub_cache(tmp_path / "hub")
    space_env = {"HF_HUB_CACHE": str(tmp_path / "hub"), packaged.CACHE_ENV: str(tmp_path / "empty")}
    space_run = run(WEIGHT_MODULES, space_env)
    assert space_run[0] == f"{packaged.SMOLLM2.hub_id} {packaged.WHISPER_BASE.hub_id}"  # the Hub path was taken
    assert packaged_run[0] != space_run[0]
    assert space_run[1:] == packaged_run[1:]  # same transcript and the same greedy answer
    assert space_run[-1].strip()
