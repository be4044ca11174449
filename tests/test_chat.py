"""Multi-turn engine: cache reuse must give exactly what a from-scratch run gives."""

from __future__ import annotations

import pytest
import torch

from conftest import ASSETS, randomize_lora, tiny_config
from ltu.chat import ChatSession
from ltu.checkpoint import build_model
from ltu.errors import LTUError
from ltu.generation import GenerationSettings
from ltu.prompt import Turn

GREEDY = GenerationSettings.greedy_settings(max_new_tokens=12)
QUESTIONS = ["What is this sound?", "Is it loud?", "Describe the scene and why it might happen."]


@pytest.fixture(scope="module", params=["alpaca_short", "chat_template"])
def model_and_processor(request, tiny_llm):
    torch.manual_seed(0)
    model, processor = build_model(tiny_config(tiny_llm, format=request.param), trainable=False)
    randomize_lora(model)
    model.eval()
    return model, processor


def from_scratch(model, processor, session: ChatSession, turn: Turn | None = None) -> list[int]:
    """Greedy answer computed over the whole conversation in one pass, no cache.

    ``turn``: a question to append to the session's history; None: the prompt the session
    used for its latest answer.
    """
    segment = session.prompt_segment(turn) if turn is not None else session.last_prompt
    inputs = processor.collate([segment], [session.clip], padding_side="left")
    out = model.generate(inputs, GREEDY, [processor.eos_id], processor.pad_id)
    ids = out[0].tolist()
    return ids[: ids.index(processor.eos_id) + 1] if processor.eos_id in ids else ids


class LayerCalls:
    """Counts encoder calls and the sequence length of every LLM forward."""

    def __init__(self, model) -> None:
        self.encoder_calls = 0
        self.llm_lengths: list[int] = []
        model.encoder.register_forward_hook(lambda *a: self._encoder())
        first_layer = model.llm.get_base_model().model.layers[0]
        first_layer.register_forward_hook(lambda mod, args, kwargs, out: self.llm_lengths.append(args[0].shape[1]),
                                          with_kwargs=True)

    def _encoder(self) -> None:
        self.encoder_calls += 1


def test_follow_ups_match_from_scratch_and_reuse_cache(model_and_processor):
    model, processor = model_and_processor
    calls = LayerCalls(model)
    session = ChatSession(model, processor, ASSETS / "dog.mp3", GREEDY)
    assert calls.encoder_calls == 1
    for i, question in enumerate(QUESTIONS):
        turn = Turn(question)
        expected = from_scratch(model, processor, session, turn)
        prompt_len = len(session.prompt_segment(turn))
        cached_before = session.cached_tokens
        calls.llm_lengths.clear()
        encoded_before = calls.encoder_calls
        answer = session.answer(question)
        assert calls.encoder_calls == encoded_before  # the clip is not encoded again
        assert session.exchanges[-1].answer_ids == expected
        assert answer == processor.decode(expected)
        # The first forward of this turn computed only the tokens not already cached.
        assert calls.llm_lengths[0] == prompt_len - cached_before
        if i > 0:
            assert cached_before > session.num_audio_tokens  # earlier turns were not prefilled again
    assert len(session.exchanges) == len(QUESTIONS)


def test_streaming_yields_pieces_that_join_to_the_answer(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GREEDY)
    pieces = list(session.ask("What is this sound?"))
    assert len(pieces) > 1
    assert "".join(pieces) == session.exchanges[-1].answer


def test_stopping_keeps_partial_answer_and_conversation_stays_exact(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GenerationSettings.greedy_settings(40))
    stream = session.ask("What is this sound?")
    next(stream)
    stream.close()  # the user pressed Stop
    partial = session.exchanges[-1]
    assert partial.stopped and 0 < len(partial.answer_ids) < 40
    turn = Turn("Is it loud?")
    expected = from_scratch(model, processor, session, turn)
    session.answer(turn.question, settings=GREEDY)
    assert session.exchanges[-1].answer_ids == expected


def test_retry_replaces_last_answer(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GREEDY)
    first = session.answer("What is this sound?")
    again = "".join(session.retry())
    assert again == first and len(session.exchanges) == 1
    sampled = "".join(session.retry(GenerationSettings(temperature=5.0, top_p=1.0, max_new_tokens=12, seed=3)))
    assert len(session.exchanges) == 1 and sampled == session.exchanges[0].answer


def test_beam_search_answers_and_conversation_continues(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GREEDY)
    beams = GenerationSettings(temperature=0.0, num_beams=3, max_new_tokens=8)
    beam_answer = session.answer("What is this sound?", settings=beams)
    assert session.exchanges[-1].answer_ids and isinstance(beam_answer, str)
    turn = Turn("Is it loud?")
    expected = from_scratch(model, processor, session, turn)
    session.answer(turn.question)
    assert session.exchanges[-1].answer_ids == expected


def test_context_overflow_drops_oldest_turns_and_keeps_audio(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GREEDY, max_context=110)
    for question in QUESTIONS:
        session.answer(question)
    assert session.notices and "oldest" in session.notices[0]
    assert len(session.exchanges) < len(QUESTIONS)
    assert sum(session.prompt_segment(Turn("x")).audio_mask) == session.num_audio_tokens
    session.answer("One more?")
    assert len(session.last_prompt) + GREEDY.max_new_tokens <= 110
    assert session.exchanges[-1].answer_ids == from_scratch(model, processor, session)


def test_text_only_session(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, None, GREEDY)
    assert session.num_audio_tokens == 0 and session.audio_embeds is None
    assert isinstance(session.answer("Hello?"), str)


def test_empty_question_and_retry_without_answer_are_user_errors(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, None, GREEDY)
    with pytest.raises(LTUError):
        session.ask("   ")
    with pytest.raises(LTUError):
        session.retry()


def test_failed_generation_drops_the_cache_and_the_next_answer_is_exact(model_and_processor, monkeypatch):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GREEDY)
    session.answer("What is this sound?")
    real = model.llm.generate

    def fail_midway(*args, **kwargs):
        kwargs["past_key_values"].crop(-3)  # leave the cache changed, as a crash mid-prefill would
        raise RuntimeError("out of memory")

    monkeypatch.setattr(model.llm, "generate", fail_midway)
    with pytest.raises(RuntimeError):
        session.answer("Is it loud?")
    monkeypatch.setattr(model.llm, "generate", real)
    assert session.cached_tokens == 0 and len(session.exchanges) == 1
    turn = Turn("Is it loud?")
    expected = from_scratch(model, processor, session, turn)
    session.answer(turn.question)
    assert session.exchanges[-1].answer_ids == expected


def test_add_exchange_makes_a_history_the_model_continues(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GREEDY)
    session.add_exchange("What is this sound?", "A cat meowing.")
    segment = session.prompt_segment(Turn("Is it loud?"))
    assert "A cat meowing." in processor.tokenizer.decode(segment.ids)
    turn = Turn("Is it loud?")
    expected = from_scratch(model, processor, session, turn)
    session.answer(turn.question)
    assert session.exchanges[-1].answer_ids == expected


def test_settings_are_keyword_only_and_never_taken_as_input_text(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GREEDY)
    short = GenerationSettings.greedy_settings(2)
    with pytest.raises(TypeError):
        session.answer("What is this sound?", short)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        session.answer("What is this sound?", "", short)  # type: ignore[misc]
    with pytest.raises(TypeError):
        session.retry("louder")  # type: ignore[arg-type]
    assert session.exchanges == []
    session.answer("What is this sound?", settings=short)
    assert len(session.exchanges[-1].answer_ids) <= 2


def test_a_session_from_an_encoded_clip_answers_like_the_original_without_encoding(model_and_processor):
    model, processor = model_and_processor
    first = ChatSession(model, processor, ASSETS / "cat.mp3", GREEDY)
    calls = LayerCalls(model)
    again = ChatSession.from_encoded(model, processor, first.clip, first.audio_embeds, GREEDY)
    assert again.answer(QUESTIONS[0]) == first.answer(QUESTIONS[0])
    assert calls.encoder_calls == 0 and again.num_audio_tokens == first.num_audio_tokens


def test_a_second_clip_mid_conversation_matches_from_scratch_and_keeps_the_cache(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "dog.mp3", GREEDY, transcriber=None)
    session.answer("What is this sound?")
    cached = session.cached_tokens
    session.add_clip(ASSETS / "sheep.mp3")
    second = session.answer("Now listen to this one: how does it differ?")
    prompt = session.last_prompt
    sheep = processor.audio_features(ASSETS / "sheep.mp3")
    assert sum(prompt.audio_mask) == session.num_audio_tokens + sheep.num_tokens  # both clips in context
    assert prompt.audio_mask.index(True) < len(session.exchanges[0].answer_ids)  # the first clip stays first
    assert [len(c.window_tokens) for c in session.clips] == [len(session.clip.window_tokens), len(sheep.window_tokens)]
    # From scratch: the whole prompt with both clips' features, no cache.
    both = processor.audio_features(ASSETS / "dog.mp3")
    both.features = torch.cat([both.features, sheep.features])
    both.window_tokens = both.window_tokens + sheep.window_tokens
    inputs = processor.collate([prompt], [both], padding_side="left")
    ids = model.generate(inputs, GREEDY, [processor.eos_id], processor.pad_id)[0].tolist()
    expected = ids[: ids.index(processor.eos_id) + 1] if processor.eos_id in ids else ids
    assert session.exchanges[-1].answer_ids == expected and second == processor.decode(expected)
    assert cached > session.num_audio_tokens  # the first turn's cache was kept for the second clip's turn
    third = session.answer("Which one was louder?")  # a later question still sees both clips
    assert sum(session.last_prompt.audio_mask) == session.num_audio_tokens + sheep.num_tokens and third is not None


def test_cache_bytes_grow_with_the_conversation(model_and_processor):
    model, processor = model_and_processor
    session = ChatSession(model, processor, ASSETS / "cat.mp3", GREEDY)
    assert session.cache_bytes == 0
    session.answer(QUESTIONS[0])
    first = session.cache_bytes
    session.answer(QUESTIONS[1])
    assert 0 < first < session.cache_bytes
