"""The page: Gradio components wired to the plain functions of ``webapp.conversation``.

Each browser session keeps its own ``Conversation`` in a ``gr.State``. Every event that
runs the model shares one concurrency group, so at most ``concurrency`` answers are
computed at a time and the rest wait in the queue. The named endpoint ``/ask`` serves
programs (``gradio_client``): it keeps no state and rebuilds the conversation from the
history it is given.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Iterator, Sequence

import gradio as gr

from ltu.errors import LTUError
from ltu.generation import GenerationSettings
from ltu.model import LTUModel
from ltu.processor import LTUProcessor
from webapp.conversation import (Conversation, clip_facts, history_pairs, model_summary, open_conversation,
                                 plain_text, release_memory, replay, user_message)
from webapp.picture import spectrogram_image

ASSETS = Path(__file__).resolve().parent.parent / "assets"
EXAMPLES = [  # (clip in assets/, question); assets/README.md has their sources and licence
    ("dog.mp3", "What do you hear?"),
    ("cat.mp3", "What animal is this, and how does it sound?"),
    ("rooster.mp3", "What time of day might this recording be from? Why?"),
    ("duck.mp3", "Describe the sound in detail."),
    ("horse.mp3", "What is making this sound?"),
]
PAPER = GenerationSettings()  # the paper demo's sampling settings, the page's defaults
MODEL_GROUP = "model"  # concurrency group of every event that runs the model
NEW_CLIP_NOTE = ("Record with the microphone or upload a file (wav, mp3, flac, ogg, webm, m4a). "
                 "Follow-up questions are about the same clip; **a new clip starts a new conversation**. "
                 "With no clip, questions are answered from text alone.")
CSS = """
#status .error { color: #b42318; font-weight: 600; }
#facts p { margin: 0; font-size: 0.9em; }
"""


def build_app(model: LTUModel, processor: LTUProcessor, defaults: GenerationSettings = PAPER, *,
              concurrency: int = 1, max_queue: int = 16, examples: Sequence[tuple[str, str]] = EXAMPLES) -> gr.Blocks:
    """The whole page for a loaded model, with its queue configured; call ``launch`` to serve it."""
    handlers = Handlers(model, processor, defaults)
    model_events = dict(concurrency_id=MODEL_GROUP, concurrency_limit=concurrency)
    private = dict(api_visibility="private")  # the page's own events; programs use /ask
    # Uploads, recordings and pictures live only in Gradio's temporary folder (GRADIO_TEMP_DIR); files older than
    # a day are deleted every hour, and all of them when the server restarts.
    with gr.Blocks(title="LTU: listen, think and understand", delete_cache=(3600, 86400)) as demo:
        state = gr.State(None, time_to_live=3600)  # this session's Conversation; dropped after an hour unused
        question = gr.Textbox(placeholder="Ask about the sound, then press Enter", show_label=False, scale=5,
                              elem_id="question", max_lines=4, render=False)  # shown beside Send, filled by examples
        gr.Markdown(f"## LTU: listen, think and understand\n**Model:** {model_summary(model)}", elem_id="model")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Sound", elem_id="audio",
                                 buttons=["download"])
                gr.Markdown(NEW_CLIP_NOTE)
                picture = gr.Image(label="What the model hears (log-mel spectrogram)", type="pil", interactive=False,
                                   elem_id="picture", buttons=["fullscreen"])
                facts = gr.Markdown(elem_id="facts")
                gr.Examples([[str(ASSETS / clip), text] for clip, text in examples], inputs=[audio, question],
                            example_labels=[f"{clip.split('.')[0]}: {text}" for clip, text in examples],
                            label="Example clips (CC0 recordings, see assets/README.md)")
            with gr.Column(scale=3, min_width=360):
                chatbot = gr.Chatbot(label="Conversation", height=440, elem_id="chat", feedback_options=None,
                                     buttons=["copy", "copy_all"],
                                     placeholder="Answers appear here, word by word.")
                status = gr.HTML(elem_id="status")  # notes and errors, escaped by _note and _error
                with gr.Row():
                    question.render()
                    send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="send")
                with gr.Row():
                    stop = gr.Button("Stop", elem_id="stop", size="sm")
                    retry = gr.Button("Retry", elem_id="retry", size="sm")
                    clear = gr.Button("Clear", elem_id="clear", size="sm")
                with gr.Accordion("Generation settings", open=False, elem_id="settings"):
                    temperature = gr.Slider(0.0, 1.5, value=defaults.temperature, step=0.05, label="Temperature",
                                            info=f"0 always picks the most likely word (paper: {PAPER.temperature:g})")
                    top_p = gr.Slider(0.05, 1.0, value=defaults.top_p, step=0.05, label="Top p",
                                      info=f"sample from the likeliest words that cover this probability "
                                           f"(paper: {PAPER.top_p:g})")
                    max_new_tokens = gr.Slider(1, 1024, value=defaults.max_new_tokens, step=1, label="Max new tokens",
                                               info=f"the longest answer, in tokens (paper: {PAPER.max_new_tokens})")
        with gr.Column(visible=False):  # inputs and outputs of the /ask endpoint; not shown on the page
            api_in = [gr.Audio(type="filepath", label="audio"), gr.Textbox(label="question"),
                      gr.JSON([], label="history"), gr.Number(defaults.temperature, label="temperature"),
                      gr.Number(defaults.top_p, label="top_p"),
                      gr.Number(defaults.max_new_tokens, label="max_new_tokens")]
            api_out = [gr.Textbox(label="answer"), gr.JSON(label="history")]
            api_trigger = gr.Button()

        settings = [temperature, top_p, max_new_tokens]
        controls = [send, retry, clear, question]

        audio.change(handlers.new_clip, [audio, state], [state, chatbot, picture, facts, status], **model_events,
                     **private)
        asked = gr.on([send.click, question.submit], handlers.lock, [state], controls, queue=False, **private)
        answering = asked.then(handlers.respond, [audio, question, chatbot, state, *settings],
                               [chatbot, question, state, status, picture, facts], **model_events, **private)
        answering.then(_unlock, None, controls, queue=False, **private)
        retrying = retry.click(handlers.lock, [state], controls, queue=False, **private).then(
            handlers.regenerate, [chatbot, state, *settings], [chatbot, state, status], **model_events, **private)
        retrying.then(_unlock, None, controls, queue=False, **private)
        stop.click(handlers.stop, [state], None, queue=False, **private)  # the answer's handler reports the stop
        clear.click(handlers.clear, [state], [chatbot, status, question], queue=False, **private)
        chatbot.clear(handlers.clear, [state], [chatbot, status, question], queue=False, **private)
        api_trigger.click(handlers.ask_api, api_in, api_out, api_name="ask", **model_events,
                          api_description="Answer a question about an audio clip, streaming the answer. Give the "
                                          "earlier turns as history ([[question, answer], ...]) for a follow-up.")
    demo.queue(max_size=max_queue, default_concurrency_limit=concurrency)
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, share: bool = False, *,
           max_file_bytes: int | None = None, block: bool = True, quiet: bool = False) -> str:
    """Serve ``demo``; returns the local URL (with ``block=False`` the server runs in a background thread).

    Uploads larger than ``max_file_bytes`` are refused before they reach the app.
    """
    _, url, _ = demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block,
                            quiet=quiet, css=CSS, footer_links=["api"], enable_monitoring=False, ssr_mode=False,
                            max_file_size=max_file_bytes)
    return url


class Handlers:
    """The page's event handlers: plain functions of the component values."""

    def __init__(self, model: LTUModel, processor: LTUProcessor, defaults: GenerationSettings) -> None:
        self.model = model
        self.processor = processor
        self.defaults = defaults

    def new_clip(self, clip: str | None, conv: Conversation | None) -> tuple:
        """A clip was uploaded, recorded, picked or removed: start a new conversation about it."""
        if clip is None:
            return None, [], None, "", _note("No clip: questions are answered from text alone.")
        try:
            conv = self._open(clip)
        except Exception as err:  # noqa: BLE001  (user_message decides; anything else is re-raised)
            return None, [], None, "", _error(err)
        return conv, [], spectrogram_image(conv.session.clip.audio), clip_facts(conv.session), \
            _note("New clip: a new conversation starts.")

    def respond(self, clip: str | None, question: str, history: list | None, conv: Conversation | None,
                temperature: float, top_p: float, max_new_tokens: float) -> Iterator[tuple]:
        """Stream the answer to ``question``; outputs: chat, question box, state, status, picture, facts."""
        skip = gr.skip()
        question = (question or "").strip()
        if not question:
            yield skip, skip, conv, _note("Type a question first."), skip, skip
            return
        shown = _display(history)
        picture, facts = skip, skip
        try:
            settings = _settings(temperature, top_p, max_new_tokens, self.defaults)
            if conv is None or conv.clip_key != clip:
                # No engine but a chat on the page: the state timed out or an answer failed; carry on from the chat.
                expired = conv is None and bool(shown)
                conv = self._open(clip)
                if expired:
                    replay(conv.session, history_pairs(shown))
                else:
                    shown = []
                    picture = spectrogram_image(conv.session.clip.audio) if conv.session.clip else None
                    facts = clip_facts(conv.session)
        except Exception as err:  # noqa: BLE001
            yield shown, skip, None, _error(err), skip, skip
            return
        seen = len(conv.session.notices)
        chat = shown + [{"role": "user", "content": question}, {"role": "assistant", "content": ""}]
        yield chat, "", conv, _note("…"), picture, facts
        try:
            for text in conv.stream(conv.session.ask(question, settings=settings)):
                chat[-1]["content"] = text
                yield chat, skip, conv, skip, skip, skip
        except Exception as err:  # noqa: BLE001
            # The engine's cache may be half-written: drop it; the next question rebuilds it from the chat.
            yield chat[:-2], question, None, _error(err), skip, skip
            return
        yield chat, skip, conv, _finished(conv, seen, chat[-1]["content"]), skip, skip

    def regenerate(self, history: list | None, conv: Conversation | None, temperature: float, top_p: float,
                   max_new_tokens: float) -> Iterator[tuple]:
        """Answer the last question again; outputs: chat, state, status."""
        shown = _display(history)
        if conv is None or conv.last_exchange is None or not shown or shown[-1]["role"] != "assistant":
            yield gr.skip(), conv, _note("There is no answer to retry yet.")
            return
        try:
            settings = _settings(temperature, top_p, max_new_tokens, self.defaults)
        except LTUError as err:
            yield gr.skip(), conv, _error(err)
            return
        seen = len(conv.session.notices)
        chat = shown[:-1] + [{"role": "assistant", "content": ""}]
        yield chat, conv, _note("…")
        try:
            for text in conv.stream(conv.session.retry(settings)):
                chat[-1]["content"] = text
                yield chat, conv, gr.skip()
        except Exception as err:  # noqa: BLE001
            yield shown, None, _error(err)  # as in respond: the next question rebuilds the engine from the chat
            return
        yield chat, conv, _finished(conv, seen, chat[-1]["content"])

    def lock(self, conv: Conversation | None) -> tuple:
        """Send or Retry was pressed: lock the controls until the answer is done."""
        if conv is not None:
            conv.stop.clear()  # a Stop pressed from now on, even while the request waits in the queue, counts
        return tuple(gr.update(interactive=False) for _ in range(4))

    def stop(self, conv: Conversation | None) -> None:
        """Ask the answer being generated to stop; the part already written is kept."""
        if conv is not None:
            conv.stop.set()  # seen by the answering handler after the next token

    def clear(self, conv: Conversation | None) -> tuple:
        """Forget the questions and answers; keep the clip."""
        if conv is not None:
            conv.session.exchanges.clear()
        return [], _note("Conversation cleared; the clip is kept."), ""

    def ask_api(self, audio: str | None, question: str, history: Any, temperature: float | None = None,
                top_p: float | None = None, max_new_tokens: float | None = None) -> Iterator[tuple[str, list]]:
        """Endpoint /ask: (answer so far, history with this exchange) while the answer streams."""
        try:
            pairs = history_pairs(history)
            settings = _settings(temperature, top_p, max_new_tokens, self.defaults)
            conv = self._open(audio)
            replay(conv.session, pairs)
            text = None
            for text in conv.stream(conv.session.ask(question or "", settings=settings)):
                yield text, [list(p) for p in pairs] + [[question, text]]
            if text is None:  # the model ended at once: an empty answer
                yield "", [list(p) for p in pairs] + [[question, ""]]
        except Exception as err:  # noqa: BLE001
            message = user_message(err)
            if message is None:
                raise
            release_memory()
            raise gr.Error(message) from err

    def _open(self, clip: str | None) -> Conversation:
        return open_conversation(self.model, self.processor, clip, self.defaults)


def _settings(temperature: float | None, top_p: float | None, max_new_tokens: float | None,
              defaults: GenerationSettings) -> GenerationSettings:
    return defaults.replace(
        temperature=defaults.temperature if temperature is None else float(temperature),
        top_p=defaults.top_p if top_p is None else float(top_p),
        max_new_tokens=defaults.max_new_tokens if max_new_tokens is None else int(max_new_tokens))


def _display(history: list | None) -> list[dict[str, str]]:
    """The chat as plain {role, content} messages (Gradio may send content as a list of parts)."""
    return [{"role": m["role"], "content": plain_text(m.get("content"))} for m in history or []]


def _finished(conv: Conversation, seen: int, answer: str) -> str:
    """Status after an answer: the engine's notices (e.g. history dropped to fit), or a word on an empty answer."""
    notes = conv.session.notices[seen:]
    if conv.last_exchange is not None and conv.last_exchange.stopped:
        notes = [*notes, "Stopped. The partial answer is kept; Retry writes a new one."]
    elif not answer.strip():
        notes = [*notes, "The model ended its answer without writing anything; try Retry or a higher temperature."]
    return _note(" ".join(notes))


def _note(text: str) -> str:
    return html.escape(text)


def _error(err: BaseException) -> str:
    """The status line for an error a person can act on; anything else is a bug and is raised."""
    message = user_message(err)
    if message is None:
        raise err
    release_memory()
    return f'<span class="error">⚠️ {html.escape(message)}</span>'


def _unlock() -> tuple:
    return tuple(gr.update(interactive=True) for _ in range(4))

