"""Prompt text for one or more turns: the paper's template or the LLM's chat template.

A conversation is laid out as

    first_turn.before_audio  <audio tokens>  first_turn.after_audio  answer_1 <eos>
    next_turn(q2)  answer_2 <eos>  next_turn(q3) ...

so a follow-up only appends text after the previous answer: the earlier tokens, and the
KV cache computed over them, never change. This module produces the text pieces;
``ltu.processor`` turns them into token ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ltu.config import PromptConfig
from ltu.errors import ConfigError

# paper.md "Prompt and generation": the paper's "alpaca_short" template; the answer follows "### Response:\n".
ALPACA_SHORT = "### Instruction:\n{instruction}\n\n### Response:\n"
ALPACA_SHORT_INPUT = "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
# Between an answer's end and the next instruction (multi-turn is our extension: the
# paper's demo was single-turn).
ALPACA_TURN_SEPARATOR = "\n\n"

# Stand-ins rendered through a chat template, then located to cut the text into pieces.
_AUDIO_MARK = "\u27e6LTU-AUDIO\u27e7"
_ANSWER_MARK = "\u27e6LTU-ANSWER\u27e7"
_QUESTION_MARK = "\u27e6LTU-QUESTION-{}\u27e7"


@dataclass(frozen=True)
class Turn:
    """One user question, with the optional input field (e.g. a transcript)."""

    question: str
    input: str = ""


@dataclass(frozen=True)
class FirstTurn:
    """Text of the first turn, split where the audio tokens go."""

    before_audio: str
    after_audio: str


class PromptFormatter:
    """Renders turns as text in the configured format."""

    def __init__(self, config: PromptConfig, tokenizer: Any) -> None:
        self.config = config
        self.tokenizer = tokenizer
        self.eos_text = tokenizer.eos_token or ""
        if config.format == "chat_template" and not getattr(tokenizer, "chat_template", None):
            raise ConfigError("prompt.format is 'chat_template' but this LLM's tokenizer has no chat template; use 'alpaca_short'.")

    def first_turn(self, turn: Turn) -> FirstTurn:
        """The first turn's text around the audio (``before_audio`` is '' for the paper layout)."""
        if self.config.format == "alpaca_short":
            text = self._alpaca(turn, audio_inside=self.config.audio_position == "user")
        else:
            text = self._chat([self._user(turn, audio_inside=self.config.audio_position == "user")])
        if self.config.audio_position == "start":
            return FirstTurn("", text)
        before, sep, after = text.partition(_AUDIO_MARK)
        if not sep:
            raise ConfigError("The chat template dropped the audio position marker; use audio_position='start'.")
        return FirstTurn(before, after)

    def next_turn(self, turn: Turn) -> str:
        """Text that follows the previous answer (after its end-of-sequence token)."""
        if self.config.format == "alpaca_short":
            return ALPACA_TURN_SEPARATOR + self._alpaca(turn, audio_inside=False)
        previous = Turn(_QUESTION_MARK.format(0))
        messages = [self._user(previous, audio_inside=False), {"role": "assistant", "content": _ANSWER_MARK},
                    self._user(turn, audio_inside=False)]
        text = self._chat(messages)
        _, sep, after = text.partition(_ANSWER_MARK)
        if not sep:
            raise ConfigError("The chat template dropped the assistant's answer; it cannot hold a conversation.")
        # The answer's own tokens end with EOS (added when generation stopped early).
        return after[len(self.eos_text):] if self.eos_text and after.startswith(self.eos_text) else after

    def _alpaca(self, turn: Turn, audio_inside: bool) -> str:
        question = (_AUDIO_MARK + turn.question) if audio_inside else turn.question
        if turn.input:
            return ALPACA_SHORT_INPUT.format(instruction=question, input=turn.input)
        return ALPACA_SHORT.format(instruction=question)

    def _user(self, turn: Turn, audio_inside: bool) -> dict[str, str]:
        content = turn.question if not turn.input else f"{turn.question}\n\n{turn.input}"
        if audio_inside:
            content = _AUDIO_MARK + "\n" + content
        return {"role": "user", "content": content}

    def _chat(self, messages: list[dict[str, str]]) -> str:
        if self.config.system_prompt is not None:
            messages = [{"role": "system", "content": self.config.system_prompt}, *messages]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
