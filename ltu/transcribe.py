"""Speech to text with a Whisper model: greedy decoding, language detection, a speech gate.

Audio is cut into 30 s windows (Whisper's input length) that are transcribed on their own
and joined; there is no timestamp-based seeking and no conditioning on the previous
window, so a word that straddles a window edge may be cut. Decoding follows OpenAI
Whisper's ``decoding.py`` for one window without timestamps:

1. One decoder step on ``<|startoftranscript|>`` gives both the language (the most likely
   language token) and the no-speech probability (the probability of ``<|nospeech|>``).
2. The prompt ``<|startoftranscript|><|lang|><|transcribe|><|notimestamps|>`` is continued
   greedily with the model's suppressed tokens (and, at the first step, its
   ``begin_suppress_tokens``) forbidden, until ``<|endoftext|>`` or ``MAX_NEW_TOKENS``.
   Every special and timestamp token is forbidden too, so the output is plain text.
3. The speech gate. A window's text counts only when all of these hold (OpenAI's signals; the
   constants below say where each number comes from):

   - no-speech probability <= ``no_speech_threshold`` (0.6, OpenAI's default); above it the window
     is silent and not decoded at all. OpenAI keeps such a window when its text is confident
     (average log-probability above -1), but on silence Whisper confidently says "you"
     (Asterisk's silence clips: no-speech 0.93-0.95, text "you"), so the probability alone decides;
   - the text holds a letter or digit, and compresses no better than 2.4 (OpenAI's
     compression_ratio_threshold): not a repetition loop such as "AHHHH..." on a rooster's crow.
     A window whose text is already such a loop after 32 tokens stops decoding there;
   - the average log-probability of the text (its tokens and <|endoftext|>, as OpenAI computes
     it) is at least -1 (OpenAI's logprob_threshold, below which OpenAI re-decodes at a higher
     temperature; greedy-only decoding drops the text instead): "I'm going to get you a little bit
     more." on ducks (-1.8), "AHHHHH!" on a horse (-1.1), "You" on a drum roll (-1.9);
   - not both no-speech > 0.27 and average log-probability < -0.5: OpenAI's
     "no-speech AND low log-probability" rule with thresholds chosen on the tune half of
     ``train/check_transcriber.py``, for the confident-sounding inventions that pass the rules
     above: in the tune half "Help! Help!" on an owl (0.30, -0.70) and "you" on a chime (0.57, -0.98),
     in the held-out half "Get it!" on a sheep (0.40, -0.87).

   Measured by ``python -m train.check_transcriber`` on its held-out half (clips split by a hash of
   the file name; thresholds chosen on the other half; 2 CPU cores shared with other jobs: 20 min,
   about 1 s a clip when the cores are free):
   non-speech clips given text: 0 of 175 (animals 0/5 and 0/30 SoX variants of them, Sonic Pi
   samples 0/69, desktop sound themes 0/48, SoX noise/tones/silence 0/15, Asterisk tones and
   silence 0/8); the previous gate (no-speech and compression only) gave text on 42 of them (24 %).
   Speech: Asterisk prompts of 3+ words 127/127 transcribed, WER 6.4 % (tune half 4.3 %; all 259:
   5.3 %, as before the gate changed), 1-2-word prompts 38/39 ("Is." came out as "E", -1.5),
   English espeak-ng 7/7 (WER 8.5 %). The cost is on speech Whisper base mishears: espeak-ng's
   rough German/French/Spanish/Italian/Dutch/Portuguese voices got text on 8 of 22 clips; what was
   dropped was mostly wrong (WER over these clips 76 % before, 80 % now).

OpenAI's temperature fallback (re-decoding when the text repeats itself) is not done.
"""

from __future__ import annotations

import math
import threading
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ltu.config import LTUConfig, whisper_frontend
from ltu.errors import CheckpointError, EmptyAudioError, InvalidAudioError

DEFAULT_SOURCE = "packaged:whisper-base"
# The speech gate (see the module docstring). A window holds speech only when all of these hold:
NO_SPEECH_THRESHOLD = 0.6  # openai-whisper transcribe(): no_speech_threshold; above it a window is not even decoded
LOGPROB_THRESHOLD = -1.0  # openai-whisper transcribe(): logprob_threshold; text less likely than this is dropped
# OpenAI's rule "silent when no-speech > 0.6 AND avg_logprob < -1", with both numbers chosen on the tune half
# of train/check_transcriber.py: the Asterisk and English espeak-ng speech windows there had no-speech <= 0.24,
# and the non-speech texts that got past the rules above (owl hoots as "Help! Help!", chimes as "you",
# "Thank you.") had no-speech >= 0.30 and avg_logprob <= -0.64; 0.27 is the middle of that gap, and -0.5
# keeps confident text (speech's median avg_logprob is about -0.1) where the no-speech probability is high.
DOUBT_NO_SPEECH = 0.27
DOUBT_LOGPROB = -0.5
COMPRESSION_RATIO_THRESHOLD = 2.4  # openai-whisper transcribe(): text that gzips better than this is a repetition loop
MAX_NEW_TOKENS = 224  # openai-whisper DecodingOptions.sample_len default: half the text context (448)
# A window whose text after this many tokens already compresses better than COMPRESSION_RATIO_THRESHOLD is
# a repetition loop that will be dropped: its decoding stops there (checked every LOOP_CHECK_EVERY steps)
# instead of running to MAX_NEW_TOKENS, which saves seconds per looping window on a CPU.
LOOP_CHECK_TOKENS = 32
LOOP_CHECK_EVERY = 8
ENCODER_BATCH = 4  # windows per encoder call, to bound memory on long audio


@dataclass(frozen=True)
class Transcript:
    """What was said in a recording."""

    text: str  # the transcription, windows joined by spaces; "" when no speech was found
    language: str  # ISO code of the detected (or given) language, e.g. "en"
    language_prob: float  # probability of that language among Whisper's language tokens
    no_speech_prob: float  # probability of <|nospeech|>, lowest over the windows
    has_speech: bool  # some window holds speech and produced text


@dataclass(frozen=True)
class Window:
    """One decoded 30 s window and the signals the speech gate reads."""

    text: str  # greedy transcription, stripped
    no_speech_prob: float  # probability of <|nospeech|> after <|startoftranscript|>
    avg_logprob: float  # mean log-probability of the text tokens and <|endoftext|> (OpenAI's avg_logprob)
    compression: float  # compression_ratio(text)

    def is_speech(self, no_speech_threshold: float = NO_SPEECH_THRESHOLD) -> bool:
        """Whether the window's text counts as speech: the gate of the module docstring."""
        if self.no_speech_prob > no_speech_threshold:  # silent (and not decoded)
            return False
        if not any(c.isalnum() for c in self.text) or self.compression > COMPRESSION_RATIO_THRESHOLD:
            return False  # no words, or a repetition loop
        if self.avg_logprob < LOGPROB_THRESHOLD:
            return False  # text the model itself finds unlikely
        return not (self.no_speech_prob > DOUBT_NO_SPEECH and self.avg_logprob < DOUBT_LOGPROB)


class Transcriber:
    """Transcribes 16 kHz mono audio with a Whisper model folder; the model loads on first use."""

    def __init__(
        self, source: str = DEFAULT_SOURCE, device: str = "cpu", no_speech_threshold: float = NO_SPEECH_THRESHOLD
    ) -> None:
        self.source = source  # a folder, a hub id or "packaged:NAME"
        self.device = torch.device(device)
        self.no_speech_threshold = no_speech_threshold
        self._lock = threading.Lock()
        self._loaded: _Whisper | None = None

    @classmethod
    def from_source(cls, source: str = DEFAULT_SOURCE, **kwargs: Any) -> Transcriber:
        """A transcriber for a Whisper folder, hub id or ``packaged:whisper-base`` (converted on first use)."""
        return cls(source, **kwargs)

    def transcribe(self, samples_16k: np.ndarray, language: str | None = None) -> Transcript:
        """Transcribe a mono float waveform (16 kHz, values in [-1, 1]); ``language`` ("en", ...) skips detection."""
        samples = _check_samples(samples_16k)
        whisper = self._whisper()
        with torch.inference_mode():
            return whisper.transcribe(samples, language, self.no_speech_threshold)

    @property
    def cache_key(self) -> str:
        """What a stored transcript depends on: the model and the speech gate's settings."""
        gate = (NO_SPEECH_THRESHOLD, LOGPROB_THRESHOLD, DOUBT_NO_SPEECH, DOUBT_LOGPROB, COMPRESSION_RATIO_THRESHOLD,
                MAX_NEW_TOKENS, self.no_speech_threshold)
        return f"{self.source}|gate={gate}"

    def heard(self, samples_16k: np.ndarray) -> str:
        """The speech in a clip as text, or "" when no speech was found."""
        result = self.transcribe(samples_16k)
        return result.text.strip() if result.has_speech else ""

    def _whisper(self) -> _Whisper:
        with self._lock:
            if self._loaded is None:
                self._loaded = _Whisper.load(self.source, self.device)
            return self._loaded


_SHARED: dict[str, Transcriber] = {}
_SHARED_LOCK = threading.Lock()


def transcriber_for(config: LTUConfig) -> Transcriber | None:
    """The transcriber a model's config asks for (``prompt.transcript_source``), shared by every
    caller in this process so the Whisper model loads once; None when the model takes no transcript."""
    source = config.prompt.transcript_source
    if not source:
        return None
    with _SHARED_LOCK:
        return _SHARED.setdefault(source, Transcriber(source))


def compression_ratio(text: str) -> float:
    """Bytes of ``text`` over bytes of its zlib compression: Whisper's sign of a repetition loop
    (e.g. "AHHHH..." decoded from a rooster's crow)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _check_samples(samples: np.ndarray) -> np.ndarray:
    array = np.asarray(samples)
    if array.ndim != 1:
        raise InvalidAudioError(f"Transcription takes one channel of samples, got an array of shape {array.shape}.")
    if array.size == 0:
        raise EmptyAudioError("The audio holds no samples, so there is nothing to transcribe.")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise InvalidAudioError("The audio holds NaN or infinite values.")
    return array


class _Whisper:
    """A loaded ``WhisperForConditionalGeneration`` with the token ids decoding needs."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model, self.tokenizer = model, tokenizer
        config = model.generation_config
        vocab = tokenizer.get_vocab()
        self.sot = model.config.decoder_start_token_id
        self.eot = model.config.eos_token_id
        self.transcribe_id = config.task_to_id["transcribe"]
        self.no_timestamps = config.no_timestamps_token_id
        self.no_speech = vocab.get("<|nospeech|>", vocab.get("<|nocaptions|>", self.no_timestamps - 1))
        self.languages = {token[2:-2]: i for token, i in config.lang_to_id.items()}  # "en" -> 50259
        self.frontend = whisper_frontend(num_mel_bins=model.config.num_mel_bins)
        vocab_size = model.config.vocab_size
        self.suppress = torch.zeros(vocab_size, dtype=torch.bool)
        self.suppress[list(config.suppress_tokens or [])] = True
        self.suppress[self.sot :] = True  # every special and timestamp token; <|endoftext|> comes before them
        self.begin_suppress = self.suppress.clone()
        self.begin_suppress[list(config.begin_suppress_tokens or [])] = True

    @classmethod
    def load(cls, source: str, device: torch.device) -> _Whisper:
        from transformers import WhisperForConditionalGeneration, WhisperTokenizer

        from ltu.weights.packaged import locate

        folder = locate(source)
        try:
            model = WhisperForConditionalGeneration.from_pretrained(folder, dtype=torch.float32)
            tokenizer = WhisperTokenizer.from_pretrained(folder)
        except OSError as err:
            raise CheckpointError(f"Cannot load a Whisper model from {source!r}: {err}") from err
        if not getattr(model.generation_config, "lang_to_id", None):
            raise CheckpointError(f"{source!r} is not a multilingual Whisper (no lang_to_id in generation_config).")
        return cls(model.to(device).eval(), tokenizer)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def transcribe(self, samples: np.ndarray, language: str | None, threshold: float) -> Transcript:
        windows, code, lang_prob = self.windows(samples, language, threshold)
        texts = [w.text for w in windows if w.is_speech(threshold)]
        return Transcript(
            text=" ".join(texts),
            language=code,
            language_prob=lang_prob,
            no_speech_prob=min(w.no_speech_prob for w in windows),
            has_speech=bool(texts),
        )

    def windows(self, samples: np.ndarray, language: str | None, threshold: float) -> tuple[list[Window], str, float]:
        """Every 30 s window with the signals the gate reads, and the language code and its probability.
        A window whose no-speech probability exceeds ``threshold`` is silent and is not decoded."""
        from ltu.audio.features import whisper_windows

        if language is not None and language not in self.languages:
            raise ValueError(f"Unknown language {language!r}; Whisper knows {', '.join(self.languages)}.")
        features = whisper_windows(torch.from_numpy(samples), self.frontend).to(self.device)  # (W, mels, 3000)
        encoded = torch.cat([self.model.model.encoder(input_features=chunk).last_hidden_state
                             for chunk in features.split(ENCODER_BATCH)])  # (W, 1500, d)
        first = self._step(torch.full((len(encoded), 1), self.sot, device=self.device), encoded, None)
        logits = first.logits[:, -1].float()  # (W, vocab)
        no_speech = logits.softmax(-1)[:, self.no_speech]  # (W,)
        lang_probs = logits[:, list(self.languages.values())].softmax(-1)  # (W, languages)
        code, lang_prob = self._language(lang_probs, no_speech, language)
        windows = [Window("", p, -math.inf, 0.0) for p in no_speech.tolist()]
        speech = (no_speech <= threshold).nonzero().flatten()  # windows worth decoding
        if len(speech):
            cache = first.past_key_values
            cache.batch_select_indices(speech)
            decoded = self._decode(encoded[speech], cache, self.languages[code])
            for i, (tokens, logprob) in zip(speech.tolist(), decoded):
                text = self.tokenizer.decode(tokens, skip_special_tokens=True).strip()
                avg_logprob = logprob / (len(tokens) + 1)  # OpenAI's: <|endoftext|> counts as a token
                windows[i] = Window(text, windows[i].no_speech_prob, avg_logprob, compression_ratio(text))
        return windows, code, lang_prob

    def _language(self, probs: torch.Tensor, no_speech: torch.Tensor, language: str | None) -> tuple[str, float]:
        """The language given, or the one most likely over the windows (each weighted by its speech probability)."""
        codes = list(self.languages)
        weights = (1 - no_speech).clamp_min(1e-6)  # (W,)
        mean = (probs * weights[:, None]).sum(0) / weights.sum()  # (languages,)
        index = int(mean.argmax()) if language is None else codes.index(language)
        return codes[index], float(mean[index])

    def _step(self, tokens: torch.Tensor, encoded: torch.Tensor, cache: Any) -> Any:
        return self.model(encoder_outputs=(encoded,), decoder_input_ids=tokens, past_key_values=cache, use_cache=True)

    def _decode(self, encoded: torch.Tensor, cache: Any, lang_id: int) -> list[tuple[list[int], float]]:
        """Greedy decoding of all windows together, after the shared <|startoftranscript|> step: each
        window's text tokens and the summed log-probability of them and of <|endoftext|> (OpenAI's
        ``sum_logprobs``, over the distribution left after suppression)."""
        count = len(encoded)
        tokens: list[list[int]] = [[] for _ in range(count)]
        sums = torch.zeros(count, dtype=torch.float64, device=self.device)
        done = torch.zeros(count, dtype=torch.bool, device=self.device)
        prompt = torch.tensor([[lang_id, self.transcribe_id, self.no_timestamps]] * count, device=self.device)
        out = self._step(prompt, encoded, cache)
        for step in range(MAX_NEW_TOKENS):
            logits = out.logits[:, -1].float()  # (W, vocab)
            logits[:, (self.begin_suppress if step == 0 else self.suppress).to(self.device)] = -torch.inf
            chosen = logits.argmax(-1).masked_fill(done, self.eot)  # (W,)
            picked = logits.log_softmax(-1).gather(1, chosen[:, None])[:, 0]
            sums += picked.double().masked_fill(done, 0.0)
            for i, token in enumerate(chosen.tolist()):
                if token != self.eot:
                    tokens[i].append(token)
            done |= chosen == self.eot
            if step >= LOOP_CHECK_TOKENS and step % LOOP_CHECK_EVERY == 0:
                for i in (~done).nonzero().flatten().tolist():  # a repetition loop will be dropped: stop it now
                    if compression_ratio(self.tokenizer.decode(tokens[i])) > COMPRESSION_RATIO_THRESHOLD:
                        done[i] = True
            if done.all():
                break
            out = self._step(chosen[:, None], encoded, out.past_key_values)
        return list(zip(tokens, sums.tolist()))
