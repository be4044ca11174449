"""A multi-turn conversation about one audio clip, or several.

The clip is encoded once. Each question appends to the token sequence, and the KV cache
of everything before it is reused, so a follow-up computes only its own new tokens.
Answers stream as text pieces from a generator. When the conversation outgrows the
LLM's context, the oldest exchanges are dropped with a notice; the first clip stays.

Another clip can join mid-way (``add_clip``, then ask): its audio tokens go in front of the
next question, earlier clips stay in context and the cache still holds everything before.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from queue import Queue
from typing import Iterator, Literal

import torch
from transformers import DynamicCache, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from ltu import model_thread
from ltu.audio.length import context_overflow
from ltu.errors import LTUError
from ltu.generation import GenerationSettings
from ltu.model import LTUModel
from ltu.processor import AudioFeatures, AudioSource, LTUProcessor, Segment
from ltu.prompt import Turn
from ltu.transcribe import Transcriber, transcriber_for

REPLACEMENT_CHAR = "\ufffd"  # a decoded piece ending in this is an incomplete UTF-8 sequence; wait for more


@dataclass(frozen=True)
class TurnClip:
    """A clip given with a later question: features (with transcript) and projected audio embeddings."""

    features: AudioFeatures
    embeds: torch.Tensor  # (N, H)


@dataclass
class Exchange:
    """One answered question."""

    turn: Turn
    answer_ids: list[int]
    answer: str
    stopped: bool = False  # ended by the caller before the model finished
    clip: TurnClip | None = None  # a clip given with this question (not the conversation's first)


class ChatSession:
    """One clip (or none, for text-only questions) and the conversation about it."""

    def __init__(self, model: LTUModel, processor: LTUProcessor, audio: AudioSource | None = None,
                 settings: GenerationSettings = GenerationSettings(), max_context: int | None = None,
                 transcriber: Transcriber | None | Literal["auto"] = "auto") -> None:
        """``transcriber``: what fills the first turn's input field with the clip's speech; "auto" uses the
        one the model's config names (``ltu.transcribe.transcriber_for``), None gives no transcript."""
        self.model = model
        self.processor = processor
        self.settings = settings
        self.max_context = max_context or _context_length(model)
        self.exchanges: list[Exchange] = []
        self.notices: list[str] = []
        self.transcriber = transcriber_for(model.config) if transcriber == "auto" else transcriber
        self.clip: AudioFeatures | None = None
        self.audio_embeds: torch.Tensor | None = None  # (N, H), computed once per session
        if audio is not None:
            self.clip, self.audio_embeds = self._prepare(audio)
        self._cache = DynamicCache()
        self._cached_ids: list[int] = []  # the tokens whose keys/values are in the cache
        self.last_prompt: Segment | None = None  # what the LLM saw for the latest question
        self._next_clip: TurnClip | None = None  # given with the next question (add_clip)

    @classmethod
    def from_encoded(cls, model: LTUModel, processor: LTUProcessor, clip: AudioFeatures, audio_embeds: torch.Tensor,
                     settings: GenerationSettings = GenerationSettings(), max_context: int | None = None,
                     transcriber: Transcriber | None = None) -> "ChatSession":
        """A conversation about a clip decoded, transcribed and encoded before (e.g. by an earlier session):
        nothing is computed again. ``clip`` and ``audio_embeds`` are only read, so sessions may share them.
        ``transcriber`` is for clips added later (``add_clip``)."""
        session = cls(model, processor, None, settings, max_context, transcriber=None)
        session.clip, session.audio_embeds, session.transcriber = clip, audio_embeds, transcriber
        return session

    def add_clip(self, audio: AudioSource) -> None:
        """Give another clip with the next question ("Now listen to this one: how does it differ?")."""
        self.add_clip_encoded(*self._prepare(audio))

    def add_clip_encoded(self, features: AudioFeatures, audio_embeds: torch.Tensor) -> None:
        """``add_clip`` for a clip decoded and encoded before; both are only read. A session without audio
        and without questions takes it as its first clip."""
        if self.clip is None and not self.exchanges:
            self.clip, self.audio_embeds = features, audio_embeds
        else:
            self._next_clip = TurnClip(features, audio_embeds)

    @property
    def clips(self) -> list[AudioFeatures]:
        """Every clip the conversation holds, in order (the first, then those given with later questions)."""
        later = [e.clip.features for e in self.exchanges if e.clip is not None]
        return ([self.clip] if self.clip is not None else []) + later

    @property
    def next_clip(self) -> TurnClip | None:
        """The clip given with the next question (``add_clip``), until that question is answered."""
        return self._next_clip

    @property
    def num_audio_tokens(self) -> int:
        """Audio positions in the prompt (0 without a clip)."""
        return self.clip.num_tokens if self.clip is not None else 0

    @property
    def cache_bytes(self) -> int:
        """Memory the KV cache holds (keys and values of every layer), for callers that bound it."""
        total = 0
        for layer in getattr(self._cache, "layers", []):
            for name in ("keys", "values"):
                tensor = getattr(layer, name, None)
                if isinstance(tensor, torch.Tensor):
                    total += tensor.numel() * tensor.element_size()
        return total

    @property
    def cached_tokens(self) -> int:
        """How many leading tokens of the conversation the KV cache holds."""
        return len(self._cached_ids)

    def ask(self, question: str, input: str = "", *, settings: GenerationSettings | None = None) -> Iterator[str]:
        """Answer ``question`` about the clip, yielding text as it is generated.

        ``input`` is the optional text field of the turn; ``settings`` (keyword only) override the session's.
        Closing the generator early stops generation; the partial answer is kept.
        """
        if not isinstance(question, str) or not isinstance(input, str):
            raise TypeError(f"question and input must be text, got {type(question).__name__} and "
                            f"{type(input).__name__}; pass generation settings as settings=...")
        if not question.strip():
            raise LTUError("The question is empty; type something to ask about the sound.")
        return self._answer(Turn(question, input), self._settings(settings), self._next_clip)

    def answer(self, question: str, input: str = "", *, settings: GenerationSettings | None = None) -> str:
        """Answer ``question`` and return the whole text."""
        return "".join(self.ask(question, input, settings=settings))

    def retry(self, settings: GenerationSettings | None = None) -> Iterator[str]:
        """Drop the last answer and generate it again (sampling gives a new one)."""
        settings = self._settings(settings)
        if not self.exchanges:
            raise LTUError("There is no answer to retry yet.")
        last = self.exchanges.pop()
        return self._answer(last.turn, settings, last.clip)

    def add_exchange(self, question: str, answer: str, input: str = "") -> None:
        """Append an earlier question and answer (e.g. a history sent by an API client)."""
        ids = self.processor.tokenizer(answer, add_special_tokens=False)["input_ids"]
        clip, self._next_clip = self._next_clip, None
        self.exchanges.append(Exchange(Turn(question, input), self.processor.close_answer(ids).ids, answer,
                                       clip=clip))

    def prompt_segment(self, turn: Turn, clip: TurnClip | None = None) -> Segment:
        """The full token sequence the LLM sees for ``turn`` (given with ``clip``) after the current history."""
        clips = [e.clip for e in self.exchanges] + [clip]
        turns = [_with_transcript(e.turn, c) for e, c in zip(self.exchanges, clips)] + [_with_transcript(turn, clip)]
        transcript = self.clip.transcript if self.clip is not None else ""
        if transcript and not turns[0].input:  # LTU-AS: the transcript goes in the first turn's input field
            turns[0] = Turn(turns[0].question, transcript)
        answers = [e.answer_ids for e in self.exchanges]
        counts = [c.features.num_tokens if c is not None else 0 for c in clips]
        return self.processor.conversation(turns, answers, self.num_audio_tokens, counts)

    # ----- internals
    def _settings(self, settings: GenerationSettings | None) -> GenerationSettings:
        if settings is None:
            return self.settings
        if not isinstance(settings, GenerationSettings):
            raise TypeError(f"settings must be GenerationSettings, got {type(settings).__name__}.")
        return settings

    def _prepare(self, audio: AudioSource) -> tuple[AudioFeatures, torch.Tensor]:
        """Decode, transcribe and encode a clip (on the model thread for a CPU model)."""
        return model_thread.call(self.model.audio_device, prepare_clip, self.model, self.processor, audio,
                                 self.transcriber)

    def _audio(self, clip: TurnClip | None) -> tuple[AudioFeatures | None, torch.Tensor | None]:
        """Every clip in the prompt as one (for the token-count check) and their embeddings in prompt order."""
        later = [c for c in [e.clip for e in self.exchanges] + [clip] if c is not None]
        if not later:
            return self.clip, self.audio_embeds
        parts = ([self.clip] if self.clip is not None else []) + [c.features for c in later]
        embeds = ([self.audio_embeds] if self.audio_embeds is not None else []) + [c.embeds for c in later]
        joined = torch.cat(embeds)  # (N1 + N2 + ..., H)
        tokens = [n for part in parts for n in part.window_tokens]
        return AudioFeatures(None, tokens, encoded=joined), joined

    def _answer(self, turn: Turn, settings: GenerationSettings, clip: TurnClip | None = None) -> Iterator[str]:
        segment, settings = self._fit(turn, settings, clip)
        self.last_prompt = segment
        self._reuse_cache(segment.ids)
        everything, audio_embeds = self._audio(clip)
        beams = settings.num_beams > 1
        stop = threading.Event()
        stream = _TokenStream()
        result: dict[str, object] = {}

        def run() -> None:  # on the model thread for a CPU model (ltu.model_thread), while this one streams
            try:
                inputs = self.processor.collate([segment], [everything]).to(self.model.audio_device)
                cache = copy.deepcopy(self._cache) if beams else self._cache  # beam search reshapes the cache
                result["ids"] = self.model.generate(
                    inputs, settings, [self.processor.eos_id], self.processor.pad_id, audio_embeds=audio_embeds,
                    past_key_values=cache, streamer=None if beams else stream,
                    stopping_criteria=StoppingCriteriaList([_StopWhenSet(stop)]))
            except BaseException as err:  # re-raised in the caller's thread below
                result["error"] = err
            finally:
                stream.end()

        worker = model_thread.begin(self.model.audio_device, run)
        streamed: list[int] = []
        shown = ""
        try:
            for token in stream:
                streamed.append(token)
                text = self.processor.decode(streamed)
                if len(text) > len(shown) and not text.endswith(REPLACEMENT_CHAR):
                    yield text[len(shown):]
                    shown = text
        except GeneratorExit:  # the caller stopped reading: stop the model, keep what it said
            stop.set()
            worker.result()
            if "ids" in result:
                self._record(turn, segment.ids, result["ids"], stopped=True, beams=beams, clip=clip)  # type: ignore[arg-type]
            else:
                self._forget_cache()
            raise
        finally:
            stop.set()
            worker.result()
        if "error" in result:
            self._forget_cache()  # a failure mid-prefill can leave the cache half-filled
            raise result["error"]  # type: ignore[misc]
        text = self._record(turn, segment.ids, result["ids"], stopped=False, beams=beams, clip=clip)  # type: ignore[arg-type]
        if len(text) > len(shown):
            yield text[len(shown):]

    def _record(self, turn: Turn, prompt_ids: list[int], generated: torch.Tensor, stopped: bool, beams: bool,
                clip: TurnClip | None) -> str:
        ids = _strip_padding(generated[0].tolist(), self.processor)
        text = self.processor.decode(ids)
        self.exchanges.append(Exchange(turn, ids, text, stopped=stopped, clip=clip))
        if clip is not None and clip is self._next_clip:
            self._next_clip = None
        self._after_generation(prompt_ids, ids, beams)
        return text

    def _fit(self, turn: Turn, settings: GenerationSettings,
             clip: TurnClip | None = None) -> tuple[Segment, GenerationSettings]:
        """The prompt for ``turn``, dropping the oldest exchanges until it fits the context."""
        segment = self.prompt_segment(turn, clip)
        while len(segment) + settings.max_new_tokens > self.max_context and self.exchanges:
            dropped = self.exchanges.pop(0)
            self.notices.append("The conversation outgrew the model's context, so the oldest question and answer "
                                + ("were dropped, with the clip given with that question; the first clip is kept."
                                   if dropped.clip is not None else "were dropped; the audio is kept."))
            segment = self.prompt_segment(turn, clip)
        room = self.max_context - len(segment)
        if room < 1:
            clips = self.clips + ([clip.features] if clip is not None else [])
            seconds = sum(c.audio.seconds for c in clips if c.audio is not None)
            raise LTUError(context_overflow(len(segment), sum(segment.audio_mask), seconds, self.max_context))
        if settings.max_new_tokens > room:
            self.notices.append(f"Answer length limited to {room} tokens by the model's context.")
            settings = settings.replace(max_new_tokens=room)
        return segment, settings

    def _reuse_cache(self, ids: list[int]) -> None:
        """Keep the longest cached prefix of ``ids``; at least one token must remain to compute."""
        common = 0
        limit = min(len(self._cached_ids), len(ids) - 1)
        while common < limit and self._cached_ids[common] == ids[common]:
            common += 1
        if common == len(self._cached_ids):
            return
        if common > 0 and self._cache.is_croppable:
            self._cache.crop(common - len(self._cached_ids))
            self._cached_ids = self._cached_ids[:common]
        else:
            self._forget_cache()

    def _after_generation(self, prompt_ids: list[int], answer_ids: list[int], beams: bool) -> None:
        if not beams:  # the cache now holds the prompt and every answer token but the last
            self._cached_ids = prompt_ids + answer_ids[:-1]
        if self._cache.get_seq_length() != len(self._cached_ids):
            self._forget_cache()

    def _forget_cache(self) -> None:
        self._cache = DynamicCache()
        self._cached_ids = []


class _TokenStream(BaseStreamer):
    """Receives tokens from ``generate`` in its thread; iterating yields them in order."""

    def __init__(self) -> None:
        self._queue: Queue[int | None] = Queue()
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate first hands over the prompt
            self._prompt_seen = True
            return
        for token in value.flatten().tolist():
            self._queue.put(int(token))

    def end(self) -> None:
        self._queue.put(None)

    def __iter__(self) -> Iterator[int]:
        return iter(self._queue.get, None)


class _StopWhenSet(StoppingCriteria):
    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: object) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def prepare_clip(model: LTUModel, processor: LTUProcessor, audio: AudioSource,
                 transcriber: Transcriber | None) -> tuple[AudioFeatures, torch.Tensor]:
    """A clip decoded, transcribed (when there is a transcriber) and encoded: its features and (N, H) embeddings."""
    features = processor.audio_features(audio)
    if transcriber is not None:
        features.transcript = transcriber.heard(features.audio.samples)
    tokens = torch.tensor(features.window_tokens, dtype=torch.long)
    with torch.no_grad():
        return features, model.audio_embeddings(features.features, tokens)


def _with_transcript(turn: Turn, clip: TurnClip | None) -> Turn:
    """A later clip's speech goes in its turn's input field, as the first clip's does in the first turn."""
    if clip is None or turn.input or not clip.features.transcript:
        return turn
    return Turn(turn.question, clip.features.transcript)


def _strip_padding(ids: list[int], processor: LTUProcessor) -> list[int]:
    """Cut the generated ids after the first EOS (batched generate pads finished rows)."""
    if processor.eos_id in ids:
        ids = ids[: ids.index(processor.eos_id) + 1]
    return ids


def _context_length(model: LTUModel) -> int:
    config = model.llm.config
    return int(getattr(config, "max_position_embeddings", None) or 2048)
