"""The class hint (ltu/class_hint.py) and its fitting (train.hint): a frozen tagger's guess added to audio tokens."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import soundfile
import torch

from conftest import randomize_lora, sine
from ltu.checkpoint import build_model, load_pretrained, save_pretrained
from ltu.class_hint import name_embeddings
from ltu.errors import CheckpointError, ConfigError
from ltu.info import describe_checkpoint
from ltu.summary import window_statistics
from test_window_summary import (assert_follow_up_matches_a_from_scratch_answer, scored, summary_config,  # noqa: F401
                                 wav)  # the two-window clip, a fixture

CLASSES = ("Speech", "Music", "Animal")


def hint_config(tiny_llm, classes=CLASSES, summary: bool = False):
    config = summary_config(tiny_llm, on=summary)
    return replace(config, encoder=replace(config.encoder, class_hint=tuple(classes)))


def randomize_hint(model, seed: int = 3) -> None:
    """A head that separates windows, and word rows as the fit would write them."""
    gen = torch.Generator().manual_seed(seed)
    hint = model.audio_hint
    with torch.no_grad():
        hint.head.weight.copy_(torch.randn(hint.head.weight.shape, generator=gen) * 0.3)
        hint.head.bias.zero_()
        hint.std.copy_(torch.rand(hint.std.shape, generator=gen) + 0.5)


@pytest.fixture(scope="module")
def hint_model(tiny_llm):
    torch.manual_seed(0)
    model, processor = build_model(hint_config(tiny_llm), trainable=False)
    randomize_lora(model)
    randomize_hint(model)
    with torch.no_grad():
        model.audio_hint.names.copy_(name_embeddings(model.llm, processor.tokenizer, CLASSES))
    return model.eval(), processor


def test_each_token_gets_its_windows_mix_of_name_embeddings(hint_model, wav):
    model, processor = hint_model
    clip = processor.audio_features(wav)
    counts = torch.tensor(clip.window_tokens)
    with torch.no_grad():
        encoded = model.encode_audio(clip.features, counts)
        plain = model.audio_proj(encoded)
        added = model.audio_embeddings(clip.features, counts) - plain
        probs = model.audio_hint.probabilities(encoded, counts)
    assert probs.shape == (2, len(CLASSES)) and torch.allclose(probs.sum(-1), torch.ones(2))
    assert not torch.allclose(probs[0], probs[1], atol=1e-2)  # the two windows are told apart ...
    assert float(probs.max()) < 0.999  # ... by a mix, not one saturated class
    mix = probs @ model.audio_hint.names
    direction = mix / mix.norm(dim=-1, keepdim=True)
    start = 0
    for window, count in enumerate(clip.window_tokens):
        tokens = plain[start:start + count]
        expected = model.audio_hint.gate * tokens.norm(dim=-1, keepdim=True) * direction[window]
        assert torch.allclose(added[start:start + count], expected, atol=1e-4)  # at each token's own length
        start += count
    lengths = added.norm(dim=-1) / plain.norm(dim=-1)
    assert torch.allclose(lengths, torch.full_like(lengths, float(model.audio_hint.gate)), atol=1e-4)
    # by hand: standardised statistics -> head -> softmax
    stats = window_statistics(encoded, counts)
    by_hand = model.audio_hint.head((stats - model.audio_hint.mean) / model.audio_hint.std).softmax(-1)
    assert torch.allclose(probs, by_hand, atol=1e-6)


def test_name_rows_are_the_llms_embeddings_of_the_words(hint_model):
    model, processor = hint_model
    table = model.llm.get_input_embeddings().weight
    ids = processor.tokenizer(" Music", add_special_tokens=False).input_ids
    assert torch.allclose(model.audio_hint.names[1], table[ids].mean(0), atol=1e-6)
    assert not torch.allclose(model.audio_hint.names[0], model.audio_hint.names[1])


def test_save_load_keeps_the_hint_and_configs_must_agree(hint_model, wav, tmp_path, tiny_llm):
    model, processor = hint_model
    folder = save_pretrained(model, tmp_path / "with-hint")
    loaded, loaded_proc = load_pretrained(folder)
    clip = processor.audio_features(wav)
    assert torch.allclose(scored(model, processor, clip), scored(loaded, loaded_proc, clip), atol=1e-5)
    for key, value in model.audio_hint.state_dict().items():
        assert torch.equal(value, loaded.audio_hint.state_dict()[key]), key
    info = describe_checkpoint(folder)
    assert info["params_class_hint"] > 0 and info["params_window_summary"] == 0

    summary_config(tiny_llm, on=False).save(folder / "ltu_config.json")
    with pytest.raises(CheckpointError, match="class_hint"):
        load_pretrained(folder)
    plain = save_pretrained(build_model(summary_config(tiny_llm, on=False), trainable=False)[0], tmp_path / "plain")
    hint_config(tiny_llm).save(plain / "ltu_config.json")
    with pytest.raises(CheckpointError, match="class hint"):  # the hint's weights are missing
        load_pretrained(plain)


def test_chat_follow_up_matches_a_from_scratch_answer(hint_model, wav):
    assert_follow_up_matches_a_from_scratch_answer(*hint_model, wav)


def test_hint_and_summary_add_up(tiny_llm, wav):
    torch.manual_seed(0)
    model, processor = build_model(hint_config(tiny_llm, summary=True), trainable=False)
    randomize_hint(model)
    with torch.no_grad():
        model.audio_summary.proj.weight.normal_(0, 0.1)
        model.audio_hint.names.normal_(0, 1)
    clip = processor.audio_features(wav)
    counts = torch.tensor(clip.window_tokens)
    with torch.no_grad():
        encoded = model.encode_audio(clip.features, counts)
        total = model.project_audio(encoded, counts)
        parts = model.audio_hint(model.audio_proj(encoded) + model.audio_summary(encoded, counts), encoded, counts)
    assert torch.allclose(total, parts, atol=1e-5)


def test_training_moves_the_gate_but_never_the_classifier(tiny_llm):
    from train.recipe import declare_trainable

    torch.manual_seed(0)
    model, _ = build_model(hint_config(tiny_llm), trainable=True)
    counts = declare_trainable(model, ("projector",))
    hint = model.audio_hint
    assert hint.gate.requires_grad and not hint.head.weight.requires_grad and not hint.head.bias.requires_grad
    assert counts["projector"] == sum(p.numel() for p in model.audio_proj.parameters()) + 1


def test_hint_only_windows_reach_the_llm_as_the_hint_alone_in_training_only(tiny_llm, wav):
    from train.recipe import _set_hint_only

    torch.manual_seed(0)
    model, processor = build_model(hint_config(tiny_llm), trainable=True)
    randomize_hint(model)
    with torch.no_grad():
        model.audio_hint.names.copy_(name_embeddings(model.llm, processor.tokenizer, CLASSES))
    clip = processor.audio_features(wav)
    counts = torch.tensor(clip.window_tokens)
    with torch.no_grad():
        encoded = model.encode_audio(clip.features, counts)
        plain = model.audio_proj(encoded)
        model.eval()
        full = model.project_audio(encoded, counts)
        _set_hint_only(model, 0.999)
        assert torch.equal(model.project_audio(encoded, counts), full)  # evaluation mode drops nothing
        model.train()
        alone = model.project_audio(encoded, counts)
        assert torch.allclose(alone, full - plain, atol=1e-5)  # the tokens are gone, the hint keeps its length
        _set_hint_only(model, 0.0)
        assert torch.allclose(model.project_audio(encoded, counts), full, atol=1e-6)
        _set_hint_only(model, 0.5)
        torch.manual_seed(1)
        dropped = [bool(torch.allclose(model.project_audio(encoded, counts), full - plain, atol=1e-5))
                   for _ in range(40)]
    assert 5 < sum(dropped) < 35  # windows are drawn at random (two windows: both dropped a quarter of the time)
    with pytest.raises(ConfigError, match="below 1"):
        _set_hint_only(model, 1.0)
    plain_model, _ = build_model(summary_config(tiny_llm, on=False), trainable=True)
    with pytest.raises(ConfigError, match="no class hint"):
        _set_hint_only(plain_model, 0.25)
    _set_hint_only(plain_model, 0.0)  # nothing to do


def test_the_option_leaves_the_feature_cache_folder_alone(tiny_llm, tmp_path):
    from train.data import FeatureCache

    folders = []
    for config in (summary_config(tiny_llm, on=False), hint_config(tiny_llm)):
        torch.manual_seed(0)
        model, processor = build_model(config, trainable=True)
        folders.append(FeatureCache(tmp_path, model, processor, frozen_encoder=True).folder)
    assert folders[0] == folders[1]


def test_fit_separates_classes_and_the_file_round_trips(tiny_llm, tmp_path):
    from train.hint import accuracy, fit_hint, load_hint, save_hint

    torch.manual_seed(0)
    model, processor = build_model(hint_config(tiny_llm), trainable=True)
    width = model.audio_hint.mean.shape[0]
    gen = torch.Generator().manual_seed(1)
    centres = torch.randn(len(CLASSES), width, generator=gen) * 2 + 5  # far from zero: standardising matters
    labels = [CLASSES[i % len(CLASSES)] for i in range(90)]
    x = torch.stack([centres[CLASSES.index(c)] for c in labels]) + torch.randn(90, width, generator=gen)
    fit_hint(model, processor.tokenizer, x, labels)
    score = accuracy(model, x, list(range(90)), labels)
    assert score["accuracy"] == 1.0 and score["per_class"]["Music"] == [30, 30]
    assert torch.allclose(model.audio_hint.mean, x.mean(0))
    assert torch.allclose(model.audio_hint.names, name_embeddings(model.llm, processor.tokenizer, CLASSES))
    # a clip of several windows is judged by their mean probability
    two = accuracy(model, x[:2], [0, 0], ["Speech"])
    assert two["clips"] == 1

    path = tmp_path / "hint.safetensors"
    save_hint(model, path)
    fresh, _ = build_model(hint_config(tiny_llm), trainable=True)
    assert not torch.equal(fresh.audio_hint.head.weight, model.audio_hint.head.weight)
    load_hint(fresh, path)
    for key, value in model.audio_hint.state_dict().items():
        assert torch.equal(value, fresh.audio_hint.state_dict()[key]), key
    other, _ = build_model(hint_config(tiny_llm, classes=("Speech", "Noise")), trainable=True)
    with pytest.raises(ConfigError, match="fitted for the classes"):
        load_hint(other, path)
    with pytest.raises(ConfigError, match="train.hint"):
        load_hint(fresh, tmp_path / "missing.safetensors")


def test_a_new_model_with_a_hint_needs_its_fitted_file(tiny_llm, tmp_path):
    from train.recipe import _start_class_hint

    model, _ = build_model(hint_config(tiny_llm), trainable=True)
    with pytest.raises(ConfigError, match="python -m train.hint"):
        _start_class_hint(model, None)
    plain, _ = build_model(summary_config(tiny_llm, on=False), trainable=True)
    with pytest.raises(ConfigError, match="names no classes"):
        _start_class_hint(plain, str(tmp_path / "x.safetensors"))
    _start_class_hint(plain, None)  # nothing to do


def test_hint_command_fits_on_cached_clips_and_scores_held_out_splits(tiny_llm, tmp_path):
    """The command end to end on a small data folder: labels from metadata.json, clips through the cache."""
    from train.hint import run

    data = tmp_path / "data"
    (data / "audio").mkdir(parents=True)
    clips, rows = {}, {"train": [], "heldout": [], "heldout_sources": []}
    for i in range(18):
        split = ["train", "train", "heldout", "heldout_sources"][i % 4] if i >= 6 else "train"
        label = CLASSES[i % 3]
        frequency = {"Speech": 200.0, "Music": 900.0, "Animal": 3000.0}[label]
        name = f"audio/{split}-{i:03d}.wav"
        soundfile.write(data / name, sine(2.0 + i % 3, frequency + i), 16_000)
        clips[name] = {"split": split, "labels": {"category": label}}
        rows[split].append({"audio_id": name, "instruction": "What is it?", "input": "", "output": label})
    (data / "metadata.json").write_text(json.dumps({"clips": clips}))
    for split, name in (("train", "train.json"), ("heldout", "heldout.json"), ("heldout_sources", "heldout_sources.json")):
        (data / name).write_text(json.dumps(rows[split]))
    config = tmp_path / "model.json"
    hint_config(tiny_llm).save(config)
    out = tmp_path / "hint.safetensors"
    scores = run(config, data, data / "train.json", out, tmp_path / "cache")
    assert out.is_file() and json.loads(out.with_name(out.name + ".json").read_text()) == scores
    assert scores["train"]["clips"] == len(rows["train"]) and scores["train"]["accuracy"] >= 0.9
    assert scores["heldout"]["clips"] == len(rows["heldout"]) and scores["heldout_sources"]["clips"] == len(
        rows["heldout_sources"])
