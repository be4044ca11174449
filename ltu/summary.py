"""A per-window summary added to every audio token (an LTU-small option, not in the paper).

The paper's projector maps each pooled encoder token to the LLM on its own, so whatever the
LLM learns about "the whole sound" it has to gather by attention over a sequence of short
averages. A linear classifier on a window's mean and standard deviation over time tells
unseen sources apart better than that (docs/encoders.md "Which Whisper layer"). This module
hands the LLM that clip-level view directly: the mean and standard deviation of a window's
encoder tokens, normalised and projected to the LLM's width, are added to each of the
window's projected tokens. The number of audio tokens is unchanged, so prompts, KV reuse
and checkpoints of models without it are untouched. Its output layer starts at zero, so at
the start of training the model is exactly the one without a summary.
"""

from __future__ import annotations

import torch
from torch import nn

SUMMARY_NORM_EPS = 1e-5  # the same LayerNorm eps as the token projector (ltu/model.py)
STD_EPS = 1e-6  # inside the square root: keeps the gradient finite for a constant window


def window_statistics(tokens: torch.Tensor, window_tokens: torch.Tensor) -> torch.Tensor:
    """Mean and standard deviation over time of each window's tokens: (N, D) -> (W, 2D), in float32.

    ``window_tokens`` holds each window's token count (summing to N); a window with no tokens gets zeros.
    """
    counts = window_tokens.to(tokens.device, torch.long)
    if int(counts.sum()) != tokens.shape[0]:
        raise ValueError(f"window_tokens sum to {int(counts.sum())} but there are {tokens.shape[0]} tokens")
    x = tokens.float()
    windows = counts.shape[0]
    owner = torch.repeat_interleave(torch.arange(windows, device=x.device), counts)  # (N,) window of each token
    n = counts.clamp(min=1).unsqueeze(-1).float()
    mean = x.new_zeros(windows, x.shape[1]).index_add(0, owner, x) / n
    centred = x - mean[owner]
    var = x.new_zeros(windows, x.shape[1]).index_add(0, owner, centred * centred) / n
    return torch.cat([mean, torch.sqrt(var + STD_EPS)], dim=-1)


class WindowSummary(nn.Module):
    """(N, D) tokens and their windows' counts -> (N, H): each token gets its window's projected summary."""

    def __init__(self, encoder_width: int, llm_width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(2 * encoder_width, eps=SUMMARY_NORM_EPS, elementwise_affine=False)
        self.proj = nn.Linear(2 * encoder_width, llm_width)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, tokens: torch.Tensor, window_tokens: torch.Tensor) -> torch.Tensor:
        stats = window_statistics(tokens, window_tokens).to(self.proj.weight.dtype)
        summary = self.proj(self.norm(stats))  # (W, H)
        return torch.repeat_interleave(summary, window_tokens.to(summary.device, torch.long), dim=0)
