"""Run metrics: a JSONL file, TensorBoard when installed, and a loss-curve PNG at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

METRICS_FILE = "metrics.jsonl"
LOSS_PLOT = "loss.png"
PLOT_SIZE = (800, 450)  # pixels
PLOT_MARGIN = 50


class MetricsLog:
    """Appends one JSON object per logged step; mirrors scalars to TensorBoard if available."""

    def __init__(self, output_dir: Path, enabled: bool = True) -> None:
        self.path = output_dir / METRICS_FILE
        self.enabled = enabled
        self._tb = _tensorboard(output_dir / "tensorboard") if enabled else None

    def write(self, record: dict[str, Any]) -> None:
        """Log one record (must contain ``step``)."""
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, record["step"])

    def truncate(self, step: int) -> None:
        """Forget records after ``step`` (a resumed run repeats the steps a killed run logged)."""
        if self.enabled and self.path.is_file():
            kept = [r for r in self.records() if r["step"] <= step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()

    def records(self) -> list[dict[str, Any]]:
        """Everything logged so far (including earlier, resumed parts of the run)."""
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


def plot_loss(records: list[dict[str, Any]], path: Path, title: str = "training loss") -> None:
    """Draw loss (and eval loss, if logged) against step as a PNG, with PIL only."""
    train = [(r["step"], r["loss"]) for r in records if "loss" in r]
    evals = [(r["step"], r["eval_loss"]) for r in records if "eval_loss" in r]
    image = Image.new("RGB", PLOT_SIZE, "white")
    draw = ImageDraw.Draw(image)
    points = train + evals
    if points:
        x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
        y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
        w, h = PLOT_SIZE[0] - 2 * PLOT_MARGIN, PLOT_SIZE[1] - 2 * PLOT_MARGIN

        def xy(step: float, loss: float) -> tuple[float, float]:
            return (PLOT_MARGIN + (step - x0) / max(x1 - x0, 1) * w,
                    PLOT_MARGIN + (1 - (loss - y0) / max(y1 - y0, 1e-9)) * h)

        draw.rectangle([PLOT_MARGIN, PLOT_MARGIN, PLOT_MARGIN + w, PLOT_MARGIN + h], outline="gray")
        for series, colour in ((train, "royalblue"), (evals, "darkorange")):
            if len(series) > 1:
                draw.line([xy(*p) for p in series], fill=colour, width=2)
            for p in series[-1:] if series else []:
                draw.ellipse([xy(*p)[0] - 3, xy(*p)[1] - 3, xy(*p)[0] + 3, xy(*p)[1] + 3], fill=colour)
        draw.text((PLOT_MARGIN, PLOT_MARGIN + h + 8), f"step {x0} .. {x1}", fill="black")
        draw.text((8, PLOT_MARGIN - 18), f"loss {y1:.3f} (top) .. {y0:.3f} (bottom)", fill="black")
        draw.text((PLOT_MARGIN + w - 230, 12), "blue: train   orange: held-out", fill="black")
    draw.text((PLOT_SIZE[0] // 2 - 60, 12), title, fill="black")
    image.save(path)


def _tensorboard(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(folder))
