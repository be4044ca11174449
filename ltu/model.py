"""LTU: audio encoder -> token pooling -> projector -> an unmodified causal LM.

The LLM is any Hugging Face ``AutoModelForCausalLM`` (optionally wrapped by peft for
LoRA). Audio tokens enter through ``inputs_embeds`` at the positions the processor
marked in ``audio_mask``; nothing inside the LLM is patched or subclassed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ltu.config import LTUConfig
from ltu.errors import AudioTokenCountError
from ltu.encoders import build_encoder
from ltu.generation import GenerationSettings
from ltu.processor import ModelInputs
from ltu.class_hint import ClassHint
from ltu.summary import WindowSummary

PROJECTOR_NORM_EPS = 1e-5  # paper.md "Audio tokens": LayerNorm(768) without affine parameters, PyTorch's default eps


@dataclass
class LTUOutput:
    """Loss over text positions and logits for every position of the sequence."""

    loss: torch.Tensor | None
    logits: torch.Tensor  # (B, L, V) aligned with input_ids; audio positions carry no loss
    audio_mask: torch.Tensor  # (B, L)

    def text_logits(self) -> torch.Tensor:
        """Logits with the audio positions dropped, as the paper's model returns them.

        Needs the same number of audio positions in every row (always true for one clip
        length, e.g. the paper's fixed 32 tokens).
        """
        counts = self.audio_mask.sum(dim=1)
        if not bool((counts == counts[0]).all()):
            raise ValueError("rows hold different numbers of audio tokens; index logits with ~audio_mask instead")
        b, length, vocab = self.logits.shape
        return self.logits[~self.audio_mask].view(b, length - int(counts[0]), vocab)


def audio_projector(encoder_width: int, llm_width: int) -> nn.Sequential:
    """paper.md "Audio tokens": LayerNorm (no affine) then Linear; index 1 is ``audio_proj.1`` in the checkpoint."""
    return nn.Sequential(
        nn.LayerNorm(encoder_width, eps=PROJECTOR_NORM_EPS, elementwise_affine=False),
        nn.Linear(encoder_width, llm_width),
    )


class LTUModel(nn.Module):
    """The composed model. ``llm`` may be a plain causal LM or a peft ``PeftModel``."""

    def __init__(self, config: LTUConfig, llm: nn.Module, encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.llm = llm
        self.encoder = encoder if encoder is not None else build_encoder(config.encoder, config.frontend)
        self.audio_proj = audio_projector(self.encoder.width, self.llm_width)
        self.audio_summary = WindowSummary(self.encoder.width, self.llm_width) if config.encoder.window_summary else None
        classes = len(config.encoder.class_hint)
        self.audio_hint = ClassHint(self.encoder.width, self.llm_width, classes) if classes else None

    @property
    def llm_width(self) -> int:
        """Hidden size of the LLM (the projector's output width)."""
        return int(self.llm.get_input_embeddings().weight.shape[1])

    @property
    def audio_device(self) -> torch.device:
        """Device of the audio encoder and projector."""
        return self.audio_proj[1].weight.device

    @property
    def audio_dtype(self) -> torch.dtype:
        """Floating dtype of the audio encoder and projector."""
        return self.audio_proj[1].weight.dtype

    def encode_audio(self, features: torch.Tensor, window_tokens: torch.Tensor) -> torch.Tensor:
        """Encoder tokens kept from each window, before projection: (W, ...) -> (sum(window_tokens), D)."""
        tokens = self.encoder(features.to(self.audio_device, self.audio_dtype))  # (W, T, D)
        counts = window_tokens.tolist()
        if len(counts) != tokens.shape[0] or max(counts, default=0) > tokens.shape[1]:
            raise ValueError(f"window_tokens {counts} does not fit encoder output of shape {tuple(tokens.shape)}")
        return torch.cat([tokens[i, :n] for i, n in enumerate(counts)])  # (N, D) in time order

    def audio_embeddings(self, features: torch.Tensor, window_tokens: torch.Tensor) -> torch.Tensor:
        """Encode windows and project their kept tokens: (W, ...) -> (sum(window_tokens), H)."""
        return self.project_audio(self.encode_audio(features, window_tokens), window_tokens)  # (N, H)

    def project_audio(self, encoded: torch.Tensor, window_tokens: torch.Tensor | None) -> torch.Tensor:
        """Encoder tokens (N, D) -> LLM embeddings (N, H); ``window_tokens`` (tokens per window) feeds the
        window summary and may be None only for a model without one."""
        encoded = encoded.to(self.audio_device, self.audio_dtype)
        if encoded.shape[-1] != self.encoder.token_width:
            raise ValueError(f"encoder tokens have width {encoded.shape[-1]}, this model's encoder hands on "
                             f"{self.encoder.token_width} (a cache made with other encoder settings?)")
        width = self.encoder.width  # the projector's channels; any after them are the summary layer's
        embeds = self.audio_proj(encoded[..., :width])
        if self.audio_summary is None and self.audio_hint is None:
            return embeds
        if window_tokens is None:
            raise ValueError("this model adds a window summary or class hint to its audio tokens: pass window_tokens")
        summarised = self.summary_channels(encoded)
        if self.audio_summary is not None:
            embeds = embeds + self.audio_summary(summarised, window_tokens)
        if self.audio_hint is not None:
            embeds = self.audio_hint(embeds, summarised, window_tokens)
        return embeds

    def summary_channels(self, encoded: torch.Tensor) -> torch.Tensor:
        """The channels of encoder tokens that the window summary and class hint read: the extra ones a
        ``summary_layer`` adds after the projector's, else the projector's own."""
        width = self.encoder.width
        return encoded[..., width:] if encoded.shape[-1] > width else encoded

    def input_embeddings(self, input_ids: torch.Tensor, audio_mask: torch.Tensor,
                         audio_embeds: torch.Tensor | None) -> torch.Tensor:
        """Text embeddings with the audio embeddings written at ``audio_mask`` positions."""
        embeds = self.llm.get_input_embeddings()(input_ids)  # (B, L, H)
        expected = int(audio_mask.sum())
        given = 0 if audio_embeds is None else int(audio_embeds.shape[0])
        if expected != given:
            raise AudioTokenCountError(f"input_ids mark {expected} audio positions but the encoder produced "
                                       f"{given} tokens.")
        if expected == 0:
            return embeds
        mask = audio_mask.to(embeds.device).unsqueeze(-1)  # (B, L, 1)
        return embeds.masked_scatter(mask, audio_embeds.to(embeds.device, embeds.dtype))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, audio_mask: torch.Tensor,
                labels: torch.Tensor | None = None, features: torch.Tensor | None = None,
                window_tokens: torch.Tensor | None = None, audio_embeds: torch.Tensor | None = None,
                encoded_audio: torch.Tensor | None = None) -> LTUOutput:
        """Training/scoring pass. Loss covers text positions only (labels are -100 elsewhere).

        Audio comes as ``features`` (encoded here), ``encoded_audio`` (encoder tokens already
        computed, e.g. cached for a frozen encoder: (N, D)) or ``audio_embeds`` (projected: (N, H)).
        """
        if audio_embeds is None and encoded_audio is not None:
            audio_embeds = self.project_audio(encoded_audio, window_tokens)
        elif audio_embeds is None and features is not None:
            audio_embeds = self.audio_embeddings(features, window_tokens)
        embeds = self.input_embeddings(input_ids, audio_mask, audio_embeds)
        out = self.llm(inputs_embeds=embeds, attention_mask=attention_mask, position_ids=positions(attention_mask),
                       labels=labels, use_cache=False)
        return LTUOutput(loss=out.loss, logits=out.logits, audio_mask=audio_mask)

    @torch.no_grad()
    def generate(self, inputs: ModelInputs, settings: GenerationSettings, eos_token_ids: list[int], pad_token_id: int,
                 audio_embeds: torch.Tensor | None = None, **generate_kwargs: Any) -> torch.Tensor:
        """New token ids for each row of a left-padded batch: (B, new tokens).

        ``generate_kwargs`` go to transformers' ``generate`` (``streamer``,
        ``past_key_values``, ``stopping_criteria`` ...). With a filled
        ``past_key_values`` only the uncached tail of the sequence is computed.
        """
        if audio_embeds is None and inputs.features is not None:
            audio_embeds = self.audio_embeddings(inputs.features, inputs.window_tokens)
        embeds = self.input_embeddings(inputs.input_ids, inputs.audio_mask, audio_embeds)
        if settings.seed is not None:
            torch.manual_seed(settings.seed)
        out = self.llm.generate(
            input_ids=inputs.input_ids,
            inputs_embeds=embeds,
            attention_mask=inputs.attention_mask,
            generation_config=settings.to_generation_config(eos_token_ids, pad_token_id),
            **generate_kwargs,
        )
        return out[:, inputs.input_ids.shape[1]:]


def positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that count only real tokens, so left padding does not shift them."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
