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
from typing import Any, Iterable, Mapping, Sequence

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
        extra += _repeats(rare, len(common) - len(rare), rng)
    return list(rows) + extra


def _repeats(rows: list[dict[str, Any]], count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` copies drawn from ``rows``: each row whole as often as fits, then a seeded draw without repeats."""
    if count <= 0:
        return []
    whole, rest = divmod(count, len(rows))
    return rows * whole + rng.sample(rows, rest)


# yes/no task -> the clip label that answers it
YES_NO_LABELS = {"speech_yn": "is_speech", "music_yn": "is_music"}


def even_within_sources(rows: Sequence[dict[str, Any]], clips: Mapping[str, dict[str, Any]], pool: Iterable[str],
                        tasks: Sequence[str] = BALANCED_TASKS, seed: int = BALANCE_SEED) -> list[dict[str, Any]]:
    """``rows`` plus rows that give each source as many yes as no answers per yes/no task.

    A small model learns a source's answer prior instead of listening: trained on game sources
    whose "Is this music?" rows were 166 "no" to 25 "yes", it called held-out game music "not
    music" while naming its category "Music". Within each source, the rarer answer first gets new
    rows on clips of ``pool`` (audio ids, e.g. every training clip) that were not asked yet, then
    repeats of its rows, until both answers are equally many. ``clips`` maps audio id to the data
    builder's metadata (``dataset`` and ``labels``). A source whose pool clips all share one answer
    is left as it is: there is nothing to even out against."""
    from train.builder.labels import format_answer
    from train.builder.questions import instruction

    rng = random.Random(seed)
    pool = [audio_id for audio_id in dict.fromkeys(pool) if audio_id in clips]
    extra: list[dict[str, Any]] = []
    for task in tasks:
        key = YES_NO_LABELS[task]
        asked: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            answer = yes_no(row) if row.get("task") == task else None
            if answer is not None:
                asked[(row["dataset"], answer)].append(row)
        unasked: dict[tuple[str, str], list[str]] = defaultdict(list)
        seen = {row["audio_id"] for group in asked.values() for row in group}
        for audio_id in pool:
            if audio_id not in seen:
                meta = clips[audio_id]
                unasked[(meta["dataset"], "yes" if meta["labels"][key] else "no")].append(audio_id)
        for source in sorted({s for s, _ in asked} | {s for s, _ in unasked}):
            if not all(asked[(source, a)] or unasked[(source, a)] for a in YES_NO):
                continue  # one answer only
            rare, common = sorted(YES_NO, key=lambda a: len(asked[(source, a)]))
            missing = len(asked[(source, common)]) - len(asked[(source, rare)])
            fresh = rng.sample(unasked[(source, rare)], min(missing, len(unasked[(source, rare)])))
            new = [{"instruction": instruction(task, "train", rng), "input": "", "audio_id": audio_id,
                    "dataset": source, "task": task, "output": format_answer(task, rare)} for audio_id in fresh]
            extra += new + _repeats(asked[(source, rare)] + new, missing - len(new), rng)
    return list(rows) + extra
