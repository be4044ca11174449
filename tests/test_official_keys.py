"""The released checkpoint layout: splitting it, its inverse, and typed errors for foreign files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from transformers import LlamaConfig, LlamaForCausalLM

from ltu.config import EncoderConfig, FrontEndConfig
from ltu.encoders import CAVMAEEncoder
from ltu.errors import CheckpointError
from ltu.weights.official import (
    OFFICIAL_PREFIX,
    load_official_file,
    split_official_state_dict,
)
from reference import official_state_dict_from_parts

ENCODER = EncoderConfig(embed_dim=64, depth=2, num_heads=4)
FRONTEND = FrontEndConfig(window_frames=256)
LLM_WIDTH, LAYERS, RANK = 96, 3, 4


def released_layout(default_on_layers: set[int] = frozenset(range(LAYERS))) -> dict[str, torch.Tensor]:
    """A state dict named and shaped like ltu_ori_paper.bin (tiny sizes), written out by hand from paper.md "Released checkpoints".

    LoRA keys carry peft 0.3's ``.default`` on the layers in ``default_on_layers`` and not on the others.
    """
    gen = torch.Generator().manual_seed(0)
    encoder = CAVMAEEncoder(ENCODER, FRONTEND).state_dict()
    state: dict[str, torch.Tensor] = {}
    for key, value in encoder.items():
        state[f"base_model.model.model.audio_encoder.{key}"] = torch.randn(value.shape, generator=gen)
    state["base_model.model.model.audio_proj.1.weight"] = torch.randn(LLM_WIDTH, 64, generator=gen)
    state["base_model.model.model.audio_proj.1.bias"] = torch.randn(LLM_WIDTH, generator=gen)
    for i in range(LAYERS):
        for proj in ("q_proj", "v_proj"):
            name = ".default.weight" if i in default_on_layers else ".weight"
            base = f"base_model.model.model.layers.{i}.self_attn.{proj}"
            state[f"{base}.lora_A{name}"] = torch.randn(RANK, LLM_WIDTH, generator=gen)
            state[f"{base}.lora_B{name}"] = torch.randn(LLM_WIDTH, RANK, generator=gen)
    return state


def test_split_accounts_for_every_key_with_both_lora_spellings() -> None:
    state = released_layout(default_on_layers={0, 2})  # layer 1 without '.default'
    parts = split_official_state_dict(state)
    assert not parts.dropped
    assert len(parts.encoder) + len(parts.projector) + len(parts.lora) == len(state)
    assert set(parts.encoder) == set(CAVMAEEncoder(ENCODER, FRONTEND).state_dict())
    assert set(parts.projector) == {"1.weight", "1.bias"}
    assert "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight" in parts.lora
    assert "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" in parts.lora
    assert not any(".default." in k for k in parts.lora)
    assert torch.equal(
        parts.lora["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"],
        state["base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight"],
    )
    assert (parts.lora_rank, parts.num_layers, parts.llm_width) == (RANK, LAYERS, LLM_WIDTH)
    assert parts.lora_targets == ("q_proj", "v_proj")
    assert (parts.encoder_width, parts.encoder_depth) == (64, 2)


@pytest.mark.parametrize("with_default", [True, False])
def test_round_trip_gives_identical_tensors(with_default: bool) -> None:
    state = released_layout()
    parts = split_official_state_dict(state)
    rebuilt = official_state_dict_from_parts(parts.encoder, parts.projector, parts.lora, with_default=with_default)
    if with_default:
        assert rebuilt.keys() == state.keys()
    again = split_official_state_dict(rebuilt)
    for name in ("encoder", "projector", "lora"):
        ours, theirs = getattr(parts, name), getattr(again, name)
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_parts_load_strictly_into_the_modules(tmp_path: Path) -> None:
    path = tmp_path / "ltu_tiny.bin"
    torch.save(released_layout(), path)
    parts = split_official_state_dict(load_official_file(path))
    encoder = CAVMAEEncoder(ENCODER, FRONTEND)
    encoder.load_state_dict(parts.encoder, strict=True)
    projector = torch.nn.Sequential(torch.nn.LayerNorm(64, elementwise_affine=False), torch.nn.Linear(64, LLM_WIDTH))
    projector.load_state_dict(parts.projector, strict=True)
    llm_config = LlamaConfig(
        hidden_size=LLM_WIDTH, intermediate_size=128, num_hidden_layers=LAYERS, num_attention_heads=4, vocab_size=64
    )
    llm = LlamaForCausalLM(llm_config)
    model = get_peft_model(llm, LoraConfig(r=parts.lora_rank, lora_alpha=8, target_modules=list(parts.lora_targets)))
    result = set_peft_model_state_dict(model, parts.lora)
    assert not result.unexpected_keys
    loaded = get_peft_model_state_dict(model)
    assert loaded.keys() == parts.lora.keys()
    assert all(torch.equal(loaded[k], parts.lora[k]) for k in loaded)


def test_full_cavmae_extras_are_dropped_with_reasons() -> None:
    # The released LTU files hold none of these (their audio encoder is audio-only); a file made from a
    # full CAV-MAE checkpoint would.
    state = released_layout()
    extras = [
        "patch_embed_v.proj.weight",
        "pos_embed_v",
        "modality_v",
        "blocks_v.0.attn.qkv.weight",
        "norm_v.weight",
        "norm.bias",
        "mlp_head.1.weight",
        "decoder_blocks.0.mlp.fc1.weight",
        "mask_token",
    ]
    for name in extras:
        state[f"{OFFICIAL_PREFIX}audio_encoder.{name}"] = torch.zeros(2)
    parts = split_official_state_dict(state)
    assert set(parts.dropped) == {f"{OFFICIAL_PREFIX}audio_encoder.{n}" for n in extras}
    assert "visual" in parts.dropped[f"{OFFICIAL_PREFIX}audio_encoder.blocks_v.0.attn.qkv.weight"]
    assert len(parts.encoder) + len(parts.projector) + len(parts.lora) + len(parts.dropped) == len(state)


@pytest.mark.parametrize(
    "key",
    [
        "base_model.model.model.layers.0.self_attn.q_proj.weight",  # a base LLM weight (a full fine-tune)
        "base_model.model.model.audio_encoder.blocks_a.0.attn.qkv.scale",
        "base_model.model.model.audio_proj.0.weight",
        "base_model.model.lm_head.weight",
        "model.audio_encoder.norm_a.weight",
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.other.weight",
    ],
)
def test_unknown_keys_raise(key: str) -> None:
    state = released_layout()
    state[key] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="not part of a released LTU model") as err:
        split_official_state_dict(state)
    assert key in str(err.value)


def test_incomplete_or_inconsistent_parts_raise() -> None:
    state = released_layout()
    del state["base_model.model.model.layers.1.self_attn.v_proj.lora_B.default.weight"]
    with pytest.raises(CheckpointError, match="incomplete.*layers.1.self_attn.v_proj.lora_B"):
        split_official_state_dict(state)
    state = released_layout()
    state["base_model.model.model.layers.2.self_attn.q_proj.lora_A.default.weight"] = torch.zeros(RANK + 1, LLM_WIDTH)
    with pytest.raises(CheckpointError, match="rank"):
        split_official_state_dict(state)
    state = released_layout()
    state["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"] = torch.zeros(RANK, LLM_WIDTH)
    with pytest.raises(CheckpointError, match="twice"):
        split_official_state_dict(state)
    state = {k: v for k, v in released_layout().items() if "audio_proj" not in k}
    with pytest.raises(CheckpointError, match="audio projection"):
        split_official_state_dict(state)


def test_files_that_are_not_checkpoints_raise(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="No checkpoint file"):
        load_official_file(tmp_path / "absent.bin")
    with pytest.raises(CheckpointError, match="No checkpoint file"):
        load_official_file(tmp_path)
    text = tmp_path / "notes.bin"
    text.write_text("this is not a checkpoint\n")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_official_file(text)
    truncated = tmp_path / "truncated.bin"
    torch.save(released_layout(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_official_file(truncated)
    listing = tmp_path / "list.bin"
    torch.save([torch.zeros(1)], listing)
    with pytest.raises(CheckpointError, match="does not hold a state dict"):
        load_official_file(listing)
