"""Shared fixtures: tiny models (``ltu.tiny``) and a tiny released-layout file, so no test needs a hub."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

# Tests never reach a model hub: fail fast instead of retrying connections.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from ltu.config import EncoderConfig, FrontEndConfig, LoRAConfig, LTUConfig
from ltu.encoders import CAVMAEEncoder
from ltu.tiny import TINY_WHISPER, make_llm_folder, make_tokenizer, tiny_config  # noqa: F401 (used by tests)
from reference import official_state_dict_from_parts

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "assets"
@pytest.fixture(scope="session")
def tiny_llm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a tiny LLaMA with tokenizer."""
    return make_llm_folder(tmp_path_factory.mktemp("tiny_llm"))


def with_lora(config: LTUConfig, **changes: object) -> LTUConfig:
    """``config`` with its LoRA settings changed."""
    return dataclasses.replace(config, lora=dataclasses.replace(config.lora or LoRAConfig(), **changes))


def randomize_lora(model: torch.nn.Module, seed: int = 1) -> None:
    """Give LoRA B matrices non-zero values (peft initialises them to zero)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.1)


def sine(seconds: float, freq: float = 440.0, rate: int = 16_000):
    """A float32 tone as a NumPy array."""
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype("float32")


# A released-layout checkpoint at tiny sizes (tests/test_convert.py, tests/test_released.py)
WIDTH, HEADS, DEPTH, LAYERS, RANK, LLM_WIDTH = 64, 4, 3, 2, 8, 64


def released_file(tmp_path, with_default: bool, seed: int = 0) -> tuple:
    """A checkpoint with official names and shapes (tiny sizes), saved as a torch pickle."""
    gen = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randn(*shape, generator=gen) * 0.05  # noqa: E731
    encoder = CAVMAEEncoder(EncoderConfig(embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS), FrontEndConfig())
    enc_state = {k: v + rand(*v.shape) for k, v in encoder.state_dict().items()}
    projector = {"1.weight": rand(LLM_WIDTH, WIDTH) * 20, "1.bias": rand(LLM_WIDTH)}
    lora = {}
    for i in range(LAYERS):
        for name in ("q_proj", "v_proj"):
            stem = f"base_model.model.model.layers.{i}.self_attn.{name}"
            lora[f"{stem}.lora_A.weight"] = rand(RANK, LLM_WIDTH) * 10
            lora[f"{stem}.lora_B.weight"] = rand(LLM_WIDTH, RANK) * 10
    state = official_state_dict_from_parts(enc_state, projector, lora, with_default=with_default)
    path = tmp_path / "ltu_ori_paper.bin"
    torch.save(state, path)
    return path, state
