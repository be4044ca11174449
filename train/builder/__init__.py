"""Builder of the LTU-small training data (OpenAQA-format rows over locally installed recordings).

Run it with ``python -m train.builder --out data/ltu-small``; see ``docs/data.md``.
Evaluation reads the label vocabularies from here: ``closed_task_labels()`` and
``parse_label()``; ``CATEGORIES`` are the coarse AudioSet classes.
"""

from train.builder.labels import (
    CATEGORIES,
    CLASSIFICATION_TASKS,
    CLOSED_TASKS,
    OPEN_TASKS,
    TASKS,
    closed_task_labels,
    format_answer,
    parse_label,
)

__all__ = ["CATEGORIES", "CLASSIFICATION_TASKS", "CLOSED_TASKS", "OPEN_TASKS", "TASKS", "closed_task_labels",
           "format_answer", "parse_label"]
