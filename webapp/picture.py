"""A picture of a clip: its log-mel spectrogram, with the part the model does not hear marked.

Drawn with NumPy and Pillow (no plotting library). Time runs left to right over the whole
original recording; when the decoder cut the clip at ``max_seconds``, the part after the
cut is shown as a hatched band labelled "not heard".
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ltu.audio.decode import Audio
from ltu.audio.features import kaldi_fbank
from ltu.config import FrontEndConfig

WIDTH, HEIGHT = 720, 160  # pixels of the spectrogram area
AXIS = 24  # pixels below it for the time axis
MEL_BINS = 128  # rows of the picture (the paper's filter bank)
DYNAMIC_RANGE = 12.0  # natural-log units of power shown below the loudest value (about 52 dB)
# Colour map from quiet to loud (dark blue -> purple -> orange -> pale yellow).
_ANCHORS = np.array([[8, 8, 32], [60, 15, 110], [150, 40, 120], [225, 90, 70], [250, 180, 60], [252, 250, 190]],
                    dtype=np.float64)
_BACKGROUND = (255, 255, 255)
_INK = (60, 60, 60)
_CUT_FILL = (215, 215, 215)
_CUT_HATCH = (170, 170, 170)
_CUT_LINE = (220, 40, 40)


def spectrogram_image(audio: Audio) -> Image.Image:
    """The clip's log-mel spectrogram over its original duration, with any cut-off part marked."""
    info = audio.info
    total = max(info.source_seconds, audio.seconds)
    heard_px = WIDTH if not info.truncated or total <= 0 else max(1, round(WIDTH * audio.seconds / total))
    image = Image.new("RGB", (WIDTH, HEIGHT + AXIS), _BACKGROUND)
    image.paste(_colour(_log_mel(audio), heard_px), (0, 0))
    font = _font()
    if heard_px < WIDTH:
        _mark_cut(image, heard_px, audio.seconds, font)
    _time_axis(ImageDraw.Draw(image), total, font)
    return image


def _log_mel(audio: Audio) -> np.ndarray:
    """Log-mel power, [MEL_BINS, frames], lowest frequency in row 0."""
    config = FrontEndConfig(sample_rate=audio.sample_rate, num_mel_bins=MEL_BINS)
    fbank = kaldi_fbank(torch.from_numpy(audio.samples), config)  # (F, M)
    return fbank.numpy().T


def _colour(mel: np.ndarray, width: int) -> Image.Image:
    """Map log power to colours and scale to ``width`` x HEIGHT, low frequencies at the bottom."""
    top = float(mel.max())
    level = np.clip((mel - (top - DYNAMIC_RANGE)) / DYNAMIC_RANGE, 0.0, 1.0)[::-1]  # (M, F), high rows first
    position = level * (len(_ANCHORS) - 1)
    low = np.minimum(position.astype(int), len(_ANCHORS) - 2)
    frac = (position - low)[..., None]
    rgb = _ANCHORS[low] * (1 - frac) + _ANCHORS[low + 1] * frac  # (M, F, 3)
    picture = Image.fromarray(rgb.round().astype(np.uint8), "RGB")
    return picture.resize((width, HEIGHT), Image.Resampling.BILINEAR)


def _mark_cut(image: Image.Image, x: int, heard_seconds: float, font: ImageFont.ImageFont) -> None:
    """Hatch the part after ``x`` (not heard) and label the cut."""
    band = Image.new("RGB", (WIDTH - x, HEIGHT), _CUT_FILL)
    hatch = ImageDraw.Draw(band)
    for start in range(-HEIGHT, band.width, 14):  # diagonal lines, clipped to the band
        hatch.line([(start, HEIGHT - 1), (start + HEIGHT, 0)], fill=_CUT_HATCH, width=1)
    image.paste(band, (x, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(x, 0), (x, HEIGHT - 1)], fill=_CUT_LINE, width=3)
    label = f"not heard\n(cut at {heard_seconds:g} s)"
    box = draw.multiline_textbbox((0, 0), label, font=font)
    width = box[2] - box[0]
    left = x + 8 if x + 8 + width <= WIDTH - 4 else x - 8 - width  # inside the band when it fits
    draw.rectangle(draw.multiline_textbbox((left, 8), label, font=font), fill=_BACKGROUND)
    draw.multiline_text((left, 8), label, fill=_CUT_LINE, font=font)


def _time_axis(draw: ImageDraw.ImageDraw, seconds: float, font: ImageFont.ImageFont) -> None:
    step = _tick_step(seconds)
    tick = 0.0
    while tick <= seconds + 1e-9:
        x = min(WIDTH - 1, round(WIDTH * tick / seconds)) if seconds > 0 else 0
        draw.line([(x, HEIGHT), (x, HEIGHT + 4)], fill=_INK)
        label = f"{tick:g} s"
        width = draw.textlength(label, font=font)
        draw.text((min(max(0, x - width / 2), WIDTH - width), HEIGHT + 6), label, fill=_INK, font=font)
        tick += step


def _tick_step(seconds: float) -> float:
    """A round tick interval giving at most about 10 ticks."""
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if seconds / step <= 10:
            return float(step)
    return 1200.0


def _font() -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=15)
    except TypeError:  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()
