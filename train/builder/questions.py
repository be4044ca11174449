"""Questions in varied wordings, and answers built only from a clip's ground truth.

Each task has ten wordings; the last ``HELDOUT_ONLY_WORDINGS`` of each are never used in
training rows, so held-out rows can test unseen phrasings. Closed answers use the fixed
formats of ``labels.py``; open answers (describe / reasoning / advice) are assembled from
the clip's labels, its transcript and ``knowledge.FACTS``.
"""

from __future__ import annotations

import random
from typing import Any

from train.builder.knowledge import FACTS
from train.builder.labels import format_answer
from train.builder.mixing import Clip, Part
from train.builder.sources import Recording

HELDOUT_ONLY_WORDINGS = 2

WORDINGS: dict[str, tuple[str, ...]] = {
    "cla_category": (
        "What kind of sound is this?", "Which category does this sound belong to?",
        "Classify the sound in this clip into a broad category.", "What type of sound can be heard here?",
        "What is the main sound in this recording? Answer with a sound category.",
        "Identify the category of the sound you hear.", "What sort of sound is in this audio clip?",
        "Give the broad sound category of this audio.",
        "In one broad category, what are you hearing?", "Which general class of sound is present in the audio?"),
    "cla_label": (
        "What is the sound?", "What exactly is making this sound?", "Name the specific sound in this clip.",
        "What sound source can you identify?", "What specific sound is this?", "Identify the sound in this audio.",
        "What is producing the sound in this recording?", "Label the sound you hear.",
        "What do you think is the source of this sound?", "Tell me precisely what this sound is."),
    "cla_animal": (
        "Which animal is making this sound?", "What animal can be heard?", "Identify the animal in this recording.",
        "What animal is this?", "Which animal do you hear?", "Name the animal making the noise.",
        "What kind of animal is calling in this clip?", "Whose call is this? Name the animal.",
        "Which creature produces the sound in this audio?", "Can you tell which animal this is?"),
    "speech_yn": (
        "Is someone speaking in this audio?", "Is there speech in this clip?",
        "Does this recording contain a voice saying words?", "Can you hear anyone talking?",
        "Is anybody saying something here?", "Does the audio include spoken words?", "Is there a voice speaking?",
        "Are there any spoken words in this recording?",
        "Does anyone talk in this clip?", "Would you say this audio contains speech?"),
    "music_yn": (
        "Is there music in this audio?", "Does this clip contain music?",
        "Can you hear any music or musical instruments?", "Is any music playing in this recording?",
        "Does the audio include a musical instrument?", "Is there anything musical in this clip?",
        "Do you hear music here?", "Is music part of this sound?",
        "Would you say there is music in this recording?", "Is a musical sound present in the audio?"),
    "asr": (
        "What is said in this audio?", "Transcribe the speech in this clip.", "What words are spoken?",
        "Write down exactly what the speaker says.", "What does the voice say?", "Please transcribe the recording.",
        "What is the speaker saying?", "Give a transcript of the speech.",
        "Repeat what you hear being said.", "What sentence is spoken in this clip?"),
    "language": (
        "Which language is spoken?", "What language is the speaker using?", "In what language is this speech?",
        "Identify the language of the speech.", "What language do you hear?", "Which language is the voice speaking?",
        "Name the language spoken in this recording.", "What is the language of this clip?",
        "The voice talks in which language?", "Can you tell what language this is?"),
    "gender": (
        "Is the speaker male or female?", "Is this a man's or a woman's voice?", "What is the gender of the speaker?",
        "Does a male or a female voice speak?", "Is the voice male or female?",
        "Which gender does the speaking voice have?", "Tell me whether the speaker is a man or a woman.",
        "Is it a female or a male voice?",
        "Would you describe the voice as male or female?", "Who is speaking: a man or a woman?"),
    "pitch": (
        "Is this tone high or low in pitch?", "How high is the pitch of this sound?",
        "Is the pitch low, medium or high?", "Describe the pitch of the tone.",
        "Rate the pitch of this sound as low, medium or high.", "Is this a high-pitched or a low-pitched sound?",
        "What is the pitch of the tone?", "How would you describe the tone's pitch?",
        "Is the sound high, middle or low in pitch?", "Is the frequency of this tone low, medium or high?"),
    "loudness": (
        "Is this sound loud or quiet?", "How loud is this audio?", "Is the recording quiet, moderate or loud?",
        "Describe the volume of this clip.", "How loud is the sound in this recording?",
        "Rate the loudness of this clip.", "Is the audio soft or loud?", "What is the volume level of this recording?",
        "Would you call this clip loud, moderate or quiet?", "How strong is the sound level here?"),
    "duration": (
        "Roughly how long is this audio?", "How long is this clip?", "What is the duration of this recording?",
        "About how many seconds does this audio last?", "Estimate the length of this clip.",
        "How long does this recording last?", "Give the approximate duration of the audio.",
        "How many seconds long is this?",
        "What is the approximate length of the recording in seconds?", "For how long does this clip play?"),
    "count_events": (
        "How many distinct sounds can you hear?", "How many different sound sources are there?",
        "Count the different sounds in this clip.", "How many separate kinds of sound does this audio contain?",
        "How many different sounds occur in this recording?", "How many distinct sound events are in this clip?",
        "How many different things make a sound here?", "Count the distinct sound events you hear.",
        "How many kinds of sound appear in the audio?", "How many different noises or voices are in this clip?"),
    "describe": (
        "Describe the audio.", "Describe what you hear in this clip.",
        "What is going on in this recording? Describe it.",
        "Write a short description of the sound.", "Give a detailed description of this audio.",
        "Describe this sound scene.", "Write an audio caption describing the sound.",
        "Tell me about the sounds in this recording.",
        "Summarize what can be heard in this audio.", "What would you say this recording contains?"),
    "reasoning": (
        "What might be happening here, and why do you think so?", "What situation could produce this sound? Explain.",
        "Why might this sound occur?", "Where could this have been recorded, and what is happening?",
        "What is likely going on in this scene? Give your reasoning.", "What can you infer from this audio?",
        "What does this sound suggest about the situation?", "Explain what could be causing this sound.",
        "Based on the audio, what is the likely context and why?", "What story does this sound tell?"),
    "advice": (
        "What should a listener do after hearing this?", "How should someone react to this sound?",
        "If you heard this, what would you do?", "Is any action needed after hearing this? What?",
        "What would be a sensible response to this audio?", "What should I do about this sound?",
        "Does this sound call for any action?", "What is the appropriate reaction to this recording?",
        "What would you advise someone who hears this?", "What is the best thing to do on hearing this?"),
}

# How likely each task is to be asked about a clip it applies to (relative weights). Rare
# answers are favoured: "yes" to the yes/no questions, non-English languages, synthetic
# voices of both genders (every Asterisk prompt is the same woman), tones and animals.
TASK_WEIGHTS = {
    "cla_category": 3.0, "cla_label": 2.5, "cla_animal": 6.0, "speech_yn": 2.0, "music_yn": 2.0, "asr": 4.0,
    "language": 4.0, "gender": 3.0, "pitch": 8.0, "loudness": 1.5, "duration": 1.5, "count_events": 1.5,
    "describe": 2.5, "reasoning": 1.5, "advice": 1.5,
}
YES_BOOST = 2.0  # speech_yn / music_yn weight factor when the answer is yes
COMMON_ANSWER_WEIGHT = 1.0  # language of English speech, gender of the one Asterisk speaker
MIX_COUNT_WEIGHT = 5.0  # "how many sounds" matters most for mixtures
QUOTE_WORDS = 14  # longer transcripts are shortened in open answers


def heldout_only_wordings() -> dict[str, tuple[str, ...]]:
    """For each task, the wordings that appear only in held-out rows."""
    return {task: wordings[-HELDOUT_ONLY_WORDINGS:] for task, wordings in WORDINGS.items()}


def task_weights(clip: Clip) -> dict[str, float]:
    """The tasks that apply to ``clip``, with their weights."""
    labels, single = clip.labels, len(clip.parts) == 1
    weights = {}
    if single:
        weights["cla_category"] = TASK_WEIGHTS["cla_category"]
        if labels["fine_label"] and labels["category"] != "silence":
            weights["cla_label"] = TASK_WEIGHTS["cla_label"]
        if labels["category"] == "animal":
            weights["cla_animal"] = TASK_WEIGHTS["cla_animal"]
    for task in ("speech_yn", "music_yn", "duration", "describe", "reasoning", "advice"):
        weights[task] = TASK_WEIGHTS[task]
    if labels["is_speech"]:
        weights["speech_yn"] *= YES_BOOST
    if labels["is_music"]:
        weights["music_yn"] *= YES_BOOST
    if labels["transcript"]:
        weights["asr"] = TASK_WEIGHTS["asr"]
        weights["language"] = TASK_WEIGHTS["language"] if labels["language"] != "English" else COMMON_ANSWER_WEIGHT
        weights["gender"] = TASK_WEIGHTS["gender"] if labels["synthetic_voice"] else COMMON_ANSWER_WEIGHT
    if labels["pitch_class"]:
        weights["pitch"] = TASK_WEIGHTS["pitch"]
    if labels["loudness_class"]:
        weights["loudness"] = TASK_WEIGHTS["loudness"]
    if clip.noise is None:  # background noise would make "how many sounds" ambiguous
        weights["count_events"] = TASK_WEIGHTS["count_events"] if single else MIX_COUNT_WEIGHT
    return weights


def choose_tasks(weights: dict[str, float], k: int, rng: random.Random) -> list[str]:
    """``k`` distinct tasks drawn in proportion to their weights (order of the dict is the tie order)."""
    keyed = sorted(weights, key=lambda task: -(rng.random() ** (1.0 / weights[task])))
    return keyed[:k]


def instruction(task: str, split: str, rng: random.Random) -> str:
    """A wording of ``task``; training rows never get the held-out-only wordings."""
    wordings = WORDINGS[task]
    return rng.choice(wordings if split != "train" else wordings[:-HELDOUT_ONLY_WORDINGS])


def answer(task: str, clip: Clip, rng: random.Random) -> str:
    """The answer to ``task`` for ``clip``, from its ground truth only."""
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
    if task == "describe":
        return describe(clip, rng)
    if task == "reasoning":
        return reasoning(clip, rng)
    if task == "advice":
        return advice(clip)
    raise KeyError(task)


# --- open answers ----------------------------------------------------------------------------
_LOUD_ADJECTIVE = {"quiet": "quiet", "moderate": "moderately loud", "loud": "loud"}
_WAVEFORM = {"sine": "pure", "square": "buzzy square-wave", "triangle": "soft triangle-wave",
             "sawtooth": "bright sawtooth"}


def describe(clip: Clip, rng: random.Random) -> str:
    """A caption of the clip: what sounds, in which order, how loud, how long."""
    labels = clip.labels
    seconds = _seconds(labels["duration_s"])
    if labels["n_events"] == 0:
        return rng.choice((f"The clip is completely silent for {seconds}; nothing can be heard.",
                           f"There is no sound at all in this {_seconds_long(seconds)} recording.",
                           f"Nothing but silence, for about {seconds}."))
    loud = _LOUD_ADJECTIVE[labels["loudness_class"]]
    if clip.kind == "sequence":
        captions = [caption(p.recording) for p in clip.parts]
        order = "first " + captions[0] + ", then " + captions[1]
        if len(captions) == 3:
            order += ", and finally " + captions[2]
        count = len(captions)
        return rng.choice((f"{_sentence(_capital(order))} The {count} sounds follow one another over about {seconds}.",
                           f"{_sentence('With short pauses in between, ' + order)} Overall the clip is {loud}.",
                           _sentence(f"A sequence of {count} different sounds: {order}")))
    if clip.kind == "overlay":
        fg, bg = (caption(clip.parts[0].recording), noun(clip.parts[1].recording))
        return rng.choice((_sentence(f"{_capital(fg)}, with {bg} in the background"),
                           _sentence(f"Over a background of {bg}, {fg}"),
                           f"{_sentence(_capital(fg) + ' against a background of ' + bg)} "
                           f"The clip is {loud} and lasts about {seconds}."))
    part = clip.parts[0]
    text = caption(part.recording) + _setting(clip, part)
    if part.recording.translation:
        text += f" (in English, \"{part.recording.translation}\")"
    return rng.choice((f"{_sentence(_capital(text))} The clip is {loud} and lasts about {seconds}.",
                       _sentence(f"In this {_seconds_long(seconds)} recording, {text}"),
                       f"{_capital(text)}; overall it sounds {loud}."))


def reasoning(clip: Clip, rng: random.Random) -> str:
    """What is probably happening and why, from the labels and common knowledge of the sounds."""
    labels = clip.labels
    if labels["n_events"] == 0:
        return FACTS["silence"].why
    if clip.kind == "sequence":
        first, second = clip.parts[0].recording, clip.parts[1].recording
        return (f"The clip holds {noun(first)} and then {noun(second)}. {_first_sentence(why(first))} "
                "Unrelated sounds in a row suggest an edited montage.")
    if clip.kind == "overlay":
        fg, bg = clip.parts
        return f"{why(fg.recording)} In the background there is {noun(bg.recording)}, so the scene is not quiet."
    text = why(clip.parts[0].recording)
    if clip.noise:
        text += " The steady hiss behind it suggests a noisy recording channel or a busy place."
    elif labels["loudness_class"] == "quiet":
        text += " It sounds quiet, so the source may be far away or played at a low volume."
    return text


def advice(clip: Clip) -> str:
    """What a listener could sensibly do, led by the most actionable sound in the clip."""
    if clip.labels["n_events"] == 0:
        return FACTS["silence"].advice
    recordings = sorted((p.recording for p in clip.parts if p.role != "background"),
                        key=lambda r: (not r.is_speech, r.category not in ("animal", "bell", "sound effect")))
    text = advise(recordings[0])
    if clip.labels["loudness_class"] == "loud" and clip.labels["category"] in ("tone", "noise"):
        text += " If it is uncomfortably loud, turn the volume down."
    return text


def caption(recording: Recording) -> str:
    """A clause saying what the recording sounds like: 'a dog barks', 'a woman says "..."'."""
    if recording.is_speech:
        language = f" in {recording.language}," if recording.dataset == "espeak" else ""
        return f"{_speaker(recording)} says{language} {_quote(recording)}"
    details, fine = recording.details, recording.fine_label
    if fine == "tone" and recording.pitch_hz:
        wave = _WAVEFORM.get(details.get("waveform"), "steady")
        return f"a {wave} {recording.pitch_class}-pitched tone of about {int(recording.pitch_hz)} Hz plays"
    if fine == "beep" and recording.pitch_hz:
        return f"a device beeps {details['beeps']} times at a {recording.pitch_class} pitch"
    if fine == "sweep" and details:
        ends = ("low", "high") if details["direction"] == "rising" else ("high", "low")
        return f"a tone sweeps smoothly from a {ends[0]} to a {ends[1]} pitch"
    return FACTS[fine].caption


def noun(recording: Recording) -> str:
    """A noun phrase for the recording: 'dogs barking', 'a woman speaking'."""
    if recording.is_speech:
        return f"{_speaker(recording)} speaking {recording.language}"
    if recording.fine_label in ("tone", "beep") and recording.pitch_hz:
        return f"a {recording.pitch_class}-pitched {'beeping' if recording.fine_label == 'beep' else 'tone'}"
    return FACTS[recording.fine_label].noun


def why(recording: Recording) -> str:
    """What the recording suggests is happening."""
    if not recording.is_speech:
        return FACTS[recording.fine_label].why
    if recording.dataset == "espeak":
        meaning = f" (meaning \"{recording.translation}\")" if recording.translation else ""
        return (f"A computer-generated {recording.gender} voice reads a short {recording.language} sentence{meaning}. "
                "This is text-to-speech output, as from a screen reader or a language app.")
    return f"{_sentence('A recorded voice says ' + _quote(recording))} {_telephone_context(recording.transcript)}"


def advise(recording: Recording) -> str:
    """What to do on hearing the recording."""
    if not recording.is_speech:
        return FACTS[recording.fine_label].advice
    if recording.dataset == "espeak":
        if recording.translation:
            return (f"If you do not speak {recording.language}, a translation helps: the sentence means "
                    f"\"{recording.translation}\" No reply is needed.")
        return "Just take note of the message; it is a plain statement and needs no reply."
    text = recording.transcript.lower()
    if any(w in text for w in ("goodbye", "good bye")):
        return "The call is ending, so you can hang up."
    if any(w in text for w in ("press", "enter", "dial", "please")):
        return f"Do what the phone system asks: {_quote(recording)}"
    if len(text.split()) <= 2:
        return "Write down the word or number being read out, in case you need it later."
    return "Listen to the rest of the phone system's message and respond with the keypad when it asks you to."


def _telephone_context(transcript: str) -> str:
    text = transcript.lower()
    if len(text.split()) <= 2:
        return ("A single word spoken like this is how a phone system reads out numbers, times or spellings "
                "one word at a time.")
    if "conference" in text:
        return "It is an announcement of a telephone conference system, so a conference call is under way."
    if any(w in text for w in ("mailbox", "message", "voicemail", "voice mail")):
        return "It is a voicemail system speaking to a caller who is checking or leaving messages."
    if any(w in text for w in ("press", "enter", "dial", "pound")):
        return ("It is an automated telephone menu asking the caller to use the keypad, so someone is calling "
                "a phone service.")
    return "The clear, scripted wording is typical of an automated telephone system talking to a caller."


def _speaker(recording: Recording) -> str:
    if recording.dataset == "espeak":
        return f"a synthetic {recording.gender} voice"
    return "a woman" if recording.gender == "female" else "a man"


def _quote(recording: Recording) -> str:
    words = recording.transcript.split()
    text = " ".join(words[: QUOTE_WORDS - 2]) + " ..." if len(words) > QUOTE_WORDS else recording.transcript
    return f"\"{text}\""


def _setting(clip: Clip, part: Part) -> str:
    """Background noise and surrounding silence, as a trailing phrase."""
    text = f" over faint {clip.noise} background noise" if clip.noise else ""
    before = part.start_s
    after = clip.labels["duration_s"] - part.start_s - part.seconds
    if before > 0.5 and after > 0.5:
        text += ", with silence before and after"
    elif before > 0.5:
        text += ", after a moment of silence"
    elif after > 0.5:
        text += ", followed by silence"
    return text


def _seconds(duration: float) -> str:
    n = max(1, int(duration + 0.5))
    return "1 second" if n == 1 else f"{n} seconds"


def _sentence(text: str) -> str:
    """``text`` ending with a full stop, unless it already ends with one (also inside a closing quote)."""
    return text if text.rstrip('"').endswith((".", "!", "?")) else text + "."


def _seconds_long(seconds: str) -> str:
    """'3 seconds' -> '3-second' (as in 'a 3-second recording')."""
    return seconds.split()[0] + "-second"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_sentence(text: str) -> str:
    return text.split(". ")[0].rstrip(".") + "."


def row(clip: Clip, task: str, rng: random.Random) -> dict[str, Any]:
    """One OpenAQA row: exactly instruction, input, audio_id, dataset, task, output."""
    return {"instruction": instruction(task, clip.split, rng), "input": "", "audio_id": clip.audio_id,
            "dataset": clip.dataset, "task": task, "output": answer(task, clip, rng)}
