"""Figures of a Kohonen map: U-matrix, density, hit map, component planes, class map.

Every function takes the arrays of ``unsup_core.competitive.maps`` and the map's ``Grid``;
rectangular grids are drawn as images, hexagonal ones as hexagon tilings, row 0 at the top.
Values are always read off a colour bar; classes off a legend; no text is written in cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..competitive.grid import Grid
from .base import (
    EMPTY_COLOUR,
    MAX_HEIGHT,
    class_colours,
    colour_patches,
    grid_shape,
    hexagon_patches,
    integer_colour_bar,
    new_figure,
    panel_grid,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PANELS_WIDTH = 8.6  # inches of a page's width given to a grid of small maps (10 less a bar)
MAX_PANEL_HEIGHT = 2.2  # inches: a tall map gets narrower, not taller
PLANE_COLUMNS = 6  # component planes per row
CLASS_COLUMNS = 5  # per-class hit maps per row
MIN_SHADE = 0.4  # opacity of a node whose objects are spread evenly over all classes


def map_aspect(grid: Grid) -> float:
    """Height / width of a drawn map of ``grid``."""
    if grid.topology == "rectangular":
        return grid.rows / grid.cols
    return (grid.rows * np.sqrt(3) / 2 + 1) / (grid.cols + 1.5)


def panels_height(grid: Grid, rows: int, columns: int, room: float = MAX_HEIGHT) -> float:
    """Inches for ``rows`` rows of ``columns`` titled small maps across the page, at most
    ``room`` (a map that does not fit gets narrower)."""
    panel = min(PANELS_WIDTH / columns * map_aspect(grid), MAX_PANEL_HEIGHT)
    return min(rows * (panel + 0.35), room)


def _hexagons(ax, grid: Grid):
    """Add a hexagon per node of ``grid`` to ``ax``; returns the collection to colour."""
    patches = hexagon_patches(grid.positions[:, ::-1], radius=1 / np.sqrt(3))  # (x, y)
    ax.add_collection(patches)
    ax.set_xlim(-1, grid.cols + 0.5)
    ax.set_ylim(grid.rows * np.sqrt(3) / 2, -1)
    ax.set_aspect("equal")
    return patches


def draw_map(ax, values: np.ndarray, grid: Grid, cmap: str = "viridis", vmin=None, vmax=None):
    """Draw one (rows, cols) map of values on ``ax`` (no ticks); returns the mappable for a
    colour bar."""
    values = np.asarray(values, dtype=float)
    ax.set_xticks([])
    ax.set_yticks([])
    if grid.topology == "rectangular":
        return ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    patches = _hexagons(ax, grid)
    patches.set_array(values.ravel())
    patches.set_cmap(cmap)
    patches.set_clim(vmin, vmax)
    return patches


def draw_colours(ax, colours: np.ndarray, grid: Grid) -> None:
    """Draw one (rows, cols, 4) map of RGBA node colours on ``ax`` (no ticks)."""
    ax.set_xticks([])
    ax.set_yticks([])
    if grid.topology == "rectangular":
        ax.imshow(colours, interpolation="nearest")
    else:
        _hexagons(ax, grid).set_facecolor(colours.reshape(-1, 4))


def label_map_axes(ax) -> None:
    """Name the axes of a map drawn on ``ax``: its columns and rows of nodes."""
    ax.set_xlabel("map column", fontsize=8)
    ax.set_ylabel("map row", fontsize=8)


def plot_map(
    values: np.ndarray, grid: Grid, title: str, cmap: str = "viridis", label: str = "value"
) -> Figure:
    """One (rows, cols) map of node values with a colour bar labelled ``label`` (integer
    ticks for integer values such as hits)."""
    values = np.asarray(values)
    figure = new_figure(4.8, float(np.clip(3.4 * map_aspect(grid), 2.4, 5.0)) + 0.8)
    ax = figure.subplots()
    mappable = draw_map(ax, values, grid, cmap)
    colour_bar = figure.colorbar(mappable, ax=ax, label=label or "value")
    if np.issubdtype(values.dtype, np.integer):  # counts, e.g. a hit map
        integer_colour_bar(colour_bar)
    label_map_axes(ax)
    ax.set_title(title, fontsize=10)
    return figure


def plot_component_planes(
    planes: np.ndarray,
    grid: Grid,
    feature_names: Sequence[str],
    max_planes: int = 36,
    columns: int = PLANE_COLUMNS,
) -> Figure:
    """One small map per feature j (the j-th weight component of every node), titled with the
    feature's name, in a grid of at most ``columns`` columns on one colour scale with a shared
    colour bar. With more than ``max_planes`` features, those that vary most across the map."""
    planes = np.asarray(planes, dtype=float)
    count = min(len(planes), max_planes)
    if count < len(planes):
        spread = np.ptp(planes.reshape(len(planes), -1), axis=1)
        shown = np.sort(np.argsort(-spread, kind="stable")[:count])
        title = f"component planes: the {count} of {len(planes)} features varying most"
    else:
        shown = np.arange(count)
        title = "component planes: node weight per feature"
    rows, used = grid_shape(count, columns)
    figure = new_figure(
        PANELS_WIDTH / columns * used + 1.4,
        panels_height(grid, rows, columns, MAX_HEIGHT - 0.8) + 0.8,
    )
    axes = panel_grid(figure, count, columns)
    low, high = float(planes[shown].min()), float(planes[shown].max())
    for ax, j in zip(axes, shown):
        mappable = draw_map(ax, planes[j], grid, "viridis", low, high)
        ax.set_title(str(feature_names[j])[:18], fontsize=7)
    figure.colorbar(mappable, ax=axes, label="weight (scaled feature value)", shrink=0.8)
    figure.suptitle(title, fontsize=10)
    figure.supxlabel("map column", fontsize=8)
    figure.supylabel("map row", fontsize=8)
    return figure


def class_colour_map(majority: np.ndarray, class_hits: np.ndarray) -> np.ndarray:
    """(rows, cols, 4) colours: each node its majority class's colour, blended towards white
    as its purity (share of its objects in that class) falls to 1/k; empty nodes grey."""
    k = len(class_hits)
    palette = class_colours(k)
    totals = class_hits.sum(axis=0)
    purity = class_hits.max(axis=0) / np.maximum(totals, 1)
    floor = 1.0 / k
    strength = (purity - floor) / (1 - floor) if k > 1 else np.ones_like(purity)
    shade = (MIN_SHADE + (1 - MIN_SHADE) * np.clip(strength, 0, 1))[..., None]
    colours = palette[np.clip(majority, 0, k - 1)]
    colours[..., :3] = 1 - shade * (1 - colours[..., :3])
    colours[majority < 0] = EMPTY_COLOUR
    return colours


def plot_label_overlay(
    majority: np.ndarray,
    class_hits: np.ndarray,
    grid: Grid,
    class_names: Sequence[str],
    max_classes: int = 10,
) -> Figure:
    """Classes on the map, in two parts. Top: every node coloured by its majority class (paler
    where the node is mixed, grey where it won nothing), with a legend of the class names.
    Bottom: one hit map per class (the first ``max_classes``) on a shared colour bar.

    ``majority`` is (rows, cols), -1 for empty nodes; ``class_hits`` (n_classes, rows, cols).
    """
    class_hits = np.asarray(class_hits)
    k = len(class_names)
    shown = min(k, max_classes)
    rows, _ = grid_shape(shown, CLASS_COLUMNS)
    top_height = float(np.clip(5.0 * map_aspect(grid), 2.5, 4.0)) + 0.7
    bottom_height = panels_height(grid, rows, CLASS_COLUMNS, MAX_HEIGHT - top_height - 0.9) + 0.9
    figure = new_figure(10.0, top_height + bottom_height)
    top, bottom = figure.subfigures(2, 1, height_ratios=[top_height, bottom_height])

    ax = top.subplots()
    draw_colours(ax, class_colour_map(np.asarray(majority), class_hits), grid)
    label_map_axes(ax)
    ax.set_title("majority class of each node (paler: mixed node; grey: empty)", fontsize=9)
    handles = colour_patches([*class_colours(k), EMPTY_COLOUR], [*map(str, class_names), "empty"])
    ax.legend(
        handles=handles,
        title="class",
        fontsize=7,
        title_fontsize=8,
        loc="center left",
        bbox_to_anchor=(1.02, 0.5),
        ncol=1 if k < 14 else 2,
    )

    axes = panel_grid(bottom, shown, CLASS_COLUMNS)
    high = max(1, int(class_hits[:shown].max())) if shown else 1
    for j, panel in enumerate(axes):
        mappable = draw_map(panel, class_hits[j], grid, "Greys", 0, high)
        panel.set_title(str(class_names[j])[:18], fontsize=8)
    if axes:
        colour_bar = bottom.colorbar(mappable, ax=axes, label="objects of the class won")
        integer_colour_bar(colour_bar)
    subset = "" if shown == k else f" (first {shown} of {k} classes)"
    bottom.suptitle(f"hits per class{subset}", fontsize=9)
    bottom.supxlabel("map column", fontsize=8)
    bottom.supylabel("map row", fontsize=8)
    figure.suptitle("classes on the map", fontsize=10)
    return figure
