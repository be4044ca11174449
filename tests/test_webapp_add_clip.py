"""The page adds a clip to the conversation when "Add the next clip to this conversation" is ticked:
the clip goes with the next question (``ChatSession.add_clip``), earlier clips and the chat stay.
Unticked, a new clip starts a new conversation, as before. Handlers called directly; a tiny random model."""

from __future__ import annotations

import pytest

from conftest import ASSETS
from ltu.chat import ChatSession
from ltu.checkpoint import load_pretrained
from ltu.generation import GenerationSettings

gr = pytest.importorskip("gradio", reason="the web app needs gradio (pip install -r requirements.txt)")
from test_app import last, make_tiny_checkpoint  # noqa: E402
from webapp.ui import ADD_CLIP_LABEL, Handlers, build_app  # noqa: E402

FAST = GenerationSettings(max_new_tokens=8)
DOG, CAT, SHEEP = str(ASSETS / "dog.mp3"), str(ASSETS / "cat.mp3"), str(ASSETS / "sheep.mp3")
GREEDY = (0.0, 0.95, 8)  # the page's temperature, top p and max new tokens


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_pretrained(make_tiny_checkpoint(tmp_path_factory.mktemp("add_clip")))


def test_an_added_clip_joins_the_next_question_and_the_chat_stays(loaded):
    handlers = Handlers(*loaded, FAST, transcriber=None)
    conv, *_ = handlers.new_clip(DOG, None)
    chat, _, conv, *_ = last(handlers.respond(DOG, "What is it?", [], conv, *GREEDY))
    same, picture, facts, status = handlers.new_clip(CAT, conv, True)
    assert same is conv and "Clip 2 added to this conversation" in status
    assert picture is not None and "mp3" in facts  # the added clip's picture and facts
    chat2, _, conv2, *_ = last(handlers.respond(CAT, "How does this one differ?", chat, conv, *GREEDY))
    session = conv2.session
    assert conv2 is conv and len(chat2) == 4 and chat2[:2] == chat  # the chat is kept
    assert len(session.clips) == 2 and len(session.exchanges) == 2
    dog_tokens, cat_tokens = (clip.num_tokens for clip in session.clips)
    assert sum(session.last_prompt.audio_mask) == dog_tokens + cat_tokens  # both clips' audio in the prompt
    reference = ChatSession(*loaded, DOG, GenerationSettings.greedy_settings(max_new_tokens=8), transcriber=None)
    reference.answer("What is it?")
    reference.add_clip(CAT)
    assert reference.answer("How does this one differ?") == session.exchanges[-1].answer
    assert reference.last_prompt.ids == session.last_prompt.ids


def test_without_the_control_a_new_clip_starts_a_new_conversation(loaded):
    handlers = Handlers(*loaded, FAST, transcriber=None)
    conv, *_ = handlers.new_clip(DOG, None)
    chat, _, conv, *_ = last(handlers.respond(DOG, "What is it?", [], conv, *GREEDY))
    fresh, _, _, status = handlers.new_clip(CAT, conv, False)
    assert fresh is not conv and "starts a new conversation" in status
    chat2, _, fresh, *_ = last(handlers.respond(CAT, "And this?", chat, fresh, *GREEDY))
    assert len(chat2) == 2 and len(fresh.session.clips) == 1 and len(fresh.session.exchanges) == 1


def test_emptying_the_player_keeps_the_conversation_and_a_second_add_replaces_the_first(loaded):
    handlers = Handlers(*loaded, FAST, transcriber=None)
    conv, *_ = handlers.new_clip(DOG, None)
    chat, _, conv, *_ = last(handlers.respond(DOG, "What is it?", [], conv, *GREEDY))
    kept, picture, _, status = handlers.new_clip(None, conv, True)  # the player's X, before the next clip
    assert kept is conv and picture is None and "keeps the clips" in status
    handlers.new_clip(CAT, conv, True)
    _, _, _, status = handlers.new_clip(SHEEP, conv, True)
    assert "replaces the clip added before" in status and "Clip 2" in status
    chat, _, conv, *_ = last(handlers.respond(SHEEP, "And now?", chat, conv, *GREEDY))
    assert len(chat) == 4 and len(conv.session.clips) == 2
    assert conv.session.clips[1] is handlers.clips.encoded(SHEEP).features  # the sheep went, not the cat
    fresh, _, _, status = Handlers(*loaded, FAST, transcriber=None).new_clip(DOG, None, True)
    assert fresh is not None and "no conversation to add the clip to" in status  # nothing to add to: a new one


def test_the_page_offers_the_control_and_sends_it_with_a_new_clip(loaded):
    demo = build_app(*loaded, FAST, transcriber=None)
    components = {c["id"]: c for c in demo.config["components"]}
    box = next(c for c in components.values() if c.get("props", {}).get("label") == ADD_CLIP_LABEL)
    audio = next(c for c in components.values() if c.get("props", {}).get("elem_id") == "audio")
    opening = [d for d in demo.config["dependencies"] if audio["id"] in d["inputs"] and box["id"] in d["inputs"]]
    assert len(opening) == 1  # the handler that opens (or adds) a new clip reads the checkbox
