"""A class hint added to every audio token: a frozen linear tagger's guess, as a mix of word embeddings
(an LTU-small option, not in the paper).

A linear classifier on a window's mean and spread over time names the coarse class of sounds from
sources it never saw better than LTU-small's answers do (docs/encoders.md "Class hint"). The window
summary (ltu/summary.py) hands the LLM the same statistics, but the LLM has to learn what they mean
from its answer loss alone. Here the classifier is fitted first, with the class labels, by
``python -m train.hint``, and kept frozen: its class probabilities weight the LLM's own input
embeddings of the class names ("Music", "Animal", ...), and that mix's direction is added to each of
the window's audio tokens at that token's own length times a trained gate. (Trained audio tokens are
far longer than word embeddings: LTU-small's are about 150 against the words' 2-3, so a word added as
it is would vanish.) So the LLM is handed something close to the word it should say. The number of
audio tokens is unchanged, so prompts, KV reuse and caches are untouched.

``hint_only`` (training only, set by ``train.recipe`` from its ``hint_only`` setting): in training mode, that
share of windows, drawn at random, reach the LLM as their hint alone, their own tokens zeroed (the hint keeps
the length the tokens had). An LLM whose training rows are all answered from the tokens has no reason to read
the hint; on these windows it must. Evaluation mode never drops anything.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ltu.summary import window_statistics

GATE_INIT = 0.5  # the hint starts at half the length of the token it joins; training adjusts it
NORM_EPS = 1e-6  # keeps the direction of an all-zero mix (an unfitted hint) finite


class ClassHint(nn.Module):
    """Audio embeddings (N, H), the encoder tokens (N, D) they come from and their windows' counts -> the
    embeddings with each window's hint added.

    Buffers (filled by ``train.hint`` and stored in the checkpoint): ``mean``/``std`` standardise the
    window statistics, ``names`` holds the LLM's embedding of each class name. ``head`` is the fitted
    classifier and is never trained with the LLM; ``gate`` is."""

    def __init__(self, encoder_width: int, llm_width: int, classes: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(2 * encoder_width))
        self.register_buffer("std", torch.ones(2 * encoder_width))
        self.register_buffer("names", torch.zeros(classes, llm_width))
        self.head = nn.Linear(2 * encoder_width, classes)
        self.head.requires_grad_(False)
        self.gate = nn.Parameter(torch.tensor(GATE_INIT))
        self.hint_only = 0.0  # share of windows seen as the hint alone in training mode (module docstring)

    def probabilities(self, tokens: torch.Tensor, window_tokens: torch.Tensor) -> torch.Tensor:
        """(W, classes): the classifier's probabilities for each window."""
        return self.classify(window_statistics(tokens, window_tokens))

    def classify(self, stats: torch.Tensor) -> torch.Tensor:
        """(W, 2D) window statistics -> (W, classes) probabilities."""
        stats = stats.to(self.head.weight.dtype)
        return self.head((stats - self.mean) / self.std).float().softmax(-1)

    def forward(self, embeds: torch.Tensor, tokens: torch.Tensor, window_tokens: torch.Tensor) -> torch.Tensor:
        hint = self.probabilities(tokens, window_tokens).to(self.names.dtype) @ self.names  # (W, H)
        hint = hint / (hint.norm(dim=-1, keepdim=True) + NORM_EPS)
        counts = window_tokens.to(hint.device, torch.long)
        per_token = torch.repeat_interleave(hint, counts, dim=0).to(embeds.dtype)  # (N, H)
        length = embeds.norm(dim=-1, keepdim=True)
        if self.training and self.hint_only > 0:
            keep = (torch.rand(len(counts), device=embeds.device) >= self.hint_only).to(embeds.dtype)
            embeds = embeds * torch.repeat_interleave(keep, counts, dim=0)[:, None]
        return embeds + self.gate.to(embeds.dtype) * length * per_token

    def trainable(self) -> list[nn.Parameter]:
        """What LLM training may change: the gate only."""
        return [self.gate]


def name_embeddings(llm: Any, tokenizer: Any, names: Sequence[str]) -> torch.Tensor:
    """(classes, H): the mean of the LLM's input embeddings of each name's tokens, as a word in a sentence."""
    table = llm.get_input_embeddings().weight
    rows = []
    for name in names:
        ids = tokenizer(" " + name, add_special_tokens=False).input_ids
        if not ids:
            raise ValueError(f"the class name {name!r} has no tokens")
        rows.append(table[torch.tensor(ids, device=table.device)].float().mean(0))
    return torch.stack(rows).detach()
