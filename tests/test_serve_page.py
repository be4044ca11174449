"""``python -m ltu serve --page``: the page mounted at / of the OpenAI-compatible server, one model and
one store of encoded clips for both, served live on 127.0.0.1 (a tiny random model)."""

from __future__ import annotations

import base64
import os
import time

import pytest
import torch

from conftest import ASSETS, randomize_lora, tiny_config
from ltu.checkpoint import build_model, save_pretrained
from ltu.clips import ClipStore
from ltu.generation import GenerationSettings
from ltu.serve.app import SHUTDOWN_GRACE_S, create_app, serve_in_thread
from ltu.serve.config import ServeConfig
from ltu.serve.engine import Engine

gr = pytest.importorskip("gradio", reason="the page needs gradio (pip install -r requirements.txt)")
httpx = pytest.importorskip("httpx", reason="the tests talk HTTP through httpx")
from webapp.mount import mount_page  # noqa: E402
from webapp.ui import ADD_CLIP_LABEL  # noqa: E402

GREEDY = GenerationSettings.greedy_settings(max_new_tokens=6)
DOG = ASSETS / "dog.mp3"


def dog_request() -> dict:
    clip = base64.b64encode(DOG.read_bytes()).decode()
    return {"model": "ltu", "max_tokens": 6, "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": clip, "format": "mp3"}},
        {"type": "text", "text": "What is this sound?"}]}]}


@pytest.fixture(scope="module")
def model_and_processor(tiny_llm):
    torch.manual_seed(0)
    model, processor = build_model(tiny_config(tiny_llm), trainable=False)
    randomize_lora(model)
    return model, processor


def test_the_api_and_the_page_answer_on_one_server_with_one_clip_store(model_and_processor):
    from gradio_client import Client, handle_file

    model, processor = model_and_processor
    config = ServeConfig()
    store = ClipStore(model, processor, None, config.clip_cache_size)
    app = create_app(Engine(model, processor, config, GREEDY, clips=store))
    end_streams = mount_page(app, store, GREEDY, config)
    with serve_in_thread(app, on_stop=[end_streams]) as url, httpx.Client(base_url=url, timeout=60) as http:
        assert [m["id"] for m in http.get("/v1/models").json()["data"]] == ["ltu"]
        assert http.get("/health").json() == {"status": "ok"}
        page = http.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<html" in page.text.lower()
        page_config = http.get("/config").json()  # the Gradio config the page's script loads
        labels = [c.get("props", {}).get("label") for c in page_config["components"]]
        assert ADD_CLIP_LABEL in labels
        answer, history = Client(url, verbose=False).predict(handle_file(DOG), "What is this sound?", [],
                                                              api_name="/ask")  # the page's endpoint
        assert history == [["What is this sound?", answer]] and store.misses == 1
        reply = http.post("/v1/chat/completions", json=dog_request())
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] is not None
        assert (store.hits, store.misses) == (1, 1)  # the endpoint found the clip the page encoded
        stopping = time.monotonic()
    assert time.monotonic() - stopping < SHUTDOWN_GRACE_S  # the page's open stream ended as the server stopped


def test_python_m_ltu_serve_page_mounts_the_page_behind_the_api_key(model_and_processor, tmp_path, monkeypatch):
    from ltu.cli import main
    from ltu.serve import app as server

    checkpoint = str(save_pretrained(model_and_processor[0], tmp_path / "ckpt"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    seen: dict = {}

    def run(app, host: str, port: int, on_stop) -> None:  # instead of serving until Ctrl+C
        seen["folder"] = os.environ["GRADIO_TEMP_DIR"]
        assert os.path.isdir(seen["folder"])  # the server's own upload folder
        with serve_in_thread(app, host, on_stop=on_stop) as url, httpx.Client(base_url=url, timeout=60) as http:
            seen["models"] = http.get("/v1/models", headers={"Authorization": "Bearer KEY"}).status_code
            seen["page"] = http.get("/").status_code
            seen["locked"] = http.get("/config").status_code  # the page asks for the key first
            http.post("/login", data={"username": "anyone", "password": "KEY"})
            seen["config"] = http.get("/config").status_code

    monkeypatch.setattr(server, "run_server", run)
    code = main(["serve", "--page", "-c", checkpoint, "--api-key", "KEY", "--port", "8123", "--greedy",
                 "--max-new-tokens", "4"])
    assert code == 0
    assert (seen["models"], seen["page"], seen["locked"], seen["config"]) == (200, 200, 401, 200)
    assert seen["folder"].endswith("ltu-app-8123") and not os.path.exists(seen["folder"])  # deleted at the end
