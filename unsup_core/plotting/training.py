"""Figures of training runs: loss curves, reconstructions and transfer accuracy curves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..training.callbacks import TrainingHistory
from .base import MAX_WIDTH, integer_epochs, new_figure, panel_grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LOSS_COLUMNS = 3  # loss panels per row


def plot_loss_curves(history: TrainingHistory, title: str = "training") -> Figure:
    """One panel per loss term (``loss`` first), in rows of at most three: train (solid) and
    validation (dashed) against epoch, the best epoch dotted."""
    terms = sorted(
        {key.split("/", 1)[1] for log in history.epochs for key in log.metrics() if "/" in key}
    )
    terms = ["loss"] + [t for t in terms if t != "loss"]
    columns = min(LOSS_COLUMNS, len(terms))
    rows = -(-len(terms) // columns)
    figure = new_figure(max(3.2 * columns, 4.5), 2.6 * rows + 0.3)
    epochs = [log.epoch for log in history.epochs]
    for ax, term in zip(panel_grid(figure, len(terms), LOSS_COLUMNS), terms):
        for phase, style in (("train", "-"), ("val", "--")):
            values = [log.metrics().get(f"{phase}/{term}") for log in history.epochs]
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, marker=".", label=phase)
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="grey", lw=0.8, ls=":", label="best epoch")
        ax.set_title(term, fontsize=9)
        integer_epochs(ax, epochs)
        ax.set_ylabel(term)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    return figure


def plot_reconstructions(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    image_shape: Sequence[int],
    n: int = 10,
    title: str = "originals (top) and reconstructions (bottom)",
) -> Figure:
    """Two rows of images on one grey scale: ``n`` originals (row "original") above their
    reconstructions (row "reconstruction"); channels are averaged."""
    n = max(1, min(n, len(originals), int((MAX_WIDTH - 0.6) // 0.85)))
    height, width = image_shape[-2], image_shape[-1]
    figure = new_figure(0.85 * n + 0.6, 2.2)
    axes = figure.subplots(2, n, squeeze=False)
    low, high = float(originals.min()), float(originals.max())
    for row, (images, name) in enumerate(
        ((originals, "original"), (reconstructions, "reconstruction"))
    ):
        for i in range(n):
            image = images[i].reshape(tuple(image_shape))
            if image.ndim == 3:  # (channels, h, w): show the channel mean
                image = image.mean(axis=0)
            ax = axes[row, i]
            ax.imshow(image.reshape(height, width), cmap="gray_r", vmin=low, vmax=high)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(name, fontsize=8)
    figure.suptitle(title, fontsize=9)
    return figure


def plot_accuracy_curve(
    summary: Sequence[dict], title: str = "target accuracy vs labels"
) -> Figure:
    """Mean test accuracy (+- std over label draws) against labels per class, one line per mode;
    ``labels_per_class == 0`` (all labels) is drawn as the last tick, "all"."""
    budgets = sorted({row["labels_per_class"] for row in summary}, key=lambda k: (k == 0, k))
    position = {k: i for i, k in enumerate(budgets)}
    figure = new_figure(5.0, 3.4)
    ax = figure.subplots()
    for mode in sorted({row["mode"] for row in summary}):
        rows = sorted(
            (r for r in summary if r["mode"] == mode), key=lambda r: position[r["labels_per_class"]]
        )
        ax.errorbar(
            [position[r["labels_per_class"]] for r in rows],
            [r["accuracy"] for r in rows],
            yerr=[r.get("accuracy_std", 0.0) for r in rows],
            marker="o",
            capsize=3,
            label=mode,
        )
    ax.set_xticks(range(len(budgets)), [str(k) if k else "all" for k in budgets])
    ax.set_xlabel("labels per class")
    ax.set_ylabel("test accuracy")
    ax.set_title(title, fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title="mode", fontsize=8, title_fontsize=8)
    return figure
