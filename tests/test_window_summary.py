"""The window summary (ltu/summary.py): each audio token gets its window's projected mean and spread."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import soundfile
import torch

from conftest import randomize_lora, sine, tiny_config
from ltu.chat import ChatSession
from ltu.checkpoint import build_model, load_pretrained, save_pretrained
from ltu.errors import CheckpointError
from ltu.generation import GenerationSettings
from ltu.info import describe_checkpoint
from ltu.prompt import Turn
from ltu.summary import window_statistics

SECONDS = 12.0  # two windows of LTU-small's 10 s, so the summary differs between a clip's tokens
WINDOW_FRAMES = 1000  # 10 s, as LTU-small reads


def summary_config(tiny_llm, on: bool = True):
    config = tiny_config(tiny_llm, encoder="whisper")
    whisper = {**config.encoder.whisper, "max_source_positions": WINDOW_FRAMES // 2}  # Whisper halves the frame rate
    return replace(config, frontend=replace(config.frontend, window_frames=WINDOW_FRAMES),
                   encoder=replace(config.encoder, whisper=whisper, window_summary=on))


def randomize_summary(model, seed: int = 2) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.audio_summary.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.1)


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("summary") / "two_windows.wav"
    tone = sine(SECONDS, 300.0)
    tone[len(tone) // 2:] *= 0.1  # the second window is quieter: different statistics
    soundfile.write(path, tone, 16_000)
    return path


@pytest.fixture(scope="module")
def summary_model(tiny_llm):
    torch.manual_seed(0)
    model, processor = build_model(summary_config(tiny_llm), trainable=False)
    randomize_lora(model)
    randomize_summary(model)
    return model.eval(), processor


def scored(model, processor, clip):
    seg = processor.training_example(Turn("What is this sound?"), "A tone.", clip.num_tokens)
    with torch.no_grad():
        return model(**processor.collate([seg], [clip]).as_kwargs()).logits


def test_statistics_are_each_windows_mean_and_spread():
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randn(9, 5, generator=gen)
    counts = torch.tensor([4, 0, 5])
    stats = window_statistics(tokens, counts)
    assert stats.shape == (3, 10)
    for window, part in zip([0, 2], [tokens[:4], tokens[4:]]):
        expected = torch.cat([part.mean(0), part.std(0, unbiased=False)])
        assert torch.allclose(stats[window], expected, atol=1e-3)
    assert torch.allclose(stats[1], torch.cat([torch.zeros(5), torch.full((5,), 1e-3)]))  # empty window: no NaN
    with pytest.raises(ValueError, match="sum to"):
        window_statistics(tokens, torch.tensor([4, 4]))


def test_a_new_summary_starts_as_the_model_without_one(tiny_llm, wav):
    """Its output layer starts at zero: switching the option on changes nothing until it is trained."""
    torch.manual_seed(0)
    plain, processor = build_model(summary_config(tiny_llm, on=False), trainable=False)
    torch.manual_seed(0)
    summed, _ = build_model(summary_config(tiny_llm), trainable=False)
    assert plain.audio_summary is None and summed.audio_summary is not None
    clip = processor.audio_features(wav)
    assert torch.equal(scored(plain.eval(), processor, clip), scored(summed.eval(), processor, clip))


def test_each_token_gets_its_own_windows_summary(summary_model, wav):
    model, processor = summary_model
    clip = processor.audio_features(wav)
    assert len(clip.window_tokens) == 2
    tokens = torch.tensor(clip.window_tokens)
    with torch.no_grad():
        encoded = model.encode_audio(clip.features, tokens)
        added = model.audio_embeddings(clip.features, tokens) - model.audio_proj(encoded)  # (N, H)
    first, second = added.split(clip.window_tokens)
    assert torch.allclose(first, first[:1].expand_as(first), atol=1e-6)  # one value per window ...
    assert torch.allclose(second, second[:1].expand_as(second), atol=1e-6)
    assert not torch.allclose(first[0], second[0], atol=1e-3)  # ... that differs between windows
    with pytest.raises(ValueError, match="window_tokens"):
        model.project_audio(encoded, None)


def test_cached_encoder_tokens_give_the_same_logits(summary_model, wav):
    """Training reads the frozen encoder's tokens from a cache; the collated batch carries their windows."""
    model, processor = summary_model
    clip = processor.audio_features(wav)
    with torch.no_grad():
        encoded = model.encode_audio(clip.features, torch.tensor(clip.window_tokens))
    cached = replace(clip, features=None, encoded=encoded)
    assert torch.allclose(scored(model, processor, clip), scored(model, processor, cached), atol=1e-5)


def test_save_load_keeps_the_summary_and_a_plain_config_refuses_it(summary_model, wav, tmp_path, tiny_llm):
    model, processor = summary_model
    folder = save_pretrained(model, tmp_path / "with-summary")
    loaded, loaded_proc = load_pretrained(folder)
    clip = processor.audio_features(wav)
    assert torch.allclose(scored(model, processor, clip), scored(loaded, loaded_proc, clip), atol=1e-5)
    info = describe_checkpoint(folder)
    assert info["params_window_summary"] == sum(p.numel() for p in model.audio_summary.parameters()) > 0

    summary_config(tiny_llm, on=False).save(folder / "ltu_config.json")
    with pytest.raises(CheckpointError, match="window_summary"):
        load_pretrained(folder)


def assert_follow_up_matches_a_from_scratch_answer(model, processor, wav, tokens: int = 8) -> None:
    greedy = GenerationSettings.greedy_settings(max_new_tokens=tokens)
    session = ChatSession(model, processor, audio=wav)
    "".join(session.ask("What is this sound?", settings=greedy))
    answer = "".join(session.ask("Is it loud?", settings=greedy))
    inputs = processor.collate([session.last_prompt], [session.clip], padding_side="left")
    ids = model.generate(inputs, greedy, [processor.eos_id], processor.pad_id)[0].tolist()
    ids = ids[: ids.index(processor.eos_id)] if processor.eos_id in ids else ids
    assert answer == processor.decode(ids)


def test_chat_follow_up_matches_a_from_scratch_answer(summary_model, wav):
    assert_follow_up_matches_a_from_scratch_answer(*summary_model, wav)


def test_trainable_projector_group_includes_the_summary(tiny_llm):
    from train.recipe import declare_trainable

    torch.manual_seed(0)
    model, _ = build_model(summary_config(tiny_llm), trainable=True)
    counts = declare_trainable(model, ("projector",))
    assert all(p.requires_grad for p in model.audio_summary.parameters())
    assert counts["projector"] == sum(p.numel() for p in model.audio_proj.parameters()) + \
        sum(p.numel() for p in model.audio_summary.parameters())


def test_the_option_leaves_the_feature_cache_folder_alone(tiny_llm, tmp_path):
    """The summary acts on cached tokens, so switching it on must not re-encode a cache."""
    from ltu.runtime import Runtime
    from train.data import FeatureCache

    folders = []
    for on in (False, True):
        torch.manual_seed(0)
        model, processor = build_model(summary_config(tiny_llm, on), Runtime(device="cpu", dtype="float32"),
                                       trainable=True)
        folders.append(FeatureCache(tmp_path, model, processor, frozen_encoder=True).folder)
    assert folders[0] == folders[1]


def test_a_summary_layer_reads_that_hidden_state_and_the_projector_keeps_its_own(tiny_llm, wav, tmp_path):
    """With ``summary_layer`` the summary reads another Whisper hidden state (carried as extra channels of the
    encoder tokens); the projector's tokens, the token count and the follow-up cache stay as they were."""
    from ltu.runtime import Runtime
    from train.data import FeatureCache

    base = summary_config(tiny_llm)
    layered = replace(base, encoder=replace(base.encoder, summary_layer=0))  # 0: the embedded input
    torch.manual_seed(0)
    plain, processor = build_model(base, trainable=False)
    torch.manual_seed(0)
    model, _ = build_model(layered, trainable=False)
    model.load_state_dict(plain.state_dict())
    randomize_summary(model)
    plain.audio_summary.load_state_dict(model.audio_summary.state_dict())
    model, plain = model.eval(), plain.eval()
    clip = processor.audio_features(wav)
    counts = torch.tensor(clip.window_tokens)
    with torch.no_grad():
        encoded = model.encode_audio(clip.features, counts)
        own = plain.encode_audio(clip.features, counts)
        width = model.encoder.width
        assert encoded.shape == (own.shape[0], 2 * width) and torch.equal(encoded[:, :width], own)
        perturbed = copy.deepcopy(model)
        for p in perturbed.encoder.encoder.layers[0].parameters():  # no layer feeds the input state
            p.add_(torch.randn_like(p))
        moved = perturbed.encode_audio(clip.features, counts)
        assert torch.equal(moved[:, width:], encoded[:, width:]) and not torch.equal(moved[:, :width], own)
        summed = model.project_audio(encoded, counts) - model.audio_proj(own)
        expected = plain.audio_summary(encoded[:, width:], counts)  # the same weights on the other channels
        assert torch.allclose(summed, expected, atol=1e-5)
        assert not torch.allclose(summed, plain.audio_summary(own, counts), atol=1e-3)
        with pytest.raises(ValueError, match="width"):
            model.project_audio(own, counts)  # tokens cached without the summary layer
    assert_follow_up_matches_a_from_scratch_answer(model, processor, wav, tokens=6)
    folders = [FeatureCache(tmp_path, m, processor, frozen_encoder=True).folder for m in (plain, model)]
    assert folders[0] != folders[1]  # the cached tokens differ, so does the folder
    folder = save_pretrained(model, tmp_path / "layered")
    loaded, _ = load_pretrained(folder)
    assert loaded.config.encoder.summary_layer == 0
    assert torch.allclose(scored(model, processor, clip), scored(loaded, processor, clip), atol=1e-5)


def test_a_summary_layer_needs_the_summary_and_a_whisper_state(tiny_llm):
    from ltu.errors import ConfigError

    base = summary_config(tiny_llm)
    layers = base.encoder.whisper["encoder_layers"]
    for bad in (replace(base.encoder, summary_layer=1, window_summary=False),
                replace(base.encoder, summary_layer=layers + 1), replace(base.encoder, summary_layer=-1)):
        with pytest.raises(ConfigError, match="summary_layer"):
            build_model(replace(base, encoder=bad), trainable=False)
    build_model(replace(base, encoder=replace(base.encoder, summary_layer=layers)), trainable=False)  # the output
