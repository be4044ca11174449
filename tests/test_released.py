"""Released models by name: a resumable download from a local server, conversion once, clear failures."""

from __future__ import annotations

import dataclasses
import http.server
import threading
from pathlib import Path

import pytest

from conftest import released_file
from ltu.checkpoint import CONFIG_FILE, resolve_checkpoint
from ltu.cli import main
from ltu.config import LTUConfig
from ltu.errors import CheckpointError
from ltu.weights import released

CUT_AT = 5_000  # bytes the first transfer delivers before the server drops the connection


class RangeServer(http.server.ThreadingHTTPServer):
    """Serves one file at /file with HTTP Range support; the first answer can be cut short."""

    def __init__(self, payload: bytes, cut_first: bool) -> None:
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.payload, self.cut_first = payload, cut_first
        self.requests: list[dict[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/file?dl=1"


class RangeHandler(http.server.BaseHTTPRequestHandler):
    server: RangeServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        data, asked = self.server.payload, self.headers.get("Range")
        self.server.requests.append({"range": asked})
        start = int(asked.removeprefix("bytes=").rstrip("-")) if asked else 0
        self.send_response(206 if asked else 200)
        if asked:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if self.server.cut_first and len(self.server.requests) == 1:
            self.wfile.write(data[:CUT_AT])  # then the connection closes: the client sees a short body
            return
        self.wfile.write(data[start:])

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Start a server for ``payload`` and point the ltu-7b entry and the cache at it."""
    servers: list[RangeServer] = []
    monkeypatch.setenv(released.CACHE_ENV, str(tmp_path / "cache"))

    def start(payload: bytes, cut_first: bool = False) -> RangeServer:
        server = RangeServer(payload, cut_first)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        model = dataclasses.replace(released.RELEASED["ltu-7b"], url=server.url)
        monkeypatch.setitem(released.RELEASED, "ltu-7b", model)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_an_interrupted_download_resumes_then_converts_once(serve, tmp_path: Path) -> None:
    path, _ = released_file(tmp_path, with_default=True)
    payload = path.read_bytes()
    server = serve(payload, cut_first=True)
    with pytest.raises(CheckpointError, match="run the same command again|Could not download"):
        released.fetch("ltu-7b", log=lambda _: None, progress=False)
    part = released.cache_root() / "downloads" / "ltu_ori_paper.bin.part"
    assert part.stat().st_size == CUT_AT  # what arrived is kept

    folder = released.fetch("ltu-7b", log=lambda _: None, progress=False)
    assert server.requests[1]["range"] == f"bytes={CUT_AT}-"  # only the rest was asked for
    assert (released.cache_root() / "downloads" / "ltu_ori_paper.bin").read_bytes() == payload
    config = LTUConfig.load(folder / CONFIG_FILE)
    assert config.llm == released.RELEASED["ltu-7b"].llm and config.encoder.kind == "cavmae"

    assert released.fetch("ltu-7b", log=lambda _: None, progress=False) == folder
    assert resolve_checkpoint("ltu-7b") == folder  # --checkpoint ltu-7b in the CLI and the app
    assert len(server.requests) == 2  # the second and third calls asked nothing


def test_download_command_prints_the_folder(serve, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path, _ = released_file(tmp_path, with_default=False)
    serve(path.read_bytes())
    assert main(["download", "ltu-7b"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert Path(printed) == released.cache_root() / "ltu-7b" and (Path(printed) / CONFIG_FILE).is_file()


def test_a_file_that_is_not_a_checkpoint_is_named(serve) -> None:
    serve(b"<html>Dropbox says: please sign in</html>")
    with pytest.raises(CheckpointError, match="not a usable ltu-7b checkpoint.*Delete it"):
        released.fetch("ltu-7b", log=lambda _: None, progress=False)


def test_unreachable_server_says_what_to_fetch_and_where(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv(released.CACHE_ENV, str(tmp_path / "cache"))
    closed = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens on this port now
    url = f"http://127.0.0.1:{port}/ltu_ori_paper.bin"
    monkeypatch.setitem(released.RELEASED, "ltu-7b", dataclasses.replace(released.RELEASED["ltu-7b"], url=url))
    assert main(["download", "ltu-7b"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert url in err and str(released.cache_root() / "downloads" / "ltu_ori_paper.bin") in err
    assert "convert-official" in err


def test_unknown_names_are_not_guessed(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="ltu-7b"):
        resolve_checkpoint("ltu-70b")  # neither a folder, a released name nor a hub id: the names are listed
    with pytest.raises(CheckpointError, match="Unknown released model"):
        released.fetch("ltu-70b")
