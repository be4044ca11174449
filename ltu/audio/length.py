"""How long a clip may be: the limit (``--max-seconds``), its bounds, and the sentences for clips over it.

The front end keeps at most ``frontend.max_seconds`` of a clip: the decoder cuts the rest and the
clip's description says so (``ltu.audio.decode``). A command can set that limit when it loads a
model (``with_max_seconds``), and the commands that answer programs (``python -m ltu chat | batch |
serve``) refuse a clip the front end had to cut (``require_whole``) instead of answering about part
of it. The page keeps the cut clip and says so (``webapp``).
"""

from __future__ import annotations

import dataclasses
import math

from ltu.audio.decode import Audio
from ltu.config import FrontEndConfig, LTUConfig
from ltu.errors import AudioTooLongError, ConfigError

MAX_SECONDS_FLAG = "--max-seconds"  # the option of every command and of app.py that sets the limit
# The highest limit the option accepts: 10 minutes. The paper's LTU-7B then takes 59 windows of 32 tokens
# (1,888 audio tokens), which still fits Vicuna's 2,048-token context with a short question and answer;
# LTU-small takes 60 windows, 3,780 of SmolLM2's 8,192. Much longer audio would not fit LTU-7B's context.
MAX_SECONDS_CEILING = 600.0


def check_max_seconds(seconds: float) -> float:
    """``seconds`` when it is a usable clip limit; ``ConfigError`` with a sentence otherwise."""
    if not 0 < seconds <= MAX_SECONDS_CEILING:  # also refuses NaN
        raise ConfigError(f"{MAX_SECONDS_FLAG} must be more than 0 and at most {MAX_SECONDS_CEILING:g} seconds "
                          f"(10 minutes), not {seconds:g}.")
    return float(seconds)


def with_max_seconds(config: LTUConfig, seconds: float | None) -> LTUConfig:
    """``config`` whose front end keeps clips up to ``seconds`` long (None: ``config`` unchanged)."""
    if seconds is None:
        return config
    frontend = dataclasses.replace(config.frontend, max_seconds=check_max_seconds(seconds))
    return dataclasses.replace(config, frontend=frontend)


def require_whole(audio: Audio, config: FrontEndConfig, name: str | None = None) -> Audio:
    """``audio`` when decoding kept all of it; ``AudioTooLongError`` naming the clip's length, the limit and
    the option that raises it when the front end cut it at ``config.max_seconds``. ``name``: the file's name."""
    if not audio.info.truncated:
        return audio
    what = f"The file {name}" if name else "The clip"
    raise AudioTooLongError(f"{what} is {_seconds(audio.info.source_seconds, config.max_seconds)} s long, longer "
                            f"than the {config.max_seconds:g} s limit for clips; use a shorter clip or raise the "
                            f"limit with {MAX_SECONDS_FLAG} (up to {MAX_SECONDS_CEILING:g} s).")


def cut_note(audio: Audio, config: FrontEndConfig) -> str:
    """For a person who keeps a cut clip: how long it is, what the model hears, and how to hear it all."""
    if not audio.info.truncated:
        return ""
    whole = min(MAX_SECONDS_CEILING, math.ceil(audio.info.source_seconds))
    return (f"This clip is {_seconds(audio.info.source_seconds, config.max_seconds)} s long; the model hears only "
            f"the first {config.max_seconds:g} s, the limit for clips (start the server with "
            f"{MAX_SECONDS_FLAG} {whole:g} to hear {'all of it' if whole >= audio.info.source_seconds else 'more'}).")


def context_overflow(prompt_tokens: int, audio_tokens: int, audio_seconds: float, context: int,
                     answer_tokens: int = 1) -> str:
    """The sentence for a prompt that leaves fewer than ``answer_tokens`` of the LLM's ``context`` for the answer."""
    text = f"The question and audio take {prompt_tokens} tokens"
    if audio_tokens:
        text += f" ({audio_tokens} of them for {audio_seconds:.1f} s of audio)"
    if answer_tokens > 1:
        text += f"; with {answer_tokens} new tokens that is more than the model's context of {context}"
    else:
        text += f", more than the model's context of {context}"
    room = context - (prompt_tokens - audio_tokens) - answer_tokens  # audio tokens that would fit
    if audio_tokens and audio_seconds > 0 and room * audio_seconds / audio_tokens >= 1:
        fits = math.floor(room * audio_seconds / audio_tokens)
        return f"{text}; with this question it holds about {fits} s of audio, so use a shorter clip."
    return f"{text}; ask a shorter question{' or use fewer new tokens' if answer_tokens > 1 else ''}."


def _seconds(seconds: float, limit: float) -> str:
    """``seconds`` rounded to tenths, or to hundredths when tenths would read as the limit itself."""
    text = f"{seconds:.1f}"
    return f"{seconds:.2f}" if float(text) <= limit else text
