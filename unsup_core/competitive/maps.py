"""Arrays people read off a Kohonen map (drawing lives in ``unsup_core.plotting``).

All maps are (rows, cols) arrays, one value per node, except the component planes
(n_features, rows, cols) and the per-class hit maps (n_classes, rows, cols).
"""

from __future__ import annotations

import numpy as np

from .distances import best_matching
from .grid import Grid


def u_matrix(W: np.ndarray, grid: Grid, connectivity: int | None = None) -> np.ndarray:
    """Unified distance matrix: each node's mean Euclidean distance to its grid neighbours'
    weights. High ridges separate clusters."""
    neighbours = grid.neighbour_lists(connectivity)
    valid = neighbours >= 0
    diff = W[:, None, :] - W[np.where(valid, neighbours, 0)]
    distance = np.sqrt(np.einsum("kmd,kmd->km", diff, diff))
    return ((distance * valid).sum(1) / valid.sum(1)).reshape(grid.shape)


def hit_map(winners: np.ndarray, grid: Grid) -> np.ndarray:
    """How many objects each node wins."""
    return np.bincount(winners, minlength=grid.n_nodes).reshape(grid.shape)


def density_map(
    X: np.ndarray, W: np.ndarray, grid: Grid, k: int = 5, metric: str = "euclidean"
) -> np.ndarray:
    """For each node, the mean distance to its k nearest training objects (the classic
    definition: low values = dense regions of the data)."""
    if not 1 <= k <= len(X):
        raise ValueError(f"k={k} must lie in [1, n_samples={len(X)}]")
    _, distance = best_matching(W, X, metric, k=k)  # nodes as queries, objects as prototypes
    return distance.mean(axis=1).reshape(grid.shape)


def component_planes(W: np.ndarray, grid: Grid) -> np.ndarray:
    """(n_features, rows, cols): plane j colours node (m, h) by the j-th weight component."""
    return W.T.reshape(W.shape[1], *grid.shape).copy()


def class_hit_maps(winners: np.ndarray, y: np.ndarray, grid: Grid, n_classes: int) -> np.ndarray:
    """(n_classes, rows, cols): one hit map per class."""
    table = np.zeros((n_classes, grid.n_nodes), dtype=np.int64)
    np.add.at(table, (y, winners), 1)
    return table.reshape(n_classes, *grid.shape)


def majority_labels(winners: np.ndarray, y: np.ndarray, grid: Grid, n_classes: int) -> np.ndarray:
    """(rows, cols) majority class of the objects each node wins; -1 for empty nodes."""
    hits = class_hit_maps(winners, y, grid, n_classes).reshape(n_classes, -1)
    labels = hits.argmax(axis=0)
    labels[hits.sum(axis=0) == 0] = -1
    return labels.reshape(grid.shape)
