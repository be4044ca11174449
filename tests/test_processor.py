"""Processor: prompt layout, audio positions, labels, padding."""

from __future__ import annotations

import pytest
import torch

from conftest import ASSETS, make_tokenizer, sine, tiny_config
from ltu.errors import AudioTokenCountError
from ltu.processor import IGNORE_INDEX, AudioFeatures, LTUProcessor, Segment
from ltu.prompt import ALPACA_SHORT, ALPACA_SHORT_INPUT, Turn


@pytest.fixture(scope="module")
def tokenizer():
    return make_tokenizer()


def processor(tokenizer, tiny_llm, encoder="cavmae", **prompt) -> LTUProcessor:
    return LTUProcessor(tiny_config(tiny_llm, encoder, **prompt), tokenizer)


def test_paper_layout_puts_audio_before_bos(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm)
    seg = proc.first_turn(Turn("What is this sound?"), 32)
    prompt = ALPACA_SHORT.format(instruction="What is this sound?")
    assert seg.audio_mask[:32] == [True] * 32 and not any(seg.audio_mask[32:])
    assert seg.ids[32:] == tokenizer(prompt)["input_ids"]  # BOS, then the template, as the paper tokenizes it
    assert seg.ids[32] == tokenizer.bos_token_id


def test_input_field_uses_the_input_template(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm)
    seg = proc.first_turn(Turn("What is said?", input="hello there"), 0)
    assert proc.tokenizer.decode(seg.ids, skip_special_tokens=True) == \
        ALPACA_SHORT_INPUT.format(instruction="What is said?", input="hello there")


def test_audio_inside_user_turn(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm, format="chat_template", audio_position="user")
    seg = proc.first_turn(Turn("What is this?"), 5)
    start = seg.audio_mask.index(True)
    assert seg.audio_mask[start:start + 5] == [True] * 5
    before = tokenizer.decode(seg.ids[:start])
    assert before.endswith("<|user|>\n") and seg.ids[0] == tokenizer.bos_token_id


@pytest.mark.parametrize("fmt", ["alpaca_short", "chat_template"])
def test_conversation_only_appends(tokenizer, tiny_llm, fmt):
    proc = processor(tokenizer, tiny_llm, format=fmt)
    t1, t2 = Turn("What is this sound?"), Turn("Is it loud?")
    answer = tokenizer("A dog barks.", add_special_tokens=False)["input_ids"]
    one = proc.conversation([t1], [], 4)
    two = proc.conversation([t1, t2], [answer], 4)
    assert two.ids[: len(one)] == one.ids
    assert two.ids[len(one): len(one) + len(answer) + 1] == answer + [proc.eos_id]


def test_chat_template_conversation_renders_like_the_template(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm, format="chat_template")
    answer = tokenizer("A dog barks.", add_special_tokens=False)["input_ids"]
    seg = proc.conversation([Turn("What is this sound?"), Turn("Is it loud?")], [answer], 0)
    messages = [{"role": "user", "content": "What is this sound?"}, {"role": "assistant", "content": "A dog barks."},
                {"role": "user", "content": "Is it loud?"}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert tokenizer.decode(seg.ids) == "<s>" + rendered


def test_training_labels(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm)
    seg = proc.training_example(Turn("What is this sound?"), "A dog barks.", 32)
    assert seg.labels[:33] == [IGNORE_INDEX] * 33  # audio, and BOS (predicted from audio only)
    assert seg.labels[33:] == seg.ids[33:] and seg.ids[-1] == proc.eos_id
    masked = proc.training_example(Turn("What is this sound?"), "A dog barks.", 32, train_on_inputs=False)
    n_answer = len(tokenizer("A dog barks.", add_special_tokens=False)["input_ids"]) + 1
    assert [x for x in masked.labels if x != IGNORE_INDEX] == masked.ids[-n_answer:]


def test_training_example_cut_at_max_text_tokens(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm)
    seg = proc.training_example(Turn("What is this sound?"), "word " * 200, 32, max_text_tokens=108)
    assert len(seg) == 32 + 108 and seg.ids[-1] != proc.eos_id  # paper: no EOS when the cut falls inside


def test_collate_pads_left_and_right(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm)
    a = proc.training_example(Turn("What?"), "Yes.", 2)
    b = proc.training_example(Turn("What is this sound exactly?"), "A dog barks loudly.", 2)
    clip = AudioFeatures(torch.zeros(1, 3), [2])
    right = proc.collate([a, b], [clip, clip])
    left = proc.collate([a, b], [clip, clip], padding_side="left")
    n = len(b) - len(a)
    assert right.input_ids[0, len(a):].eq(proc.pad_id).all() and right.attention_mask[0, len(a):].eq(0).all()
    assert left.attention_mask[0, :n].eq(0).all() and left.input_ids[0, n:].tolist() == a.ids
    assert right.labels[0, len(a):].eq(IGNORE_INDEX).all()
    assert right.features.shape[0] == 2 and right.window_tokens.tolist() == [2, 2]


def test_collate_rejects_audio_count_mismatch(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm)
    seg = proc.first_turn(Turn("What?"), 3)
    clip = AudioFeatures(torch.zeros(1, 3), [4])
    with pytest.raises(AudioTokenCountError):  # the model raises the same type when it sees a mismatch
        proc.collate([seg], [clip])


def test_cavmae_long_audio_becomes_several_windows(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm)
    clip = proc.audio_features((16_000, sine(25.0)))
    assert clip.features.shape == (3, 1024, 128) and clip.window_tokens == [32, 32, 32]


def test_cavmae_truncates_past_max_seconds(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm)
    clip = proc.audio_features((16_000, sine(75.0)))
    assert clip.audio.info.truncated and clip.features.shape[0] == 6  # 60 s = 6 windows of 10.24 s
    assert "60" in clip.audio.info.describe()


def test_whisper_tokens_cover_real_audio_only(tokenizer, tiny_llm):
    proc = processor(tokenizer, tiny_llm, encoder="whisper")
    short = proc.audio_features(ASSETS / "cat.mp3")  # ~3.05 s
    assert short.features.shape[0] == 1 and short.num_tokens == pytest.approx(3.05 * 50 / 16, abs=1.5)
    long = proc.audio_features((16_000, sine(65.0)))  # 30 + 30 + 5 s
    assert long.window_tokens[:2] == [94, 94] and 14 <= long.window_tokens[2] <= 17


def test_segment_addition_keeps_labels_only_when_both_have_them():
    a = Segment([1], [False], [1])
    b = Segment([2], [False])
    assert (a + b).labels is None and (a + a).labels == [1, 1]


class FakeTranscriber:
    """Stands in for Whisper: 'hears' speech in clips longer than two seconds."""

    def heard(self, samples):
        return "press one for sales" if len(samples) > 2 * 16_000 else ""


def test_transcript_fills_the_first_turn_input_only(tokenizer, tiny_llm):
    from ltu.chat import ChatSession
    from ltu.checkpoint import build_model

    model, proc = build_model(tiny_config(tiny_llm))
    session = ChatSession(model, proc, ASSETS / "cat.mp3", transcriber=FakeTranscriber())  # 3.05 s: "speech"
    assert session.clip.transcript == "press one for sales"
    assert ChatSession(model, proc, ASSETS / "sheep.mp3", transcriber=FakeTranscriber()).clip.transcript == ""
    assert ChatSession(model, proc, ASSETS / "cat.mp3", transcriber=None).clip.transcript == ""
    assert proc.audio_features(ASSETS / "cat.mp3").transcript == ""  # the processor never transcribes
    text = tokenizer.decode(session.prompt_segment(Turn("What is said?")).ids, skip_special_tokens=True)
    assert text.endswith(ALPACA_SHORT_INPUT.format(instruction="What is said?", input="press one for sales"))
