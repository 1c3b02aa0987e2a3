"""Figures of a GAN run: sample grids per checkpoint, the adversarial losses, class shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..training.callbacks import TrainingHistory
from .base import new_figure


def plot_sample_grid(
    samples: np.ndarray, image_shape: Sequence[int], columns: int = 10, title: str = ""
) -> Figure:  # noqa: F821
    """Generated objects (n, n_features) as rows of ``columns`` images, values in [0, 1]."""
    samples = np.asarray(samples)
    rows = max(1, int(np.ceil(len(samples) / columns)))
    figure = new_figure(0.7 * columns, 0.75 * rows + (0.3 if title else 0.0))
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    height, width = image_shape[-2], image_shape[-1]
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i < len(samples):
            image = samples[i].reshape(tuple(image_shape))
            image = image.mean(axis=0) if image.ndim == 3 else image
            ax.imshow(image.reshape(height, width), cmap="gray_r", vmin=0.0, vmax=1.0)
    if title:
        figure.suptitle(title, fontsize=9)
    return figure


def plot_adversarial_history(history: TrainingHistory, title: str = "GAN training") -> Figure:  # noqa: F821
    """Two panels against epoch: D's and G's losses; D's accuracy on real and on fake objects."""
    epochs = [log.epoch for log in history.epochs]
    figure = new_figure(7.0, 2.8)
    losses, accuracies = figure.subplots(1, 2)
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss")):
        losses.plot(epochs, [log.train[key] for log in history.epochs], label=label)
    for key, label in (("d_real_accuracy", "D on real"), ("d_fake_accuracy", "D on fake")):
        accuracies.plot(epochs, [log.train[key] for log in history.epochs], label=label)
    accuracies.set_ylim(0, 1.02)
    for ax, name in ((losses, "loss"), (accuracies, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=8)
    figure.suptitle(title, fontsize=9)
    return figure


def plot_class_shares(
    shares: Mapping[str, Sequence[float]],
    class_names: Sequence[str],
    title: str = "class shares of samples (judged by the classifier)",
) -> Figure:  # noqa: F821
    """Grouped bars: for each named sample set, the share of its samples per class."""
    names = list(shares)
    k = len(class_names)
    figure = new_figure(max(4.0, 0.5 * k * max(1, len(names)) / 2 + 2), 2.8)
    ax = figure.subplots()
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        ax.bar(np.arange(k) + i * width - 0.4 + width / 2, shares[name], width, label=name)
    ax.axhline(1.0 / k, color="grey", lw=0.8, ls=":")
    ax.set_xticks(range(k), [str(c) for c in class_names])
    ax.set_ylabel("share")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return figure
