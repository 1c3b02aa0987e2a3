"""Figures of a Kohonen map: U-matrix, density, hit map, component planes, label overlay.

Every function takes the arrays of ``unsup_core.competitive.maps`` and the map's ``Grid``;
rectangular grids are drawn as images, hexagonal ones as hexagon tilings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..competitive.grid import Grid
from .base import hexagon_patches, new_figure


def draw_map(ax, values: np.ndarray, grid: Grid, cmap: str = "viridis", vmin=None, vmax=None):
    """Draw one (rows, cols) map on ``ax``; returns the mappable for a colour bar."""
    values = np.asarray(values, dtype=float)
    ax.set_xticks([])
    ax.set_yticks([])
    if grid.topology == "rectangular":
        return ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    positions = grid.positions[:, ::-1]  # (x, y)
    patches = hexagon_patches(positions, radius=1 / np.sqrt(3))
    patches.set_array(values.ravel())
    patches.set_cmap(cmap)
    patches.set_clim(vmin, vmax)
    ax.add_collection(patches)
    ax.set_xlim(-1, grid.cols + 0.5)
    ax.set_ylim(grid.rows * np.sqrt(3) / 2, -1)
    ax.set_aspect("equal")
    return patches


def plot_map(
    values: np.ndarray, grid: Grid, title: str, cmap: str = "viridis", label: str = ""
) -> Figure:  # noqa: F821
    """One map with a colour bar."""
    figure = new_figure(4.2, 3.6)
    ax = figure.subplots()
    mappable = draw_map(ax, values, grid, cmap)
    figure.colorbar(mappable, ax=ax, label=label)
    ax.set_title(title)
    return figure


def plot_component_planes(
    planes: np.ndarray,
    grid: Grid,
    feature_names: Sequence[str],
    max_planes: int = 64,
    columns: int = 8,
) -> Figure:  # noqa: F821
    """One small map per feature (the j-th weight component), titled with the feature's name."""
    count = min(len(planes), max_planes)
    columns = min(columns, count)
    rows = int(np.ceil(count / columns))
    figure = new_figure(1.6 * columns, 1.7 * rows)
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for j, ax in enumerate(axes):
        if j >= count:
            ax.set_axis_off()
            continue
        draw_map(ax, planes[j], grid, "coolwarm")
        ax.set_title(str(feature_names[j])[:18], fontsize=7)
    if count < len(planes):
        figure.suptitle(f"component planes (first {count} of {len(planes)} features)", fontsize=9)
    return figure


def plot_label_overlay(
    majority: np.ndarray,
    class_hits: np.ndarray,
    grid: Grid,
    class_names: Sequence[str],
    max_classes: int = 10,
) -> Figure:  # noqa: F821
    """The majority label of each node (empty nodes blank), then one hit map per class."""
    shown = min(len(class_names), max_classes)
    figure = new_figure(2.2 * (shown + 1), 2.6)
    axes = figure.subplots(1, shown + 1, squeeze=False)[0]
    masked = np.where(majority < 0, np.nan, majority)
    draw_map(
        axes[0],
        masked,
        grid,
        "tab10" if len(class_names) <= 10 else "tab20",
        0,
        max(len(class_names) - 1, 1),
    )
    axes[0].set_title("majority label", fontsize=8)
    if grid.topology == "rectangular":
        for (r, c), label in np.ndenumerate(majority):
            if label >= 0:
                axes[0].text(
                    c, r, str(class_names[label])[:3], ha="center", va="center", fontsize=5
                )
    for k in range(shown):
        draw_map(axes[k + 1], class_hits[k], grid, "Greys")
        axes[k + 1].set_title(f"hits: {class_names[k]}", fontsize=8)
    return figure
