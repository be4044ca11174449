"""What each non-speech sound is, where it happens, and what a listener might do.

Open-ended answers (describe / reasoning / advice) are assembled from these entries and
the clip's measured labels: they state ground truth about the recording (its label, and
common knowledge about that kind of sound), never a model's guess. Speech answers are
built from the transcript in ``questions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SoundFacts:
    """Text about one fine label."""

    noun: str  # noun phrase: "a dog barking"
    caption: str  # clause: "a dog barks"
    why: str  # what is probably happening, and why
    advice: str  # what a listener could do


_NO_ACTION = "No action is needed."

FACTS: dict[str, SoundFacts] = {
    # --- animals
    "cat": SoundFacts("a cat meowing", "a cat meows",
                      "Cats meow to get attention, for example when they are hungry or want to be let in, "
                      "so there is probably a pet cat at home nearby.",
                      "Check whether the cat needs food or water, or wants to be let in or out."),
    "cow": SoundFacts("a cow mooing", "a cow moos",
                      "Cows moo to call the herd or a calf, or when they are hungry, so this is most likely "
                      "a farm or a pasture.",
                      "Nothing urgent is needed; near the animals, keep a calm distance and close gates behind you."),
    "crow": SoundFacts("a crow cawing", "a crow caws",
                       "Crows caw to call each other or to warn of danger; they are common in towns, fields and parks.",
                       _NO_ACTION + " It is an ordinary outdoor bird call."),
    "dog": SoundFacts("dogs barking", "dogs bark",
                      "Dogs bark to alert to something nearby, such as a visitor, another animal or a noise outside.",
                      "Look for what the dogs are reacting to; if you do not know the dogs, stay calm and keep "
                      "your distance."),
    "duck": SoundFacts("ducks quacking", "ducks quack",
                       "Ducks quack while feeding and keeping together, so there is probably a pond, a lake or a "
                       "farmyard nearby.",
                       _NO_ACTION + " If you visit the ducks, do not feed them bread."),
    "frog": SoundFacts("frogs croaking", "frogs croak",
                       "Frogs croak near water such as a pond or a marsh, often in the evening and in the mating "
                       "season, to attract a mate.",
                       _NO_ACTION + " It is a natural sound of a wetland."),
    "horse": SoundFacts("a horse neighing", "a horse neighs",
                        "Horses neigh to call other horses or when they are excited, so this is likely a stable, "
                        "a farm or a riding area.",
                        "If you are close to the horse, approach calmly from the front and avoid sudden movements."),
    "monkey": SoundFacts("monkeys screaming", "monkeys scream",
                         "Monkeys scream when they are excited, alarmed or quarrelling, which points to a zoo or a "
                         "tropical forest.",
                         "Keep your distance from the animals and do not feed them."),
    "owl": SoundFacts("an owl hooting", "an owl hoots",
                      "Owls hoot at night in woods and parks to mark their territory or to find a mate.",
                      _NO_ACTION + " Stay quiet if you want to spot the owl."),
    "pig": SoundFacts("a pig grunting", "a pig grunts",
                      "Pigs grunt while they feed and root around, so this is most likely a farm.",
                      "If you look after the pig, check its food and water; otherwise no action is needed."),
    "rooster": SoundFacts("a rooster crowing", "a rooster crows",
                          "Roosters crow loudly, especially around dawn, on farms and in villages.",
                          _NO_ACTION + " It is probably early morning near a farm."),
    "sheep": SoundFacts("a sheep bleating", "a sheep bleats",
                        "Sheep bleat to keep in touch with the flock or their lambs, so this is a field or a farm.",
                        _NO_ACTION + " If you walk through the field, close the gates behind you."),
    # --- music
    "choir": SoundFacts("a choir singing", "a choir sings a sustained chord",
                        "A choir is singing, as in a church, a concert or a film soundtrack.",
                        "Just listen and enjoy the music."),
    "piano": SoundFacts("a piano playing", "a piano plays a few notes",
                        "Someone is playing the piano, or piano music is playing at home, in a lesson or in the "
                        "background of a film or shop.",
                        "Enjoy the music; no action is needed."),
    "synth bass": SoundFacts("a synthesizer bass note", "a deep synthesizer bass note plays",
                             "A deep electronic bass is playing, as used in dance and electronic music.",
                             "Turn the volume down if the bass is too strong; otherwise just enjoy it."),
    "guitar": SoundFacts("a guitar playing", "a guitar is played",
                         "Someone is playing the guitar, perhaps practising, performing or recording a song.",
                         "Enjoy the music; no action is needed."),
    "drum loop": SoundFacts("a drum beat", "a drum beat plays",
                            "A repeating drum beat is playing, as in a song, a band rehearsal or a music "
                            "production session.",
                            "Feel free to move to the rhythm; no action is needed."),
    "music loop": SoundFacts("a short loop of electronic music", "a short loop of electronic music plays",
                             "A repeating piece of music is playing, the kind used in electronic music, games or "
                             "video backgrounds.",
                             "Enjoy the music; turn it down if it disturbs others."),
    "tabla": SoundFacts("tabla drums", "tabla drums are played",
                        "Tabla are hand drums of Indian classical and folk music, so someone is playing or "
                        "practising Indian music.",
                        "Enjoy the rhythm; no action is needed."),
    # --- percussion (single strokes)
    "bass drum": SoundFacts("a bass drum", "a bass drum is hit",
                            "A kick drum is struck, as in a drum kit during a song or a sound check.",
                            _NO_ACTION + " It is part of music being played."),
    "snare drum": SoundFacts("a snare drum", "a snare drum is hit",
                             "A snare drum is struck, as in a drum kit, a marching band or a recording studio.",
                             _NO_ACTION + " It is part of music being played."),
    "tom drum": SoundFacts("a tom drum", "a tom drum is hit",
                           "A tom-tom of a drum kit is struck, as in a drum fill during a song.",
                           _NO_ACTION + " It is part of music being played."),
    "cymbal": SoundFacts("a cymbal", "a cymbal is struck",
                         "A cymbal of a drum kit is struck, as drummers do to mark the beat or an accent.",
                         _NO_ACTION + " It is part of music being played."),
    "cowbell": SoundFacts("a cowbell", "a cowbell is struck",
                          "A cowbell is played as a percussion instrument, as in Latin, funk or rock music.",
                          _NO_ACTION + " It is part of music being played."),
    "drum roll": SoundFacts("a drum roll", "a drum roll plays",
                            "A drum roll is often played to build suspense before an announcement or a trick.",
                            "Get ready: a drum roll usually comes right before something important is announced."),
    "triangle": SoundFacts("a triangle", "a triangle rings",
                           "A triangle is struck, a small percussion instrument used in orchestras and schools.",
                           _NO_ACTION + " It is part of music being played."),
    "woodblock": SoundFacts("a wood block", "a wood block is knocked",
                            "A wood block is struck, a percussion instrument that gives a hollow, clicking sound.",
                            _NO_ACTION + " It is part of music being played."),
    "electronic percussion": SoundFacts("an electronic percussion hit", "an electronic percussion sound hits",
                                        "A drum machine or a sampler plays a percussive electronic sound, as in "
                                        "electronic or experimental music.",
                                        _NO_ACTION + " It is part of electronic music."),
    "finger snap": SoundFacts("a finger snap", "someone snaps their fingers",
                              "Someone snaps their fingers, perhaps keeping time to music or getting attention.",
                              "Look up: someone may want your attention."),
    # --- bells
    "bell": SoundFacts("a bell ringing", "a bell rings",
                       "A bell rings to call attention or to mark a moment: a visitor at the door, a class or "
                       "a service starting, or a timer.",
                       "Check what the bell is calling for, such as someone at the door or a timer going off."),
    "chime": SoundFacts("a chime", "a chime rings",
                        "A chime is a gentle signal, as used by doorbells, clocks and device notifications.",
                        "Check whether a doorbell, a clock or a device is signalling something."),
    # --- sound effects
    "whoosh": SoundFacts("a whoosh", "something whooshes past",
                         "A whoosh is the sound of something moving fast through the air, often used as a "
                         "sound effect in films, games and presentations.",
                         _NO_ACTION + " It is most likely a sound effect."),
    "hum": SoundFacts("a low hum", "a low hum drones on",
                      "A steady hum can come from electrical equipment, a rubbed glass or an ambient soundtrack.",
                      "If the hum is unexpected, check for a faulty appliance or a loose audio cable."),
    "drone": SoundFacts("a dark ambient drone", "a dark ambient drone plays",
                        "A sustained ambient drone like this is typical of film soundtracks and ambient music, "
                        "used to build a mood.",
                        _NO_ACTION + " It is background atmosphere."),
    "buzz": SoundFacts("a soft buzz", "a soft buzz sounds",
                       "A soft electric buzz can come from a device, a transformer or an ambient sound effect.",
                       "If the buzz is unexpected, check the nearby electrical devices."),
    "glass rubbing": SoundFacts("a rubbed glass ringing", "a glass is rubbed and rings",
                                "Rubbing the rim of a glass makes it ring with a pure tone, like a glass harp.",
                                _NO_ACTION + " Handle the glass carefully."),
    "electronic blip": SoundFacts("an electronic blip", "an electronic blip sounds",
                                  "Short electronic blips come from devices, games and user interfaces signalling "
                                  "an event.",
                                  "Check the device or the screen that made the sound."),
    "robot sound": SoundFacts("a robotic electronic sound", "a robotic electronic sound plays",
                              "Synthetic robot-like sounds are used in games, toys and science-fiction films.",
                              _NO_ACTION + " It is a synthetic sound effect."),
    "phone sound": SoundFacts("an electronic phone sound", "an electronic phone-like sound plays",
                              "A phone-like electronic sound may be a ringtone or a notification.",
                              "Check your phone for a call or a message."),
    "burp": SoundFacts("a burp", "someone burps",
                       "Someone burps, usually after eating or drinking something fizzy.",
                       _NO_ACTION + " Saying 'excuse me' would be polite."),
    "boom": SoundFacts("a deep boom", "a deep cinematic boom sounds",
                       "A deep boom like this is a film sound effect for impacts, explosions or dramatic moments.",
                       "If this happened in real life, check that nobody is hurt and stay away from its source."),
    "impact": SoundFacts("a heavy impact", "something hits hard with a thud",
                         "An impact sound suggests something falling, being dropped or being struck.",
                         "Check whether something has fallen or broken, and whether anyone is hurt."),
    "door": SoundFacts("a door", "a door opens or closes",
                       "A door is moving, so someone is probably entering or leaving a room.",
                       "Check who is coming in or going out."),
    "cash register": SoundFacts("a cash register", "a cash register rings as its drawer opens",
                                "A cash register rings in a shop when a sale is made.",
                                _NO_ACTION + " A purchase is being completed."),
    "vinyl scratch": SoundFacts("a vinyl record being scratched", "a vinyl record is scratched",
                                "A DJ is scratching or spinning back a vinyl record, as in hip-hop and club music.",
                                "Enjoy the performance; no action is needed."),
    "machine": SoundFacts("a 3D printer working", "a 3D printer whirs as it works",
                          "A 3D printer is running, so someone is printing a part in a workshop, an office or at home.",
                          "Let the print finish, and check on it now and then for problems."),
    # --- tones
    "tone": SoundFacts("a steady tone", "a steady tone plays",
                       "A steady electronic tone is typically a test signal, an alarm or a device signalling.",
                       "Check whether a nearby device is signalling something."),
    "beep": SoundFacts("beeping", "a device beeps",
                       "Beeps come from electronic devices such as a microwave, a phone system or a machine "
                       "signalling that something is done or needs attention.",
                       "Check which device is beeping and whether it needs attention."),
    "sweep": SoundFacts("a tone sweep", "a tone sweeps in pitch",
                        "A frequency sweep is a test signal for checking loudspeakers or hearing, or a sound effect.",
                        _NO_ACTION + " When testing speakers, listen for rattles or dropouts."),
    # --- noise
    "white noise": SoundFacts("steady white noise", "steady white noise hisses",
                              "Steady hiss like this comes from a radio between stations, a fan or a white-noise "
                              "machine used to mask sounds or help sleep.",
                              "If it is unwanted, look for a detuned radio or a noisy device; "
                              "otherwise it is harmless."),
    "pink noise": SoundFacts("steady pink noise", "steady pink noise rushes",
                             "Pink noise sounds like steady rain or a waterfall; it is used to test audio systems "
                             "and to mask background sounds.",
                             _NO_ACTION + " It is a harmless steady noise."),
    "brown noise": SoundFacts("deep brown noise", "deep brown noise rumbles",
                              "Brown noise is a deep rumble like distant surf or strong wind, often played to help "
                              "people focus or sleep.",
                              _NO_ACTION + " It is a harmless steady noise."),
    "vinyl hiss": SoundFacts("the hiss and crackle of a vinyl record", "a vinyl record hisses and crackles",
                             "A record player is playing the quiet groove of a vinyl record, between or before songs.",
                             _NO_ACTION + " The music will probably start soon."),
    # --- silence
    "silence": SoundFacts("silence", "nothing can be heard",
                          "Nothing can be heard: the place is completely quiet, or the microphone is muted or "
                          "disconnected.",
                          "Check that the microphone or the audio source is working and not muted."),
}

# Backgrounds described as such in overlay mixes: sounds that go on for a while.
SUSTAINED = ("music loop", "drum loop", "tabla", "choir", "drone", "hum", "white noise", "pink noise",
             "brown noise", "vinyl hiss", "tone", "machine", "guitar", "synth bass")
