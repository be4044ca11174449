"""The label vocabulary: AudioSet names, their coarse class, and a little knowledge about each.

Every recording carries one fine label, a key of ``LABELS``: the AudioSet ontology's name
for what is heard ("Dog", "Guitar", "Female speech, woman speaking"), its path in the
ontology ("Animal > Domestic animals, pets > Dog") and one of the coarse classes of
``CATEGORIES``. The knowledge fields (what makes the sound, where it is heard, what it
suggests, what to do) feed the open answers; they are common knowledge about that kind
of sound, never a claim about one recording.

Coarse classes are AudioSet top-level names, grouped so that there are nine of them:
"Vehicle" also holds engines and power tools (AudioSet "Engine", "Tools"); "Alarm" holds
bells, beeps and other signals (AudioSet "Alarm", "Bell", "Beep, bleep"); "Impact" holds
household and impact sounds (AudioSet "Domestic sounds, home sounds", "Explosion",
"Glass", "Wood", "Mechanisms"); "Natural sounds" is AudioSet's own node for wind,
thunderstorm, water and fire.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("Speech", "Music", "Animal", "Vehicle", "Alarm", "Impact", "Natural sounds", "Noise", "Silence")

# What each coarse class is called in a sentence, and where such sounds are usually heard.
CATEGORY_NOUNS = {
    "Speech": "speech", "Music": "music", "Animal": "an animal", "Vehicle": "a vehicle or an engine",
    "Alarm": "an alarm or signal", "Impact": "a household or impact sound", "Natural sounds": "a natural sound",
    "Noise": "noise", "Silence": "silence",
}


@dataclass(frozen=True)
class Label:
    """One fine label and what people know about such sounds."""

    name: str  # the AudioSet class name
    category: str  # one of CATEGORIES
    path: str  # "Animal > Domestic animals, pets > Dog"
    noun: str  # "a dog barking"
    maker: str  # what makes the sound: "a dog"
    where: str  # "at home, in a garden or in the street"
    suggests: str  # "a dog is reacting to a visitor, another animal or a noise"
    advice: str = "No action is needed."

    @property
    def short(self) -> str:
        """The label as said in an answer: the AudioSet name up to its first comma, lower case."""
        return self.name.split(",")[0].lower()

    @property
    def is_music(self) -> bool:
        """Whether a clip of this label contains music."""
        return self.category == "Music"


_FARM = "on a farm, in a field or at a petting zoo"
_WILD = "in the wild, in a nature park or at a zoo"
_HOME = "at home, in a kitchen or a workshop"
_GAME = "in a video game, a cartoon or a film"
_STREET = "in a street, on a road or in a town"
_NOTE = "a device, an app or a computer is signalling an event"

_ROWS = (
    # name, category, path, noun, maker, where, suggests[, advice]
    # --- speech
    ("Female speech, woman speaking", "Speech", "Speech > Female speech, woman speaking", "a woman speaking",
     "a woman's voice", "in conversation, on the phone, in a recording or a broadcast",
     "someone is talking or reading something out"),
    ("Male speech, man speaking", "Speech", "Speech > Male speech, man speaking", "a man speaking",
     "a man's voice", "in conversation, on the phone, in a recording or a broadcast",
     "someone is talking or reading something out"),
    ("Speech", "Speech", "Speech", "a person speaking", "a human voice",
     "in conversation, a game, a film or a broadcast", "someone is talking"),
    ("Speech synthesizer", "Speech", "Speech > Speech synthesizer", "a computer voice speaking",
     "a text-to-speech program", "in a screen reader, a phone menu, a navigation device or an app",
     "a computer is reading text aloud"),
    # --- music
    ("Piano", "Music", "Music > Musical instrument > Keyboard (musical) > Piano", "piano music", "a piano",
     "at home, in a concert hall or a music lesson", "someone is playing or listening to piano music"),
    ("Organ", "Music", "Music > Musical instrument > Keyboard (musical) > Organ", "organ music", "an organ",
     "in a church, a concert hall or a fairground", "organ music is being played"),
    ("Guitar", "Music", "Music > Musical instrument > Plucked string instrument > Guitar", "a guitar playing",
     "a guitar", "at home, at a campfire, a concert or a studio", "someone is playing the guitar"),
    ("Electric guitar", "Music", "Music > Musical instrument > Plucked string instrument > Guitar > Electric guitar",
     "an electric guitar playing", "an electric guitar and its amplifier", "at a rock concert, a rehearsal or a studio",
     "someone is playing rock or pop music"),
    ("Bass guitar", "Music", "Music > Musical instrument > Plucked string instrument > Guitar > Bass guitar",
     "a bass line", "a bass guitar", "in a band, a club or a studio", "a band or a track with a bass line is playing"),
    ("Harp", "Music", "Music > Musical instrument > Plucked string instrument > Harp", "a harp playing", "a harp",
     "in a concert hall or an orchestra", "calm classical or folk music is playing"),
    ("Violin, fiddle", "Music", "Music > Musical instrument > Bowed string instrument > Violin, fiddle",
     "a violin playing", "a violin", "in a concert hall, an orchestra or a folk session",
     "someone is playing classical or folk music"),
    ("Cello", "Music", "Music > Musical instrument > Bowed string instrument > Cello", "a cello playing", "a cello",
     "in a concert hall or an orchestra", "classical music is being played"),
    ("String section", "Music", "Music > Musical instrument > Bowed string instrument > String section",
     "a string orchestra", "a string section", "in a concert hall or a film soundtrack",
     "orchestral or film music is playing"),
    ("Trumpet", "Music", "Music > Musical instrument > Brass instrument > Trumpet", "a trumpet playing", "a trumpet",
     "in a brass band, a jazz club or an orchestra", "someone is playing jazz, band or orchestral music"),
    ("Brass instrument", "Music", "Music > Musical instrument > Brass instrument", "brass instruments playing",
     "trombones, horns or tubas", "in a brass band, a parade or an orchestra", "band or orchestral music is playing"),
    ("Saxophone", "Music", "Music > Musical instrument > Wind instrument, woodwind instrument > Saxophone",
     "a saxophone playing", "a saxophone", "in a jazz club, a band or a studio", "jazz or pop music is playing"),
    ("Flute", "Music", "Music > Musical instrument > Wind instrument, woodwind instrument > Flute",
     "a flute playing", "a flute", "in an orchestra, a music lesson or folk music", "someone is playing the flute"),
    ("Clarinet", "Music", "Music > Musical instrument > Wind instrument, woodwind instrument > Clarinet",
     "a clarinet playing", "a clarinet", "in an orchestra, a band or a jazz club", "someone is playing the clarinet"),
    ("Bassoon", "Music", "Music > Musical instrument > Wind instrument, woodwind instrument > Bassoon",
     "a bassoon playing", "a bassoon", "in an orchestra or a woodwind ensemble", "classical music is being played"),
    ("Accordion", "Music", "Music > Musical instrument > Accordion", "an accordion playing", "an accordion",
     "at a folk dance, in a street or a cafe", "folk or street music is playing"),
    ("Harmonica", "Music", "Music > Musical instrument > Harmonica", "a harmonica playing", "a harmonica",
     "in blues, folk or country music", "someone is playing blues or folk music"),
    ("Bagpipes", "Music", "Music > Musical instrument > Bagpipes", "bagpipes playing", "bagpipes",
     "at a parade, a ceremony or a Scottish or Irish festival", "a ceremony or a folk celebration is going on"),
    ("Banjo", "Music", "Music > Musical instrument > Plucked string instrument > Banjo", "a banjo playing", "a banjo",
     "in country, bluegrass or folk music", "country or folk music is playing"),
    ("Sitar", "Music", "Music > Musical instrument > Plucked string instrument > Sitar", "a sitar playing", "a sitar",
     "in Indian classical music", "Indian music is playing"),
    ("Marimba, xylophone", "Music", "Music > Musical instrument > Mallet percussion > Marimba, xylophone",
     "a xylophone or marimba playing", "a xylophone or a marimba", "in a school, an orchestra or world music",
     "someone is playing a tuned percussion instrument"),
    ("Vibraphone", "Music", "Music > Musical instrument > Mallet percussion > Vibraphone", "a vibraphone playing",
     "a vibraphone", "in a jazz club or a lounge", "jazz or lounge music is playing"),
    ("Steelpan", "Music", "Music > Musical instrument > Steelpan", "a steel drum playing", "a steel drum",
     "in Caribbean music, at a beach party or a carnival", "festive Caribbean music is playing"),
    ("Choir", "Music", "Music > Musical instrument > Choir", "a choir singing", "a choir",
     "in a church, a concert or a film soundtrack", "a choir is singing"),
    ("Synthesizer", "Music", "Music > Musical instrument > Keyboard (musical) > Synthesizer",
     "synthesizer music", "a synthesizer", "in electronic, pop or game music", "electronic music is playing"),
    ("Drum kit", "Music", "Music > Musical instrument > Percussion > Drum kit", "a drum beat", "a drum kit",
     "in a band, a rehearsal room or a studio", "someone is playing drums or a beat is playing"),
    ("Drum machine", "Music", "Music > Musical instrument > Percussion > Drum machine", "an electronic drum beat",
     "a drum machine", "in electronic or hip-hop music", "an electronic beat is playing"),
    ("Tabla", "Music", "Music > Musical instrument > Percussion > Drum > Tabla", "tabla drumming", "tabla hand drums",
     "in Indian classical and folk music", "someone is playing Indian rhythms"),
    ("Video game music", "Music", "Music > Music genre > Music for visual media > Video game music",
     "video game music", "a game soundtrack", "in a video game or on a game's menu screen",
     "someone is playing a video game"),
    ("Orchestra", "Music", "Music > Musical instrument > Orchestra", "an orchestra playing", "an orchestra",
     "in a concert hall, an opera or a film soundtrack", "orchestral music is playing"),
    ("Music", "Music", "Music", "music", "musical instruments", "on the radio, in a shop or at a party",
     "music is playing"),
    # --- animals
    ("Dog", "Animal", "Animal > Domestic animals, pets > Dog", "a dog barking", "a dog",
     "at home, in a garden or in the street", "a dog is reacting to a visitor, another animal or a noise",
     "Look for what the dog is reacting to, and keep your distance from a dog you do not know."),
    ("Cat", "Animal", "Animal > Domestic animals, pets > Cat", "a cat meowing", "a cat", "at home or in a garden",
     "a cat wants attention, food, or to be let in or out", "Check whether the cat needs food or water."),
    ("Horse", "Animal", "Animal > Livestock, farm animals, working animals > Horse", "a horse neighing", "a horse",
     "on a farm, in a stable or a riding school", "horses are nearby, calling to each other or excited"),
    ("Donkey, ass", "Animal", "Animal > Livestock, farm animals, working animals > Donkey, ass", "a donkey braying",
     "a donkey", _FARM, "a donkey is calling, probably on a farm"),
    ("Cattle, bovinae", "Animal", "Animal > Livestock, farm animals, working animals > Cattle, bovinae",
     "a cow mooing", "a cow", "on a farm or a pasture", "cattle are calling, probably on a farm"),
    ("Pig", "Animal", "Animal > Livestock, farm animals, working animals > Pig", "a pig grunting", "a pig", _FARM,
     "pigs are feeding or rooting around on a farm"),
    ("Sheep", "Animal", "Animal > Livestock, farm animals, working animals > Sheep", "a sheep bleating", "a sheep",
     "in a field, on a hillside or a farm", "sheep are calling to the flock or their lambs"),
    ("Goat", "Animal", "Animal > Livestock, farm animals, working animals > Goat", "a goat bleating", "a goat", _FARM,
     "goats are calling, on a farm or in the mountains"),
    ("Chicken, rooster", "Animal", "Animal > Livestock, farm animals, working animals > Fowl > Chicken, rooster",
     "a rooster crowing or hens clucking", "chickens", "on a farm or in a village backyard",
     "chickens are nearby, perhaps early in the morning"),
    ("Duck", "Animal", "Animal > Livestock, farm animals, working animals > Fowl > Duck", "a duck quacking",
     "a duck", "at a pond, a lake or a farmyard", "ducks are nearby, probably by water"),
    ("Goose", "Animal", "Animal > Livestock, farm animals, working animals > Fowl > Goose", "a goose honking",
     "a goose", "at a lake, a park or a farm", "geese are nearby, calling to each other"),
    ("Turkey", "Animal", "Animal > Livestock, farm animals, working animals > Fowl > Turkey", "a turkey gobbling",
     "a turkey", _FARM, "turkeys are nearby, on a farm"),
    ("Bird", "Animal", "Animal > Wild animals > Bird", "a bird calling", "a bird",
     "in a garden, a park or a forest", "birds are around, calling or singing"),
    ("Owl", "Animal", "Animal > Wild animals > Bird > Owl", "an owl hooting", "an owl",
     "in woods or a park at night", "it is probably night-time near trees"),
    ("Crow", "Animal", "Animal > Wild animals > Bird > Crow", "a crow cawing", "a crow",
     "in fields, parks and towns", "crows are calling to each other or warning of danger"),
    ("Gull, seagull", "Animal", "Animal > Wild animals > Bird > Gull, seagull", "a seagull crying", "a seagull",
     "at the seaside, a harbour or a beach", "the place is near the sea"),
    ("Roaring cats (lions, tigers)", "Animal", "Animal > Wild animals > Roaring cats (lions, tigers)",
     "a big cat roaring", "a lion or a tiger", _WILD, "a big cat is roaring, at a zoo or in the wild",
     "Stay well away from the animal."),
    ("Monkey", "Animal", "Animal > Wild animals > Monkey", "a monkey or ape calling", "a monkey or an ape",
     "in a zoo or a tropical forest", "primates are excited or calling to each other"),
    ("Frog", "Animal", "Animal > Wild animals > Frog", "a frog croaking", "a frog",
     "near a pond or a marsh, often in the evening", "there is water nearby"),
    ("Insect", "Animal", "Animal > Wild animals > Insect", "an insect buzzing or chirping", "an insect",
     "in a garden, a meadow or outdoors in summer", "insects are active nearby, probably in warm weather"),
    ("Bee, wasp, etc.", "Animal", "Animal > Wild animals > Insect > Bee, wasp, etc.", "a bee buzzing",
     "a bee or a wasp", "in a garden, near flowers or a hive", "a bee or a wasp is flying close by",
     "Stay calm and move away slowly from the insect."),
    ("Whale vocalization", "Animal", "Animal > Wild animals > Whale vocalization", "a whale or dolphin calling",
     "a whale or a dolphin", "in the sea, recorded underwater", "sea mammals are communicating underwater"),
    ("Wild animals", "Animal", "Animal > Wild animals", "a wild animal calling", "a wild animal", _WILD,
     "a wild animal is calling or reacting to something"),
    ("Animal", "Animal", "Animal", "an animal sound", "an animal", _FARM, "an animal is nearby"),
    # --- vehicles, engines and machines
    ("Car", "Vehicle", "Vehicle > Motor vehicle (road) > Car", "a car driving", "a car", _STREET,
     "a car is driving past, starting or accelerating"),
    ("Race car, auto racing", "Vehicle", "Vehicle > Motor vehicle (road) > Car > Race car, auto racing",
     "a racing car", "a racing car", "at a race track or in a racing game", "a car is racing at speed"),
    ("Truck", "Vehicle", "Vehicle > Motor vehicle (road) > Truck", "a truck engine", "a truck or a lorry",
     "on a road, a building site or a depot", "a heavy vehicle is working or passing by"),
    ("Bus", "Vehicle", "Vehicle > Motor vehicle (road) > Bus", "a bus", "a bus", "at a bus stop or in a town",
     "a bus is arriving, leaving or driving past"),
    ("Emergency vehicle", "Vehicle", "Vehicle > Motor vehicle (road) > Emergency vehicle", "an emergency vehicle",
     "a fire engine, an ambulance or a police car", _STREET, "an emergency service is on its way",
     "Make way for the emergency vehicle."),
    ("Train", "Vehicle", "Vehicle > Rail transport > Train", "a train", "a train", "at a station or near a railway",
     "a train is passing or arriving", "Stay behind the platform edge and away from the tracks."),
    ("Aircraft", "Vehicle", "Vehicle > Aircraft", "an aircraft flying", "an aeroplane",
     "near an airport or under a flight path", "an aeroplane is flying overhead"),
    ("Jet engine", "Vehicle", "Vehicle > Aircraft > Aircraft engine > Jet engine", "a jet engine roaring",
     "a jet engine", "at an airport or an air show", "a jet aircraft is taking off or flying by"),
    ("Helicopter", "Vehicle", "Vehicle > Aircraft > Helicopter", "a helicopter", "a helicopter's rotor",
     "above a city, a hospital or a rescue site", "a helicopter is flying nearby"),
    ("Boat, Water vehicle", "Vehicle", "Vehicle > Boat, Water vehicle", "a boat", "a boat or a ship",
     "at a harbour, a river or at sea", "a boat is moving on the water"),
    ("Engine", "Vehicle", "Engine", "an engine running", "an engine or a motor",
     "in a garage, on a road or in a machine room", "a motor is running"),
    ("Chainsaw", "Vehicle", "Engine > Light engine (high frequency) > Chainsaw", "a chainsaw", "a chainsaw",
     "in a forest, a garden or a sawmill", "someone is cutting wood", "Keep clear of the saw."),
    ("Power tool", "Vehicle", "Tools > Power tool", "a power tool", "a drill, a saw or another power tool",
     "in a workshop or on a building site", "someone is building or repairing something",
     "Wear ear protection if you are nearby."),
    ("Jackhammer", "Vehicle", "Tools > Jackhammer", "a jackhammer", "a jackhammer",
     "at a road works or a building site", "road or building work is going on", "Keep your distance and protect your ears."),
    ("Mechanisms", "Vehicle", "Mechanisms", "a machine working", "a machine", "in a factory, a workshop or a mine",
     "machinery is running"),
    # --- alarms, bells and signals
    ("Bell", "Alarm", "Bell", "a bell ringing", "a bell", "at a door, a school, a church or a shop",
     "something is being announced or someone wants attention", "Check what the bell is calling for."),
    ("Church bell", "Alarm", "Bell > Church bell", "church bells ringing", "church bells",
     "in a town or village near a church", "a service, a wedding or the hour is being marked"),
    ("Doorbell", "Alarm", "Domestic sounds, home sounds > Doorbell", "a doorbell", "a doorbell", "at home",
     "someone is at the door", "Go and see who is at the door."),
    ("Telephone bell ringing", "Alarm", "Alarm > Telephone > Telephone bell ringing", "a telephone ringing",
     "a telephone", "at home or in an office", "someone is calling", "Answer the phone."),
    ("Ringtone", "Alarm", "Alarm > Telephone > Ringtone", "a phone ringtone", "a mobile phone", "anywhere",
     "a phone is ringing or a message has arrived", "Check your phone."),
    ("Alarm clock", "Alarm", "Alarm > Alarm clock", "an alarm clock", "an alarm clock", "in a bedroom",
     "it is time to wake up", "Wake up and switch the alarm off."),
    ("Siren", "Alarm", "Alarm > Siren", "a siren wailing", "a siren", _STREET,
     "an emergency vehicle or a warning system is sounding", "Make way, and follow any safety instructions."),
    ("Buzzer", "Alarm", "Alarm > Buzzer", "a buzzer", "an electric buzzer", "at a door, a game show or a machine",
     "a signal is calling attention"),
    ("Beep, bleep", "Alarm", "Alarm > Beep, bleep", "a beep", "an electronic device",
     "at home, in an office or from a computer", _NOTE, "Check which device is beeping and why."),
    ("Chime", "Alarm", "Bell > Chime", "a chime", "a chime or a notification sound",
     "on a computer, a phone, a doorbell or a clock", _NOTE, "Check the device that made the sound."),
    ("Whistle", "Alarm", "Alarm > Whistle", "a whistle blowing", "a whistle",
     "at a sports match, a factory or a station", "someone is giving a signal"),
    ("Vehicle horn, car horn, honking", "Alarm", "Vehicle > Vehicle horn, car horn, honking", "a horn sounding",
     "a car, a ship or a train horn", "on a road, at a harbour or a station", "a driver is warning others",
     "Look around for traffic before you move."),
    ("Cash register", "Alarm", "Domestic sounds, home sounds > Cash register", "a cash register", "a cash till",
     "in a shop or a market", "a sale is being made"),
    ("Sine wave", "Alarm", "Sine wave", "a steady electronic tone", "a tone generator or an electronic device",
     "in a test, a lab or from a device", "a test signal or a device is sounding",
     "Check whether a device is signalling something."),
    ("Chirp tone", "Alarm", "Chirp tone", "a rising or falling tone sweep", "a signal generator",
     "in a sound test or a lab", "a loudspeaker or hearing test is being run"),
    # --- household and impact
    ("Door", "Impact", "Domestic sounds, home sounds > Door", "a door", "a door", "at home or in a building",
     "someone is coming in or going out"),
    ("Knock", "Impact", "Domestic sounds, home sounds > Door > Knock", "knocking", "a hand on a door or a surface",
     "at a door", "someone wants to come in", "Go and see who is knocking."),
    ("Dishes, pots, and pans", "Impact", "Domestic sounds, home sounds > Dishes, pots, and pans",
     "dishes clinking", "glasses, bottles or plates", "in a kitchen or a restaurant", "someone is handling dishes"),
    ("Glass", "Impact", "Glass", "glass clinking or breaking", "glass", _HOME, "something made of glass was struck",
     "Watch out for broken glass."),
    ("Shatter", "Impact", "Glass > Shatter", "glass shattering", "breaking glass", "at home, in a street or a shop",
     "something made of glass broke", "Keep away from the broken glass and check that nobody is hurt."),
    ("Vacuum cleaner", "Impact", "Domestic sounds, home sounds > Vacuum cleaner", "a vacuum cleaner",
     "a vacuum cleaner", "at home or in an office", "someone is cleaning"),
    ("Washing machine", "Impact", "Domestic sounds, home sounds > Washing machine", "a washing machine",
     "a washing machine", "at home or in a laundry", "laundry is being washed"),
    ("Toilet flush", "Impact", "Domestic sounds, home sounds > Toilet flush", "a toilet flushing", "a toilet",
     "in a bathroom", "someone has used the toilet"),
    ("Kettle whistle", "Impact", "Domestic sounds, home sounds > Kettle whistle", "a kettle boiling", "a kettle",
     "in a kitchen", "water is boiling for a hot drink", "Switch the kettle off before it boils dry."),
    ("Scissors", "Impact", "Domestic sounds, home sounds > Scissors", "scissors cutting", "scissors",
     "at home, in a classroom or a hair salon", "someone is cutting paper, cloth or hair"),
    ("Typing", "Impact", "Domestic sounds, home sounds > Typing > Typewriter", "typing", "a typewriter or keyboard",
     "in an office or a study", "someone is writing"),
    ("Camera", "Impact", "Mechanisms > Camera", "a camera shutter", "a camera", "at an event, a studio or a trip",
     "someone is taking a photograph"),
    ("Hammer", "Impact", "Tools > Hammer", "hammering", "a hammer", "in a workshop or on a building site",
     "someone is building or fixing something"),
    ("Sawing", "Impact", "Tools > Sawing", "sawing", "a hand saw", "in a workshop or a garden",
     "someone is cutting wood"),
    ("Explosion", "Impact", "Explosion", "an explosion", "an explosion", "at a quarry, a demolition site or in a film",
     "something blew up", "Move away from the source and check whether anyone is hurt."),
    ("Gunshot, gunfire", "Impact", "Explosion > Gunshot, gunfire", "gunfire", "a gun",
     "at a shooting range, a hunt or in a film or game", "a gun was fired", "Take cover and stay away."),
    ("Fireworks", "Impact", "Explosion > Fireworks", "fireworks", "fireworks",
     "at a celebration such as New Year or a festival", "people are celebrating"),
    ("Thump, thud", "Impact", "Generic impact sounds > Thump, thud", "a thud", "something heavy hitting something",
     _HOME, "something fell, was dropped or was hit", "Check whether something has fallen or broken."),
    ("Smash, crash", "Impact", "Generic impact sounds > Smash, crash", "a crash", "a collision",
     "in a street, a workshop or a game", "something crashed into something", "Check whether anyone is hurt."),
    ("Wood", "Impact", "Wood", "wood being struck or breaking", "wood", "in a forest, a workshop or a house",
     "wood is being hit, split or is falling"),
    ("Whoosh, swoosh, swish", "Impact", "Whoosh, swoosh, swish", "a whoosh", "something moving fast through the air",
     _GAME, "something moved quickly past"),
    ("Scrape", "Impact", "Generic impact sounds > Scrape", "something sliding or scraping",
     "a surface rubbing against another", "outdoors on snow, ice or earth, or on a floor",
     "something is sliding over a surface"),
    ("Footsteps", "Impact", "Human locomotion > Footsteps", "footsteps", "someone walking", "in a corridor or outdoors",
     "someone is walking nearby"),
    ("Coin (dropping)", "Impact", "Domestic sounds, home sounds > Coin (dropping)", "coins jingling", "coins",
     "in a shop, at a till or in a game", "money is being handled"),
    ("Pop", "Impact", "Generic impact sounds > Pop", "a pop", "a bubble, a cork or a balloon", _GAME,
     "something popped"),
    ("Clock", "Impact", "Mechanisms > Clock > Tick-tock", "a clock ticking", "a clock", "at home or in an office",
     "time is passing; a clock or a timer is running"),
    # --- natural sounds
    ("Rain", "Natural sounds", "Natural sounds > Rain", "rain falling", "rain", "outdoors or under a roof",
     "it is raining", "Take an umbrella if you go out."),
    ("Thunder", "Natural sounds", "Natural sounds > Thunderstorm > Thunder", "thunder rumbling", "a thunderstorm",
     "outdoors during a storm", "a thunderstorm is near", "Stay indoors and away from tall trees until the storm passes."),
    ("Wind", "Natural sounds", "Natural sounds > Wind", "wind blowing", "the wind",
     "outdoors, on a hill, a coast or in a storm", "the weather is windy"),
    ("Stream", "Natural sounds", "Natural sounds > Water > Stream", "a stream flowing", "running water",
     "by a river, a brook or a fountain", "there is flowing water nearby"),
    ("Waterfall", "Natural sounds", "Natural sounds > Water > Waterfall", "a waterfall", "falling water",
     "by a waterfall, a weir or a fountain", "there is a waterfall or a weir nearby"),
    ("Ocean", "Natural sounds", "Natural sounds > Water > Ocean > Waves, surf", "waves on the shore", "the sea",
     "at a beach or on a coast", "the place is by the sea"),
    ("Splash, splatter", "Natural sounds", "Natural sounds > Water > Splash, splatter", "a splash",
     "something falling into water", "at a pool, a pond, a bath or a lake", "something fell into water"),
    ("Drip", "Natural sounds", "Natural sounds > Water > Drip", "water dripping", "dripping water",
     "in a kitchen, a cave or after rain", "water is dripping", "Check for a leaking tap or roof."),
    ("Bubbling", "Natural sounds", "Natural sounds > Water > Bubbling", "water bubbling", "bubbles in water",
     "in an aquarium, a pot or underwater", "air or gas is bubbling through water"),
    ("Fire", "Natural sounds", "Natural sounds > Fire > Crackle", "a fire crackling", "a fire",
     "by a fireplace, a campfire or a bonfire", "something is burning", "Make sure the fire is under control."),
    ("Steam", "Natural sounds", "Natural sounds > Steam > Hiss", "steam hissing", "escaping steam or gas",
     "in a kitchen, a factory or near a geyser", "steam or gas is escaping under pressure"),
    # --- noise and silence
    ("White noise", "Noise", "Noise > White noise", "steady white noise", "a noise generator, a fan or a radio",
     "from a noise machine, a detuned radio or a fan", "a device is producing steady hiss"),
    ("Pink noise", "Noise", "Noise > Pink noise", "steady pink noise", "a noise generator",
     "from a sound test or a sleep machine", "a device is playing steady noise"),
    ("Brown noise", "Noise", "Noise > Brown noise", "deep brown noise", "a noise generator",
     "from a sleep machine or a rumbling device", "a device is playing deep, steady noise"),
    ("Static", "Noise", "Noise > Static", "radio static", "a radio or a poor connection",
     "from a detuned radio, a walkie-talkie or a bad line", "a radio is between stations or a signal is lost"),
    ("Hum", "Noise", "Noise > Hum", "a steady hum", "electrical equipment",
     "near transformers, fridges or loudspeakers", "electrical equipment is running",
     "If the hum is unexpected, check for a faulty device or a loose audio cable."),
    ("Noise", "Noise", "Noise", "noise", "a noisy device or place", "from a device or a busy place",
     "the recording is noisy"),
    ("Silence", "Silence", "Silence", "silence", "nothing", "in a very quiet place or with a muted microphone",
     "nothing is making any sound, or the microphone is muted",
     "Check that the microphone or the audio source is working and not muted."),
)

LABELS: dict[str, Label] = {row[0]: Label(*row) for row in _ROWS}
FINE_LABELS = tuple(LABELS)
FINE_LABELS_BY_CATEGORY = {c: tuple(n for n, lab in LABELS.items() if lab.category == c) for c in CATEGORIES}
ANIMALS = FINE_LABELS_BY_CATEGORY["Animal"]


def label(name: str) -> Label:
    """The entry for ``name``; a KeyError names the table to extend."""
    if name not in LABELS:
        raise KeyError(f"{name!r} is not in train/builder/ontology.py; add it there")
    return LABELS[name]
