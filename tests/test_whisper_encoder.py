"""Whisper audio encoder: shapes, time pooling, token counts, loading weights from a saved Whisper model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import LlamaConfig, WhisperConfig, WhisperForConditionalGeneration

from ltu.config import EncoderConfig, whisper_frontend
from ltu.encoders import WhisperAudioEncoder, build_encoder, tokens_for_window, whisper_architecture
from ltu.encoders.whisper import pool_frames
from ltu.errors import CheckpointError, ConfigError

TINY_WHISPER = dict(
    d_model=64,
    encoder_layers=2,
    encoder_attention_heads=4,
    encoder_ffn_dim=128,
    num_mel_bins=80,
    max_source_positions=1500,
)
FRONTEND = whisper_frontend(80)
ENCODER = EncoderConfig(kind="whisper", whisper=TINY_WHISPER)


def save_tiny_whisper(folder: Path, seed: int = 0, **overrides) -> WhisperForConditionalGeneration:
    """A tiny random WhisperForConditionalGeneration saved with save_pretrained."""
    config = WhisperConfig(
        **{**TINY_WHISPER, **overrides},
        vocab_size=100,
        decoder_layers=1,
        decoder_attention_heads=4,
        decoder_ffn_dim=128,
        max_target_positions=32,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    model.save_pretrained(folder)
    return model


@pytest.fixture(scope="module")
def saved_whisper(tmp_path_factory) -> tuple[Path, WhisperForConditionalGeneration]:
    folder = tmp_path_factory.mktemp("tiny_whisper")
    return folder, save_tiny_whisper(folder)


def test_output_shape_and_attributes() -> None:
    enc = build_encoder(ENCODER, FRONTEND).eval()
    assert isinstance(enc, WhisperAudioEncoder)
    assert (enc.tokens_per_window, enc.width) == (94, 64)
    with torch.no_grad():
        out = enc(torch.randn(2, 80, 3000))
    assert out.shape == (2, 94, 64)


def test_pooling_averages_a_partial_last_group() -> None:
    frames = torch.arange(1500, dtype=torch.float32).reshape(1, 1500, 1).repeat(2, 1, 3)  # (2, 1500, 3)
    pooled = pool_frames(frames, 16)
    assert pooled.shape == (2, 94, 3)
    assert pooled[0, 0, 0].item() == pytest.approx(7.5)  # frames 0..15
    assert pooled[1, 92, 2].item() == pytest.approx(92 * 16 + 7.5)
    assert pooled[0, 93, 0].item() == pytest.approx(sum(range(1488, 1500)) / 12)  # 12 real frames, no zeros counted
    small = pool_frames(torch.tensor([[[1.0], [3.0], [5.0], [6.0], [10.0]]]), 2)
    torch.testing.assert_close(small, torch.tensor([[[2.0], [5.5], [10.0]]]))


def test_forward_pools_the_encoder_frames() -> None:
    enc = build_encoder(ENCODER, FRONTEND).eval()
    features = torch.randn(1, 80, 3000)
    with torch.no_grad():
        frames = enc.encoder_frames(features)
        tokens = enc(features)
    assert frames.shape == (1, 1500, 64)
    torch.testing.assert_close(tokens[:, :93], frames[:, :1488].reshape(1, 93, 16, 64).mean(2))
    torch.testing.assert_close(tokens[:, 93], frames[:, 1488:].mean(1))


def test_hidden_layer_hands_on_that_layers_output() -> None:
    torch.manual_seed(0)
    full = build_encoder(ENCODER, FRONTEND).eval()
    first = build_encoder(replace(ENCODER, hidden_layer=1), FRONTEND).eval()
    first.load_state_dict(full.state_dict())
    features = torch.randn(1, 80, 3000)
    with torch.no_grad():
        before = first(features)
        assert before.shape == (1, 94, 64)
        assert not torch.allclose(before, full(features))
        for p in first.encoder.layers[1].parameters():  # the layer after the chosen one must not matter
            p.add_(torch.randn_like(p))
        torch.testing.assert_close(first(features), before)
        for p in first.encoder.layers[0].parameters():  # the chosen layer must
            p.add_(torch.randn_like(p))
        assert not torch.allclose(first(features), before)


def test_hidden_layer_must_be_an_inner_whisper_layer() -> None:
    for layer in (0, 2, -1):
        with pytest.raises(ConfigError, match="hidden_layer"):
            WhisperAudioEncoder(replace(ENCODER, hidden_layer=layer), FRONTEND)
    with pytest.raises(ConfigError, match="hidden_layer"):
        build_encoder(EncoderConfig(embed_dim=64, depth=2, num_heads=4, hidden_layer=1), FRONTEND)


@pytest.mark.parametrize(
    ("samples", "tokens"),
    [
        (16_000, 4),  # 1 s: 100 mel frames -> 50 encoder frames -> ceil(50/16) = 4
        (0, 1),
        (1, 1),
        (160 * 32, 1),  # 32 mel frames -> 16 encoder frames: exactly one token
        (160 * 32 + 1, 2),  # one sample more: 33 mel -> 17 encoder frames -> 2 tokens
        (160_000, 32),  # 10 s: 1000 -> 500 -> ceil(31.25) = 32
        (480_000, 94),  # 30 s: the whole window
        (10 * 480_000, 94),  # never more than a window
    ],
)
def test_tokens_for_samples(samples: int, tokens: int) -> None:
    assert tokens_for_window(ENCODER, FRONTEND, samples) == tokens
    assert WhisperAudioEncoder.tokens_for_window(ENCODER, FRONTEND, samples) == tokens


def test_load_pretrained_weights_reproduces_the_whisper_encoder(saved_whisper) -> None:
    folder, reference = saved_whisper
    arch = whisper_architecture(str(folder))
    assert {k: arch[k] for k in TINY_WHISPER} == TINY_WHISPER
    enc = WhisperAudioEncoder(EncoderConfig(kind="whisper", whisper=arch), FRONTEND).eval()
    enc.load_pretrained_weights(str(folder))
    features = torch.randn(2, 80, 3000)
    with torch.no_grad():
        expected = reference.get_encoder()(features).last_hidden_state
        got = enc.encoder_frames(features)
        tokens = enc(features)
    assert torch.equal(got, expected)
    torch.testing.assert_close(tokens, pool_frames(expected, 16), rtol=0, atol=0)


def test_architecture_read_from_source_when_not_given(saved_whisper) -> None:
    folder, _ = saved_whisper
    enc = WhisperAudioEncoder(EncoderConfig(kind="whisper", source=str(folder)), FRONTEND)
    assert enc.width == 64 and len(enc.encoder.layers) == 2


def test_missing_encoder_keys_raise(saved_whisper, tmp_path: Path) -> None:
    folder, _ = saved_whisper
    state = load_file(folder / "model.safetensors")
    del state["model.encoder.layers.1.fc1.weight"]
    save_file(state, tmp_path / "model.safetensors")
    enc = WhisperAudioEncoder(ENCODER, FRONTEND)
    with pytest.raises(CheckpointError, match="1 missing.*layers.1.fc1.weight"):
        enc.load_pretrained_weights(str(tmp_path))


def test_other_architecture_raises(tmp_path: Path) -> None:
    save_tiny_whisper(tmp_path, encoder_layers=1)
    with pytest.raises(CheckpointError, match="missing"):
        WhisperAudioEncoder(ENCODER, FRONTEND).load_pretrained_weights(str(tmp_path))
    save_tiny_whisper(tmp_path, encoder_ffn_dim=96)
    with pytest.raises(CheckpointError, match="wrong shape"):
        WhisperAudioEncoder(ENCODER, FRONTEND).load_pretrained_weights(str(tmp_path))


def test_folders_without_whisper_weights_raise(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="No model"):
        WhisperAudioEncoder(ENCODER, FRONTEND).load_pretrained_weights(str(tmp_path))
    LlamaConfig(hidden_size=64, num_hidden_layers=1, num_attention_heads=4).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="not a Whisper model"):
        whisper_architecture(str(tmp_path))
    save_file({"lm_head.weight": torch.zeros(2, 2)}, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="no Whisper encoder"):
        WhisperAudioEncoder(ENCODER, FRONTEND).load_pretrained_weights(str(tmp_path))


def test_inconsistent_configs_raise() -> None:
    with pytest.raises(ConfigError, match="mel bins"):
        WhisperAudioEncoder(ENCODER, whisper_frontend(128))
    with pytest.raises(ConfigError, match="3000 frames"):
        WhisperAudioEncoder(ENCODER, replace(FRONTEND, window_frames=1000))
    with pytest.raises(ConfigError, match="architecture is unknown"):
        WhisperAudioEncoder(EncoderConfig(kind="whisper"), FRONTEND)


def test_shorter_window_keeps_the_leading_positions(saved_whisper) -> None:
    folder, reference = saved_whisper
    arch = {**whisper_architecture(str(folder)), "max_source_positions": 500}  # a 10 s window
    enc = WhisperAudioEncoder(EncoderConfig(kind="whisper", whisper=arch), whisper_frontend(80, window_frames=1000))
    enc.load_pretrained_weights(str(folder))
    positions = enc.encoder.state_dict()["embed_positions.weight"]
    assert torch.equal(positions, reference.get_encoder().state_dict()["embed_positions.weight"][:500])
    assert enc(torch.randn(1, 80, 1000)).shape == (1, 32, 64)  # 500 frames / 16 per token
