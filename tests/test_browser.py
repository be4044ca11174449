"""The page in a real browser: Debian's chromium driven by Playwright (no browser download).

Uploads a clip, records from chromium's fake microphone, shows a bad file's error, keeps
browser sessions apart and stops an answer. Screenshots go to a temporary folder (or to
``$LTU_SCREENSHOTS`` when set). Skipped when chromium or Playwright is missing; ``.ci/run``
installs chromium so CI runs these.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import ASSETS
from ltu.checkpoint import load_pretrained
from ltu.generation import GenerationSettings

CHROMIUM = os.environ.get("LTU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).is_file():
    pytest.skip(f"chromium is not installed ({CHROMIUM}); apt-get install chromium to run the browser tests",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the playwright package")
pytest.importorskip("gradio", reason="the web app needs gradio")

from test_app import endless, make_tiny_checkpoint, serve  # noqa: E402

# Headless Debian chromium with nothing phoning home, and a fake microphone.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
TIMEOUT_MS = 30_000
ANSWER_DONE = "() => !document.querySelector('#send').disabled"
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
    page.wait_for_function(BOT_TEXT, arg=answers_before + 1)
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
