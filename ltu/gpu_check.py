"""``python -m ltu.gpu_check``: the paper's model shapes on this machine's GPU, measured in one short run.

Speed and memory do not depend on weight values, so nothing is downloaded: the check builds
random weights in the released layout (Vicuna-7B's LLaMA config, the CAV-MAE audio branch,
LoRA r 8 on q/v), writes them as ``ltu_ori_paper.bin`` plus a base-LLM folder, converts
them with ``convert-official`` and loads them through ``load_pretrained`` in bf16, 8-bit
and 4-bit. For each it measures, through ``ChatSession``: encoding a 10 s clip, time to
first token for turn 1 and for follow-ups next to the same turn from scratch, decode
tokens/s, batch-8 against batch-1 answering, peak memory; then one QLoRA training step at
the paper's stage-2 settings (4-bit base; LoRA, projector and encoder trainable) and the
card's copy bandwidth, which gives each mode's decode floor (weight bytes read per token /
bandwidth). ``--tiny`` runs the same code at tiny sizes on the CPU (CI).

Writes ``gpu_check.json`` and ``gpu_check.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import torch

from ltu.bench import Row, bench_batches, bench_decode, bench_turns, machine, markdown, median_time, test_clip

# LLaMA-1 7B as Vicuna-7B v1.1 uses it (docs/paper.md, "Language model and LoRA")
PAPER_LLAMA = dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                   num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=2048, rms_norm_eps=1e-6)
TINY_LLAMA = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=4, max_position_embeddings=512)
PAPER_ENCODER = dict(embed_dim=768, depth=12, num_heads=12)  # 85,721,088 parameters
TINY_ENCODER = dict(embed_dim=64, depth=2, num_heads=4)
LORA_RANK = 8
MODES = ("none", "8bit", "4bit")
QLORA_MICRO_BATCH = 8  # the paper's per-GPU micro-batch (docs/paper.md, "Training curriculum")
QLORA_TEXT_TOKENS = 108  # the paper's text cut
BANDWIDTH_BYTES = 1 << 30  # copied to measure the card's memory bandwidth


def write_released(folder: Path, tiny: bool, device: torch.device) -> tuple[Path, Path]:
    """A random base-LLM folder and a random released-layout ``ltu_ori_paper.bin``; returns both paths."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from ltu.config import EncoderConfig, FrontEndConfig
    from ltu.encoders import CAVMAEEncoder
    from ltu.tiny import make_tokenizer
    from ltu.weights.official import ADAPTER_NAME, ENCODER_PREFIX, OFFICIAL_PREFIX, PROJECTOR_PREFIX

    tokenizer = make_tokenizer()  # a small vocabulary: its ids are valid in any LLaMA embedding
    shapes = TINY_LLAMA if tiny else PAPER_LLAMA
    config = LlamaConfig(**{"vocab_size": len(tokenizer), **shapes}, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                         tie_word_embeddings=False)
    llm_folder = folder / "llm"
    with torch.device(device):
        llm = LlamaForCausalLM(config).to(torch.bfloat16 if device.type == "cuda" else torch.float32)
    llm.save_pretrained(llm_folder)
    tokenizer.save_pretrained(llm_folder)
    del llm
    encoder = CAVMAEEncoder(EncoderConfig(**(TINY_ENCODER if tiny else PAPER_ENCODER)), FrontEndConfig())
    state = {ENCODER_PREFIX + k: v for k, v in encoder.state_dict().items()}
    width = config.hidden_size
    state[PROJECTOR_PREFIX + "1.weight"] = torch.randn(width, encoder.width) * 0.02
    state[PROJECTOR_PREFIX + "1.bias"] = torch.zeros(width)
    for layer in range(config.num_hidden_layers):
        for name in ("q_proj", "v_proj"):
            stem = f"{OFFICIAL_PREFIX}layers.{layer}.self_attn.{name}"
            state[f"{stem}.lora_A.{ADAPTER_NAME}.weight"] = torch.randn(LORA_RANK, width) * 0.01
            state[f"{stem}.lora_B.{ADAPTER_NAME}.weight"] = torch.randn(width, LORA_RANK) * 0.01
    released = folder / "ltu_ori_paper.bin"
    torch.save(state, released)
    return llm_folder, released


def copy_bandwidth(device: torch.device) -> float:
    """Bytes per second of a device-to-device copy (read + write of ``BANDWIDTH_BYTES``)."""
    size = BANDWIDTH_BYTES if device.type == "cuda" else BANDWIDTH_BYTES // 16
    source = torch.empty(size, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)

    def copy() -> None:
        target.copy_(source)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return 2 * size / median_time(copy, 3)


def weight_bytes(model: Any) -> int:
    """Bytes of the LLM's parameters (what one decode step reads)."""
    return sum(p.numel() * p.element_size() for p in model.llm.parameters())


def measure_mode(checkpoint: Path, mode: str, device: torch.device, bandwidth: float, folder: Path,
                 quick: bool) -> list[Row]:
    from ltu.checkpoint import load_pretrained
    from ltu.runtime import Runtime

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    dtype = "bfloat16" if device.type == "cuda" else "float32"  # the labels below name these; no CPU float16 default
    model, processor = load_pretrained(checkpoint, Runtime(device=device.type, dtype=dtype, quantization=mode))
    clip = test_clip(folder, 10.0)
    features = processor.audio_features(clip)
    tokens = torch.tensor(features.window_tokens)

    def encode() -> None:
        with torch.no_grad():
            model.audio_embeddings(features.features, tokens)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    label = {"none": "bf16" if device.type == "cuda" else "fp32"}.get(mode, mode)
    rows = [Row(f"{label}: encode a 10 s clip", median_time(encode, 3) * 1000, "ms")]
    turns = bench_turns(model, processor, clip, 4 if quick else 32, turns=2 if quick else 3)
    rows += [Row(f"{label}: {r.name}", r.value, r.unit, r.note) for r in turns]
    decode = bench_decode(model, processor, clip, 8 if quick else 128)
    floor = bandwidth / weight_bytes(model)
    rows += [Row(f"{label}: {r.name}", r.value, r.unit, f"{r.note}; floor {floor:.0f} tokens/s "
                 f"({r.value / floor:.0%} of it)") for r in decode]
    clips = [test_clip(folder, 5.0, seed=i) for i in range(2 if quick else 8)]
    batch = bench_batches(model, processor, clips, 4 if quick else 32)
    rows += [Row(f"{label}: {r.name}", r.value, r.unit, r.note) for r in batch]
    rows.append(Row(f"{label}: LLM weights", weight_bytes(model) / 2**30, "GiB"))
    rows.append(Row(f"{label}: peak memory", _peak(device), "GiB", "whole model and the runs above"))
    del model, processor
    _free(device)
    return rows


def qlora_step(checkpoint: Path, device: torch.device) -> list[Row]:
    """One optimizer step at the paper's stage-2 settings on a 4-bit base: memory and time."""
    from peft import prepare_model_for_kbit_training

    from ltu.checkpoint import load_pretrained
    from ltu.prompt import Turn
    from ltu.runtime import Runtime

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    from train.recipe import declare_trainable

    runtime = Runtime(device=device.type, dtype="float32", quantization="4bit")  # as python -m train loads QLoRA
    model, processor = load_pretrained(checkpoint, runtime, trainable=True)
    prepare_model_for_kbit_training(model.llm, use_gradient_checkpointing=True)
    declare_trainable(model, ("encoder", "projector", "lora"))  # stage 2 of the curriculum
    with tempfile.TemporaryDirectory() as tmp:
        clip = processor.audio_features(test_clip(Path(tmp), 10.0))
    answer = " ".join(["word"] * QLORA_TEXT_TOKENS)  # cut to the paper's 108 text tokens
    segment = processor.training_example(Turn("What do you hear?"), answer, clip.num_tokens,
                                         max_text_tokens=QLORA_TEXT_TOKENS)
    inputs = processor.collate([segment] * QLORA_MICRO_BATCH, [clip] * QLORA_MICRO_BATCH).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)

    def step() -> None:
        model(**inputs.as_kwargs()).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    taken = median_time(step, 1)
    rows = [Row("QLoRA step (4-bit base, batch 8)", taken, "s",
                f"{sum(p.numel() for p in params) / 1e6:.1f} M trainable parameters"),
            Row("QLoRA step: peak memory", _peak(device), "GiB", "must fit a 24 GB card")]
    del model, optimizer
    _free(device)
    return rows


def _peak(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    from ltu.bench import peak_memory_mb

    return peak_memory_mb(device) / 1024


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def run(args: argparse.Namespace) -> list[Row]:
    from ltu.weights.convert import convert_official

    device = torch.device("cpu" if args.tiny else "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: no CUDA GPU here; use --tiny for the CPU smoke run.")
    with tempfile.TemporaryDirectory(prefix="ltu-gpu-check-", dir=args.work) as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        llm, released = write_released(folder, args.tiny, device)
        convert_official(released, folder / "ckpt", llm=str(llm), num_heads=(TINY_ENCODER if args.tiny else
                                                                              PAPER_ENCODER)["num_heads"])
        bandwidth = copy_bandwidth(device)
        rows = [Row("build + convert random paper-layout weights", time.perf_counter() - start, "s"),
                Row("copy bandwidth", bandwidth / 1e9, "GB/s", "device to device, read + write")]
        for mode in args.modes:
            rows += measure_mode(folder / "ckpt", mode, device, bandwidth, folder, quick=args.tiny)
        rows += qlora_step(folder / "ckpt", device)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check, print the table, write JSON and Markdown; returns the exit code."""
    from ltu.console import quiet_libraries

    quiet_libraries()
    parser = argparse.ArgumentParser(prog="python -m ltu.gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny shapes on the CPU (a smoke run for CI)")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--out", type=Path, default=Path("gpu-check"))
    parser.add_argument("--work", default=None, help="folder for the temporary weights (13 GB at paper size)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args)
    rows.append(Row("whole check", time.perf_counter() - started, "s"))
    shapes = "tiny shapes" if args.tiny else "paper shapes (Vicuna-7B + CAV-MAE, random weights)"
    table = markdown(rows, f"### {shapes} on {machine()}, {time.strftime('%Y-%m-%d')}")
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.md").write_text(table)
    (args.out / "gpu_check.json").write_text(json.dumps({"machine": machine(), "shapes": shapes,
                                                         "rows": [asdict(r) for r in rows]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
