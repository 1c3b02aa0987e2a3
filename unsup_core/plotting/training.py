"""Figures of training runs: loss curves and reconstructions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..training.callbacks import TrainingHistory
from .base import new_figure


def plot_loss_curves(history: TrainingHistory, title: str = "training") -> Figure:  # noqa: F821
    """One panel per loss term: train (solid) and validation (dashed) against epoch."""
    terms = sorted(
        {key.split("/", 1)[1] for log in history.epochs for key in log.metrics() if "/" in key}
    )
    terms = ["loss"] + [t for t in terms if t != "loss"]
    figure = new_figure(3.2 * len(terms), 2.8)
    axes = figure.subplots(1, len(terms), squeeze=False)[0]
    epochs = [log.epoch for log in history.epochs]
    for ax, term in zip(axes, terms):
        for phase, style in (("train", "-"), ("val", "--")):
            values = [log.metrics().get(f"{phase}/{term}") for log in history.epochs]
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, label=phase)
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="grey", lw=0.8, ls=":")
        ax.set_title(term)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    figure.suptitle(title)
    return figure


def plot_reconstructions(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    image_shape: Sequence[int],
    n: int = 10,
    title: str = "originals (top) and reconstructions (bottom)",
) -> Figure:  # noqa: F821
    """Two rows of images: ``n`` originals above their reconstructions."""
    n = min(n, len(originals))
    height, width = image_shape[-2], image_shape[-1]
    figure = new_figure(1.0 * n, 2.2)
    axes = figure.subplots(2, n, squeeze=False)
    low, high = float(originals.min()), float(originals.max())
    for i in range(n):
        for row, images in enumerate((originals, reconstructions)):
            image = images[i].reshape(tuple(image_shape))
            if image.ndim == 3:  # (channels, h, w): show the channel mean
                image = image.mean(axis=0)
            axes[row, i].imshow(image.reshape(height, width), cmap="gray_r", vmin=low, vmax=high)
            axes[row, i].set_axis_off()
    figure.suptitle(title, fontsize=9)
    return figure


def plot_accuracy_curve(
    summary: Sequence[dict], title: str = "target accuracy vs labels"
) -> Figure:  # noqa: F821
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
    ax.legend(fontsize=8)
    return figure
