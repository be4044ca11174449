"""How much a frozen Whisper encoder's layers know about sound classes on sources never trained on.

    python -m train.probe --data data/ltu-small [--model train/configs/ltu_small/model.json] [--out probe.json]
                          [--augment N] [--by-source]

For every clip of the training and held-out splits it pools each hidden state of the encoder
(the embedded input, then the output of every layer; the last one after the final norm, as
the encoder hands it on) into its mean and standard deviation over the clip's real frames.
On the training clips it then fits one linear classifier per layer (class-balanced logistic
regression) for the coarse class, "is it music" and "is it speech", and scores it on the
held-out recordings and the held-out sources. A linear probe is a rough ceiling for what the
projector can pass on: when it fails on unseen sources, training the LLM longer will not fix
it, and other data or another layer is what to change (``docs/encoders.md``).
Pooled features are kept in ``<data>-cache/probe/`` so a second run only fits. ``--augment N`` adds N copies
of every training clip sent through a random recording chain (``train.augment``) to the probe's training
side, and prints the table with and without them: whether such copies help on unseen sources.
``--by-source`` also holds out each training source in turn (fitted on all the others, scored on it) for the
layer the model reads, and prints accuracy per class over every source: three held-out sources say little
about a class that only one of them has, while two dozen say more (``docs/encoders.md``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from train.augment import COPY_MARK, VERSION as AUGMENT_VERSION, augmented_copy

SPLITS = ("train", "heldout", "heldout_sources")  # fitted on the first, scored on the others
TARGETS = ("category", "is_music", "is_speech")  # metadata labels; clips without one (mixtures) are skipped
L2 = 1e-3  # weight decay of the probe (standardised features); results barely move between 1e-4 and 1e-2
MAX_ITERATIONS = 200  # LBFGS steps; the fit converges well before on a few thousand clips
PROGRESS_EVERY = 500  # clips between progress lines


def fit_probe(train_x: torch.Tensor, train_y: Sequence[Any], test_x: torch.Tensor) -> list[Any]:
    """Class-balanced logistic regression on standardised features; the predicted label of each test row."""
    classes = sorted(set(train_y), key=str)
    linear, mean, std = fit_linear(train_x, train_y, classes)
    with torch.no_grad():
        return [classes[i] for i in linear((test_x - mean) / std).argmax(1).tolist()]


def fit_linear(train_x: torch.Tensor, train_y: Sequence[Any], classes: Sequence[Any], l2: float = L2
               ) -> tuple[torch.nn.Linear, torch.Tensor, torch.Tensor]:
    """Class-balanced logistic regression on standardised features with weight decay ``l2``: the fitted layer (its
    outputs in the order of ``classes``), and the mean and standard deviation that standardise its input.
    Deterministic."""
    index = {c: i for i, c in enumerate(classes)}
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    a = (train_x - mean) / std
    target = torch.tensor([index[c] for c in train_y])
    weight = (1.0 / torch.bincount(target, minlength=len(classes)).float())[target]
    weight = weight / weight.sum()  # every class weighs the same, however many clips it has
    torch.manual_seed(0)
    linear = torch.nn.Linear(a.shape[1], len(classes))
    optimiser = torch.optim.LBFGS(linear.parameters(), max_iter=MAX_ITERATIONS)

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = (torch.nn.functional.cross_entropy(linear(a), target, reduction="none") * weight).sum()
        value = value + l2 * linear.weight.pow(2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    return linear.requires_grad_(False), mean, std


def pooled_layers(model: Any, processor: Any, source: Any) -> torch.Tensor:
    """``(hidden states, 2 * width)``: mean and standard deviation of each hidden state over the real frames."""
    encoder = model.encoder
    clip = processor.audio_features(source)
    features = clip.features.to(encoder.encoder.conv1.weight.dtype)
    states = encoder.encoder(input_features=features, output_hidden_states=True).hidden_states
    pooled = []
    for state in states:
        frames = torch.cat([state[w, : n * encoder.frames_per_token] for w, n in enumerate(clip.window_tokens)])
        pooled.append(torch.cat([frames.mean(0), frames.std(0, correction=0)]))
    return torch.stack(pooled).float()


def collect(model_config: Path, data: Path, store: Path,
            augment: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Pooled hidden states of every clip of ``SPLITS`` (read from ``store`` when computed before) and the
    clips' metadata; with ``augment``, also of that many augmented copies of each training clip, keyed
    ``<clip>~<copy>``."""
    from ltu.config import LTUConfig

    config = LTUConfig.load(model_config)
    if config.encoder.kind != "whisper":
        raise SystemExit("train.probe reads the layers of a Whisper encoder; this model has a CAV-MAE encoder.")
    clips = {k: v for k, v in json.loads((data / "metadata.json").read_text())["clips"].items()
             if v["split"] in SPLITS}
    encoder = {k: v for k, v in config.encoder.__dict__.items()
               if k not in ("hidden_layer", "summary_layer")}  # every layer is pooled
    key = hashlib.sha256(json.dumps(encoder, sort_keys=True, default=str).encode()).hexdigest()[:16]
    pooled = _pool(config, data, store / f"{key}.pt", {c: None for c in sorted(clips)})
    if augment:
        training = [c for c in sorted(clips) if clips[c]["split"] == "train"]
        copies = {f"{c}{COPY_MARK}{i}": c for c in training for i in range(augment)}
        pooled.update(_pool(config, data, store / f"{key}-augment-{AUGMENT_VERSION}.pt", copies))
    return pooled, clips


def _pool(config: Any, data: Path, target: Path, wanted: dict[str, str | None]) -> dict[str, torch.Tensor]:
    """Pooled hidden states for ``wanted`` (key -> the clip to augment, or None for the clip itself), kept in
    ``target`` with whatever it held before."""
    from ltu.checkpoint import build_model
    from ltu.runtime import Runtime
    from train.data import audio_path

    pooled: dict[str, torch.Tensor] = torch.load(target, weights_only=True) if target.is_file() else {}
    todo = [k for k in wanted if k not in pooled]
    if todo:
        model, processor = build_model(config, Runtime(device="cpu", dtype="float32"), trainable=True)
        model.eval()
        started = time.perf_counter()
        with torch.no_grad():
            for i, key in enumerate(todo, 1):
                source: Any = audio_path({"audio_id": wanted[key] or key}, data)
                if wanted[key] is not None:
                    rate = config.frontend.sample_rate
                    source = (rate, augmented_copy(processor.load_audio(source).samples, key, rate))
                pooled[key] = pooled_layers(model, processor, source).half()
                if i % PROGRESS_EVERY == 0 or i == len(todo):
                    print(f"{i}/{len(todo)} clips pooled, {time.perf_counter() - started:.0f} s", flush=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(pooled, target)
    return pooled


def score(pooled: dict[str, torch.Tensor], clips: dict[str, Any], copies: int = 0) -> list[dict[str, Any]]:
    """One row per hidden state: the probe's accuracy per target on each held-out split; ``copies`` augmented
    copies of each training clip join the training side."""
    layers = next(iter(pooled.values())).shape[0]
    rows = []
    for layer in range(layers):
        row: dict[str, Any] = {"layer": layer}
        for name in TARGETS:
            chosen = {s: [(pooled[c][layer].float(), v["labels"][name]) for c, v in clips.items()
                          if v["split"] == s and v["labels"].get(name) is not None] for s in SPLITS}
            chosen["train"] += [(pooled[f"{c}{COPY_MARK}{i}"][layer].float(), v["labels"][name])
                                for c, v in clips.items() if v["split"] == "train" and v["labels"].get(name) is not None
                                for i in range(copies)]
            train = chosen["train"]
            for split in SPLITS[1:]:
                if not chosen[split] or len({y for _, y in train}) < 2:
                    continue
                predicted = fit_probe(torch.stack([x for x, _ in train]), [y for _, y in train],
                                      torch.stack([x for x, _ in chosen[split]]))
                truth = [y for _, y in chosen[split]]
                row[f"{name}/{split}"] = round(sum(p == t for p, t in zip(predicted, truth)) / len(truth), 4)
        rows.append(row)
    return rows


def score_by_source(pooled: dict[str, torch.Tensor], clips: dict[str, Any], layer: int,
                    target: str = "category") -> dict[str, Any]:
    """Leave one source out: every clip of the training splits is predicted by a probe fitted on the clips of
    the other sources. Accuracy per class (``{class: [right, clips, sources]}``), per source, and their means."""
    chosen = {c: v for c, v in clips.items() if v["split"] in SPLITS[:2] and v["labels"].get(target) is not None}
    per_class: dict[str, list] = {}
    per_source: dict[str, float] = {}
    for source in sorted({v["dataset"] for v in chosen.values()}):
        train = [c for c, v in chosen.items() if v["dataset"] != source]
        test = [c for c, v in chosen.items() if v["dataset"] == source]
        if len({chosen[c]["labels"][target] for c in train}) < 2:
            continue
        predicted = fit_probe(torch.stack([pooled[c][layer].float() for c in train]),
                              [chosen[c]["labels"][target] for c in train],
                              torch.stack([pooled[c][layer].float() for c in test]))
        right = [p == chosen[c]["labels"][target] for c, p in zip(test, predicted)]
        per_source[source] = round(sum(right) / len(right), 4)
        for c, ok in zip(test, right):
            entry = per_class.setdefault(str(chosen[c]["labels"][target]), [0, 0, set()])
            entry[0] += ok
            entry[1] += 1
            entry[2].add(source)
    classes = {k: [a, n, len(s)] for k, (a, n, s) in sorted(per_class.items())}
    return {"target": target, "layer": layer, "per_class": classes, "per_source": per_source,
            "class_mean": round(sum(a / n for a, n, _ in classes.values()) / len(classes), 4),
            "clip_mean": round(sum(a for a, _, _ in classes.values()) / sum(n for _, n, _ in classes.values()), 4)}


def by_source_table(result: dict[str, Any]) -> str:
    """The leave-one-source-out result as Markdown, one row per class and the means."""
    lines = [f"| {result['target']} (layer {result['layer']}), each source held out | right | clips | sources |",
             "|---|---:|---:|---:|"]
    for name, (right, n, count) in result["per_class"].items():
        lines.append(f"| {name} | {100 * right / n:.1f}% | {n} | {count} |")
    lines.append(f"| mean over classes | {100 * result['class_mean']:.1f}% | | |")
    lines.append(f"| mean over clips | {100 * result['clip_mean']:.1f}% | | |")
    return "\n".join(lines)


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as Markdown: layer 0 is the embedded input, the last is the encoder's own output."""
    columns = [k for k in rows[0] if k != "layer"]
    lines = ["| layer | " + " | ".join(c.replace("/", " on ") for c in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    last = rows[-1]["layer"]
    for row in rows:
        name = "input" if row["layer"] == 0 else f"{row['layer']}" + (" (output)" if row["layer"] == last else "")
        lines.append(f"| {name} | " + " | ".join(f"{100 * row[c]:.1f}%" for c in columns) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder made by train.builder")
    parser.add_argument("--model", type=Path, default=Path("train/configs/ltu_small/model.json"))
    parser.add_argument("--out", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--augment", type=int, default=0,
                        help="augmented copies of each training clip for the probe's training side (train.augment)")
    parser.add_argument("--by-source", action="store_true",
                        help="also hold out each training source in turn, for the layer the model reads")
    args = parser.parse_args(argv)
    store = args.data.parent / f"{args.data.name}-cache" / "probe"
    pooled, clips = collect(args.model, args.data, store, args.augment)
    rows = score(pooled, clips)
    print(table(rows))
    result: dict[str, Any] = {"rows": rows}
    if args.augment:
        result["augmented"] = score(pooled, clips, args.augment)
        print(f"\nwith {args.augment} augmented cop{'y' if args.augment == 1 else 'ies'} of each training clip:")
        print(table(result["augmented"]))
    if args.by_source:
        from ltu.config import LTUConfig

        chosen = LTUConfig.load(args.model).encoder.hidden_layer
        layer = len(rows) - 1 if chosen is None else chosen
        result["by_source"] = [score_by_source(pooled, clips, layer, target) for target in TARGETS]
        for entry in result["by_source"]:
            print("\n" + by_source_table(entry))
    if args.out:
        args.out.write_text(json.dumps(result if args.augment or args.by_source else rows, indent=1))
    return 0


if __name__ == "__main__":
    from ltu.console import quiet_libraries

    quiet_libraries()
    sys.exit(main())
