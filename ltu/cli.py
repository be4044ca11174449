"""Command line: ``python -m ltu chat | serve | batch | convert-official | download | bench | info``.

User errors end with exit code 2 and one line on stderr; nothing else is caught.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, TextIO

from ltu.audio.length import MAX_SECONDS_CEILING, check_max_seconds, require_whole, with_max_seconds
from ltu.config import PAPER_LLM
from ltu.errors import USER_ERROR, LTUError
from ltu.generation import GenerationSettings
from ltu.runtime import Runtime
from ltu.weights.released import RELEASED

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ltu.clips import ClipStore
    from ltu.serve.config import ServeConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPO_ROOT / "checkpoints" / "ltu-small"  # the embedded default model
DTYPE_HELP = ("auto (bfloat16 on CUDA; float32 on CPU, plus float16 copies of the LLM's weights for decoding: "
              "README 'Performance'), float32, bfloat16, float16")
QUIT_WORDS = {"", "/quit", "/exit", "quit", "exit"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # its own options: see ltu.bench
        from ltu.bench import main as bench

        return bench(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except LTUError as err:
        print(f"error: {err}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ltu", description="LTU: ask questions about sounds.")
    commands = parser.add_subparsers(dest="command", required=True)

    chat = commands.add_parser("chat", help="ask about an audio file (one question, or a conversation)")
    chat.add_argument("question", nargs="?", help="the question; leave out for an interactive conversation")
    chat.add_argument("--audio", "-a", help="audio file (wav, mp3, flac, ogg, webm, m4a ...); leave out for text only")
    chat.add_argument("--input", default="", help="text for the prompt's input field (e.g. a transcript)")
    _add_model_args(chat)
    _add_generation_args(chat)
    chat.set_defaults(run=_chat)

    serve = commands.add_parser("serve", help="an OpenAI-compatible endpoint: POST /v1/chat/completions")
    _add_serve_args(serve)
    _add_model_args(serve)
    _add_generation_args(serve)
    serve.set_defaults(run=_serve)

    convert = commands.add_parser("convert-official", help="convert the paper's released .bin into a checkpoint folder")
    convert.add_argument("--input", "-i", required=True, help="released file, e.g. ltu_ori_paper.bin")
    convert.add_argument("--output", "-o", required=True, help="checkpoint folder to write")
    convert.add_argument("--llm", default=None, help=f"base LLM the folder names (default: {PAPER_LLM})")
    convert.add_argument("--encoder-heads", type=int, default=None, help="attention heads of the encoder (default: width/64)")
    convert.set_defaults(run=_convert)

    download = commands.add_parser("download", help="fetch and convert a released model (e.g. ltu-7b) once")
    download.add_argument("name", choices=sorted(RELEASED), help="the released model")
    download.set_defaults(run=_download)

    batch = commands.add_parser("batch", help="answer a JSON Lines file of questions about audio files")
    batch.add_argument("--input", "-i", required=True, type=Path,
                       help="JSON Lines rows: audio, question, optional input, history, id, temperature, max_tokens ...")
    batch.add_argument("--output", "-o", required=True, type=Path, help="JSON Lines answers (run again to resume)")
    batch.add_argument("--audio-root", type=Path, default=None,
                       help="folder relative audio paths start from (default: the input file's folder)")
    batch.add_argument("--batch-size", type=int, default=8, help="questions answered together")
    batch.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_model_args(batch)
    _add_generation_args(batch)
    batch.set_defaults(run=_batch)

    commands.add_parser("bench", help="measure speed and memory on this machine (python -m ltu bench --help)",
                        add_help=False).set_defaults(run=None)

    info = commands.add_parser("info", help="show what a checkpoint folder contains")
    info.add_argument("checkpoint", nargs="?", default=str(DEFAULT_CHECKPOINT))
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(run=_info)
    return parser


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", "-c", default=str(DEFAULT_CHECKPOINT),
                   help=f"checkpoint folder, released model ({', '.join(RELEASED)}) or hub repo id")
    p.add_argument("--llm", default=None, help="load the base LLM from here instead of the one the checkpoint names")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--dtype", default="auto", help=DTYPE_HELP)
    p.add_argument("--quantization", "-q", default="none", choices=["none", "8bit", "4bit"], help="LLM weights via bitsandbytes")
    p.add_argument("--max-seconds", type=float, default=None,
                   help=f"the longest clip, in seconds, up to {MAX_SECONDS_CEILING:g} (10 minutes); longer clips are "
                        "refused (default: the checkpoint's frontend.max_seconds, 60 for LTU-small)")


def _add_generation_args(p: argparse.ArgumentParser) -> None:
    d = GenerationSettings()
    p.add_argument("--temperature", type=float, default=d.temperature, help="0 = greedy (default: paper's 0.1)")
    p.add_argument("--top-p", type=float, default=d.top_p)
    p.add_argument("--top-k", type=int, default=d.top_k, help="0 = off")
    p.add_argument("--repetition-penalty", type=float, default=d.repetition_penalty)
    p.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens)
    p.add_argument("--num-beams", type=int, default=d.num_beams, help=">1 = beam search")
    p.add_argument("--greedy", action="store_true", help="same as --temperature 0")
    p.add_argument("--seed", type=int, default=None, help="fix sampling for a reproducible answer")


def _add_serve_args(p: argparse.ArgumentParser) -> None:
    from ltu.serve.config import API_KEY_ENV, ServeConfig

    d = ServeConfig()
    p.add_argument("--host", default=d.host, help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=d.port)
    p.add_argument("--api-key", default=None, help=f"require 'Authorization: Bearer KEY' (default: ${API_KEY_ENV}, else off)")
    p.add_argument("--model-name", default=d.model_name, help="the model id clients name")
    p.add_argument("--max-concurrent", type=int, default=d.max_concurrent, help="answers generated at once")
    p.add_argument("--max-queue", type=int, default=d.max_queue, help="requests that may wait; more get 429")
    p.add_argument("--max-body-mb", type=float, default=d.max_body_mb, help="larger requests get 413")
    p.add_argument("--max-sessions", type=int, default=d.max_sessions, help="conversations kept for follow-ups")
    p.add_argument("--session-memory-mb", type=float, default=d.session_memory_mb,
                   help="KV-cache memory kept for follow-ups, in total")
    p.add_argument("--page", action="store_true",
                   help="also serve the web page (the one app.py serves) at / on the same port, with the same model "
                        "and clip cache (needs gradio)")


def _settings(args: argparse.Namespace) -> GenerationSettings:
    return GenerationSettings(temperature=0.0 if args.greedy else args.temperature, top_p=args.top_p, top_k=args.top_k,
                              repetition_penalty=args.repetition_penalty, max_new_tokens=args.max_new_tokens,
                              num_beams=args.num_beams, seed=args.seed)


def _chat(args: argparse.Namespace) -> int:
    from ltu.audio.decode import load_audio
    from ltu.chat import ChatSession
    from ltu.checkpoint import CONFIG_FILE, load_pretrained, resolve_checkpoint
    from ltu.config import LTUConfig

    # Everything a user can get wrong is checked before the slow model load.
    settings = _settings(args)
    runtime = Runtime(device=args.device, dtype=args.dtype, quantization=args.quantization)
    runtime.torch_device()
    _missing_default_hint(args.checkpoint)
    config = with_max_seconds(LTUConfig.load(resolve_checkpoint(args.checkpoint) / CONFIG_FILE), args.max_seconds)
    audio = None
    if args.audio:  # a clip longer than the limit is refused, not answered about in part
        audio = require_whole(load_audio(args.audio, config.frontend), config.frontend, Path(args.audio).name)
    if not args.question:  # a conversation: say what is happening while it loads
        print(f"Loading {config.name} from {args.checkpoint} ...", file=sys.stderr)
    model, processor = load_pretrained(args.checkpoint, runtime, llm=args.llm, max_seconds=args.max_seconds)
    session = ChatSession(model, processor, audio, settings)
    stdin, out = sys.stdin, sys.stdout
    if session.clip is not None:
        print(f"Audio: {session.clip.audio.info.describe()}", file=sys.stderr)
    if args.question:
        _stream(session, args.question, args.input, out)
        return 0
    interactive = stdin.isatty()
    while True:
        if interactive:
            print("you> ", end="", file=sys.stderr, flush=True)
        line = stdin.readline()
        if not line or line.strip() in QUIT_WORDS:
            return 0
        _stream(session, line.strip(), "", out)


def _stream(session: "object", question: str, input_text: str, out: TextIO) -> None:
    seen = len(session.notices)  # type: ignore[attr-defined]
    for piece in session.ask(question, input_text):  # type: ignore[attr-defined]
        out.write(piece)
        out.flush()
    out.write("\n")
    for notice in session.notices[seen:]:  # type: ignore[attr-defined]
        print(f"note: {notice}", file=sys.stderr)


def _serve(args: argparse.Namespace) -> int:
    from ltu.checkpoint import load_pretrained
    from ltu.clips import ClipStore
    from ltu.serve.app import create_app
    from ltu.serve.config import ServeConfig, api_key_from
    from ltu.serve.engine import Engine

    settings = _settings(args)
    config = ServeConfig(host=args.host, port=args.port, model_name=args.model_name, api_key=api_key_from(args.api_key),
                         max_concurrent=args.max_concurrent, max_queue=args.max_queue, max_body_mb=args.max_body_mb,
                         max_sessions=args.max_sessions, session_memory_mb=args.session_memory_mb)
    runtime = Runtime(device=args.device, dtype=args.dtype, quantization=args.quantization)
    runtime.torch_device()
    _check_max_seconds(args)
    _missing_default_hint(args.checkpoint)
    if args.page and importlib.util.find_spec("gradio") is None:
        raise LTUError("--page needs gradio, which is not installed: pip install -r requirements.txt "
                       "(or the [app] extra).")
    if not config.is_local and config.api_key is None:
        print(f"warning: listening on {config.host} without an API key: anyone who can reach it can use it "
              "(--api-key or $LTU_API_KEY).", file=sys.stderr)
    print(f"Loading {args.checkpoint} ...", file=sys.stderr)
    model, processor = load_pretrained(args.checkpoint, runtime, llm=args.llm, max_seconds=args.max_seconds)
    clips = ClipStore(model, processor, "auto", config.clip_cache_size)  # one cache of encoded clips for all routes
    _serve_until_stopped(create_app(Engine(model, processor, config, settings, clips=clips)), clips, settings, config,
                         args.page)
    return 0


def _serve_until_stopped(app: FastAPI, clips: ClipStore, settings: GenerationSettings, config: ServeConfig,
                         page: bool) -> None:
    """Serve ``app`` until Ctrl+C or SIGTERM, with the web page at / when ``page`` (``webapp.mount``)."""
    from ltu.serve.app import run_server

    base = f"http://{config.host}:{config.port}"
    with contextlib.ExitStack() as stack:
        on_stop = []
        if page:
            from webapp.mount import page_mounted  # the UI layer, imported only when asked for

            on_stop.append(stack.enter_context(page_mounted(app, clips, settings, config)))
        print(f"Serving '{config.model_name}' at {base}/v1" + (f" and the page at {base}/" if page else ""),
              file=sys.stderr)
        run_server(app, config.host, config.port, on_stop)


def _batch(args: argparse.Namespace) -> int:
    from ltu.batch import run_command

    settings = _settings(args)
    if args.batch_size < 1:
        raise LTUError("--batch-size must be at least 1.")
    _check_max_seconds(args)
    _missing_default_hint(args.checkpoint)
    return run_command(args, settings)


def _check_max_seconds(args: argparse.Namespace) -> None:
    """Refuse a --max-seconds out of bounds before anything slow happens."""
    if args.max_seconds is not None:
        check_max_seconds(args.max_seconds)


def _missing_default_hint(checkpoint: str) -> None:
    if Path(checkpoint) == DEFAULT_CHECKPOINT and not DEFAULT_CHECKPOINT.is_dir():
        raise LTUError(f"The default model is not at {DEFAULT_CHECKPOINT}. Run the set-up (bash scripts/setup.sh) "
                       "or pass --checkpoint FOLDER.")


def _convert(args: argparse.Namespace) -> int:
    from ltu.weights.convert import convert_official

    report = convert_official(args.input, args.output, llm=args.llm or PAPER_LLM, num_heads=args.encoder_heads)
    print(report.summary())
    print(f"Wrote {args.output}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from ltu.weights.released import fetch

    print(fetch(args.name))
    return 0


def _info(args: argparse.Namespace) -> int:
    from ltu.info import describe_checkpoint

    info = describe_checkpoint(args.checkpoint)
    print(json.dumps(info, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0
