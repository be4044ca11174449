"""The one place where audio files and text become model inputs.

The processor decodes audio, computes encoder features window by window, decides how
many audio tokens each window contributes, renders prompts, tokenizes, builds labels
and pads batches. The model receives tensors only, and checks that the number of audio
positions in ``input_ids`` equals the number of audio tokens its encoder produced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence, Union

import numpy as np
import torch

from ltu.audio.decode import Audio, audio_from_array, load_audio
from ltu.audio.features import extract_features, window_spans
from ltu.config import LTUConfig
from ltu.encoders import tokens_for_window
from ltu.errors import AudioTokenCountError, ConfigError
from ltu.prompt import PromptFormatter, Turn

_CLIP_MARK = "\u27e6LTU-CLIP\u27e7"  # stands where a later clip's audio goes, until the text is tokenized
IGNORE_INDEX = -100  # label value that the loss skips (PyTorch's cross-entropy default)

AudioSource = Union[str, os.PathLike, bytes, Audio, tuple]  # tuple: (sample_rate, samples) as Gradio sends


@dataclass
class AudioFeatures:
    """Encoder input for one clip: one row per window, and tokens kept per window."""

    features: torch.Tensor | None  # (W, ...) one row per encoder window
    window_tokens: list[int]  # leading tokens kept from each window's encoder output
    audio: Audio | None = None
    encoded: torch.Tensor | None = None  # (num_tokens, D) kept encoder tokens, when computed already
    transcript: str = ""  # what is said in the clip, filled by a transcriber (see ltu.transcribe); "" for none

    @property
    def num_tokens(self) -> int:
        """Audio positions this clip takes in the LLM's sequence."""
        return sum(self.window_tokens)


@dataclass
class Segment:
    """Token ids with the audio positions marked; labels when built for training."""

    ids: list[int]
    audio_mask: list[bool]
    labels: list[int] | None = None

    def __add__(self, other: "Segment") -> "Segment":
        labels = None if self.labels is None or other.labels is None else self.labels + other.labels
        return Segment(self.ids + other.ids, self.audio_mask + other.audio_mask, labels)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class ModelInputs:
    """A padded batch, ready for ``LTUModel.forward`` or ``generate``."""

    input_ids: torch.Tensor  # (B, L) audio positions hold the pad id
    attention_mask: torch.Tensor  # (B, L) 1 for real positions
    audio_mask: torch.Tensor  # (B, L) True where an audio token goes
    labels: torch.Tensor | None = None  # (B, L) IGNORE_INDEX where no loss is taken
    features: torch.Tensor | None = None  # (sum of windows, ...) for every clip in batch order
    window_tokens: torch.Tensor | None = None  # (sum of windows,) tokens kept per window
    encoded_audio: torch.Tensor | None = None  # (sum of kept tokens, D) encoder output, when cached
    extra: dict[str, Any] = field(default_factory=dict)

    def to(self, device: torch.device | str) -> "ModelInputs":
        """Move every tensor to ``device``."""
        moved = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        return ModelInputs(**moved)

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``LTUModel.forward``."""
        return {k: v for k, v in self.__dict__.items() if k != "extra"}


class LTUProcessor:
    """Turns audio and conversations into ``ModelInputs``; decodes answers."""

    def __init__(self, config: LTUConfig, tokenizer: Any) -> None:
        self.config = config
        self.tokenizer = tokenizer
        self.formatter = PromptFormatter(config.prompt, tokenizer)
        self.eos_id = _required_id(tokenizer, "eos_token_id")
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id
        self.bos_id = tokenizer.bos_token_id if _adds_bos(tokenizer) else None

    # ----- audio
    def load_audio(self, source: AudioSource) -> Audio:
        """Decode a file path, bytes, or a ``(sample_rate, samples)`` pair."""
        if isinstance(source, Audio):
            return source
        if isinstance(source, tuple):
            rate, samples = source
            return audio_from_array(np.asarray(samples), int(rate), self.config.frontend)
        return load_audio(source, self.config.frontend)

    def audio_features(self, source: AudioSource) -> AudioFeatures:
        """Encoder features of a clip, split into consecutive encoder windows."""
        audio = self.load_audio(source)
        features = extract_features(audio.samples, self.config.frontend)  # (W, ...)
        spans = window_spans(len(audio.samples), self.config.frontend)
        counts = [tokens_for_window(self.config.encoder, self.config.frontend, end - start) for start, end in spans]
        if len(counts) != features.shape[0]:
            raise RuntimeError(f"front end gave {features.shape[0]} windows but {len(counts)} spans")
        return AudioFeatures(features, counts, audio)

    # ----- prompts
    def first_turn(self, turn: Turn, num_audio_tokens: int, turn_audio_tokens: int = 0) -> Segment:
        """The first turn's ids with ``num_audio_tokens`` audio positions in place.

        ``turn_audio_tokens``: positions of one more clip given with this question, placed right before it.
        """
        text = self.formatter.first_turn(_with_clip_mark(turn, turn_audio_tokens))
        bos = [self.bos_id] if self.bos_id is not None else []
        before = self._encode_marked(text.before_audio, turn_audio_tokens)
        after = self._encode_marked(text.after_audio, turn_audio_tokens)
        audio = Segment([self.pad_id] * num_audio_tokens, [True] * num_audio_tokens)
        if self.config.prompt.audio_position == "start":
            segment = audio + Segment(bos, [False] * len(bos)) + before + after  # paper.md "Audio in the LLM": audio goes in front of BOS
        else:
            segment = Segment(bos, [False] * len(bos)) + before + audio + after
        _check_marked(segment, num_audio_tokens + turn_audio_tokens)
        return segment

    def next_turn(self, turn: Turn, turn_audio_tokens: int = 0) -> Segment:
        """Ids of a follow-up question, to append after the previous answer; with ``turn_audio_tokens`` audio
        positions right before the question when a new clip comes with it."""
        segment = self._encode_marked(self.formatter.next_turn(_with_clip_mark(turn, turn_audio_tokens)),
                                      turn_audio_tokens)
        _check_marked(segment, turn_audio_tokens)
        return segment

    def close_answer(self, answer_ids: Sequence[int]) -> Segment:
        """An answer's ids, ending with EOS (added when generation was cut short)."""
        ids = list(answer_ids)
        if not ids or ids[-1] != self.eos_id:
            ids.append(self.eos_id)
        return Segment(ids, [False] * len(ids))

    def conversation(self, turns: Sequence[Turn], answers: Sequence[Sequence[int]], num_audio_tokens: int,
                     turn_audio_tokens: Sequence[int] | None = None) -> Segment:
        """Prompt for the last of ``turns``, with earlier turns answered by ``answers``.

        ``turn_audio_tokens``: for each turn, the audio positions of a clip given with it (0: none); the
        conversation's first clip (``num_audio_tokens``) stays where the first turn puts it.
        """
        if len(answers) != len(turns) - 1:
            raise ValueError("need one answer for every turn but the last")
        extra = list(turn_audio_tokens) if turn_audio_tokens is not None else [0] * len(turns)
        if len(extra) != len(turns):
            raise ValueError("need one turn_audio_tokens count per turn")
        segment = self.first_turn(turns[0], num_audio_tokens, extra[0])
        for turn, answer, count in zip(turns[1:], answers, extra[1:]):
            segment = segment + self.close_answer(answer) + self.next_turn(turn, count)
        return segment

    def training_example(self, turn: Turn, answer: str, num_audio_tokens: int, *,
                         train_on_inputs: bool = True, max_text_tokens: int | None = None) -> Segment:
        """One supervised example: prompt + answer + EOS, with labels.

        paper.md "Training curriculum": the paper trains on prompt and answer text (``train_on_inputs``); audio
        positions carry no loss; text is cut at ``max_text_tokens`` (108 in the paper)
        and EOS is appended only when it fits.
        """
        prompt = self.first_turn(turn, num_audio_tokens)
        answer_ids = self._encode(answer)
        ids = prompt.ids + answer_ids + [self.eos_id]
        mask = prompt.audio_mask + [False] * (len(answer_ids) + 1)
        labels = [IGNORE_INDEX if m else i for i, m in zip(ids, mask)]
        if not train_on_inputs:
            labels[: len(prompt)] = [IGNORE_INDEX] * len(prompt)
        # A token right after an audio position is predicted from audio alone; the paper
        # drops audio positions before its loss, so that prediction is never scored.
        for pos in range(1, len(ids)):
            if mask[pos - 1] and not mask[pos]:
                labels[pos] = IGNORE_INDEX
        if max_text_tokens is not None and len(ids) - num_audio_tokens > max_text_tokens:
            keep = max_text_tokens + num_audio_tokens
            ids, mask, labels = ids[:keep], mask[:keep], labels[:keep]
        return Segment(ids, mask, labels)

    # ----- batches
    def collate(self, segments: Sequence[Segment], clips: Sequence[AudioFeatures | None],
                padding_side: str = "right") -> ModelInputs:
        """Pad segments into a batch; concatenate the clips' windows in batch order."""
        if len(segments) != len(clips):
            raise ValueError("need one clip (or None) per segment")
        for seg, clip in zip(segments, clips):
            expected = clip.num_tokens if clip is not None else 0
            if sum(seg.audio_mask) != expected:
                raise AudioTokenCountError(f"A prompt marks {sum(seg.audio_mask)} audio positions but its clip gives "
                                           f"{expected} tokens.")
        width = max(len(s) for s in segments)
        with_labels = all(s.labels is not None for s in segments)
        rows = [self._pad(s, width, padding_side) for s in segments]
        inputs = ModelInputs(
            input_ids=torch.tensor([r[0] for r in rows], dtype=torch.long),
            attention_mask=torch.tensor([r[1] for r in rows], dtype=torch.long),
            audio_mask=torch.tensor([r[2] for r in rows], dtype=torch.bool),
            labels=torch.tensor([r[3] for r in rows], dtype=torch.long) if with_labels else None,
        )
        present = [c for c in clips if c is not None]
        if present:
            inputs.window_tokens = torch.tensor([n for c in present for n in c.window_tokens], dtype=torch.long)
        if present and all(c.encoded is not None for c in present):
            inputs.encoded_audio = torch.cat([c.encoded for c in present])
        elif present:
            inputs.features = torch.cat([c.features for c in present])
        return inputs

    def decode(self, ids: Sequence[int]) -> str:
        """Answer text of generated ids (special tokens removed)."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []

    def _encode_marked(self, text: str, audio_tokens: int) -> Segment:
        """Ids of ``text`` with ``audio_tokens`` audio positions where its clip mark is (if it has one)."""
        head, mark, tail = text.partition(_CLIP_MARK)
        if not mark:
            ids = self._encode(text)
            return Segment(ids, [False] * len(ids))
        first, last = self._encode(head), self._encode(tail)
        return Segment(first + [self.pad_id] * audio_tokens + last,
                       [False] * len(first) + [True] * audio_tokens + [False] * len(last))

    def _pad(self, seg: Segment, width: int, side: str) -> tuple[list, list, list, list]:
        n = width - len(seg)
        labels = seg.labels if seg.labels is not None else [IGNORE_INDEX] * len(seg)
        parts = (seg.ids, [1] * len(seg), seg.audio_mask, labels)
        fills = (self.pad_id, 0, False, IGNORE_INDEX)
        if side == "right":
            return tuple(p + [f] * n for p, f in zip(parts, fills))  # type: ignore[return-value]
        if side == "left":
            return tuple([f] * n + p for p, f in zip(parts, fills))  # type: ignore[return-value]
        raise ValueError(f"padding_side must be 'left' or 'right', not {side!r}")


def _with_clip_mark(turn: Turn, audio_tokens: int) -> Turn:
    """``turn`` with a mark where a clip given with it goes (right before the question)."""
    return Turn(_CLIP_MARK + turn.question, turn.input) if audio_tokens else turn


def _check_marked(segment: Segment, expected: int) -> None:
    if sum(segment.audio_mask) != expected:
        raise ConfigError("The prompt template dropped the position of a clip given with a question; this prompt "
                          "format cannot take more than one clip.")


def _required_id(tokenizer: Any, name: str) -> int:
    value = getattr(tokenizer, name, None)
    if value is None:
        raise ConfigError(f"The LLM's tokenizer defines no {name.replace('_id', '')}; LTU needs one to end answers.")
    return int(value)


def _adds_bos(tokenizer: Any) -> bool:
    """Whether the tokenizer starts a text with BOS on its own (LLaMA does, Qwen does not)."""
    if tokenizer.bos_token_id is None:
        return False
    probe = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bool(probe) and probe[0] == tokenizer.bos_token_id
