"""Quality measures of a Kohonen map.

quantisation error  QE = 1/N sum_i rho(x_i, w_{c(x_i)})       (mean distance to the best node)
topographic error   TE = 1/N sum_i [first and second best nodes of x_i are not adjacent]
purity              1/N sum_nodes max_class |{i: c(x_i) = node, y_i = class}|
"""

from __future__ import annotations

import numpy as np

from .distances import best_matching
from .grid import Grid


def quantization_error(X: np.ndarray, W: np.ndarray, metric: str = "euclidean") -> float:
    _, distance = best_matching(X, W, metric)
    return float(distance.mean())


def topographic_error(
    X: np.ndarray,
    W: np.ndarray,
    grid: Grid,
    connectivity: int | None = None,
    metric: str = "euclidean",
) -> float:
    """Share of objects whose two best-matching nodes are not neighbours on the grid.

    Rectangular grids: ``connectivity=8`` counts diagonal nodes as neighbours (MiniSom's
    convention), ``4`` only edge-sharing ones; hexagonal grids have 6 neighbours.
    """
    if grid.n_nodes < 2:
        raise ValueError("the topographic error needs at least 2 nodes")
    best_two, _ = best_matching(X, W, metric, k=2)
    adjacent = grid.adjacency(connectivity)[best_two[:, 0], best_two[:, 1]]
    return float(1.0 - adjacent.mean())


def node_purity(winners: np.ndarray, y: np.ndarray, n_nodes: int, n_classes: int) -> float:
    """Share of objects whose label is the majority label of their node."""
    table = np.zeros((n_nodes, n_classes), dtype=np.int64)
    np.add.at(table, (winners, y), 1)
    return float(table.max(axis=1).sum() / len(y))


def majority_vote_accuracy(
    train_winners: np.ndarray,
    y_train: np.ndarray,
    test_winners: np.ndarray,
    y_test: np.ndarray,
    n_nodes: int,
    n_classes: int,
) -> float:
    """Accuracy of labelling each test object with the majority training label of its node
    (objects landing on a node no training object won count as errors)."""
    table = np.zeros((n_nodes, n_classes), dtype=np.int64)
    np.add.at(table, (train_winners, y_train), 1)
    node_label = np.where(table.sum(1) > 0, table.argmax(1), -1)
    return float(np.mean(node_label[test_winners] == y_test))
