"""The LTU web app: record or upload a sound and chat about it.

    python app.py                                  # the embedded default model on http://127.0.0.1:7860
    python app.py --checkpoint FOLDER_OR_HUB_ID --quantization 4bit --device cuda
    python app.py --help                           # every flag, and the environment variable for each

The model is loaded once, in ``main``; importing this file loads nothing. The page itself
is ``webapp.ui.build_app``, which tests call with a tiny model.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Sequence

from ltu.console import quiet_libraries

quiet_libraries()  # the terminal shows the app's own start-up progress, not the libraries'

from ltu.checkpoint import CONFIG_FILE, load_pretrained, resolve_checkpoint  # noqa: E402
from ltu.cli import DEFAULT_CHECKPOINT  # noqa: E402
from ltu.config import LTUConfig  # noqa: E402
from ltu.errors import USER_ERROR, LTUError  # noqa: E402
from ltu.model import LTUModel  # noqa: E402
from ltu.processor import LTUProcessor  # noqa: E402
from webapp.options import ServeOptions, choose_runtime, parse_options  # noqa: E402
from webapp.ui import build_app, launch  # noqa: E402
from webapp.uploads import claim_upload_folder, remove_upload_folder, stop_on_sigterm  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    """Load the model, then serve the page until interrupted; returns the exit code."""
    try:
        options = parse_options(argv)
        model, processor = _load(options)
    except LTUError as err:
        print(f"error: {err}", file=sys.stderr)
        return USER_ERROR
    _log_to_terminal()
    folder = claim_upload_folder(options.port)  # uploads of a previous run on this port are deleted here
    stop_on_sigterm()
    try:
        demo = build_app(model, processor, concurrency=options.concurrency, max_queue=options.max_queue)
        url = launch(demo, host=options.host, port=options.port, share=options.share,
                     max_file_bytes=processor.config.frontend.max_bytes, block=False, quiet=True)
        print(f"Serving the page on {url} (Ctrl+C stops it).", flush=True)
        if demo.share_url:
            print(f"Public link: {demo.share_url}", flush=True)
        elif options.share:
            print("The public link could not be made (it needs Gradio's share server on the internet); "
                  "the page is still served locally.", file=sys.stderr, flush=True)
        demo.block_thread()  # until Ctrl+C or SIGTERM, then closes the server
    finally:
        remove_upload_folder(folder)  # every upload, recording and picture of this run
        print(f"Deleted this run's uploads ({folder}).", flush=True)
    return 0


def _log_to_terminal() -> None:
    """The page's own log (one line per error a user caused) goes to stderr; libraries stay quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log = logging.getLogger("webapp")
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def _load(options: ServeOptions) -> tuple[LTUModel, LTUProcessor]:
    """The model and processor, with progress on the terminal."""
    if Path(options.checkpoint) == DEFAULT_CHECKPOINT and not DEFAULT_CHECKPOINT.is_dir():
        raise LTUError(f"The default model is not at {DEFAULT_CHECKPOINT}. Run the set-up (bash scripts/setup.sh) "
                       "or pass --checkpoint FOLDER.")
    start = time.perf_counter()
    config = LTUConfig.load(resolve_checkpoint(options.checkpoint) / CONFIG_FILE)
    runtime = choose_runtime(options, config)
    device = runtime.torch_device()
    print(f"Loading {config.name} from {options.checkpoint} on {device.type} "
          f"({'no' if runtime.quantization == 'none' else runtime.quantization} quantisation) ...", flush=True)
    model, processor = load_pretrained(options.checkpoint, runtime, llm=options.llm, max_seconds=options.max_seconds)
    print(f"Model ready in {time.perf_counter() - start:.1f} s; starting the web server.", flush=True)
    return model, processor


if __name__ == "__main__":
    sys.exit(main())
