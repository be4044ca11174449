"""Fill the feature cache ahead of training, and pick a training subset that is balanced across sources.

    python -m train.cache --model train/configs/ltu_small/model.json --data data/ltu-small/train.json \
        --cache data/ltu-small-cache [--clips N]

Caching (the frozen encoder's tokens and Whisper's transcript of every clip) is the slow part of
preparing a CPU run: about a second a clip on two cores. Clips are filled in ``clip_order``: one
clip from each source in turn, in a seeded random order within each source. Stopping early (or
``--clips N``) therefore leaves a set whose sources are as even as the data allows, and
``subset_rows`` picks exactly those clips' rows, so a run can train on the first N clips of the order.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from train.data import audio_path, read_rows

ORDER_SEED = 0
PROGRESS_EVERY = 100  # clips between progress lines


def clip_order(rows: Sequence[dict[str, Any]], seed: int = ORDER_SEED) -> list[str]:
    """Every distinct ``audio_id`` once: sources taken in turn, clips of a source in a seeded random order."""
    by_source: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for row in rows:
        if row["audio_id"] not in seen:
            seen.add(row["audio_id"])
            by_source[row.get("dataset") or ""].append(row["audio_id"])
    rng = random.Random(seed)
    queues = []
    for source in sorted(by_source):
        clips = sorted(by_source[source])
        rng.shuffle(clips)
        queues.append(clips)
    order = []
    for position in range(max((len(q) for q in queues), default=0)):
        order += [q[position] for q in queues if position < len(q)]
    return order


def subset_rows(rows: Sequence[dict[str, Any]], clips: int, seed: int = ORDER_SEED) -> list[dict[str, Any]]:
    """The rows of the first ``clips`` clips of ``clip_order`` (all rows when ``clips`` is 0)."""
    if not clips:
        return list(rows)
    keep = set(clip_order(rows, seed)[:clips])
    return [row for row in rows if row["audio_id"] in keep]


def fill(model_config: Path, rows_file: Path, cache_dir: Path, clips: int = 0, data_root: Path | None = None) -> None:
    """Compute and store the features and transcript of the first ``clips`` clips (all when 0); audio
    paths are relative to ``data_root`` (default: the rows file's folder)."""
    import torch

    from ltu.checkpoint import build_model
    from ltu.config import LTUConfig
    from ltu.runtime import Runtime
    from ltu.transcribe import transcriber_for
    from train.data import FeatureCache

    rows = read_rows(rows_file)
    order = clip_order(rows)[: clips or None]
    model, processor = build_model(LTUConfig.load(model_config), Runtime(device="cpu", dtype="float32"),
                                   trainable=True)  # built as stage 1 builds it, so the cache folder is the same
    cache = FeatureCache(cache_dir, model, processor, frozen_encoder=True, transcriber=transcriber_for(model.config))
    print(f"{len(order)} clips -> {cache.folder}", flush=True)
    started = time.perf_counter()
    with torch.no_grad():
        for i, audio_id in enumerate(order, 1):
            cache.get(audio_path({"audio_id": audio_id}, data_root or rows_file.parent))
            if i % PROGRESS_EVERY == 0 or i == len(order):
                elapsed = time.perf_counter() - started
                rate = f", {elapsed / cache.computed:.2f} s per new clip" if cache.computed else ""
                print(f"{i}/{len(order)} clips ({cache.computed} new), {elapsed:.0f} s{rate}", flush=True)
    print(f"cached {len(order)} clips ({cache.computed} new) in {time.perf_counter() - started:.0f} s", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the model config the training run builds")
    parser.add_argument("--data", type=Path, required=True, help="a rows file (JSON list or JSON Lines)")
    parser.add_argument("--cache", type=Path, required=True, help="the cache folder training is given (cache_dir)")
    parser.add_argument("--clips", type=int, default=0, help="only the first N clips of the balanced order")
    args = parser.parse_args(argv)
    fill(args.model, args.data, args.cache, args.clips)
    return 0


if __name__ == "__main__":
    from ltu.console import quiet_libraries

    quiet_libraries()  # library warnings and loading bars off; the command's own progress stays
    sys.exit(main())
