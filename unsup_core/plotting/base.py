"""The one place that imports matplotlib (lazily): a Figure factory, no pyplot state, and the
small helpers every figure shares (page width, panel grids, integer epoch ticks, class colours).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_WIDTH = 10.0  # inches: 900 px at the pipelines' dpi=90, fits a modal and a page
MAX_HEIGHT = 10.0  # inches a grid of panels may take (a page less its margins)
MAX_COLUMNS = 5  # panels per row before a strip wraps into a grid
EMPTY_COLOUR = (0.83, 0.83, 0.83, 1.0)  # nodes that won no object
NAVY, LIGHT_NAVY = (0.12, 0.12, 0.5, 1.0), (0.55, 0.55, 0.85, 1.0)  # stand-ins for tab greys


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout ``matplotlib.figure.Figure`` (object API, safe in any thread),
    at most ``MAX_WIDTH`` inches wide."""
    from matplotlib.figure import Figure

    return Figure(figsize=(min(width, MAX_WIDTH), height), layout="constrained")


def grid_shape(count: int, max_columns: int = MAX_COLUMNS) -> tuple[int, int]:
    """(rows, columns) of a grid of ``count`` panels, at most ``max_columns`` per row."""
    columns = max(1, min(count, max_columns))
    return max(1, -(-count // columns)), columns


def panel_grid(figure, count: int, max_columns: int = MAX_COLUMNS) -> list[Axes]:
    """``count`` axes in a grid of at most ``max_columns`` columns on ``figure`` (or subfigure);
    the spare cells of the last row are hidden."""
    rows, columns = grid_shape(count, max_columns)
    axes = list(figure.subplots(rows, columns, squeeze=False).ravel())
    for ax in axes[count:]:
        ax.set_visible(False)
    return axes[:count]


def integer_epochs(ax: Axes, epochs: Sequence[int]) -> None:
    """Label the x axis "epoch" with integer ticks, also on runs of one to a few epochs."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(epochs) == 1:
        ax.set_xlim(epochs[0] - 1, epochs[0] + 1)


def class_colours(n: int) -> np.ndarray:
    """(n, 4) RGBA colours, one per class: tab10 (up to 10), tab20 (up to 20) with their greys
    replaced by navy, so that no class looks like an empty node; a sampled rainbow beyond."""
    from matplotlib import colormaps

    if n > 20:
        return colormaps["gist_rainbow"](np.linspace(0, 1, n))
    if n <= 10:
        colours = colormaps["tab10"](np.arange(10))
        colours[7] = NAVY
    else:
        colours = colormaps["tab20"](np.arange(20))
        colours[14], colours[15] = NAVY, LIGHT_NAVY
    return colours[:n]


def integer_colour_bar(colour_bar) -> None:
    """Integer ticks on a colour bar of counts."""
    from matplotlib.ticker import MaxNLocator

    colour_bar.locator = MaxNLocator(integer=True)
    colour_bar.update_ticks()


def colour_patches(colours: Sequence, names: Sequence[str]) -> list:
    """Legend handles: one filled square per (colour, name)."""
    from matplotlib.patches import Patch

    return [Patch(facecolor=c, edgecolor="none", label=str(n)) for c, n in zip(colours, names)]


def hexagon_patches(centres, radius: float):
    """A PatchCollection of pointy-top hexagons at ``centres`` (x, y)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import RegularPolygon

    return PatchCollection(
        [RegularPolygon(tuple(c), numVertices=6, radius=radius) for c in centres]
    )
