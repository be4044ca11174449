"""Half-precision copies of the LLM's weights for answering on a CPU.

Decoding a token multiplies one row of activations (one per answer of a batch) by every
weight matrix, so on a CPU it waits on reading the weights from memory. A float16 copy of each
matrix halves those bytes; products of up to ``MAX_HALF_ROWS`` rows read it. Products of many
rows (the prompt, a batch of more than ``MAX_HALF_ROWS`` answers) are bound by arithmetic instead:
on a CPU without bfloat16 instructions they keep the float32 weights (there float16 is several
times slower than float32), and on one with them (AVX512-BF16 or AMX, ``native_bfloat16``) they
read a bfloat16 copy: on such a machine a prompt took 2.3x less time and batch 8 answered 1.7-2.2x
as many clips a second, with 378 of 400 held-out answers word for word float32's. Activations, norms,
attention and the KV cache stay float32. Measurements: README "Performance".
"""

from __future__ import annotations

import torch
from torch import nn

# README "Performance": each copy costs half the float32 weights' size again; copies above this are not made.
MAX_COPY_BYTES = 1 << 30
# Below this many bytes of float32 weights the layers sit in the CPU's caches, so decoding does not wait on
# memory and the casts only add time (a test-sized model answered 8 tokens in 33 ms with copies, 17 without).
MIN_WEIGHT_BYTES = 32 << 20
# Products of at most this many rows read the float16 copy: a batch of up to 4 answers decodes with it too.
# On the 2-core AVX2 machine the float16 product of a whole decoding step's weights took 25 / 50 / 68 /
# 124 ms for 1 / 2 / 4 / 8 rows against 72 / 139 / 129 / 109 ms in float32 (README "Performance").
MAX_HALF_ROWS = 4


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AVX512-BF16 or AMX)."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


class HalfDecodeLinear(nn.Module):
    """A float32 linear layer that multiplies up to ``MAX_HALF_ROWS`` rows with a float16 copy of its weight,
    and with ``many_rows_bf16`` more rows with a bfloat16 copy."""

    def __init__(self, linear: nn.Linear, many_rows_bf16: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight  # shared, so tied weights stay tied
        self.bias = linear.bias
        self.register_buffer("half_weight", linear.weight.detach().to(torch.float16), persistent=False)
        many = linear.weight.detach().to(torch.bfloat16) if many_rows_bf16 else None
        self.register_buffer("bf16_weight", many, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # many rows without a bfloat16 copy (no native bfloat16): float32 is faster than float16
        copy = self.half_weight if x.numel() <= MAX_HALF_ROWS * x.shape[-1] else self.bf16_weight
        if copy is None or x.dtype != torch.float32:
            return nn.functional.linear(x, self.weight, self.bias)
        out = nn.functional.linear(x.to(copy.dtype), copy).to(torch.float32)
        return out if self.bias is None else out + self.bias


def add_half_decode_copies(llm: nn.Module, min_weight_bytes: int | None = None, max_bytes: int | None = None,
                           many_rows_bf16: bool | None = None) -> int:
    """Give every float32 ``nn.Linear`` of ``llm`` a float16 copy for products of a few rows, and with
    ``many_rows_bf16`` (default: ``native_bfloat16()``) a bfloat16 copy for the others; returns how many
    layers. Nothing changes when the float32 weights are under ``min_weight_bytes`` (default
    MIN_WEIGHT_BYTES) or the float16 copies would take more than ``max_bytes`` (default MAX_COPY_BYTES);
    the bfloat16 copies are left out when both together would."""
    low = MIN_WEIGHT_BYTES if min_weight_bytes is None else min_weight_bytes
    high = MAX_COPY_BYTES if max_bytes is None else max_bytes
    layers = [(name, module) for name, module in llm.named_modules()
              if type(module) is nn.Linear and module.weight.dtype == torch.float32]
    weight_bytes = sum(module.weight.numel() * 4 for _, module in layers)
    if not low <= weight_bytes <= 2 * high:
        return 0
    many = native_bfloat16() if many_rows_bf16 is None else many_rows_bf16
    many = many and weight_bytes <= high  # both copies together: half the float32 size each
    for name, module in layers:
        parent_name, _, child = name.rpartition(".")
        setattr(llm.get_submodule(parent_name) if parent_name else llm, child, HalfDecodeLinear(module, many))
    return len(layers)
