"""Encoded clips kept by content hash: decoded, transcribed and encoded once, then reused.

A follow-up that names the same audio again (through the page, ``/ask`` or the HTTP
endpoint) skips decoding, transcription and the encoder. ``ClipStore`` keeps the ``size``
most recently used clips; callers key them by a hash of the audio's bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Literal

from ltu import model_thread
from ltu.chat import TurnClip, prepare_clip
from ltu.model import LTUModel
from ltu.processor import AudioSource, LTUProcessor
from ltu.transcribe import Transcriber, transcriber_for


class ClipStore:
    """Encoded clips by content hash, the ``size`` most recently used."""

    def __init__(self, model: LTUModel, processor: LTUProcessor,
                 transcriber: Transcriber | None | Literal["auto"] = "auto", size: int = 32) -> None:
        self.model = model
        self.processor = processor
        self.transcriber = transcriber_for(model.config) if transcriber == "auto" else transcriber
        self.size = size
        self._clips: OrderedDict[str, TurnClip] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str, source: AudioSource) -> TurnClip:
        """The encoded clip ``key`` names, encoding ``source`` on a miss; bad audio raises ``AudioError``."""
        with self._lock:
            found = self._clips.get(key)
            if found is not None:
                self._clips.move_to_end(key)
                self.hits += 1
                return found
        encoded = self.encode(source)
        with self._lock:
            self.misses += 1
            self._clips[key] = encoded
            while len(self._clips) > self.size:
                self._clips.popitem(last=False)
        return encoded

    def encode(self, source: AudioSource) -> TurnClip:
        """Decode, transcribe (when there is a transcriber) and encode a clip, without keeping it."""
        return TurnClip(*model_thread.call(self.model.audio_device, prepare_clip, self.model, self.processor, source,
                                           self.transcriber))

    def __len__(self) -> int:
        return len(self._clips)
