"""The page: Gradio components wired to the plain functions of ``webapp.conversation``.

Each browser session keeps its own ``Conversation`` in a ``gr.State``. Every event that
runs the model shares one concurrency group, so at most ``concurrency`` answers are
computed at a time and the rest wait in the queue. The named endpoint ``/ask`` serves
programs (``gradio_client``): it keeps no state and rebuilds the conversation from the
history it is given, reusing the clip's encoding from a cache keyed by the file's content.

Text in the chat is escaped (``webapp.conversation.escape_markdown``/``escape_html``): a
question shows exactly as typed, an answer renders as Markdown without HTML. A small piece
of JavaScript keeps the chat in the tab's sessionStorage, so a page that Gradio reloads
after a lost connection (a restarted server) gets its conversation back.
"""

from __future__ import annotations

import functools
import html
import logging
import tempfile
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

import gradio as gr
from gradio.utils import get_upload_folder

from ltu.audio.length import cut_note
from ltu.clips import ClipStore
from ltu.errors import LTUError
from ltu.generation import GenerationSettings
from ltu.model import LTUModel
from ltu.processor import AudioFeatures, LTUProcessor
from ltu.transcribe import Transcriber
from webapp.conversation import (ClipCache, Conversation, clip_facts, escape_html, escape_markdown, export,
                                 history_pairs, model_parts, model_summary, plain_text, release_memory, replay,
                                 unescape_html, unescape_markdown, user_message)
from webapp.picture import spectrogram_image

log = logging.getLogger("webapp")

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
                 "Follow-up questions are about the same clip; **a new clip starts a new conversation** unless "
                 "*Add the next clip to this conversation* is ticked. With no clip, questions are answered from "
                 "text alone.")
NEW_CLIP = "New clip: the chat above is about the previous clip; your next question starts a new conversation."
ADD_CLIP_LABEL = "Add the next clip to this conversation"
ADD_CLIP_INFO = "a clip you pick then goes with your next question, and the clips before it stay in context"
ADDED_CLIP = "Clip {count} added to this conversation: it goes with your next question"
EARLIER_CLIPS_STAY = ", and the clips before it stay in context"
REPLACED_CLIP = "It replaces the clip added before it, which no question had used yet."
NO_CONVERSATION = "There is no conversation to add the clip to yet, so your next question starts a new one."
PLAYER_EMPTY = ("The player is empty; the conversation keeps the clips it has. Pick a clip to add it, or ask "
                "about the clips already given.")
RECOVERED = ("The request did not go through (the server was busy, restarted or unreachable). "
             "Your conversation is kept; send the question again.")
RESTORED = "The page was reloaded; the conversation is restored. Add the clip again to keep asking about it."
RETRY_TEMPERATURE = 0.7  # Retry samples at least this warm; at the paper's 0.1 it nearly always repeats the answer
CSS = """
#status .error { color: #b42318; font-weight: 600; }
#facts p { margin: 0 0 0.3em 0; font-size: 0.9em; }
@media (max-width: 640px) { #chat-column { order: -1; } }  /* phones: the conversation and question box first */
"""
# The chat survives a page reload (Gradio reloads the page once a lost server is back): it is kept in this
# tab's sessionStorage and put back on load. Nothing is saved before the load has read it back: on a busy
# machine the chat box's first (empty) change event can come before the load event and would wipe it.
SAVE_CHAT_JS = """(chat) => {
  if (!window.ltuChatRestored) return;
  try { sessionStorage.setItem('ltu-chat', JSON.stringify(chat || [])); } catch (e) {}
}"""
RESTORE_CHAT_JS = f"""() => {{
  let chat = [];
  try {{ chat = JSON.parse(sessionStorage.getItem('ltu-chat') || '[]'); }} catch (e) {{}}
  window.ltuChatRestored = true;
  return [chat, chat.length ? {RESTORED!r} : ''];
}}"""


def build_app(model: LTUModel, processor: LTUProcessor, defaults: GenerationSettings = PAPER, *,
              concurrency: int = 1, max_queue: int = 16, examples: Sequence[tuple[str, str]] = EXAMPLES,
              transcriber: Transcriber | None | Literal["auto"] = "auto",
              delete_cache: tuple[int, int] | None = (3600, 86400), clips: ClipStore | None = None) -> gr.Blocks:
    """The whole page for a loaded model, with its queue configured; call ``launch`` to serve it.

    ``delete_cache``: (every N seconds, delete uploads, recordings and pictures older than M seconds); None: never.
    ``app.py`` also gives the server a folder of its own and empties it at start-up and shutdown
    (``webapp.uploads``). ``clips``: a store of encoded clips to share (the server's, with
    ``python -m ltu serve --page``); by default the page has its own, with ``transcriber``.
    """
    handlers = Handlers(model, processor, defaults, transcriber, store=clips)
    model_events = dict(concurrency_id=MODEL_GROUP, concurrency_limit=concurrency)
    private = dict(api_visibility="private")  # the page's own events; programs use /ask
    with gr.Blocks(title="LTU: listen, think and understand", delete_cache=delete_cache) as demo:
        state = gr.State(None, time_to_live=3600)  # this session's Conversation; dropped after an hour unused
        question = gr.Textbox(placeholder="Ask about the sound, then press Enter", show_label=False, scale=5,
                              elem_id="question", max_lines=4, render=False)  # shown beside Send, filled by examples
        gr.Markdown(f"## LTU: listen, think and understand\n**Model:** {model_summary(model)}", elem_id="model")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320, elem_id="clip-column"):
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Sound", elem_id="audio",
                                 buttons=["download"])
                add_clip = gr.Checkbox(False, label=ADD_CLIP_LABEL, info=ADD_CLIP_INFO, elem_id="add-clip")
                gr.Markdown(NEW_CLIP_NOTE)
                picture = gr.Image(label="What the model hears (log-mel spectrogram)", type="pil", interactive=False,
                                   elem_id="picture", buttons=["fullscreen"])
                facts = gr.Markdown(elem_id="facts")
                gr.Examples([[str(ASSETS / clip), text] for clip, text in examples], inputs=[audio, question],
                            example_labels=[f"{clip.split('.')[0]}: {text}" for clip, text in examples],
                            label="Example clips (CC0 recordings, see assets/README.md)")
            with gr.Column(scale=3, min_width=360, elem_id="chat-column"):
                chatbot = gr.Chatbot(label="Conversation", height=440, elem_id="chat", feedback_options=None,
                                     buttons=["copy", "copy_all"], sanitize_html=True, allow_tags=False,
                                     placeholder="Answers appear here, word by word.")  # text escaped by _shown
                status = gr.HTML(elem_id="status")  # notes and errors, escaped by _note and _error
                with gr.Row():
                    question.render()
                    send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="send")
                with gr.Row():
                    stop = gr.Button("Stop", elem_id="stop", size="sm")
                    retry = gr.Button("Retry", elem_id="retry", size="sm")
                    clear = gr.Button("Clear", elem_id="clear", size="sm")
                with gr.Row():
                    save_md = gr.DownloadButton("Download conversation (Markdown)", size="sm", elem_id="save-md",
                                                interactive=False)
                    save_json = gr.DownloadButton("Download conversation (JSON)", size="sm", elem_id="save-json",
                                                  interactive=False)
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
        saves = [save_md, save_json]
        quiet = dict(queue=False, show_progress="hidden", **private)

        def finish(event: Any, touched: list) -> None:
            """After ``event``: unlock the controls and offer the conversation for download; when it failed
            (an error, a full queue, a lost connection), also say so and clear the error marks on ``touched``."""
            event.then(_unlock, None, controls, **quiet).then(handlers.export, [chatbot, audio, *settings], saves,
                                                              **quiet)
            event.failure(functools.partial(handlers.recover, len(touched)), None, [*controls, *touched, status],
                          **quiet)

        # A new clip first stops an answer being written (it stays in the chat), then opens the new clip
        # (or adds it to the conversation).
        new_clip = audio.change(handlers.stop, [state], None, **quiet).then(
            handlers.new_clip, [audio, state, add_clip], [state, picture, facts, status], **model_events, **private)
        finish(new_clip, [picture, facts])
        asked = gr.on([send.click, question.submit], handlers.lock, [state], controls, **quiet)
        answering = asked.then(handlers.respond, [audio, question, chatbot, state, *settings],
                               [chatbot, question, state, status, picture, facts], **model_events, **private)
        finish(answering, [chatbot, picture, facts])
        retrying = retry.click(handlers.lock, [state], controls, **quiet).then(
            handlers.regenerate, [chatbot, state, *settings], [chatbot, state, status], **model_events, **private)
        finish(retrying, [chatbot])
        stop.click(handlers.stop, [state], None, **quiet)  # the answer's handler reports the stop
        for cleared in (clear.click, chatbot.clear):
            cleared(handlers.clear, [state], [chatbot, status, question], **quiet).then(
                handlers.export, [chatbot, audio, *settings], saves, **quiet)
        chatbot.change(None, [chatbot], None, js=SAVE_CHAT_JS, **quiet)
        demo.load(None, None, [chatbot, status], js=RESTORE_CHAT_JS, **quiet)
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

    def __init__(self, model: LTUModel, processor: LTUProcessor, defaults: GenerationSettings,
                 transcriber: Transcriber | None | Literal["auto"] = "auto", cache_size: int = 16, *,
                 store: ClipStore | None = None) -> None:
        """``store``: encoded clips shared with another server (else the page's own, with ``transcriber``)."""
        self.model = model
        self.processor = processor
        self.defaults = defaults
        store = ClipStore(model, processor, transcriber, cache_size) if store is None else store
        self.clips = ClipCache(store)  # shared by the page and /ask (and the HTTP endpoint, when given)

    def new_clip(self, clip: str | None, conv: Conversation | None, add: bool = False) -> tuple:
        """A clip was uploaded, recorded, picked or removed: the next question starts a new conversation,
        or with ``add`` (and a conversation to add to) the clip goes with the next question of this one.

        The chat on the page stays as it is (an answer cut short by the new clip included) until then.
        Outputs: state, picture, facts, status.
        """
        if add and conv is not None:
            return self._add_clip(clip, conv)
        if clip is None:
            return None, None, "", _note("No clip: questions are answered from text alone.")
        try:
            conv = self._open(clip)
        except Exception as err:  # noqa: BLE001  (user_message decides; anything else is re-raised)
            return None, None, "", _error(err, "new clip")
        first = conv.session.clip
        note = NO_CONVERSATION if add else NEW_CLIP
        return conv, spectrogram_image(first.audio), self._facts(first), self._with_cut(note, first)

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
            if conv is not None and conv.clip_key == clip and not conv.session.exchanges:
                shown = []  # a fresh conversation (a new clip, or Clear): the chat on the page is not part of it
            elif conv is None or conv.clip_key != clip:
                # No engine but a chat on the page: the state timed out or an answer failed; carry on from the chat.
                expired = conv is None and bool(shown)
                conv = self._open(clip)
                if expired:
                    replay(conv.session, history_pairs(shown))
                else:
                    shown = []
                    picture = spectrogram_image(conv.session.clip.audio) if conv.session.clip else None
                    facts = self._facts(conv.session.clip)
        except Exception as err:  # noqa: BLE001
            yield _shown(shown), skip, None, _error(err, "question"), skip, skip
            return
        seen = len(conv.session.notices)
        chat = shown + [{"role": "user", "content": question}, {"role": "assistant", "content": ""}]
        yield _shown(chat), "", conv, _note("…"), picture, facts
        try:
            for text in conv.stream(conv.session.ask(question, settings=settings)):
                chat[-1]["content"] = text
                yield _shown(chat), skip, conv, skip, skip, skip
        except Exception as err:  # noqa: BLE001
            # The engine's cache may be half-written: drop it; the next question rebuilds it from the chat.
            yield _shown(chat[:-2]), question, None, _error(err, "answer"), skip, skip
            return
        yield _shown(chat), skip, conv, _finished(conv, seen, chat[-1]["content"]), skip, skip

    def _add_clip(self, clip: str | None, conv: Conversation) -> tuple:
        """``new_clip`` with "add" ticked: the clip joins ``conv`` with its next question; earlier clips stay."""
        if clip is None:  # the player was emptied (often just before the next clip is picked)
            conv.clip_key = None  # the next question goes on with the clips the conversation holds
            return conv, None, "", _note(PLAYER_EMPTY)
        replaced = conv.session.next_clip is not None
        try:
            added = self.clips.add(conv, clip)
        except Exception as err:  # noqa: BLE001  (as in new_clip; the conversation is kept)
            return conv, None, "", _error(err, "added clip")
        count = len(conv.session.clips) + (1 if conv.session.next_clip is not None else 0)  # with the one waiting
        note = ADDED_CLIP.format(count=count) + (EARLIER_CLIPS_STAY if count > 1 else "") + "."
        note += f" {REPLACED_CLIP}" if replaced else ""
        features = added.features
        return conv, spectrogram_image(features.audio), self._facts(features), self._with_cut(note, features)

    def regenerate(self, history: list | None, conv: Conversation | None, temperature: float, top_p: float,
                   max_new_tokens: float) -> Iterator[tuple]:
        """Answer the last question again; outputs: chat, state, status.

        A retry at a low temperature would nearly always write the same answer, so it samples at
        ``RETRY_TEMPERATURE`` and says so; at temperature 0 (always the same answer) it says that.
        """
        shown = _display(history)
        if conv is None or conv.last_exchange is None or not shown or shown[-1]["role"] != "assistant":
            yield gr.skip(), conv, _note("There is no answer to retry yet.")
            return
        try:
            settings = _settings(temperature, top_p, max_new_tokens, self.defaults)
        except LTUError as err:
            yield gr.skip(), conv, _error(err, "retry")
            return
        settings, why = _retry_settings(settings)
        seen = len(conv.session.notices)
        previous = shown[-1]["content"]
        chat = shown[:-1] + [{"role": "assistant", "content": ""}]
        yield _shown(chat), conv, _note(why or "…")
        try:
            for text in conv.stream(conv.session.retry(settings)):
                chat[-1]["content"] = text
                yield _shown(chat), conv, gr.skip()
        except Exception as err:  # noqa: BLE001
            yield _shown(shown), None, _error(err, "retry")  # as in respond: the next question rebuilds the engine
            return
        notes = [why] if why else []
        if chat[-1]["content"] == previous and not why.startswith("Temperature 0"):
            notes.append("The model wrote the same answer again.")
        done = _finished(conv, seen, chat[-1]["content"])
        yield _shown(chat), conv, " ".join([_note(" ".join(notes)), done]).strip()

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

    def recover(self, touched: int = 0) -> tuple:
        """An event failed before its handler could finish (a full queue, a restart, a lost connection):
        give the four controls back, leave the ``touched`` outputs as they are (which clears their error
        marks) and say what happened in one sentence. Outputs: controls, touched, status."""
        return (*_unlock(), *(gr.skip() for _ in range(touched)), _note(RECOVERED))

    def export(self, history: list | None, clip: str | None, temperature: float, top_p: float,
               max_new_tokens: float) -> tuple:
        """The conversation on the page as a Markdown and a JSON file for the two download buttons."""
        pairs = history_pairs(_display(history))
        if not pairs:
            return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
        try:
            settings = _settings(temperature, top_p, max_new_tokens, self.defaults)
        except LTUError:
            settings = self.defaults
        config = self.model.config
        model = f"{config.name} ({model_parts(config.llm, config.encoder.kind, config.encoder.source)})"
        markdown, record = export(pairs, Path(clip).name if clip else None, settings, model)
        folder = Path(tempfile.mkdtemp(prefix="conversation-", dir=_upload_folder()))
        (folder / "ltu-conversation.md").write_text(markdown, encoding="utf-8")
        (folder / "ltu-conversation.json").write_text(record, encoding="utf-8")
        return (gr.update(value=str(folder / "ltu-conversation.md"), interactive=True),
                gr.update(value=str(folder / "ltu-conversation.json"), interactive=True))

    def ask_api(self, audio: str | None, question: str, history: Any, temperature: float | None = None,
                top_p: float | None = None, max_new_tokens: float | None = None,
                request: gr.Request | None = None) -> Iterator[tuple[str, list]]:
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
                raise  # a bug: Gradio logs its traceback
            release_memory()
            _log_user_error("/ask", request, message)
            raise gr.Error(message, print_exception=False) from None

    def _open(self, clip: str | None) -> Conversation:
        return self.clips.open(clip, self.defaults)

    def _facts(self, clip: AudioFeatures | None) -> str:
        return clip_facts(clip, transcribed=self.clips.store.transcriber is not None)

    def _with_cut(self, note: str, clip: AudioFeatures) -> str:
        """``note``, and a sentence when the clip is longer than the model hears (the limit and how to raise it)."""
        cut = cut_note(clip.audio, self.processor.config.frontend) if clip.audio is not None else ""
        return _note(f"{note} {cut}".strip())


def _upload_folder() -> str:
    folder = Path(get_upload_folder())
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def _settings(temperature: float | None, top_p: float | None, max_new_tokens: float | None,
              defaults: GenerationSettings) -> GenerationSettings:
    return defaults.replace(
        temperature=defaults.temperature if temperature is None else float(temperature),
        top_p=defaults.top_p if top_p is None else float(top_p),
        max_new_tokens=defaults.max_new_tokens if max_new_tokens is None else int(max_new_tokens))


def _retry_settings(settings: GenerationSettings) -> tuple[GenerationSettings, str]:
    """The settings a retry uses, and a sentence when they differ from the page's or make the retry pointless."""
    if settings.greedy:
        return settings, ("Temperature 0 always writes the same answer; raise it under Generation settings "
                          "for a different one.")
    if settings.temperature < RETRY_TEMPERATURE:
        return settings.replace(temperature=RETRY_TEMPERATURE), (
            f"Retried at temperature {RETRY_TEMPERATURE:g} (the setting, {settings.temperature:g}, nearly always "
            f"writes the same answer).")
    return settings, ""


def _display(history: list | None) -> list[dict[str, str]]:
    """The chat as plain {role, content} messages: the text as typed and written, escaping undone."""
    out = []
    for m in history or []:
        text = plain_text(m.get("content"))
        out.append({"role": m["role"], "content": unescape_markdown(text) if m["role"] == "user"
                    else unescape_html(text)})
    return out


def _shown(chat: list[dict[str, str]]) -> list[dict[str, str]]:
    """Plain messages as the Chatbot shows them: questions exactly as typed, answers as Markdown without HTML."""
    return [{"role": m["role"], "content": escape_markdown(m["content"]) if m["role"] == "user"
             else escape_html(m["content"])} for m in chat]


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


def _error(err: BaseException, what: str) -> str:
    """The status line for an error a person can act on (logged in one line); anything else is a bug and is raised."""
    message = user_message(err)
    if message is None:
        raise err
    release_memory()
    log.warning("user error in the page (%s): %s", what, message)
    return f'<span class="error">⚠️ {html.escape(message)}</span>'


def _log_user_error(endpoint: str, request: gr.Request | None, message: str) -> None:
    session = getattr(request, "session_hash", None) or "-"
    log.warning("user error in %s (session %s): %s", endpoint, session, message)


def _unlock() -> tuple:
    return tuple(gr.update(interactive=True) for _ in range(4))
