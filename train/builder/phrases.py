"""Short sentences in six languages for espeak-ng, with an English gloss for each.

Every sentence is subject + predicate + time, taken from parallel slot tables: index i
means the same thing in every language, so the English table glosses any sentence.
Subjects are third-person singular and predicates agree with any of them, so every one
of the 8 x 8 x 5 = 320 combinations per language is grammatical. German puts the time
between the verb and the rest of the predicate (verb-second order).
"""

from __future__ import annotations

# espeak-ng voice for each language label (labels.LANGUAGES).
ESPEAK_VOICES = {
    "English": "en-us",
    "Spanish": "es",
    "French": "fr",
    "German": "de",
    "Italian": "it",
    "Portuguese": "pt",
}

SUBJECTS = {
    "English": ["My sister", "The old man", "Our teacher", "The little girl", "A neighbour", "The doctor",
                "My friend", "The baker"],
    "Spanish": ["Mi hermana", "El anciano", "Nuestro profesor", "La niña", "Un vecino", "El médico",
                "Mi amigo", "El panadero"],
    "French": ["Ma sœur", "Le vieil homme", "Notre professeur", "La petite fille", "Un voisin", "Le médecin",
               "Mon ami", "Le boulanger"],
    "German": ["Meine Schwester", "Der alte Mann", "Unser Lehrer", "Das kleine Mädchen", "Ein Nachbar",
               "Der Arzt", "Mein Freund", "Der Bäcker"],
    "Italian": ["Mia sorella", "Il vecchio", "Il nostro insegnante", "La bambina", "Un vicino", "Il medico",
                "Il mio amico", "Il fornaio"],
    "Portuguese": ["A minha irmã", "O velho", "O nosso professor", "A menina", "Um vizinho", "O médico",
                   "O meu amigo", "O padeiro"],
}

PREDICATES = {
    "English": ["waits outside", "reads a book", "arrives late", "opens the window", "drinks hot coffee",
                "walks to the market", "plays the piano", "works a lot"],
    "Spanish": ["espera fuera", "lee un libro", "llega tarde", "abre la ventana", "bebe café caliente",
                "camina al mercado", "toca el piano", "trabaja mucho"],
    "French": ["attend dehors", "lit un livre", "arrive en retard", "ouvre la fenêtre", "boit un café chaud",
               "marche jusqu'au marché", "joue du piano", "travaille beaucoup"],
    # (verb, rest): the time goes between them
    "German": [("wartet", "draußen"), ("liest", "ein Buch"), ("kommt", "spät an"), ("öffnet", "das Fenster"),
               ("trinkt", "heißen Kaffee"), ("geht", "zum Markt"), ("spielt", "Klavier"), ("arbeitet", "viel")],
    "Italian": ["aspetta fuori", "legge un libro", "arriva in ritardo", "apre la finestra", "beve un caffè caldo",
                "cammina verso il mercato", "suona il pianoforte", "lavora molto"],
    "Portuguese": ["espera lá fora", "lê um livro", "chega tarde", "abre a janela", "bebe café quente",
                   "caminha para o mercado", "toca piano", "trabalha muito"],
}

TIMES = {
    "English": ["today", "every morning", "tomorrow", "in the evening", "right now"],
    "Spanish": ["hoy", "cada mañana", "mañana", "por la tarde", "ahora mismo"],
    "French": ["aujourd'hui", "chaque matin", "demain", "le soir", "en ce moment"],
    "German": ["heute", "jeden Morgen", "morgen", "am Abend", "gerade"],
    "Italian": ["oggi", "ogni mattina", "domani", "la sera", "adesso"],
    "Portuguese": ["hoje", "todas as manhãs", "amanhã", "à noite", "agora"],
}

NUM_SENTENCES = len(SUBJECTS["English"]) * len(PREDICATES["English"]) * len(TIMES["English"])


def sentence(language: str, index: int) -> str:
    """Sentence number ``index`` (0 <= index < NUM_SENTENCES) in ``language``, capitalised, with a full stop."""
    if not 0 <= index < NUM_SENTENCES:
        raise IndexError(f"sentence index {index} outside 0..{NUM_SENTENCES - 1}")
    n_pred, n_time = len(PREDICATES[language]), len(TIMES[language])
    s, rest = divmod(index, n_pred * n_time)
    p, t = divmod(rest, n_time)
    subject, predicate, time = SUBJECTS[language][s], PREDICATES[language][p], TIMES[language][t]
    if isinstance(predicate, tuple):
        verb, tail = predicate
        text = f"{subject} {verb} {time} {tail}"
    else:
        text = f"{subject} {predicate} {time}"
    return text[0].upper() + text[1:] + "."


def gloss(index: int) -> str:
    """The English meaning of sentence ``index`` in any language."""
    return sentence("English", index)
