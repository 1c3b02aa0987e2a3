"""Figures of learned codes and generated objects: code scatter, image grids."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import new_figure


def project_2d(codes: np.ndarray) -> np.ndarray:
    """The codes themselves if 2-D, else their projection on the first two principal axes."""
    if codes.shape[1] <= 2:
        return np.pad(codes, ((0, 0), (0, 2 - codes.shape[1])))
    centred = codes - codes.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot_code_scatter(
    codes: np.ndarray, labels: np.ndarray | None, class_names: Sequence[str] | None, title: str
) -> Figure:  # noqa: F821
    """Codes in 2-D (first two principal axes when wider), coloured by label."""
    points = project_2d(np.asarray(codes, dtype=float))
    figure = new_figure(4.4, 3.8)
    ax = figure.subplots()
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.6)
    else:
        cmap = "tab10" if class_names is None or len(class_names) <= 10 else "tab20"
        scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, s=4, cmap=cmap, alpha=0.7)
        handles, _ = scatter.legend_elements(num=None)
        names = class_names if class_names is not None else [str(c) for c in np.unique(labels)]
        ax.legend(
            handles,
            [str(n) for n in names][: len(handles)],
            fontsize=6,
            markerscale=0.6,
            loc="best",
            ncol=2,
        )
    axis = "code" if codes.shape[1] <= 2 else "principal axis of codes"
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.set_title(title, fontsize=9)
    return figure


def plot_image_grid(
    images: np.ndarray, image_shape: Sequence[int], columns: int = 10, title: str = ""
) -> Figure:  # noqa: F821
    """Rows of images (e.g. samples from a generative model, or an interpolation strip)."""
    images = np.asarray(images)
    rows = int(np.ceil(len(images) / columns))
    figure = new_figure(0.8 * columns, 0.85 * rows + 0.3)
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    height, width = image_shape[-2], image_shape[-1]
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i < len(images):
            image = images[i].reshape(tuple(image_shape))
            image = image.mean(axis=0) if image.ndim == 3 else image
            ax.imshow(
                image.reshape(height, width), cmap="gray_r", vmin=0, vmax=max(1.0, image.max())
            )
    if title:
        figure.suptitle(title, fontsize=9)
    return figure
