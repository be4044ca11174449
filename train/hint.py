"""Fit the class hint of a model whose ``encoder.class_hint`` names classes (ltu/class_hint.py), before training.

    python -m train.hint --model train/configs/ltu_small/model-class-hint.json --data data/ltu-small-v5 \\
                         --rows runs/x/subset/2800-even-train.json --out runs/x/class_hint.safetensors

Each clip of ``--rows`` whose coarse class (``metadata.json``) is one of the hint's classes gives one example
per window: the mean and spread over time of the frozen encoder's tokens (read from the feature cache beside
the data, computed where missing; no transcripts are needed). A class-balanced logistic regression
(``train.probe.fit_linear``) becomes the hint's classifier, and the LLM's input embeddings of the class names
its word table. The file is what ``train.recipe`` loads into a new model (``class_hint=FILE``); beside it,
``<out>.json`` holds the hint's accuracy on the training clips and on every held-out split, per class.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Sequence

import torch

from ltu.class_hint import name_embeddings
from ltu.model import LTUModel

EVAL_FILES = {"heldout": "heldout.json", "heldout_sources": "heldout_sources.json"}  # scored when present
# The classifier's weight decay, chosen by leaving each of v5's 29 training sources out in turn (fitted on the
# others; held-out splits not looked at): 1e-4 61.8 %, 1e-3 62.6 %, 1e-2 64.0 %, 0.03 65.3 %, 0.1 66.6 %,
# 0.3 65.6 %, 1 63.6 % of windows right (docs/encoders.md "Class hint").
HINT_L2 = 0.1
PROGRESS_EVERY = 500  # clips between progress lines


def window_examples(model: LTUModel, cache: Any, data: Path, clips: Sequence[str]) -> tuple[torch.Tensor, list[int]]:
    """``(windows, 2 * width)`` statistics of every window of ``clips``, and the index of the clip of each row."""
    from ltu.summary import window_statistics
    from train.data import audio_path

    stats, owner = [], []
    started = time.perf_counter()
    for i, clip in enumerate(clips):
        features = cache.get(audio_path({"audio_id": clip}, data))
        windows = window_statistics(model.summary_channels(features.encoded), torch.tensor(features.window_tokens))
        stats.append(windows)
        owner += [i] * len(windows)
        if (i + 1) % PROGRESS_EVERY == 0:
            print(f"{i + 1}/{len(clips)} clips, {time.perf_counter() - started:.0f} s", flush=True)
    return torch.cat(stats), owner


def fit_hint(model: LTUModel, tokenizer: Any, x: torch.Tensor, labels: Sequence[str]) -> None:
    """Fit ``model.audio_hint`` on window statistics ``x`` and their class names ``labels``."""
    from train.probe import fit_linear

    hint = model.audio_hint
    names = list(model.config.encoder.class_hint)
    linear, mean, std = fit_linear(x, labels, names, HINT_L2)
    with torch.no_grad():
        hint.head.weight.copy_(linear.weight)
        hint.head.bias.copy_(linear.bias)
        hint.mean.copy_(mean)
        hint.std.copy_(std)
        hint.names.copy_(name_embeddings(model.llm, tokenizer, names))


def accuracy(model: LTUModel, x: torch.Tensor, owner: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Clip-level accuracy (window probabilities averaged over a clip) overall and per class."""
    names = list(model.config.encoder.class_hint)
    with torch.no_grad():
        probs = model.audio_hint.classify(x)
    summed: dict[int, torch.Tensor] = defaultdict(lambda: torch.zeros(len(names)))
    for row, clip in enumerate(owner):
        summed[clip] += probs[row]
    right, per_class = 0, defaultdict(lambda: [0, 0])
    for clip, p in summed.items():
        hit = names[int(p.argmax())] == labels[clip]
        right += hit
        per_class[labels[clip]][0] += hit
        per_class[labels[clip]][1] += 1
    return {"clips": len(summed), "accuracy": round(right / max(len(summed), 1), 4),
            "per_class": {c: per_class[c] for c in names if c in per_class}}


def labelled_clips(rows_file: Path, clips_meta: dict[str, Any], names: Sequence[str]) -> tuple[list[str], list[str]]:
    """The clips of ``rows_file`` (first-seen order) whose coarse class is one of ``names``, and those classes."""
    from train.data import read_rows

    chosen: dict[str, str] = {}
    for row in read_rows(rows_file):
        label = clips_meta.get(row["audio_id"], {}).get("labels", {}).get("category")
        if label in names and row["audio_id"] not in chosen:
            chosen[row["audio_id"]] = label
    return list(chosen), list(chosen.values())


def save_hint(model: LTUModel, out: Path) -> None:
    from safetensors.torch import save_file

    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.audio_hint.state_dict().items()}
    save_file(state, str(out), metadata={"classes": json.dumps(list(model.config.encoder.class_hint))})


def load_hint(model: LTUModel, path: Path) -> None:
    """Load a file written by :func:`save_hint` into ``model.audio_hint``; its classes must be the model's."""
    from safetensors import safe_open

    from ltu.errors import ConfigError
    from ltu.weights.strict import load_strict

    if not path.is_file():
        raise ConfigError(f"class_hint: {path} does not exist; write it with python -m train.hint.")
    with safe_open(str(path), "pt") as f:
        classes = json.loads((f.metadata() or {}).get("classes", "[]"))
        state = {k: f.get_tensor(k) for k in f.keys()}
    if classes != list(model.config.encoder.class_hint):
        raise ConfigError(f"{path} was fitted for the classes {classes}, the model names "
                          f"{list(model.config.encoder.class_hint)}.")
    load_strict(model.audio_hint, state, "class hint")


def run(model_config: Path, data: Path, rows_file: Path, out: Path, cache_dir: Path) -> dict[str, Any]:
    """Fit, score and save; returns the scores."""
    from ltu.checkpoint import build_model
    from ltu.config import LTUConfig
    from ltu.runtime import Runtime
    from train.data import FeatureCache

    config = LTUConfig.load(model_config)
    if not config.encoder.class_hint:
        raise SystemExit(f"{model_config} names no classes in encoder.class_hint: there is no hint to fit.")
    model, processor = build_model(config, Runtime(device="cpu", dtype="float32"), trainable=True)
    model.eval()
    cache = FeatureCache(cache_dir, model, processor, frozen_encoder=True)
    clips_meta = json.loads((data / "metadata.json").read_text())["clips"]
    names = list(config.encoder.class_hint)
    scores: dict[str, Any] = {"classes": names}
    with torch.no_grad():
        clips, labels = labelled_clips(rows_file, clips_meta, names)
        x, owner = window_examples(model, cache, data, clips)
        fit_hint(model, processor.tokenizer, x, [labels[i] for i in owner])
        scores["train"] = accuracy(model, x, owner, labels)
        scores["train"]["class_counts"] = dict(Counter(labels))
        for split, name in EVAL_FILES.items():
            if (data / name).is_file():
                held, held_labels = labelled_clips(data / name, clips_meta, names)
                hx, howner = window_examples(model, cache, data, held)
                scores[split] = accuracy(model, hx, howner, held_labels)
    save_hint(model, out)
    out.with_name(out.name + ".json").write_text(json.dumps(scores, indent=1) + "\n")
    return scores


def main(argv: Sequence[str] | None = None) -> int:
    from train.ltu_small import cache_folder

    parser = argparse.ArgumentParser(prog="python -m train.hint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the model's ltu_config.json")
    parser.add_argument("--data", type=Path, required=True, help="the data folder (metadata.json, held-out rows)")
    parser.add_argument("--rows", type=Path, required=True, help="the training rows whose clips it is fitted on")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None, help="feature cache (default: beside the data)")
    args = parser.parse_args(argv)
    scores = run(args.model, args.data, args.rows, args.out, args.cache or cache_folder(args.data))
    for split in ("train", *EVAL_FILES):
        if split in scores:
            s = scores[split]
            print(f"{split}: {100 * s['accuracy']:.1f} % of {s['clips']} clips; " + ", ".join(
                f"{c} {r}/{n}" for c, (r, n) in s["per_class"].items()))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from ltu.console import quiet_libraries

    quiet_libraries()
    sys.exit(main())
