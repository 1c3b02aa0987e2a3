"""Figures of learned codes and generated objects: code scatter, image grids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .base import EMPTY_COLOUR, MAX_WIDTH, class_colours, new_figure, panel_grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure

IMAGE_SIDE = 0.8  # inches per image in a grid


def project_2d(codes: np.ndarray) -> np.ndarray:
    """The codes themselves if 2-D, else their projection on the first two principal axes."""
    if codes.shape[1] <= 2:
        return np.pad(codes, ((0, 0), (0, 2 - codes.shape[1])))
    centred = codes - codes.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot_code_scatter(
    codes: np.ndarray, labels: np.ndarray | None, class_names: Sequence[str] | None, title: str
) -> Figure:
    """Codes (n, d) as points in 2-D (first two principal axes when d > 2), one colour per
    class with a legend of the class names beside the axes (labels outside the classes in
    grey, as "other")."""
    points = project_2d(np.asarray(codes, dtype=float))
    figure = new_figure(4.4 if labels is None else 5.8, 3.8)
    ax = figure.subplots()
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.6)
    else:
        labels = np.asarray(labels)
        classes = np.arange(len(class_names)) if class_names is not None else np.unique(labels)
        names = class_names if class_names is not None else [str(c) for c in classes]
        for colour, k, name in zip(class_colours(len(classes)), classes, names):
            mask = labels == k
            if mask.any():
                ax.scatter(*points[mask].T, s=4, color=colour, alpha=0.7, label=str(name))
        other = ~np.isin(labels, classes)  # e.g. -1 for unlabelled objects
        if other.any():
            ax.scatter(*points[other].T, s=4, color=EMPTY_COLOUR, alpha=0.7, label="other")
        ax.legend(
            title="class",
            fontsize=7,
            title_fontsize=7,
            markerscale=2,
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            ncol=1 if len(classes) <= 12 else 2,
        )
    axis = "code" if codes.shape[1] <= 2 else "principal axis of codes"
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.set_title(title, fontsize=9)
    return figure


def plot_image_grid(
    images: np.ndarray,
    image_shape: Sequence[int],
    columns: int = 10,
    title: str = "images",
    vmax: float | None = None,
) -> Figure:
    """Images (n, n_features) in rows of ``columns`` (at most what fits the page width), grey
    scale from 0 to ``vmax`` (default: max(1, the image's maximum)); channels are averaged."""
    images = np.asarray(images)
    columns = max(1, min(columns, len(images), int(MAX_WIDTH // IMAGE_SIDE)))
    rows = max(1, -(-len(images) // columns))
    figure = new_figure(max(IMAGE_SIDE * columns, 2.5), (IMAGE_SIDE + 0.05) * rows + 0.35)
    height, width = image_shape[-2], image_shape[-1]
    for ax, image in zip(panel_grid(figure, len(images), columns), images):
        ax.set_axis_off()
        image = image.reshape(tuple(image_shape))
        image = image.mean(axis=0) if image.ndim == 3 else image
        top = max(1.0, float(image.max())) if vmax is None else vmax
        ax.imshow(image.reshape(height, width), cmap="gray_r", vmin=0, vmax=top)
    figure.suptitle(title or "images", fontsize=9)
    return figure
