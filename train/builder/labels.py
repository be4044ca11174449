"""Label vocabularies, answer formats and the task list: the one place evaluation reads.

Closed-ended answers follow the paper's classification style: a short prefix, a colon and
the label ("Sound category: animal"), so the label is the text after the last ':'. Yes/no
answers start with "Yes" or "No" and contain no colon. ``parse_label`` (the evaluation's
``train.scoring.answer_label``) reads an answer back as lower-cased words after the last
colon, or a leading yes/no, and ``closed_task_labels`` gives every closed task's label
set in that normalised form.
"""

from __future__ import annotations

from train.scoring import YES_NO, normalize_label
from train.scoring import answer_label as parse_label

# --- tasks ------------------------------------------------------------------------------
CLASSIFICATION_TASKS = ("cla_category", "cla_label", "cla_animal")  # curriculum stages 1-2
CLOSED_TASKS = CLASSIFICATION_TASKS + (
    "speech_yn", "music_yn", "asr", "language", "gender", "pitch", "loudness", "duration", "count_events",
)
OPEN_TASKS = ("what_hear", "source", "describe", "reasoning", "where", "advice")
TASKS = CLOSED_TASKS + OPEN_TASKS
FREE_TEXT_TASKS = ("asr",)  # closed, but scored by word error rate: the answer is the transcript itself

# --- vocabularies -------------------------------------------------------------------------
# Coarse classes and fine labels are AudioSet names (ontology.py).
from train.builder.ontology import ANIMALS, CATEGORIES, FINE_LABELS, FINE_LABELS_BY_CATEGORY  # noqa: E402

LANGUAGES = ("English", "Spanish", "French", "German", "Italian", "Portuguese", "Russian", "Romanian", "Catalan",
             "Bulgarian", "Belarusian", "Greek", "Danish", "Lithuanian", "Dutch", "Polish", "Ukrainian")
GENDERS = ("female", "male")

# Pitch classes of generated tones: frequency bands with gaps between them, so no tone
# sits on a boundary. Hz, inclusive.
PITCH_BANDS = {"low": (80.0, 250.0), "medium": (350.0, 900.0), "high": (1300.0, 4000.0)}
PITCHES = tuple(PITCH_BANDS)

# Loudness classes from the clip's loudest 100 ms (RMS, dB re full scale; a full-scale
# sine is -3 dB). Clips are levelled away from the boundaries when they are built.
LOUDNESS_BOUNDS_DB = (-35.0, -20.0)  # quiet < -35 <= moderate < -20 <= loud
LOUDNESSES = ("quiet", "moderate", "loud")

MAX_SECONDS = 10  # clips are at most this long
DURATIONS = ("less than 1 second",) + tuple(
    "about 1 second" if n == 1 else f"about {n} seconds" for n in range(1, MAX_SECONDS + 1))
MAX_EVENTS = 3
COUNTS = tuple(str(n) for n in range(MAX_EVENTS + 1))

# --- answer formats -------------------------------------------------------------------------
ANSWER_FORMATS = {
    "cla_category": "Sound category: {label}",
    "cla_label": "Sound: {label}",
    "cla_animal": "Animal: {label}",
    "language": "Language: {label}",
    "gender": "Speaker: {label}",
    "pitch": "Pitch: {label}",
    "loudness": "Loudness: {label}",
    "duration": "Duration: {label}",
    "count_events": "Number of distinct sounds: {label}",
}
YES_NO_ANSWERS = {
    "speech_yn": {"yes": "Yes, someone is speaking.", "no": "No, nobody is speaking."},
    "music_yn": {"yes": "Yes, there is music.", "no": "No, there is no music."},
}

_VOCABULARIES = {
    "cla_category": CATEGORIES,
    "cla_label": FINE_LABELS,
    "cla_animal": ANIMALS,
    "speech_yn": YES_NO,
    "music_yn": YES_NO,
    "language": LANGUAGES,
    "gender": GENDERS,
    "pitch": PITCHES,
    "loudness": LOUDNESSES,
    "duration": DURATIONS,
    "count_events": COUNTS,
}


def closed_task_labels() -> dict[str, tuple[str, ...]]:
    """For each closed task with a fixed label set, its labels as ``parse_label`` returns them.

    ``asr`` is absent: its answer is free text (the transcript), scored by word error rate.
    """
    return {task: tuple(normalize_label(label) for label in labels) for task, labels in _VOCABULARIES.items()}


def format_answer(task: str, label: str) -> str:
    """The answer text that states ``label`` for a closed task (yes/no tasks take "yes"/"no")."""
    if task in YES_NO_ANSWERS:
        return YES_NO_ANSWERS[task][label]
    if task not in ANSWER_FORMATS:
        raise KeyError(f"{task!r} has no fixed label set")
    if label not in _VOCABULARIES[task]:
        raise ValueError(f"{label!r} is not in the {task} vocabulary")
    return ANSWER_FORMATS[task].format(label=label)


def pitch_class(hz: float) -> str:
    """The pitch class whose band holds ``hz``; raises for a frequency between bands."""
    for name, (low, high) in PITCH_BANDS.items():
        if low <= hz <= high:
            return name
    raise ValueError(f"{hz:.1f} Hz lies outside every pitch band {PITCH_BANDS}")


def loudness_class(db: float) -> str:
    """quiet / moderate / loud from the loudest-100-ms level in dB re full scale."""
    quiet_below, loud_from = LOUDNESS_BOUNDS_DB
    return "quiet" if db < quiet_below else "moderate" if db < loud_from else "loud"


def duration_label(seconds: float) -> str:
    """The duration answer label: 'less than 1 second' or 'about N seconds' (N rounded)."""
    if seconds < 0.75:
        return DURATIONS[0]
    n = min(MAX_SECONDS, max(1, int(seconds + 0.5)))
    return DURATIONS[n]
