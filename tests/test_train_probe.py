"""train.probe: the linear probe that measures what each encoder layer tells about classes on unseen data."""

from __future__ import annotations

import random

import torch

from train.probe import COPY_MARK, by_source_table, fit_probe, score, score_by_source, table


def _clusters(n: int, seed: int, shift: float = 4.0) -> tuple[torch.Tensor, list[str]]:
    """Three well separated Gaussian classes in 8 dimensions."""
    g = torch.Generator().manual_seed(seed)
    labels = [("dog", "bell", "rain")[i % 3] for i in range(n)]
    centres = {"dog": 0, "bell": 1, "rain": 2}
    x = torch.randn(n, 8, generator=g)
    for i, y in enumerate(labels):
        x[i, centres[y]] += shift
    return x, labels


def test_the_probe_separates_separable_classes_and_not_shuffled_ones():
    train_x, train_y = _clusters(300, seed=0)
    test_x, test_y = _clusters(90, seed=1)
    right = sum(p == t for p, t in zip(fit_probe(train_x, train_y, test_x), test_y)) / len(test_y)
    assert right > 0.95
    shuffled = train_y[:]
    random.Random(0).shuffle(shuffled)
    guessed = sum(p == t for p, t in zip(fit_probe(train_x, shuffled, test_x), test_y)) / len(test_y)
    assert guessed < 0.6  # chance is 1/3: nothing to learn from shuffled labels


def test_class_balance_keeps_a_rare_class_from_being_ignored():
    x, y = _clusters(600, seed=2, shift=1.5)
    keep = [i for i, label in enumerate(y) if label != "rain" or i % 20 == 2]  # rain: 10 of 600
    test_x, test_y = _clusters(300, seed=3, shift=1.5)
    predicted = fit_probe(x[keep], [y[i] for i in keep], test_x)
    rain = [p for p, t in zip(predicted, test_y) if t == "rain"]
    assert sum(p == "rain" for p in rain) / len(rain) > 0.5


def test_score_reports_each_layer_on_each_heldout_split():
    clips, pooled = {}, {}
    for split, seed in (("train", 0), ("heldout", 1), ("heldout_sources", 2)):
        x, y = _clusters(60, seed)
        for i, label in enumerate(y):
            name = f"{split}-{i}"
            clips[name] = {"split": split, "labels": {"category": label, "is_music": label == "bell",
                                                      "is_speech": False}}
            noise = torch.randn(8, generator=torch.Generator().manual_seed(1000 + i))
            pooled[name] = torch.stack([noise, x[i]])  # layer 0 knows nothing, layer 1 everything
    rows = score(pooled, clips)
    assert [r["layer"] for r in rows] == [0, 1]
    assert rows[1]["category/heldout_sources"] > 0.9 and rows[0]["category/heldout_sources"] < 0.6
    assert "is_speech/heldout" not in rows[0]  # one class only in training: nothing to fit
    text = table(rows)
    assert "| input |" in text and "| 1 (output) |" in text


def test_augmented_copies_join_only_the_training_side():
    clips, pooled = {}, {}
    classes = ("dog", "bell", "rain")
    g = torch.Generator().manual_seed(7)
    for split, seed in (("train", 0), ("heldout", 1), ("heldout_sources", 2)):
        x, y = _clusters(60, seed)
        for i, label in enumerate(y):
            name = f"{split}-{i}"
            clips[name] = {"split": split, "labels": {"category": label, "is_music": False, "is_speech": False}}
            pooled[name] = x[i].unsqueeze(0)
            if split == "train":  # copies that look like the next class: they must pull the probe off
                for copy in range(3):
                    wrong = torch.randn(8, generator=g)
                    wrong[(classes.index(label) + 1) % 3] += 4.0
                    pooled[f"{name}{COPY_MARK}{copy}"] = wrong.unsqueeze(0)
    assert score(pooled, clips)[0]["category/heldout_sources"] > 0.9  # copies are left out unless asked for
    assert score(pooled, clips, copies=3)[0]["category/heldout_sources"] < 0.5


def test_holding_out_each_source_tells_shared_cues_from_source_cues():
    """Layer 0 carries the class the same way in every source; layer 1 carries it in a dimension that each
    source uses differently (a recording chain, not the sound): only layer 0 survives an unseen source."""
    clips, pooled = {}, {}
    classes = ("dog", "bell", "rain")
    for s in range(4):
        g = torch.Generator().manual_seed(s)
        for i in range(60):
            label = classes[i % 3]
            shared = torch.randn(6, generator=g)
            shared[classes.index(label)] += 4.0
            own = torch.randn(6, generator=g)
            own[(classes.index(label) + s) % 3] += 4.0  # the class moves to another dimension in every source
            name = f"s{s}-{i}"
            clips[name] = {"split": "train" if i % 5 else "heldout", "dataset": f"source{s}",
                           "labels": {"category": label}}
            pooled[name] = torch.stack([shared, own])
    clips["mix-0"] = {"split": "train", "dataset": "source0", "labels": {"category": None}}  # skipped
    clips["far-0"] = {"split": "heldout_sources", "dataset": "source9", "labels": {"category": "dog"}}  # not used
    shared_result, own_result = score_by_source(pooled, clips, 0), score_by_source(pooled, clips, 1)
    assert shared_result["class_mean"] > 0.9 and own_result["class_mean"] < 0.5
    assert set(shared_result["per_source"]) == {f"source{s}" for s in range(4)}
    assert shared_result["per_class"]["dog"][1:] == [80, 4]  # 20 clips from each of 4 sources
    text = by_source_table(own_result)
    assert "| dog |" in text and "mean over classes" in text
