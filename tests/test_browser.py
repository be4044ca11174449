"""The page in a real browser: Debian's chromium driven by Playwright (no browser download).

Uploads a clip, records from chromium's fake microphone, shows a bad file's error, keeps
browser sessions apart and stops an answer. Screenshots go to a temporary folder (or to
``$LTU_SCREENSHOTS`` when set). Skipped when chromium or Playwright is missing; ``.ci/run``
installs chromium so CI runs these.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import ASSETS, REPO
from ltu.checkpoint import load_pretrained
from ltu.generation import GenerationSettings

CHROMIUM = os.environ.get("LTU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).is_file():
    pytest.skip(f"chromium is not installed ({CHROMIUM}); apt-get install chromium to run the browser tests",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the playwright package")
pytest.importorskip("gradio", reason="the web app needs gradio")

from test_app import _wait_for_line, endless, free_port, make_tiny_checkpoint, serve  # noqa: E402

# Headless Debian chromium with nothing phoning home, and a fake microphone.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
TIMEOUT_MS = 30_000
ANSWER_DONE = "() => { const send = document.querySelector('#send'); return send !== null && !send.disabled }"  # (none while Gradio reloads the page)
LAST_QUESTION = "q => { const m = document.querySelectorAll('#chat [data-testid=user]'); " \
                "return m.length > 0 && m[m.length - 1].innerText.trim() === q }"
BOT_TEXT = "n => { const m = document.querySelectorAll('#chat [data-testid=bot]'); " \
           "return m.length >= n && m[n - 1].innerText.trim().length > 0 }"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_pretrained(make_tiny_checkpoint(tmp_path_factory.mktemp("browser_model")))


@pytest.fixture(scope="module")
def app_url(loaded):
    demo, url = serve(*loaded, GenerationSettings(max_new_tokens=24))
    yield url
    demo.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("LTU_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, app_url):
    """A fresh browser session on the app; fails the test if the page asks anything of another host."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, permissions=["microphone"])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if urlparse(r.url).hostname not in (None, "127.0.0.1") else None)
    page.goto(app_url)
    page.wait_for_selector("#send")
    yield page
    context.close()
    assert outside == [], f"the page contacted other hosts: {outside}"


def ask(page, question: str, answers_before: int) -> float:
    """Type ``question``, press Send, wait for the whole answer; returns seconds to the first streamed text."""
    page.fill("#question textarea", question)
    start = time.perf_counter()
    page.click("#send")
    page.wait_for_function(LAST_QUESTION, arg=question)  # this question is in the chat (a new conversation may
    page.wait_for_function(BOT_TEXT, arg=answers_before + 1)  # first have to clear the old one)
    first = time.perf_counter() - start
    page.wait_for_function(ANSWER_DONE)
    return first


def bot_messages(page) -> list[str]:
    return page.eval_on_selector_all("#chat [data-testid=bot]", "els => els.map(e => e.innerText)")


def upload(page, path: Path, mime: str | None = None) -> None:
    data = {"name": path.name, "mimeType": mime, "buffer": path.read_bytes()} if mime else str(path)
    page.set_input_files("#audio input[type=file]", data)


def test_upload_a_clip_ask_and_follow_up(page, screenshots):
    upload(page, ASSETS / "dog.mp3")
    page.wait_for_selector("#picture img")
    assert "48000 Hz mono mp3" in page.inner_text("#facts")
    assert "new conversation" in page.inner_text("#status")
    first = ask(page, "What is this sound?", 0)
    ask(page, "Why might it be doing that?", 1)
    assert len(bot_messages(page)) == 2 and all(m.strip() for m in bot_messages(page))
    print(f"Send to first streamed text: {first:.2f} s")
    page.screenshot(path=str(screenshots / "upload.png"), full_page=True)


def test_record_from_the_fake_microphone(page, screenshots):
    page.click("#audio button[aria-label='Record audio']")
    page.click("#audio button.record-button")
    page.wait_for_timeout(1500)
    page.click("#audio button.stop-button")
    page.wait_for_selector("#picture img")
    assert "wav" in page.inner_text("#facts")
    ask(page, "What do you hear?", 0)
    assert bot_messages(page)[0].strip()
    page.screenshot(path=str(screenshots / "microphone.png"), full_page=True)


def test_a_bad_file_shows_the_error(page, screenshots, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"this is not a sound" * 64)
    upload(page, bad, "audio/wav")
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('could not be opened')")
    assert "broken.wav could not be opened as audio" in page.inner_text("#status")
    page.screenshot(path=str(screenshots / "bad_file.png"), full_page=True)
    page.fill("#question textarea", "What is it?")  # asking about it repeats the reason, and the page keeps working
    page.click("#send")
    page.wait_for_function(ANSWER_DONE)
    assert "could not be opened" in page.inner_text("#status")


def test_an_example_loads_its_clip_and_question(page):
    page.click("text=dog: What do you hear?")
    page.wait_for_selector("#picture img")
    assert page.input_value("#question textarea") == "What do you hear?"
    assert "mp3" in page.inner_text("#facts")


def test_sessions_do_not_share_conversations(page, browser, app_url):
    ask(page, "Hello, who are you?", 0)  # text only: no clip
    other = browser.new_context().new_page()
    other.goto(app_url)
    other.wait_for_selector("#send")
    assert bot_messages(other) == []
    ask(other, "And you?", 0)
    assert len(bot_messages(other)) == 1 and len(bot_messages(page)) == 1
    other.context.close()


def test_stop_ends_the_answer_and_keeps_it(page, loaded):
    model, processor = loaded
    page.click("#settings")
    page.fill("input[aria-label='number input for Max new tokens']", "400")
    page.keyboard.press("Tab")
    page.fill("#question textarea", "Tell me a long story.")
    with endless(model, processor.eos_id, seconds_per_token=0.02):  # 400 tokens would take 8 s or more
        page.click("#send")
        page.wait_for_function(BOT_TEXT, arg=1)
        start = time.perf_counter()
        page.click("#stop")
        page.wait_for_function(ANSWER_DONE)
        assert time.perf_counter() - start < 4
    assert "Stopped" in page.inner_text("#status")
    assert bot_messages(page)[0].strip()
    page.fill("input[aria-label='number input for Max new tokens']", "8")
    page.keyboard.press("Tab")
    ask(page, "Go on.", 1)  # the conversation carries on after a stop
    assert len(bot_messages(page)) == 2


# ----- trouble: a full queue, a restarted server, hostile text, a phone, a new clip mid-answer
TYPED = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "**bold** and _it_"]


def user_messages(page) -> list[str]:
    return page.eval_on_selector_all("#chat [data-testid=user]", "els => els.map(e => e.innerText.trim())")


def open_page(browser, url: str, **context):
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#send")
    return page


def test_a_full_queue_says_so_and_the_page_recovers(browser, loaded, screenshots):
    from gradio_client import Client

    from webapp.ui import RECOVERED

    model, processor = loaded
    demo, url = serve(model, processor, GenerationSettings(max_new_tokens=8), max_queue=1)
    try:
        page = open_page(browser, url)
        ask(page, "First question?", 0)
        with endless(model, processor.eos_id, seconds_per_token=0.05):
            flood = [Client(url, verbose=False).submit(None, "flood", [], 0.1, 0.95, 40, api_name="/ask")
                     for _ in range(3)]  # one answering, one waiting: the queue is full
            time.sleep(1.0)
            page.fill("#question textarea", "Second question?")
            page.click("#send")
            page.wait_for_function("t => document.querySelector('#status').innerText.includes(t)",
                                   arg=RECOVERED[:40])
            page.screenshot(path=str(screenshots / "queue_full.png"), full_page=True)
            assert page.eval_on_selector("#send", "e => !e.disabled")  # the controls came back
            assert page.input_value("#question textarea") == "Second question?"  # nothing typed is lost
            assert len(bot_messages(page)) == 1  # the conversation is kept
            for job in flood:
                with contextlib.suppress(Exception):
                    job.result(timeout=60)
        assert page.locator("#chat .error, #picture .error, #question .error").count() == 0  # no "Error" marks
        page.click("#send")
        page.wait_for_function(BOT_TEXT, arg=2)
        page.wait_for_function(ANSWER_DONE)
        assert user_messages(page) == ["First question?", "Second question?"]
        page.context.close()
    finally:
        demo.close()


def test_a_restarted_server_gives_the_page_back_its_conversation(browser, loaded):
    from webapp.ui import RESTORED, build_app, launch

    model, processor = loaded
    port = free_port()

    def restart():
        # No cache deletion: these apps share Gradio's cache folder with this module's server (a real server
        # owns a folder, webapp.uploads), and closing an app deletes the files it created there, the
        # example clips the other server still offers included.
        demo = build_app(model, processor, GenerationSettings(max_new_tokens=8), delete_cache=None)
        launch(demo, port=port, block=False, quiet=True)
        return demo

    demo = restart()
    page = open_page(browser, f"http://127.0.0.1:{port}/")
    try:
        ask(page, "Before the restart?", 0)
        demo.close()
        demo = restart()  # restarted while the page was idle: the next question just works
        ask(page, "After the restart?", 1)
        assert user_messages(page) == ["Before the restart?", "After the restart?"]
        page.reload()  # ... and when Gradio reloads the page (or a person does), the chat comes back from the tab
        page.wait_for_function("t => document.querySelector('#status')?.innerText.includes(t)", arg=RESTORED[:30])
        assert user_messages(page) == ["Before the restart?", "After the restart?"] and len(bot_messages(page)) == 2
        ask(page, "After the reload?", 2)
        assert user_messages(page)[-1] == "After the reload?"
    finally:
        page.context.close()
        demo.close()


def _wait_through_reloads(page, condition: str, seconds: float) -> None:
    """Wait for ``condition`` while Gradio may reload the page (a reload destroys the page's script context)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            page.wait_for_function(condition, timeout=5_000)
            return
        except sync_api.Error:
            if time.monotonic() > deadline:
                raise


def test_a_server_restarted_mid_answer_leaves_the_page_usable(browser, tmp_path):
    """A real restart: ``python app.py`` is stopped (SIGTERM) while an answer streams and started again."""
    checkpoint = make_tiny_checkpoint(tmp_path)  # its random LLM writes to max_new_tokens: a long stream
    port = free_port()

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "app.py", "--checkpoint", str(checkpoint), "--port", str(port)],
                                cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
        _wait_for_line(lines, "Serving the page on ", proc, timeout=120)
        return proc

    proc = start()
    page = open_page(browser, f"http://127.0.0.1:{port}/")
    try:
        page.click("#settings")
        page.fill("input[aria-label='number input for Max new tokens']", "1024")
        page.keyboard.press("Tab")
        page.fill("#question textarea", "A long answer?")
        page.click("#send")
        page.wait_for_function(BOT_TEXT, arg=1)
        proc.send_signal(signal.SIGTERM)  # the server goes away while the answer streams ...
        proc.wait(timeout=30)
        proc = start()  # ... and comes back
        _wait_through_reloads(page, ANSWER_DONE, seconds=60)  # the page unlocks by itself
        tokens = page.locator("input[aria-label='number input for Max new tokens']")
        if not tokens.is_visible():  # Gradio reloaded the page when the server came back
            page.click("#settings")
        tokens.fill("8")
        page.keyboard.press("Tab")
        ask(page, "After the restart?", 1)  # and the next question is answered
        assert user_messages(page) == ["A long answer?", "After the restart?"]
        assert bot_messages(page)[0].strip()  # what was written before the restart is kept
    finally:
        page.context.close()
        proc.terminate()
        proc.wait(timeout=30)


def test_typed_text_shows_as_typed_and_answers_carry_no_html(page, monkeypatch, screenshots):
    from ltu.chat import ChatSession

    requested: list[str] = []
    page.on("request", lambda r: requested.append(urlparse(r.url).path))
    answer = "<img src=y onerror=alert(3)> **bold**"
    def ask_html(session, question, input="", settings=None):  # the model "writes" HTML
        session.add_exchange(question, answer)
        return iter([answer])

    monkeypatch.setattr(ChatSession, "ask", ask_html)
    for n, text in enumerate(TYPED):
        ask(page, text, n)
    assert user_messages(page) == TYPED
    assert page.locator("#chat img, #chat script").count() == 0
    assert page.locator("#chat [data-testid=bot] strong").count() == len(TYPED)  # Markdown still renders
    assert all("<img src=y onerror=alert(3)>" in m for m in bot_messages(page))  # the tag shown as text
    assert "/x" not in requested and "/y" not in requested
    page.screenshot(path=str(screenshots / "typed_text.png"), full_page=True)


def test_phone_width_puts_the_conversation_first(browser, app_url, screenshots):
    page = open_page(browser, app_url, viewport={"width": 390, "height": 844})
    top = {name: page.locator(name).bounding_box()["y"] for name in ("#chat", "#question", "#audio", "#picture")}
    assert top["#chat"] < top["#audio"] and top["#question"] < top["#audio"], top
    page.screenshot(path=str(screenshots / "phone.png"), full_page=True)
    page.context.close()


def test_a_new_clip_mid_answer_stops_it_and_keeps_it(page, loaded, screenshots):
    model, processor = loaded
    upload(page, ASSETS / "dog.mp3")
    page.wait_for_selector("#picture img")
    page.click("#settings")
    page.fill("input[aria-label='number input for Max new tokens']", "400")
    page.keyboard.press("Tab")
    page.fill("#question textarea", "Tell me a long story.")
    with endless(model, processor.eos_id, seconds_per_token=0.02):
        page.click("#send")
        page.wait_for_function(BOT_TEXT, arg=1)
        start = time.perf_counter()
        page.click("text=cat: What animal is this")  # a new clip, picked from the examples
        page.wait_for_function("() => document.querySelector('#status').innerText.includes('new conversation')")
        page.wait_for_function(ANSWER_DONE)
        assert time.perf_counter() - start < 5
    assert bot_messages(page)[0].strip()  # the answer written so far is still there
    assert "next question starts a new conversation" in page.inner_text("#status")
    page.screenshot(path=str(screenshots / "new_clip_mid_answer.png"), full_page=True)
    page.fill("input[aria-label='number input for Max new tokens']", "8")
    page.keyboard.press("Tab")
    ask(page, "And this one?", 0)  # a new conversation: the old chat goes
    assert user_messages(page) == ["And this one?"]


def test_download_the_conversation(page):
    ask(page, "What is it?", 0)
    page.wait_for_function("() => !document.querySelector('#save-json button, #save-json').disabled")
    with page.expect_download() as download:
        page.click("#save-json")
    record = json.loads(Path(download.value.path()).read_text())
    assert record["conversation"][0]["question"] == "What is it?" and "settings" in record
