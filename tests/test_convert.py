"""Converter: a file in the released layout -> checkpoint folder that computes what the original computes."""

from __future__ import annotations

import pytest
import torch

from conftest import ASSETS, DEPTH, HEADS, LAYERS, RANK, WIDTH, released_file
from ltu.checkpoint import load_pretrained
from ltu.cli import main
from ltu.weights.convert import convert_official
from ltu.prompt import Turn
from reference import reference_ltu_text_logits

@pytest.mark.parametrize("with_default", [True, False], ids=["peft0.3-names", "plain-names"])
def test_converted_model_computes_what_the_original_layout_computes(tiny_llm, tmp_path, with_default):
    path, state = released_file(tmp_path, with_default)
    report = convert_official(path, tmp_path / "converted", llm=str(tiny_llm), num_heads=HEADS)
    assert report.encoder_keys + report.projector_keys + report.lora_keys + len(report.dropped) == len(state)
    assert report.lora_keys == LAYERS * 2 * 2 and report.projector_keys == 2

    model, processor = load_pretrained(tmp_path / "converted")
    clip = processor.audio_features(ASSETS / "dog.mp3")
    segment = processor.first_turn(Turn("What is this sound?"), clip.num_tokens)
    with torch.no_grad():
        ours = model(**processor.collate([segment], [clip]).as_kwargs()).text_logits()
    theirs = reference_ltu_text_logits(state, str(tiny_llm), clip.features, segment.ids[clip.num_tokens:],
                                       heads=HEADS, depth=DEPTH, lora_alpha=2 * RANK)
    assert clip.num_tokens == 32
    assert (ours - theirs).abs().max().item() < 5e-5  # measured 7e-6 to 9e-6 (merged vs unmerged LoRA)
    assert (theirs[0, -1] - theirs[0, -2]).abs().max() > 1e-2  # the comparison is not between constants


def test_converted_config_matches_the_paper_layout(tiny_llm, tmp_path):
    path, _ = released_file(tmp_path, True)
    report = convert_official(path, tmp_path / "converted", llm=str(tiny_llm), num_heads=HEADS)
    config = report.config
    assert config.encoder.kind == "cavmae" and config.encoder.depth == DEPTH and config.encoder.embed_dim == WIDTH
    assert config.lora.r == RANK and config.lora.alpha == 2 * RANK and config.lora.target_modules == ("q_proj", "v_proj")
    assert config.prompt.format == "alpaca_short" and config.prompt.audio_position == "start"
    assert config.frontend.num_mel_bins == 128 and config.frontend.window_frames == 1024


def test_convert_from_the_command_line(tiny_llm, tmp_path, capsys):
    path, state = released_file(tmp_path, True)
    code = main(["convert-official", "-i", str(path), "-o", str(tmp_path / "out"), "--llm", str(tiny_llm),
                 "--encoder-heads", str(HEADS)])
    out = capsys.readouterr().out
    assert code == 0 and f"{len(state)} keys read" in out and (tmp_path / "out" / "ltu_config.json").is_file()
