"""The one place that imports matplotlib (lazily): a Figure factory, no pyplot state."""

from __future__ import annotations


def new_figure(width: float, height: float):
    """A constrained-layout ``matplotlib.figure.Figure`` (object API, safe in any thread)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def hexagon_patches(centres, radius: float):
    """A PatchCollection of pointy-top hexagons at ``centres`` (x, y)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import RegularPolygon

    return PatchCollection(
        [RegularPolygon(tuple(c), numVertices=6, radius=radius) for c in centres]
    )
