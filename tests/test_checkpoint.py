"""Checkpoint folders: save -> load is exact; every key is checked; errors are clear."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import ASSETS, TINY_WHISPER, make_llm_folder, randomize_lora, tiny_config
from ltu.checkpoint import (ADAPTER_DIR, ADAPTER_WEIGHTS, AUDIO_WEIGHTS, CONFIG_FILE, build_model, load_pretrained,
                            save_pretrained)
from ltu.config import PAPER_LLM, LTUConfig
from ltu.errors import CheckpointError, ConfigError
from ltu.info import describe_checkpoint
from ltu.prompt import Turn


def logits(model, processor, audio=ASSETS / "dog.mp3"):
    clip = processor.audio_features(audio)
    seg = processor.training_example(Turn("What is this sound?"), "A dog.", clip.num_tokens)
    with torch.no_grad():
        return model(**processor.collate([seg], [clip]).as_kwargs()).logits


@pytest.fixture(scope="module")
def saved(tiny_llm, tmp_path_factory):
    torch.manual_seed(0)
    model, processor = build_model(tiny_config(tiny_llm))
    randomize_lora(model)
    model.eval()
    folder = save_pretrained(model, tmp_path_factory.mktemp("ckpt") / "tiny-ltu")
    return model, processor, folder


def test_folder_holds_exactly_the_expected_files(saved):
    _, _, folder = saved
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == sorted([CONFIG_FILE, AUDIO_WEIGHTS, f"{ADAPTER_DIR}/adapter_config.json",
                            f"{ADAPTER_DIR}/{ADAPTER_WEIGHTS}"])
    assert not list(folder.parent.glob(".*partial*"))


def test_save_then_load_is_exact(saved):
    model, processor, folder = saved
    loaded, loaded_proc = load_pretrained(folder, trainable=True)
    loaded.eval()
    for (name, a), (name_b, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert name == name_b and torch.equal(a, b), name
    assert torch.equal(logits(model, processor), logits(loaded, loaded_proc))
    assert LTUConfig.load(folder / CONFIG_FILE) == model.config


def test_inference_load_adds_lora_into_the_weights(saved):
    """For answering, the adapter is folded into the layers it adapts: no LoRA module is left, and the logits
    equal the adapter-apart model's up to float rounding (the adapter is random here, so it matters)."""
    from peft import PeftModel

    model, processor, folder = saved
    merged, merged_proc = load_pretrained(folder)
    assert not isinstance(merged.llm, PeftModel)
    assert not [n for n, _ in merged.named_modules() if "lora_" in n]
    apart = logits(model, processor)
    assert (logits(model.__class__(model.config, model.llm.get_base_model(), model.encoder), processor)
            - apart).abs().max() > 1e-3  # the adapter changes the output, so merging it is tested
    assert torch.allclose(logits(merged, merged_proc), apart, atol=1e-5, rtol=1e-5)


def test_quantised_load_keeps_the_adapter_apart(saved, monkeypatch):
    """Adding the update into 8/4-bit weights would round it away, so quantised loads keep LoRA separate."""
    from peft import PeftModel

    import ltu.checkpoint as checkpoint

    _, _, folder = saved
    base, tokenizer = checkpoint.load_llm(LTUConfig.load(folder / CONFIG_FILE).llm, checkpoint.Runtime())
    monkeypatch.setattr(checkpoint, "load_llm", lambda name, runtime: (base, tokenizer))
    loaded, _ = load_pretrained(folder, checkpoint.Runtime(quantization="8bit"))
    assert isinstance(loaded.llm, PeftModel)


def test_audio_weights_hold_projector_and_trained_encoder(saved):
    model, _, folder = saved
    keys = set(load_file(folder / AUDIO_WEIGHTS))
    assert {"audio_proj.1.weight", "audio_proj.1.bias"} <= keys
    assert {f"encoder.{k}" for k in model.encoder.state_dict()} <= keys


def test_frozen_whisper_encoder_is_not_stored_but_loaded_from_its_source(tiny_llm, tmp_path):
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    torch.manual_seed(3)
    whisper_dir = tmp_path / "whisper"
    WhisperForConditionalGeneration(WhisperConfig(**TINY_WHISPER)).save_pretrained(whisper_dir)
    base = tiny_config(tiny_llm, "whisper")
    config = LTUConfig.from_dict({**base.to_dict(), "encoder": {**base.to_dict()["encoder"], "source": str(whisper_dir)}})
    model, processor = build_model(config)
    folder = save_pretrained(model, tmp_path / "ckpt")
    assert not any(k.startswith("encoder.") for k in load_file(folder / AUDIO_WEIGHTS))
    loaded, _ = load_pretrained(folder)
    assert torch.equal(logits(model, processor), logits(loaded, processor))


def test_overwriting_a_folder_replaces_it_whole(saved, tmp_path):
    model, _, _ = saved
    folder = save_pretrained(model, tmp_path / "ckpt")
    (folder / "stale.txt").write_text("old")
    save_pretrained(model, folder)
    assert not (folder / "stale.txt").exists() and (folder / CONFIG_FILE).is_file()


def test_missing_or_extra_audio_keys_are_errors(saved, tmp_path):
    model, _, _ = saved
    folder = save_pretrained(model, tmp_path / "ckpt")
    state = load_file(folder / AUDIO_WEIGHTS)
    state.pop("audio_proj.1.bias")
    save_file(state, folder / AUDIO_WEIGHTS)
    with pytest.raises(CheckpointError, match="projector"):
        load_pretrained(folder)
    state["audio_proj.1.bias"] = torch.zeros(64)
    state["something.else"] = torch.zeros(1)
    save_file(state, folder / AUDIO_WEIGHTS)
    with pytest.raises(CheckpointError, match="does not know"):
        load_pretrained(folder)


def test_adapter_for_another_llm_is_an_error(saved, tmp_path):
    model, _, _ = saved
    folder = save_pretrained(model, tmp_path / "ckpt")
    state = load_file(folder / ADAPTER_DIR / ADAPTER_WEIGHTS)
    state = {k.replace("layers.0.", "layers.9."): v for k, v in state.items()}
    save_file(state, folder / ADAPTER_DIR / ADAPTER_WEIGHTS)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_pretrained(folder)


def test_unknown_config_key_is_rejected(saved, tmp_path):
    model, _, _ = saved
    folder = save_pretrained(model, tmp_path / "ckpt")
    data = json.loads((folder / CONFIG_FILE).read_text())
    data["encoder"]["depht"] = 3
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="depht"):
        load_pretrained(folder)


def test_not_a_checkpoint_folder_or_file(tmp_path):
    with pytest.raises(CheckpointError, match="not an LTU checkpoint"):
        load_pretrained(tmp_path)
    bin_file = tmp_path / "ltu_ori_paper.bin"
    bin_file.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="convert-official"):
        load_pretrained(bin_file)
    with pytest.raises(CheckpointError, match="No checkpoint folder"):
        load_pretrained(tmp_path / "nowhere" / "at-all")


def test_hub_id_offline_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="hf download"):
        load_pretrained("someone/ltu-not-downloaded")


def test_missing_base_llm_gives_a_clear_error(saved, tmp_path, monkeypatch):
    model, _, _ = saved
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = save_pretrained(model, tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="base LLM"):
        load_pretrained(folder, llm=PAPER_LLM)


def test_llm_override_loads_another_copy_of_the_base(saved, tmp_path):
    model, processor, folder = saved
    copy = make_llm_folder(tmp_path / "copy")  # same seed, so the same weights
    loaded, _ = load_pretrained(folder, llm=str(copy))
    assert loaded.config.llm == str(copy)
    assert torch.allclose(logits(model, processor), logits(loaded, processor), atol=1e-5, rtol=1e-5)  # LoRA merged


def test_info_counts_parameters_without_loading_the_llm(saved):
    model, _, folder = saved
    info = describe_checkpoint(folder)
    lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    assert info["params_lora"] == lora == 2 * 2 * (8 * 64 + 64 * 8)  # 2 layers x (q, v) x (A + B)
    assert info["params_projector"] == sum(p.numel() for p in model.audio_proj.parameters())
    assert info["params_encoder_stored"] == sum(p.numel() for p in model.encoder.parameters())
    assert info["base_llm"] == model.config.llm


def test_truncated_or_reshaped_weights_and_unfinished_folders_fail_with_a_sentence(saved, tmp_path):
    model, _, _ = saved
    folder = save_pretrained(model, tmp_path / "ckpt")
    audio = folder / AUDIO_WEIGHTS
    whole = audio.read_bytes()
    audio.write_bytes(whole[: len(whole) // 2])  # a copy cut short
    with pytest.raises(CheckpointError, match="truncated or damaged"):
        load_pretrained(folder)
    audio.write_bytes(whole)
    state = load_file(audio)
    state["audio_proj.1.weight"] = state["audio_proj.1.weight"][:, :8].contiguous()
    save_file(state, audio)
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_pretrained(folder)
    audio.write_bytes(whole)
    adapter = folder / ADAPTER_DIR / ADAPTER_WEIGHTS
    state = {k: v[:, :32].contiguous() if "lora_A" in k else v for k, v in load_file(adapter).items()}
    save_file(state, adapter)  # an adapter made for a base LLM of another width
    with pytest.raises(CheckpointError, match="does not fit the base LLM.*size mismatch"):
        load_pretrained(folder)
    unfinished = tmp_path / ".ckpt.partial-123-abcdef12"
    unfinished.mkdir()
    with pytest.raises(CheckpointError, match="unfinished folder left by an interrupted save"):
        load_pretrained(unfinished)


def test_saved_files_are_readable_as_the_umask_allows(saved, tmp_path):
    model, _, _ = saved
    previous = os.umask(0o022)
    try:
        folder = save_pretrained(model, tmp_path / "ckpt")
    finally:
        os.umask(previous)
    modes = {str(p.relative_to(folder)): oct(p.stat().st_mode & 0o777) for p in folder.rglob("*") if p.is_file()}
    assert AUDIO_WEIGHTS in modes and set(modes.values()) == {"0o644"}, modes  # safetensors alone writes 0o600
