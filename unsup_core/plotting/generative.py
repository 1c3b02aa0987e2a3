"""Figures of a GAN run: sample grids per checkpoint, the adversarial losses, class shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..training.callbacks import TrainingHistory
from .base import integer_epochs, new_figure
from .codes import plot_image_grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_sample_grid(
    samples: np.ndarray,
    image_shape: Sequence[int],
    columns: int = 10,
    title: str = "samples of the generator",
) -> Figure:
    """Generated objects (n, n_features) as rows of ``columns`` images, grey scale on [0, 1]."""
    return plot_image_grid(samples, image_shape, columns, title or "samples of the generator", 1.0)


def plot_adversarial_history(history: TrainingHistory, title: str = "GAN training") -> Figure:
    """Two panels against epoch (integer ticks): D's and G's losses; D's accuracy on real and
    on fake objects, with the 0.5 of a discriminator that cannot tell them apart."""
    epochs = [log.epoch for log in history.epochs]
    figure = new_figure(8.0, 3.0)
    losses, accuracies = figure.subplots(1, 2)
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss")):
        losses.plot(epochs, [log.train[key] for log in history.epochs], marker=".", label=label)
    for key, label in (("d_real_accuracy", "D on real"), ("d_fake_accuracy", "D on fake")):
        accuracies.plot(epochs, [log.train[key] for log in history.epochs], marker=".", label=label)
    accuracies.axhline(0.5, color="grey", lw=0.8, ls=":", label="chance")
    accuracies.set_ylim(0, 1.02)
    for ax, name, unit in (
        (losses, "losses", "loss (mean over the epoch)"),
        (accuracies, "discriminator accuracy", "share classified correctly"),
    ):
        integer_epochs(ax, epochs)
        ax.set_ylabel(unit)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    return figure


def plot_class_shares(
    shares: Mapping[str, Sequence[float]],
    class_names: Sequence[str],
    title: str = "class shares of samples (judged by the classifier)",
) -> Figure:
    """Grouped bars: for each named sample set, the share of its samples per class; a dotted
    line at the uniform share 1/k."""
    names = list(shares)
    k = len(class_names)
    figure = new_figure(min(10.0, max(4.5, 0.25 * k * max(1, len(names)) + 2)), 3.0)
    ax = figure.subplots()
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        ax.bar(np.arange(k) + i * width - 0.4 + width / 2, shares[name], width, label=name)
    ax.axhline(1.0 / k, color="grey", lw=0.8, ls=":", label=f"uniform (1/{k})")
    rotate = k > 12 or max((len(str(c)) for c in class_names), default=0) > 6
    ax.set_xticks(
        range(k),
        [str(c) for c in class_names],
        rotation=45 if rotate else 0,
        ha="right" if rotate else "center",
        fontsize=7 if k > 20 else None,
    )
    ax.set_xlabel("class")
    ax.set_ylabel("share of samples")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return figure
