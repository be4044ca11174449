"""What the page does, without the page: conversations, history replay, messages for people.

Nothing here imports Gradio, so every piece is tested as plain Python.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Sequence

import torch

from ltu.chat import ChatSession, Exchange, TurnClip
from ltu.clips import ClipStore
from ltu.errors import LTUError
from ltu.generation import GenerationSettings
from ltu.model import LTUModel
from ltu.processor import AudioFeatures, LTUProcessor
from ltu.transcribe import Transcriber


OUT_OF_MEMORY = ("The model ran out of memory while answering. Try a shorter clip, a smaller 'max new tokens', "
                 "or Clear to start the conversation again.")


@dataclass
class Conversation:
    """One browser session's conversation: the chat engine and the clip it is about."""

    session: ChatSession
    clip_key: str | None  # the clip's file path (None: text-only questions)
    stop: threading.Event = field(default_factory=threading.Event)  # set by the Stop button

    def stream(self, pieces: Iterator[str]) -> Iterator[str]:
        """The answer so far after each piece; ends early (keeping the partial answer) once ``stop`` is set."""
        text = ""
        try:
            for piece in pieces:
                text += piece
                yield text
                if self.stop.is_set():
                    break
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # stops the model if it is still generating

    @property
    def last_exchange(self) -> Exchange | None:
        """The latest answered question, if any."""
        return self.session.exchanges[-1] if self.session.exchanges else None


def open_conversation(model: LTUModel, processor: LTUProcessor, clip: str | Path | None,
                      settings: GenerationSettings = GenerationSettings(),
                      transcriber: Transcriber | None | Literal["auto"] = "auto") -> Conversation:
    """Decode and encode ``clip`` (a file path, or None for text only) and start a conversation about it."""
    session = ChatSession(model, processor, str(clip) if clip is not None else None, settings,
                          transcriber=transcriber)
    return Conversation(session, str(clip) if clip is not None else None)


class ClipCache:
    """Conversations opened on clips kept by content hash in ``store`` (``ltu.clips.ClipStore``).

    A follow-up sent through the API names the same file again; with the cache it skips decoding,
    transcribing and encoding, as a follow-up in the page does. ``python -m ltu serve --page`` gives
    the page the store of the OpenAI-compatible endpoint, so a clip is encoded once for both.
    """

    def __init__(self, store: ClipStore) -> None:
        self.store = store

    @property
    def hits(self) -> int:
        """Clips served from the cache so far."""
        return self.store.hits

    def open(self, clip: str | Path | None, settings: GenerationSettings) -> Conversation:
        """A new conversation about ``clip`` (None: text only), reusing its encoding when cached."""
        model, processor = self.store.model, self.store.processor
        if clip is None:
            return Conversation(ChatSession(model, processor, None, settings, transcriber=None), None)
        encoded = self.encoded(clip)
        return Conversation(ChatSession.from_encoded(model, processor, encoded.features, encoded.embeds, settings),
                            str(clip))

    def add(self, conv: Conversation, clip: str | Path) -> TurnClip:
        """Give ``clip`` to ``conv`` with its next question (earlier clips stay); returns the encoded clip."""
        encoded = self.encoded(clip)
        conv.session.add_clip_encoded(encoded.features, encoded.embeds)
        conv.clip_key = str(clip)
        return encoded

    def encoded(self, clip: str | Path) -> TurnClip:
        """``clip`` decoded, transcribed and encoded, from the store when its content was seen before."""
        key = content_hash(clip)
        return self.store.get(key, str(clip)) if key else self.store.encode(str(clip))  # unreadable: decoding says why

    def __len__(self) -> int:
        return len(self.store)


def content_hash(path: str | Path) -> str | None:
    """SHA-256 of a file's bytes, or None when ``path`` is not a readable file (decoding then says why)."""
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def replay(session: ChatSession, pairs: Iterable[tuple[str, str]]) -> None:
    """Add earlier questions and answers to ``session`` as if it had answered them itself."""
    for question, answer in pairs:
        session.add_exchange(question, answer)


def history_pairs(history: Sequence[Any] | None) -> list[tuple[str, str]]:
    """(question, answer) pairs from a history given as pairs or as chat messages.

    Pairs: ``[["q1", "a1"], ...]``. Messages: ``[{"role": "user", "content": "q1"},
    {"role": "assistant", "content": "a1"}, ...]``, where ``content`` may also be a list of
    parts (``[{"type": "text", "text": ...}]``) as Gradio 6 sends them. A question without
    an answer is dropped.
    """
    if not history:
        return []
    if all(isinstance(item, dict) for item in history):
        return _pairs_from_messages(history)
    pairs = []
    for item in history:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise LTUError("The history must be a list of [question, answer] pairs or of chat messages "
                           "with 'role' and 'content'.")
        question, answer = (plain_text(part) for part in item)
        if question.strip() and answer.strip():
            pairs.append((question, answer))
    return pairs


def messages(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Chat messages (Gradio's Chatbot format) for (question, answer) pairs."""
    out: list[dict[str, str]] = []
    for question, answer in pairs:
        out += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return out


def user_message(err: BaseException) -> str | None:
    """The sentence to show a person for ``err``, or None when it is a bug rather than their doing."""
    if isinstance(err, LTUError):
        return str(err)
    if is_out_of_memory(err):
        return OUT_OF_MEMORY
    return None


def is_out_of_memory(err: BaseException) -> bool:
    """True for out-of-memory errors from CUDA, MPS or the CPU allocator."""
    if isinstance(err, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def release_memory() -> None:
    """Return cached GPU memory after an out-of-memory error."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def clip_facts(clip: AudioFeatures | None, transcribed: bool) -> str:
    """Markdown about a clip: what it is, what decoding did, what the model receives, and the
    speech transcript the model was given (``transcribed``: the model takes one)."""
    if clip is None or clip.audio is None:
        return ""
    audio = clip.audio
    heard = f"the model hears {audio.seconds:.2f} s as {clip.num_tokens} audio tokens"
    lines = [f"{audio.info.describe()} · {heard}"]
    if transcribed:
        text = clip.transcript.strip()
        lines.append(f"Heard speech: “{escape_markdown(text)}”" if text else "Heard speech: none (no speech detected)")
    return "\n\n".join(lines)


def model_summary(model: LTUModel) -> str:
    """The model's name, parts, size and where it runs, in one line."""
    config = model.config
    llm = sum(_numel(p) for p in model.llm.parameters())
    audio = sum(_numel(p) for p in model.encoder.parameters()) + sum(_numel(p) for p in model.audio_proj.parameters())
    return (f"{config.name} · {model_parts(config.llm, config.encoder.kind, config.encoder.source)} · "
            f"{_count(llm + audio)} parameters (language model {_count(llm)}, audio encoder and projector "
            f"{_count(audio)}) · {_where(model)}")


def model_parts(llm: str, encoder_kind: str, encoder_source: str | None) -> str:
    """The language model and audio encoder as people name them
    (e.g. 'SmolLM2-135M-Instruct + Whisper-base encoder')."""
    if encoder_kind == "whisper":
        name = _short_name(encoder_source) if encoder_source else "whisper"
        encoder = name[0].upper() + name[1:] if name.lower().startswith("whisper") else f"Whisper ({name})"
    else:
        encoder = {"cavmae": "CAV-MAE"}.get(encoder_kind, encoder_kind)
    return f"{_short_name(llm)} + {encoder} encoder"


def _short_name(source: str) -> str:
    """'packaged:SmolLM2-135M-Instruct' -> 'SmolLM2-135M-Instruct'; a folder or hub id -> its last part."""
    name = source.split(":", 1)[1] if re.match(r"^[a-z]+:(?!//)", source) and not Path(source).exists() else source
    return Path(name.rstrip("/")).name or name


def _where(model: LTUModel) -> str:
    quant = getattr(model.llm.config, "quantization_config", None)
    if quant is not None and not isinstance(quant, dict):
        quant = quant.to_dict()
    bits = "4-bit" if (quant or {}).get("load_in_4bit") else "8-bit" if (quant or {}).get("load_in_8bit") else None
    dtype = str(model.audio_dtype).removeprefix("torch.")
    return f"{model.audio_device.type}, {bits + ' language model' if bits else dtype}"


def _numel(param: torch.Tensor) -> int:
    """Parameters a weight stands for (a packed 4-bit weight stores two per byte)."""
    state = getattr(param, "quant_state", None)
    return int(state.shape.numel()) if state is not None and hasattr(state, "shape") else param.numel()


def _count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)


def _pairs_from_messages(history: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for message in history:
        role, text = message.get("role"), plain_text(message.get("content"))
        if role == "user":
            question = f"{question}\n{text}" if question else text
        elif role == "assistant" and question and question.strip():
            pairs.append((question, text))
            question = None
    return [(q, a) for q, a in pairs if a.strip()]


def plain_text(content: Any) -> str:
    """Plain text of a message's content (a string, or Gradio's list of parts), unchanged."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return "\n".join(t for t in (plain_text(part) for part in content) if t)
    return str(content)


# ----- text shown in the chat: exactly what was typed, never HTML
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_HTML = re.compile(r"([\\<>&])")
_ESCAPED_HTML = re.compile(r"\\([\\<>&])")


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that renders as exactly that text (every ASCII punctuation mark backslash-escaped)."""
    return _PUNCTUATION.sub(r"\\\1", text)


def unescape_markdown(text: str) -> str:
    """The inverse of ``escape_markdown``."""
    return _ESCAPED.sub(r"\1", text)


def escape_html(text: str) -> str:
    """Markdown ``text`` with HTML tags and entities turned into plain characters; Markdown itself still renders."""
    return _HTML.sub(r"\\\1", text)


def unescape_html(text: str) -> str:
    """The inverse of ``escape_html``."""
    return _ESCAPED_HTML.sub(r"\1", text)


# ----- a conversation saved to a file
def export(pairs: Sequence[tuple[str, str]], clip_name: str | None, settings: GenerationSettings,
           model: str) -> tuple[str, str]:
    """The conversation as (Markdown, JSON) text, with the clip's name, the settings and the model."""
    record = {"model": model, "clip": clip_name, "settings": asdict(settings),
              "conversation": [{"question": q, "answer": a} for q, a in pairs]}
    lines = ["# LTU conversation", "", f"- Model: {model}", f"- Clip: {clip_name or 'none (text only)'}",
             "- Settings: " + ", ".join(f"{k} {v}" for k, v in asdict(settings).items() if v is not None), ""]
    for question, answer in pairs:
        lines += ["**You:**", "", _quote(question), "", "**LTU:**", "", _quote(answer), ""]
    return "\n".join(lines), json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines() or [""])
