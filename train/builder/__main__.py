"""Build the LTU-small dataset from locally installed recordings.

    python -m train.builder --out data/ltu-small [--seed 0] [--size tiny|small|full] [--install] [--without SOURCE]

Writes train.json, train_closed.json, train_cla.json, heldout.json (+ silent and shuffled
baselines), heldout_sources.json (+ silent baseline), audio/*.wav (16 kHz mono PCM16),
metadata.json, stats.json and README.md into --out, replacing an earlier build. Sources
that are not installed are skipped with a message naming their packages; ``--install``
(as root) installs them first with apt-get and pip. docs/data.md lists the sources.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from ltu.errors import USER_ERROR, LTUError
from train.builder import sources
from train.builder.build import SIZES, build


def install(size: str) -> None:
    """apt-get / pip install the packages of every missing source of ``size`` (prints what it runs)."""
    _, missing = sources.available(SIZES[size].sources)
    if not missing:
        print("every source is installed")
        return
    apt = sorted({p for n in missing for p in sources.BY_NAME[n].apt})
    pip = sorted({p for n in missing for p in sources.BY_NAME[n].pip})
    commands = []
    if apt:
        commands += [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "--no-install-recommends", *apt]]
    if pip:
        commands.append([sys.executable, "-m", "pip", "install", "--no-deps", *pip])
    for command in commands:
        print("installing: " + " ".join(command), flush=True)
        subprocess.run(command, check=True)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, (install,) build, print a summary; user errors exit 2 with one sentence."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="data/ltu-small", help="output folder (default: data/ltu-small)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files")
    parser.add_argument("--size", choices=sorted(SIZES), default="small",
                        help="tiny (tests, seconds), small (default) or full")
    parser.add_argument("--install", action="store_true", help="install missing Debian/PyPI packages first (root)")
    parser.add_argument("--without", action="append", default=[], metavar="SOURCE",
                        help="leave out this source although it is installed (repeatable; docs/data.md names them)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.install:
            install(args.size)
        stats = build(args.out, seed=args.seed, size=args.size, without=tuple(args.without))
    except (LTUError, subprocess.CalledProcessError) as err:
        print(f"error: {err}", file=sys.stderr)
        return USER_ERROR
    splits = stats["splits"]
    megabytes = sum(s["audio_megabytes"] for s in splits.values())
    print(f"wrote {args.out}: " + ", ".join(f"{s['rows']} {name} rows" for name, s in splits.items())
          + f"; {sum(s['clips'] for s in splits.values())} clips ({megabytes:.0f} MB audio) in "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
