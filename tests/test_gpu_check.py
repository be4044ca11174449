"""The GPU check: its ``--tiny`` CPU run in CI, and on a CUDA machine the behaviour only a GPU shows (``-m gpu``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltu import gpu_check

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_tiny_check_measures_every_mode_and_a_qlora_step(tmp_path: Path) -> None:
    pytest.importorskip("bitsandbytes")
    assert gpu_check.main(["--tiny", "--out", str(tmp_path)]) == 0
    rows = {r["name"]: r for r in json.loads((tmp_path / "gpu_check.json").read_text())["rows"]}
    for label in ("fp32", "8bit", "4bit"):
        assert rows[f"{label}: first token, turn 2"]["value"] > 0
        assert rows[f"{label}: LLM weights"]["value"] > 0
    # quantised weights are smaller than full precision
    assert rows["4bit: LLM weights"]["value"] < rows["8bit: LLM weights"]["value"] < rows["fp32: LLM weights"]["value"]
    assert rows["QLoRA step (4-bit base, batch 8)"]["value"] > 0
    assert (tmp_path / "gpu_check.md").read_text().count("\n|") == len(rows) + 2  # header, separator, rows


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("bits", ["8bit", "4bit"])
def test_quantised_load_on_cuda_answers(tmp_path: Path, bits: str) -> None:
    from ltu.chat import ChatSession
    from ltu.checkpoint import load_pretrained
    from ltu.generation import GenerationSettings
    from ltu.runtime import Runtime

    ckpt = _tiny_checkpoint(tmp_path)
    model, processor = load_pretrained(ckpt, Runtime(device="cuda", quantization=bits))
    kinds = {type(m).__name__ for m in model.llm.modules()}
    assert ("Linear8bitLt" if bits == "8bit" else "Linear4bit") in kinds
    session = ChatSession(model, processor, gpu_check.test_clip(tmp_path, 3.0), GenerationSettings.greedy_settings(6))
    assert session.answer("What is this sound?") is not None and session.exchanges[0].answer_ids


@pytest.mark.gpu
@needs_cuda
def test_bf16_follow_up_on_cuda_equals_a_from_scratch_run(tmp_path: Path) -> None:
    from ltu.chat import ChatSession
    from ltu.checkpoint import load_pretrained
    from ltu.generation import GenerationSettings
    from ltu.runtime import Runtime

    ckpt = _tiny_checkpoint(tmp_path)
    model, processor = load_pretrained(ckpt, Runtime(device="cuda", dtype="bfloat16"))
    clip = gpu_check.test_clip(tmp_path, 3.0)
    greedy = GenerationSettings.greedy_settings(8)
    session = ChatSession(model, processor, clip, greedy)
    session.answer("What is this sound?")
    pieces = list(session.ask("Is it loud?"))  # streamed
    fresh = ChatSession(model, processor, clip, greedy)
    fresh.add_exchange("What is this sound?", session.exchanges[0].answer)
    assert fresh.answer("Is it loud?") == "".join(pieces)
    stopped = session.ask("Describe it.")
    next(stopped, None)
    stopped.close()  # Stop: the partial answer is kept
    assert session.exchanges[-1].stopped


@pytest.mark.gpu
@needs_cuda
def test_a_qlora_step_on_cuda(tmp_path: Path) -> None:
    rows = {r.name: r for r in gpu_check.qlora_step(_tiny_checkpoint(tmp_path), torch.device("cuda"))}
    assert rows["QLoRA step (4-bit base, batch 8)"].value > 0


def _tiny_checkpoint(folder: Path) -> Path:
    from ltu.weights.convert import convert_official

    llm, released = gpu_check.write_released(folder, tiny=True, device=torch.device("cpu"))
    convert_official(released, folder / "ckpt", llm=str(llm), num_heads=gpu_check.TINY_ENCODER["num_heads"])
    return folder / "ckpt"


@pytest.mark.gpu
@needs_cuda
def test_the_app_serves_answers_from_a_model_on_cuda(tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    from ltu.checkpoint import load_pretrained
    from ltu.generation import GenerationSettings
    from ltu.runtime import Runtime
    from test_app import serve

    model, processor = load_pretrained(_tiny_checkpoint(tmp_path), Runtime(device="cuda", quantization="4bit"))
    assert next(model.llm.parameters()).device.type == "cuda"
    demo, url = serve(model, processor, GenerationSettings.greedy_settings(8), concurrency=1, max_queue=4)
    try:
        client = Client(url, verbose=False)
        clip = handle_file(str(gpu_check.test_clip(tmp_path, 3.0)))
        answer, history = client.predict(clip, "What is this sound?", [], api_name="/ask")
        follow, history = client.predict(clip, "Is it loud?", history, api_name="/ask")
        assert len(history) == 2 and history[1][0] == "Is it loud?" and history[0][1] == answer
    finally:
        demo.close()
