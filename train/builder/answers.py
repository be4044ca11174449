"""Answers built only from a clip's ground truth: its labels, measured properties and ``ontology`` knowledge.

Closed answers use the fixed formats of ``labels.py`` (yes/no answers start with Yes or
No). Open answers (what do you hear, what makes it, describe, what can be inferred,
where, what to do) are whole sentences in varied wordings: they name the coarse class
and the specific sound first, never start with a bare yes or no, and contain no colon
(the evaluation reads the text after a colon as a label).
"""

from __future__ import annotations

import random

from train.builder.labels import format_answer
from train.builder.mixing import Clip
from train.builder.ontology import CATEGORY_NOUNS, label
from train.builder.sources.base import Recording

QUOTE_WORDS = 12  # longer transcripts are shortened in open answers
_LOUD = {"quiet": "quiet", "moderate": "moderately loud", "loud": "loud"}


def answer(task: str, clip: Clip, rng: random.Random) -> str:
    """The answer to ``task`` for ``clip``."""
    labels = clip.labels
    closed = {
        "cla_category": labels["category"], "cla_label": labels["fine_label"], "cla_animal": labels["fine_label"],
        "speech_yn": "yes" if labels["is_speech"] else "no", "music_yn": "yes" if labels["is_music"] else "no",
        "language": labels["language"], "gender": labels["gender"], "pitch": labels["pitch_class"],
        "loudness": labels["loudness_class"], "duration": labels["duration_label"],
        "count_events": str(labels["n_events"]),
    }
    if task in closed:
        return format_answer(task, closed[task])
    if task == "asr":
        return labels["transcript"]
    return _clean(OPEN[task](clip, rng))


# --- phrases about one recording ---------------------------------------------------------------
def noun(recording: Recording, quote: bool = True) -> str:
    """What the recording sounds like, as a noun phrase: 'a dog barking', 'a woman saying "..."'."""
    if recording.is_speech:
        who = _speaker(recording)
        language = f" in {recording.language}" if recording.language else ""
        if quote and recording.transcript:
            return f"{who} saying{language} \"{_quote(recording.transcript)}\""
        return f"{who} speaking{language}"
    details = recording.details
    if recording.fine_label == "Sine wave" and recording.pitch_hz:
        return f"a steady {recording.pitch_class}-pitched tone of about {int(recording.pitch_hz)} Hz"
    if recording.fine_label == "Beep, bleep" and recording.pitch_hz:
        return f"a {recording.pitch_class}-pitched beep repeated {details.get('beeps', 'several')} times"
    if recording.fine_label == "Chirp tone" and details.get("direction"):
        ends = ("low", "high") if details["direction"] == "rising" else ("high", "low")
        return f"a tone sliding from a {ends[0]} to a {ends[1]} pitch"
    if details.get("instrument"):
        drums = " with drums" if details.get("drums") and label(recording.fine_label).name != "Drum kit" else ""
        return f"a {details['instrument']} playing a melody{drums}"
    return label(recording.fine_label).noun


def _speaker(recording: Recording) -> str:
    synthetic = recording.details.get("synthetic")
    if recording.gender:
        person = {"female": "a woman", "male": "a man"}[recording.gender]
        return f"a synthetic {recording.gender} voice" if synthetic else person
    return "a computer voice" if synthetic else "a person"


def _quote(text: str) -> str:
    words = text.split()
    return " ".join(words[:QUOTE_WORDS]) + " ..." if len(words) > QUOTE_WORDS else text


def _coarse(recording: Recording) -> str:
    return CATEGORY_NOUNS[recording.category]


def _main(clip: Clip) -> Recording:
    return clip.parts[0].recording


# --- open answers ---------------------------------------------------------------------------------
def what_hear(clip: Clip, rng: random.Random) -> str:
    """The coarse class and the specific sound, foreground first."""
    if clip.labels["n_events"] == 0:
        return rng.choice(("I hear nothing at all; the clip is silent.", "Silence. No sound can be heard.",
                           "There is only silence in this recording."))
    first = _main(clip)
    if len(clip.parts) == 2:
        second = clip.parts[1].recording
        return rng.choice((
            f"I hear {_coarse(first)} and {_coarse(second)} at the same time, {noun(first)} over {noun(second)}.",
            f"Two sounds overlap here, {_coarse(first)} ({noun(first)}) and, behind it, {_coarse(second)} "
            f"({noun(second)}).",
            f"There is {_coarse(first)} in the foreground, {noun(first)}, with {_coarse(second)} in the background, "
            f"{noun(second)}."))
    coarse, what = _coarse(first), noun(first)
    if coarse == what:
        return rng.choice((f"I hear {what}.", f"This is {what}.", f"The clip contains {what}."))
    return rng.choice((f"I hear {coarse}, specifically {what}.", f"This is {coarse}, {what}.",
                       f"The sound is {coarse}, {what}.", f"It is {coarse}. More precisely, {what}."))


def source(clip: Clip, rng: random.Random) -> str:
    """What makes the sound."""
    if clip.labels["n_events"] == 0:
        return "Nothing is making a sound; the clip is silent."
    makers = [label(p.recording.fine_label).maker for p in clip.parts]
    first = _main(clip)
    if first.is_speech:
        makers[0] = "a synthetic voice (text-to-speech)" if first.details.get("synthetic") else _speaker(first) + "'s voice"
    if len(makers) == 2:
        return rng.choice((f"Two things, {makers[0]} in the foreground and {makers[1]} in the background.",
                           f"The main sound comes from {makers[0]}, and {makers[1]} can be heard behind it."))
    return rng.choice((f"The sound is made by {makers[0]}.", f"It comes from {makers[0]}.",
                       f"{makers[0][0].upper()}{makers[0][1:]} is making this sound, which is {_coarse(first)}."))


def describe(clip: Clip, rng: random.Random) -> str:
    """A caption: what, how often, over what, how loud, how long."""
    labels = clip.labels
    seconds = _seconds(labels["duration_s"])
    if labels["n_events"] == 0:
        return rng.choice((f"The clip is completely silent for {seconds}; nothing can be heard.",
                           f"There is no sound at all in this {seconds.replace(' ', '-').rstrip('s')} recording."))
    text = what_hear(clip, rng).rstrip(".")
    extras = []
    repeats = labels.get("repeats") or 1
    if repeats > 1:
        extras.append(f"the sound is heard {repeats} times with short pauses")
    if clip.noise:
        extras.append(f"there is faint {clip.noise} noise in the background")
    if labels.get("snr_db") is not None:
        extras.append("the background is " + ("almost as loud as the foreground" if labels["snr_db"] <= 5
                                             else "clearly quieter than the foreground"))
    first = _main(clip)
    if first.is_speech and first.details.get("synthetic"):
        extras.append("the voice sounds computer-generated")
    if first.translation:
        extras.append(f"in English it means \"{_quote(first.translation)}\"")
    loud = _LOUD[labels["loudness_class"]] if labels["loudness_class"] else "faint"
    body = f"{text}. " + (" ".join(f"{_cap(e)}." for e in extras) + " " if extras else "")
    return body + rng.choice((f"Overall it is {loud} and lasts about {seconds}.",
                              f"The recording is {loud} and about {seconds} long.",
                              f"It lasts about {seconds} at a {loud} level."))


def reasoning(clip: Clip, rng: random.Random) -> str:
    """What the sound suggests, and why."""
    if clip.labels["n_events"] == 0:
        return "Nothing can be heard, which suggests a very quiet place, a muted microphone or an empty recording."
    first = _main(clip)
    entry = label(first.fine_label)
    text = rng.choice((f"Hearing {noun(first, quote=False)} suggests that {entry.suggests}.",
                       f"The sound of {noun(first, quote=False)} means that {entry.suggests}.",
                       f"Since this is {noun(first, quote=False)}, {entry.suggests}."))
    if first.is_speech and first.details.get("synthetic"):
        text += " The flat, even voice is computer-generated, as from a screen reader or an announcement system."
    if len(clip.parts) == 2:
        text += f" {_cap(noun(clip.parts[1].recording, quote=False))} in the background shows it is not a quiet place."
    elif clip.noise:
        text += " The steady hiss behind it points to a noisy channel or a busy place."
    elif clip.labels["loudness_class"] == "quiet":
        text += " It sounds quiet, so the source may be far away or played at a low volume."
    return text


def where(clip: Clip, rng: random.Random) -> str:
    """Where such a sound is usually heard."""
    if clip.labels["n_events"] == 0:
        return "Anywhere very quiet, or with the microphone switched off; silence alone does not reveal the place."
    first = _main(clip)
    entry = label(first.fine_label)
    return rng.choice((f"Probably {entry.where}, because that is where one hears {noun(first, quote=False)}.",
                       f"It could have been recorded {entry.where}, where {noun(first, quote=False)} is a usual sound.",
                       f"Somewhere {entry.where}; {noun(first, quote=False)} is typical there."))


def advice(clip: Clip, rng: random.Random) -> str:
    """What a listener could sensibly do."""
    if clip.labels["n_events"] == 0:
        return label("Silence").advice
    first = _main(clip)
    entry = label(first.fine_label)
    lead = f"This is {noun(first, quote=False)}, so"
    action = entry.advice[0].lower() + entry.advice[1:]
    if first.is_speech:
        action = "listen to what is being said and reply if it is addressed to you."
    return f"{lead} {action}"


OPEN = {"what_hear": what_hear, "source": source, "describe": describe, "reasoning": reasoning, "where": where,
        "advice": advice}


def _seconds(duration: float) -> str:
    n = max(1, int(duration + 0.5))
    return "1 second" if n == 1 else f"{n} seconds"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _clean(text: str) -> str:
    """No colon in open answers (a colon marks a label for the evaluation)."""
    return _cap(text.replace(":", ","))
