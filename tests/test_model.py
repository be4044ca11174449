"""Model composition: loss over text only, batching and padding invariance."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import ASSETS, randomize_lora, tiny_config
from ltu.checkpoint import build_model
from ltu.errors import AudioTokenCountError
from ltu.generation import GenerationSettings
from ltu.processor import IGNORE_INDEX
from ltu.prompt import Turn


@pytest.fixture(scope="module")
def built(tiny_llm):
    torch.manual_seed(0)
    model, processor = build_model(tiny_config(tiny_llm), trainable=False)
    randomize_lora(model)
    return model.eval(), processor


def batch(processor, items, side="right"):
    clips = [processor.audio_features(ASSETS / name) for name, _, _ in items]
    segs = [processor.training_example(Turn(q), a, c.num_tokens) for (_, q, a), c in zip(items, clips)]
    return processor.collate(segs, clips, padding_side=side), segs


ITEMS = [("dog.mp3", "What is this sound?", "A dog barks."), ("cat.mp3", "Describe it.", "A cat meows twice, softly.")]


def test_loss_is_cross_entropy_over_text_labels(built):
    model, processor = built
    inputs, _ = batch(processor, ITEMS)
    with torch.no_grad():
        out = model(**inputs.as_kwargs())
    logits = out.logits[:, :-1].reshape(-1, out.logits.shape[-1])
    labels = inputs.labels[:, 1:].reshape(-1)
    assert torch.allclose(out.loss, F.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX), atol=1e-6)
    scored = (inputs.labels[:, 1:] != IGNORE_INDEX) & inputs.audio_mask[:, 1:]
    assert not scored.any()  # no audio position is ever a target


def test_text_logits_drop_audio_positions(built):
    model, processor = built
    inputs, segs = batch(processor, ITEMS)
    with torch.no_grad():
        out = model(**inputs.as_kwargs())
    text = out.text_logits()
    assert text.shape[1] == inputs.input_ids.shape[1] - 32
    assert torch.equal(text[0, 0], out.logits[0, 32])


def test_left_padding_does_not_change_logits(built):
    model, processor = built
    right, segs = batch(processor, ITEMS)
    left, _ = batch(processor, ITEMS, side="left")
    with torch.no_grad():
        r = model(**right.as_kwargs()).logits
        l = model(**left.as_kwargs()).logits
    n = len(segs[0])
    pad = left.input_ids.shape[1] - n
    assert torch.allclose(r[0, :n], l[0, pad:], atol=1e-5)


def test_batched_generation_equals_one_at_a_time(built):
    model, processor = built
    settings = GenerationSettings.greedy_settings(8)
    clips = [processor.audio_features(ASSETS / n) for n in ("dog.mp3", "cat.mp3")]
    prompts = [processor.first_turn(Turn(q), c.num_tokens) for q, c in zip(["What is it?", "Describe the sound."], clips)]
    together = model.generate(processor.collate(prompts, clips, "left"), settings, [processor.eos_id], processor.pad_id)
    for i, (p, c) in enumerate(zip(prompts, clips)):
        alone = model.generate(processor.collate([p], [c], "left"), settings, [processor.eos_id], processor.pad_id)
        n = alone.shape[1]
        assert together[i, :n].tolist() == alone[0].tolist()


def test_audio_count_mismatch_fails_loudly(built):
    model, processor = built
    inputs, _ = batch(processor, ITEMS[:1])
    inputs.audio_mask[0, 0] = False
    with pytest.raises(AudioTokenCountError, match="audio positions"):
        model(**inputs.as_kwargs())


def test_audio_changes_the_answer_distribution(built):
    model, processor = built
    a, _ = batch(processor, [("dog.mp3", "What?", "x")])
    b, _ = batch(processor, [("cat.mp3", "What?", "x")])
    with torch.no_grad():
        la, lb = model(**a.as_kwargs()).text_logits(), model(**b.as_kwargs()).text_logits()
    assert not torch.allclose(la, lb, atol=1e-4)
