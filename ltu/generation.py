"""Generation settings: the paper's demo defaults, every one overridable."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from transformers import GenerationConfig

from ltu.errors import ConfigError


@dataclass(frozen=True)
class GenerationSettings:
    """How answers are decoded. Defaults are the paper demo's sampling settings."""

    temperature: float = 0.1  # paper.md "Prompt and generation": demo temperature 0.1; 0 means greedy decoding
    top_p: float = 0.95  # paper.md "Prompt and generation": demo top_p 0.95
    top_k: int = 0  # 0 = off; paper.md "Prompt and generation": batch evaluation used 500
    repetition_penalty: float = 1.0  # paper.md "Prompt and generation": batch evaluation used 1.1
    max_new_tokens: int = 400  # paper.md "Prompt and generation": demo maximum 400 new tokens
    num_beams: int = 1  # >1 selects beam search (deterministic unless temperature > 0 and sample_beams)
    seed: int | None = None  # fixes the sampling RNG for a reproducible answer

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ConfigError("temperature must be 0 (greedy) or positive.")
        if not 0 < self.top_p <= 1:
            raise ConfigError("top_p must be in (0, 1].")
        if self.max_new_tokens < 1:
            raise ConfigError("max_new_tokens must be at least 1.")
        if self.num_beams < 1:
            raise ConfigError("num_beams must be at least 1.")

    @property
    def greedy(self) -> bool:
        """True when decoding takes the most likely token at every step."""
        return self.temperature == 0 and self.num_beams == 1

    def replace(self, **changes: Any) -> "GenerationSettings":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_generation_config(self, eos_token_ids: list[int], pad_token_id: int) -> GenerationConfig:
        """The equivalent transformers ``GenerationConfig``."""
        sample = self.temperature > 0
        kwargs: dict[str, Any] = dict(
            max_new_tokens=self.max_new_tokens,
            do_sample=sample,
            num_beams=self.num_beams,
            repetition_penalty=self.repetition_penalty,
            eos_token_id=eos_token_ids,
            pad_token_id=pad_token_id,
        )
        if sample:
            kwargs.update(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k or None)
        return GenerationConfig(**kwargs)

    @classmethod
    def greedy_settings(cls, max_new_tokens: int = 400) -> "GenerationSettings":
        """Deterministic decoding: always the most likely token."""
        return cls(temperature=0.0, max_new_tokens=max_new_tokens)
