"""Questions in varied wordings, and answers built only from a clip's ground truth.

Each task has ten wordings; the last ``HELDOUT_ONLY_WORDINGS`` of each are never used in
training rows, so held-out rows can test unseen phrasings. Closed answers use the fixed
formats of ``labels.py``; open answers (what do you hear, what makes it, describe, what can
be inferred, where, what to do) are composed in ``answers.py``. Plain "What do you hear?"
is a training wording of ``what_hear``, asked of every coarse class.
"""

from __future__ import annotations

import random
from typing import Any

from train.builder.answers import answer
from train.builder.mixing import Clip

HELDOUT_ONLY_WORDINGS = 2
PLAIN_QUESTION = "What do you hear?"  # asked as is of some clips of every class (the app's example question)

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
    "what_hear": (
        "What do you hear?", "What can you hear in this audio?", "What do you hear in this recording?",
        "What is in this audio clip?", "What sounds are in this clip?", "Tell me what you hear.",
        "What does this recording contain?", "What is this sound?",
        "What can be heard here?", "Listen: what is it?"),
    "source": (
        "What is making this sound?", "What is producing the sound?", "What could be the source of this sound?",
        "Where does this sound come from?", "What makes this noise?", "Who or what is making the sound here?",
        "What is the sound coming from?", "What creates the sound in this clip?",
        "What do you think is making this noise?", "Which thing or creature produces this sound?"),
    "describe": (
        "Describe the sound in detail.", "Describe the audio.", "Describe what you hear in this clip.",
        "Write a short description of the sound.", "Give a detailed description of this audio.",
        "Write an audio caption for this clip.", "Tell me about the sounds in this recording.",
        "Summarize what can be heard in this audio.",
        "How would you describe this recording?", "Describe this sound scene."),
    "reasoning": (
        "What can be inferred from the audio?", "What might be happening here, and why do you think so?",
        "What situation could produce this sound? Explain.", "Why might this sound occur?",
        "What is likely going on in this scene? Give your reasoning.", "What does this sound suggest?",
        "What can you conclude from this recording?", "What story does this sound tell?",
        "Based on the audio, what is the likely context and why?", "What does this audio tell you about the situation?"),
    "where": (
        "Where might this have been recorded?", "Where could this sound be heard?", "Where is this likely taking place?",
        "In what kind of place might this be recorded?", "Where would you expect to hear this?",
        "What setting does this audio suggest?", "Where do you think this recording was made?",
        "In which place could you hear this?",
        "What location fits this sound?", "Where might someone hear a sound like this?"),
    "advice": (
        "What should a listener do after hearing this?", "How should someone react to this sound?",
        "If you heard this, what would you do?", "What would be a sensible response to this audio?",
        "What should I do about this sound?", "Does this sound call for any action?",
        "What is the appropriate reaction to this recording?", "What would you advise someone who hears this?",
        "What is the best thing to do on hearing this?", "How would you respond to hearing this?"),
}

# How likely each task is to be asked about a clip it applies to (relative weights). Rare
# answers are favoured: "yes" to the yes/no questions, non-English languages, synthetic
# voices of both genders (every Asterisk prompt is the same woman), tones and animals.
TASK_WEIGHTS = {
    "cla_category": 3.0, "cla_label": 2.0, "cla_animal": 3.0, "speech_yn": 2.0, "music_yn": 2.0, "asr": 1.5,
    "language": 2.0, "gender": 1.5, "pitch": 4.0, "loudness": 0.8, "duration": 0.8, "count_events": 0.8,
    "what_hear": 3.0, "source": 1.5, "describe": 1.5, "reasoning": 1.2, "where": 1.0, "advice": 0.8,
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
        if labels["category"] != "Silence":
            weights["cla_label"] = TASK_WEIGHTS["cla_label"]
        if labels["category"] == "Animal":
            weights["cla_animal"] = TASK_WEIGHTS["cla_animal"]
    for task in ("speech_yn", "music_yn", "duration", "what_hear", "source", "describe", "reasoning", "where",
                 "advice"):
        weights[task] = TASK_WEIGHTS[task]
    if labels["is_speech"]:
        weights["speech_yn"] *= YES_BOOST
    if labels["is_music"]:
        weights["music_yn"] *= YES_BOOST
    if labels["transcript"]:
        weights["asr"] = TASK_WEIGHTS["asr"]
    if labels["language"]:
        weights["language"] = TASK_WEIGHTS["language"] if labels["language"] != "English" else COMMON_ANSWER_WEIGHT
    if labels["gender"]:
        weights["gender"] = TASK_WEIGHTS["gender"]
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


def row(clip: Clip, task: str, rng: random.Random, wording: str | None = None) -> dict[str, Any]:
    """One OpenAQA row: exactly instruction, input (empty), audio_id, dataset, task, output."""
    return {"instruction": wording or instruction(task, clip.split, rng), "input": "", "audio_id": clip.audio_id,
            "dataset": clip.dataset, "task": task, "output": answer(task, clip, rng)}
