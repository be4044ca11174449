"""Every source of recordings the builder knows, and how to find out which are installed.

One module per source family; ``SOURCES`` lists them in a fixed order. ``available()``
splits them into present and missing (with the packages that would install them), and
``install_command()`` says what to run.
"""

from __future__ import annotations

from train.builder.sources import animals, arcade, asterisk, espeak, games, gm, hedgewars, openttd, sonicpi, sox, themes, tts
from train.builder.sources import field, strategy, tuxpaint
from train.builder.sources.base import SAMPLE_RATE, DataSourceError, Recording, Source, render

SOURCES: tuple[Source, ...] = (
    animals.SOURCE, asterisk.SOURCE, sonicpi.SOURCE, espeak.SOURCE, sox.SOURCE, gm.SOURCE, *tts.SOURCES,
    tuxpaint.SOURCE, hedgewars.SOURCE, openttd.SOURCE, *themes.SOURCES, *games.SOURCES, *strategy.SOURCES,
    *arcade.SOURCES, *field.SOURCES,
)
BY_NAME = {s.name: s for s in SOURCES}
CORE = ("animals", "asterisk", "sonicpi", "espeak", "sox")  # what a CI machine has; the tiny build needs these


def available(names: tuple[str, ...] | None = None) -> tuple[list[Source], dict[str, list[str]]]:
    """(present sources, {missing source: what is missing}) among ``names`` (default: all)."""
    present, missing = [], {}
    for source in SOURCES:
        if names is not None and source.name not in names:
            continue
        gone = source.missing()
        if gone:
            missing[source.name] = gone
        else:
            present.append(source)
    return present, missing


def install_command(names: list[str]) -> str:
    """The apt-get / pip lines that install the packages of the named sources."""
    apt = sorted({p for n in names for p in BY_NAME[n].apt})
    pip = sorted({p for n in names for p in BY_NAME[n].pip})
    lines = []
    if apt:
        lines.append("apt-get install -y --no-install-recommends " + " ".join(apt))
    if pip:
        lines.append("pip install --no-deps " + " ".join(pip))
    return "; ".join(lines)


__all__ = ["SAMPLE_RATE", "SOURCES", "BY_NAME", "CORE", "DataSourceError", "Recording", "Source", "available",
           "install_command", "render"]
