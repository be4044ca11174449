"""The web app under trouble: uploads deleted as README says, what people type kept as text,
the transcript shown, API follow-ups as cheap as the page's, one log line per user error,
Retry that says why, the download, and file routes that serve nothing outside their folders.

A tiny random model, as in ``test_app.py``; the browser side of these is in ``test_browser.py``.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import ASSETS, REPO
from ltu.checkpoint import load_pretrained
from ltu.generation import GenerationSettings
from ltu.prompt import Turn
from webapp.conversation import escape_html, escape_markdown, model_parts, unescape_html, unescape_markdown

gr = pytest.importorskip("gradio", reason="the web app needs gradio (pip install -r requirements.txt)")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from test_app import _wait_for_line, endless, free_port, last, make_tiny_checkpoint, serve  # noqa: E402
from webapp.ui import RETRY_TEMPERATURE, Handlers, _display, _shown  # noqa: E402
from webapp.uploads import upload_folder  # noqa: E402

FAST = GenerationSettings(max_new_tokens=24)
DOG = ASSETS / "dog.mp3"
TYPED = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "**bold** and _it_ `code`",
         "a \\* b & c &amp; d", "# not a heading\n    not code\n1. not a list"]


class FakeTranscriber:
    """Says the same words for every clip."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0

    def heard(self, samples) -> str:
        self.calls += 1
        return self.text


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("robust_model"))


@pytest.fixture(scope="module")
def loaded(checkpoint):
    return load_pretrained(checkpoint)


@pytest.fixture(scope="module")
def server(loaded):
    demo, url = serve(*loaded, concurrency=1, max_queue=8, delete_cache=(1, 2))
    yield demo, url
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    return Client(server[1], verbose=False)


# ----- 3. what people type is shown as text
def test_typed_text_survives_the_trip_through_the_chat():
    for text in TYPED:
        assert unescape_markdown(escape_markdown(text)) == text and unescape_html(escape_html(text)) == text
        assert "<" not in escape_markdown(text).replace("\\<", "") and "<" not in escape_html(text).replace("\\<", "")
    chat = [{"role": "user", "content": t} for t in TYPED] + [{"role": "assistant", "content": "**a** <b>x</b>"}]
    assert _display(_shown(chat)) == chat
    assert _shown(chat)[-1]["content"] == "**a** \\<b\\>x\\</b\\>"  # answers keep Markdown, lose HTML


def test_the_model_reads_the_question_as_typed_not_escaped(loaded):
    handlers = Handlers(*loaded, FAST)
    chat, _, conv, *_ = last(handlers.respond(None, TYPED[0], [], None, 0.0, 0.95, 4))
    assert conv.session.exchanges[0].turn.question == TYPED[0]
    chat, _, conv, *_ = last(handlers.respond(None, "and?", chat, None, 0.0, 0.95, 4))  # replayed from the page
    assert conv.session.exchanges[0].turn.question == TYPED[0]


# ----- 4. the transcript the model received is shown
def test_the_transcript_is_shown_beside_the_clip_facts(loaded):
    speech = FakeTranscriber("Hello <there>, *friend*")
    conv, _, facts, _ = Handlers(*loaded, FAST, transcriber=speech).new_clip(str(DOG), None)
    assert conv.session.clip.transcript == "Hello <there>, *friend*"
    assert f"Heard speech: “{escape_markdown(speech.text)}”" in facts  # escaped: shown as said
    prompt = loaded[1].decode(conv.session.prompt_segment(Turn("What is said?")).ids)
    assert "Hello <there>, *friend*" in prompt  # the same words the model reads
    _, _, facts, _ = Handlers(*loaded, FAST, transcriber=FakeTranscriber("")).new_clip(str(DOG), None)
    assert "no speech detected" in facts
    _, _, facts, _ = Handlers(*loaded, FAST, transcriber=None).new_clip(str(DOG), None)
    assert "Heard speech" not in facts  # this model takes no transcript


# ----- 5. /ask follow-ups reuse the clip's decoding, transcript and encoding
def test_api_follow_ups_do_not_decode_or_transcribe_again(loaded, monkeypatch):
    model, processor = loaded
    speech = FakeTranscriber("")
    handlers = Handlers(model, processor, FAST, transcriber=speech)
    decoded = []
    features = processor.audio_features
    monkeypatch.setattr(processor, "audio_features", lambda source: decoded.append(source) or features(source))
    answer, history = last(handlers.ask_api(str(DOG), "What is it?", [], 0.0, 0.95, 4))
    answer2, history2 = last(handlers.ask_api(str(DOG), "Why?", history, 0.0, 0.95, 4))
    copy = Path(handlers.clips.open(str(DOG), FAST).clip_key)  # the same bytes under any name hit the cache
    assert len(decoded) == 1 and speech.calls == 1 and handlers.clips.hits == 2
    assert len(history2) == 2 and copy == DOG


def test_an_api_follow_up_costs_what_a_page_follow_up_costs(loaded):
    """Prints the measured cost of a follow-up: /ask without the cache, /ask with it, and the page."""
    model, processor = loaded
    clip = str(ASSETS / "rooster.mp3")
    uncached, cached = Handlers(model, processor, FAST, cache_size=0), Handlers(model, processor, FAST)
    page = Handlers(model, processor, FAST)
    history = [["What is it?", "A rooster crowing at dawn."]]
    conv, *_ = page.new_clip(clip, None)
    chat, _, conv, *_ = last(page.respond(clip, "What is it?", [], conv, 0.0, 0.95, 8))
    last(cached.ask_api(clip, "What is it?", [], 0.0, 0.95, 8))  # the first question fills the cache

    def median_seconds(run, n=5) -> float:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return sorted(times)[n // 2]

    with endless(model, processor.eos_id):  # every answer is exactly 8 tokens
        before = median_seconds(lambda: last(uncached.ask_api(clip, "Why?", history, 0.0, 0.95, 8)))
        after = median_seconds(lambda: last(cached.ask_api(clip, "Why?", history, 0.0, 0.95, 8)))

        def page_follow_up():
            last(page.respond(clip, "Why?", chat, conv, 0.0, 0.95, 8))
            conv.session.exchanges.pop()  # the same conversation again next time

        in_page = median_seconds(page_follow_up)
    print(f"\nfollow-up (8 tokens, rooster.mp3): /ask before the cache {before * 1000:.0f} ms, "
          f"/ask with it {after * 1000:.0f} ms, the page {in_page * 1000:.0f} ms")
    assert after < before
    assert after < in_page * 1.5 + 0.05


# ----- 6. user errors log one line each; bugs keep their traceback
def test_api_user_errors_log_one_line_and_no_traceback(client, loaded, caplog, capfd, tmp_path, monkeypatch):
    bad = tmp_path / "notes.wav"
    bad.write_text("hello " * 50)
    capfd.readouterr()
    with caplog.at_level(logging.INFO, logger="webapp"):
        for args in ((handle_file(bad), "What is it?", []), (handle_file(DOG), "  ", []),
                     (handle_file(DOG), "Why?", ["not a pair"])):
            with pytest.raises(AppError):
                client.predict(*args, api_name="/ask")
    records = [r for r in caplog.records if r.name == "webapp"]
    assert len(records) == 3, [r.getMessage() for r in records]
    for record, what in zip(records, ("could not be opened", "question is empty", "history must be")):
        line = record.getMessage()
        assert "\n" not in line and what in line and re.search(r"/ask \(session [\w-]+\)", line)
        assert record.exc_info is None
    assert "Traceback" not in capfd.readouterr().err

    def bug(*args, **kwargs):
        raise ValueError("a bug in the model")

    monkeypatch.setattr(loaded[0], "generate", bug)
    with pytest.raises(AppError):
        client.predict(handle_file(DOG), "What is it?", [], api_name="/ask")
    assert "Traceback" in capfd.readouterr().err  # a real failure is still logged in full


# ----- 7. Retry says why, the header names the models, the conversation downloads
def test_retry_raises_a_low_temperature_and_says_so(loaded):
    handlers = Handlers(*loaded, FAST)
    chat, _, conv, *_ = last(handlers.respond(str(DOG), "What is it?", [], None, 0.1, 0.95, 8))
    seen: list[GenerationSettings] = []
    retry = conv.session.retry
    conv.session.retry = lambda settings: seen.append(settings) or retry(settings)
    chat, conv, status = last(handlers.regenerate(chat, conv, 0.1, 0.95, 8))
    assert seen[-1].temperature == RETRY_TEMPERATURE and f"temperature {RETRY_TEMPERATURE:g}" in status
    chat, conv, status = last(handlers.regenerate(chat, conv, 1.0, 0.95, 8))
    assert seen[-1].temperature == 1.0 and "Retried at" not in status


def test_a_new_clip_keeps_the_chat_until_the_next_question(loaded):
    handlers = Handlers(*loaded, FAST)
    chat, _, conv, *_ = last(handlers.respond(str(DOG), "What is it?", [], None, 0.1, 0.95, 8))
    cat = str(ASSETS / "cat.mp3")
    conv2, picture, facts, status = handlers.new_clip(cat, conv)  # no chat output: the chat stays on the page
    assert "next question starts a new conversation" in status and conv2.clip_key == cat
    chat, _, conv2, *_ = last(handlers.respond(cat, "And this?", chat, conv2, 0.1, 0.95, 8))
    assert len(chat) == 2 and len(conv2.session.exchanges) == 1


def test_the_header_names_the_models_as_people_would(loaded):
    assert model_parts("packaged:SmolLM2-135M-Instruct", "whisper", "packaged:whisper-base") == \
        "SmolLM2-135M-Instruct + Whisper-base encoder"
    assert model_parts("lmsys/vicuna-7b-v1.5", "cavmae", None) == "vicuna-7b-v1.5 + CAV-MAE encoder"
    from webapp.conversation import model_summary

    assert model_summary(loaded[0]).startswith("tiny · llm + CAV-MAE encoder · ")


def test_download_the_conversation_as_markdown_and_json(loaded):
    handlers = Handlers(*loaded, FAST)
    assert handlers.export([], str(DOG), 0.1, 0.95, 8)[0]["interactive"] is False  # nothing to save yet
    chat, *_ = last(handlers.respond(str(DOG), TYPED[0], [], None, 0.1, 0.95, 8))
    md, js = handlers.export(chat, str(DOG), 0.1, 0.95, 8)
    record = json.loads(Path(js["value"]).read_text())
    assert record["clip"] == "dog.mp3" and record["settings"]["temperature"] == 0.1 and "tiny" in record["model"]
    assert record["conversation"][0]["question"] == TYPED[0]
    text = Path(md["value"]).read_text()
    assert "Clip: dog.mp3" in text and TYPED[0] in text and "temperature 0.1" in text


# ----- 2. uploads are deleted: by age while serving, at shutdown, and at start-up
def test_uploads_older_than_the_limit_are_deleted_while_serving(server, client):
    demo, _ = server
    client.predict(handle_file(DOG), "What is it?", [], api_name="/ask")
    uploaded = [Path(f) for f in demo.upload_file_set]
    assert uploaded and all(f.exists() for f in uploaded)
    deadline = time.monotonic() + 10
    while any(f.exists() for f in uploaded) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(f.exists() for f in uploaded)  # delete_cache=(1, 2): checked every second, older than 2 s


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_uploads_are_deleted_at_shutdown_and_start_up(checkpoint, tmp_path, stop):
    port = free_port()
    folder = upload_folder(port, {"GRADIO_TEMP_DIR": str(tmp_path)})
    (folder / "abc").mkdir(parents=True)
    leftover = folder / "abc" / "left-by-a-crash.wav"
    leftover.write_bytes(b"RIFF")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "app.py", "--checkpoint", str(checkpoint), "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        url = re.search(r"http://\S+/", _wait_for_line(lines, "Serving the page on ", proc, timeout=120)).group()
        assert not leftover.exists()  # start-up removed what a previous run left
        Client(url, verbose=False).predict(handle_file(DOG), "What is it?", [], api_name="/ask")
        stored = [p for p in folder.rglob("dog.mp3")]
        assert stored, f"the upload is not in {folder}"
    finally:
        proc.send_signal(stop)
        proc.wait(timeout=30)
    assert proc.returncode == 0, "".join(lines)
    assert not folder.exists() and not any(p.exists() for p in stored)


# ----- the file routes serve only the app's own files
def test_file_routes_refuse_paths_outside_their_folders(server, tmp_path):
    demo, url = server
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-7f3a")
    cache = Path(demo.GRADIO_CACHE)
    cache.mkdir(parents=True, exist_ok=True)
    link = cache / "link-to-secret.txt"
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    folder_link = cache / "link-to-folder"
    folder_link.unlink(missing_ok=True)
    folder_link.symlink_to(tmp_path, target_is_directory=True)
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    quoted = urllib.parse.quote
    names = [str(secret), "/etc/passwd", f"{cache}/../../{secret.relative_to('/')}",
             "../" * 12 + str(secret.relative_to("/")), str(link), f"{folder_link}/secret.txt",
             str(REPO / "app.py"), str(REPO / "tests" / "conftest.py")]
    paths = []
    for name in names:
        for prefix in ("/gradio_api/file=", "/file=", "/gradio_api/file/"):
            paths += [prefix + name, prefix + quoted(name, safe=""), prefix + name.replace("/", "%2f")]
    paths += ["/assets/../../app.py", "/assets/%2e%2e/%2e%2e/app.py", "/static/../app.py", "/../app.py",
              "/gradio_api/file=" + str(cache / ".." / ".." / "etc" / "passwd")]
    served = []
    try:
        for path in paths:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", path)  # sent as is: no client-side normalisation of ".."
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status == 200 and (b"SECRET-7f3a" in body or b"root:" in body or b"def main" in body
                                           or b"tiny_config" in body):
                served.append(path)
    finally:
        link.unlink()
        folder_link.unlink()
    assert served == []
    assert str(upload_folder(7860, {})).endswith("gradio/ltu-app-7860")
