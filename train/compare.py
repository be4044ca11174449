"""Should a candidate LTU-small replace the shipped one? The rule, applied to two evaluations of the same rows.

    python -m train.compare --data data/ltu-small-v4 --base runs/shipped-eval/heldout_sources.json \\
                            --candidate runs/candidate-eval/heldout_sources.json [--out verdict.json]

Both files are what ``python -m train.eval --out`` wrote for the same rows file (with the same
``--sample``), each beside its ``.predictions.jsonl``. The issue's four target families are compared:
speech yes/no, music yes/no and the coarse category (accuracy), and "What do you hear?" (whether the
answer names the clip's coarse class, by the MiniLM classifier, as ``train.report`` counts it).
The rule, fixed before any candidate is trained: a candidate ships when no family drops by more than
``MAX_DROP`` points and the mean of the four rises by at least ``MIN_GAIN``. The rule was applied by
hand to every experiment in the model card; this command applies it the same way every time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from train.report import coarse_hits, read_predictions

CLOSED_FAMILIES = ("speech_yn", "music_yn", "cla_category")  # scored by train.eval's accuracy
OPEN_FAMILY = "what_hear"  # scored by whether the answer names the clip's coarse class
MAX_DROP = 3.0  # points: no family may fall by more
MIN_GAIN = 3.0  # points: the mean of the four must rise by at least this


def family_scores(metrics_file: Path, clips: dict[str, Any], classes: Sequence[str],
                  embedder: Callable) -> tuple[dict[str, tuple[int, float]], list[tuple[str, str]]]:
    """``{family: (rows, accuracy in %)}`` for the four families, and the (audio_id, instruction) of every row."""
    metrics = json.loads(metrics_file.read_text())
    rows = read_predictions(metrics_file.with_suffix(".predictions.jsonl"))
    scores = {}
    for family in CLOSED_FAMILIES:
        task = metrics["tasks"].get(family)
        if task is not None:
            scores[family] = (int(task["n"]), 100.0 * float(task["accuracy"]))
    chosen = [r for r in rows if r.get("task") == OPEN_FAMILY]
    if chosen:
        hits = coarse_hits(chosen, [r["audio_id"] for r in chosen], clips, classes, embedder)
        scores[OPEN_FAMILY] = (len(hits), 100.0 * float(np.mean(hits)))
    return scores, [(r["audio_id"], r["instruction"]) for r in rows]


def verdict(base: dict[str, tuple[int, float]], candidate: dict[str, tuple[int, float]],
            max_drop: float = MAX_DROP, min_gain: float = MIN_GAIN) -> dict[str, Any]:
    """The rule on two sets of family scores: each family's change, the means and whether the candidate ships."""
    families = [f for f in (*CLOSED_FAMILIES, OPEN_FAMILY) if f in base and f in candidate]
    if not families:
        raise ValueError("the two evaluations share none of the target families")
    change = {f: round(candidate[f][1] - base[f][1], 2) for f in families}
    means = (float(np.mean([base[f][1] for f in families])), float(np.mean([candidate[f][1] for f in families])))
    reasons = [f"{f} drops {-change[f]:.1f} points (more than {max_drop:g})" for f in families
               if change[f] < -max_drop]
    if means[1] - means[0] < min_gain:
        reasons.append(f"the mean rises {means[1] - means[0]:.1f} points (less than {min_gain:g})")
    return {"families": families, "base": {f: base[f][1] for f in families},
            "candidate": {f: candidate[f][1] for f in families}, "rows": {f: base[f][0] for f in families},
            "change": change, "mean": [round(m, 2) for m in means], "ships": not reasons, "reasons": reasons}


def table(result: dict[str, Any]) -> str:
    """The comparison as Markdown, with the verdict under it."""
    lines = ["| family | rows | base | candidate | change |", "|---|---:|---:|---:|---:|"]
    for f in result["families"]:
        lines.append(f"| {f} | {result['rows'][f]} | {result['base'][f]:.1f} % | {result['candidate'][f]:.1f} % | "
                     f"{result['change'][f]:+.1f} |")
    base, candidate = result["mean"]
    lines.append(f"| mean | | {base:.1f} % | {candidate:.1f} % | {candidate - base:+.1f} |")
    lines.append("")
    lines.append("Ships." if result["ships"] else "Does not ship: " + "; ".join(result["reasons"]) + ".")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the dataset folder the rows come from")
    parser.add_argument("--base", type=Path, required=True, help="train.eval's metrics JSON of the shipped model")
    parser.add_argument("--candidate", type=Path, required=True, help="the same for the candidate, same rows")
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    from ltu.console import quiet_libraries
    from train import scoring
    from train.builder.ontology import CATEGORIES

    quiet_libraries()
    clips = json.loads((args.data / "metadata.json").read_text())["clips"]
    embedder = scoring.SentenceEmbedder()
    base, base_rows = family_scores(args.base, clips, CATEGORIES, embedder)
    candidate, candidate_rows = family_scores(args.candidate, clips, CATEGORIES, embedder)
    if base_rows != candidate_rows:
        print(f"{args.base} and {args.candidate} were not scored on the same rows: evaluate both on one rows "
              "file with the same --sample.", file=sys.stderr)
        return 2
    result = verdict(base, candidate)
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
