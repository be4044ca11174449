"""Even out the answers of yes/no question families by repeating the rarer answer's rows.

The data builder asks "Is there music?" of every kind of clip, so most answers are "no" (about
three in four in the small build). A small model trained on that learns the prior: on held-out
sources it called game music "not music" while naming the same clips' category "Music". Repeating
the minority answer's rows (whole copies first, then a seeded draw for the remainder) gives the
family equal yes and no rows without touching the clips or the other families.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any, Sequence

from train.scoring import YES_NO, answer_label, normalize_label

BALANCED_TASKS = ("speech_yn", "music_yn")
BALANCE_SEED = 0


def yes_no(row: dict[str, Any]) -> str | None:
    """'yes' or 'no' as the row's answer states it, else None."""
    label = normalize_label(answer_label(row["output"]))
    return label if label in YES_NO else None


def balance_answers(rows: Sequence[dict[str, Any]], tasks: Sequence[str] = BALANCED_TASKS,
                    seed: int = BALANCE_SEED) -> list[dict[str, Any]]:
    """``rows`` plus repeats of each task's rarer answer, so yes and no rows are equally many per task.

    Rows of other tasks, and yes/no rows whose answer cannot be read, are kept once and unchanged."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        answer = yes_no(row) if row.get("task") in tasks else None
        if answer is not None:
            groups[(row["task"], answer)].append(row)
    rng = random.Random(seed)
    extra = []
    for task in tasks:
        yes, no = groups.get((task, "yes"), []), groups.get((task, "no"), [])
        if not yes or not no:
            continue  # nothing to repeat, or nothing to balance against
        rare, common = sorted((yes, no), key=len)
        whole, rest = divmod(len(common) - len(rare), len(rare))
        extra += rare * whole + rng.sample(rare, rest)
    return list(rows) + extra
