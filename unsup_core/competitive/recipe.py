"""A Kohonen map of a dataset as one call: fit it, measure it (quantisation and topographic
error, empty nodes, purity and majority-vote accuracy when there are labels) and compute the
maps people read (U-matrix, density, hit map, component planes, label overlay) as arrays."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..results import ExperimentResult
from .grid import Grid
from .maps import class_hit_maps, component_planes, density_map, hit_map, majority_labels, u_matrix
from .metrics import majority_vote_accuracy, node_purity
from .som import KohonenMap, KohonenMapConfig


@dataclass(frozen=True)
class MapConfig:
    """A self-organising map and its density map.

    Parameters
    ----------
    som : the Kohonen map (seeded by default, so two runs give the same map; its grid comes
        from the training data unless ``rows``/``cols`` are set).
    density_k : nearest objects averaged in the density map.
    """

    som: KohonenMapConfig = field(default_factory=lambda: KohonenMapConfig(random_state=0))
    density_k: int = 5

    def __post_init__(self) -> None:
        if self.density_k < 1:
            raise ValueError(f"density_k={self.density_k} must be >= 1")


@dataclass
class MapResult(ExperimentResult):
    """The fitted ``som`` and its arrays (grid shape (rows, cols) or (rows, cols, n_features)
    for the planes); ``majority``/``class_hits`` only with labels; ``feature_names`` title the
    component planes, ``class_names`` the overlay."""

    som: KohonenMap | None = None
    grid: Grid | None = None
    u_matrix: np.ndarray | None = None
    density: np.ndarray | None = None
    density_k: int = 0
    hits: np.ndarray | None = None
    planes: np.ndarray | None = None
    majority: np.ndarray | None = None
    class_hits: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()
    class_names: tuple[str, ...] | None = None


def fit_map(
    X_train: np.ndarray,
    X_test: np.ndarray,
    feature_names: Sequence[str],
    config: MapConfig | None = None,
    y_train: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
) -> MapResult:
    """Fit ``config.som`` on X_train (n, d). Metrics: ``quantization_error``,
    ``topographic_error`` (and ``topographic_error_4`` on rectangular grids), ``empty_nodes``,
    ``n_nodes``, ``grid_rows``, ``grid_cols`` (the grid used), ``train_seconds``,
    ``test/quantization_error``; with labels ``purity`` and ``test/majority_vote_accuracy``.
    Tag ``grid_rule``: "configured", or the rule that took the grid from the data."""
    config = config or MapConfig()
    som = config.som.build()
    started = time.perf_counter()
    som.fit(X_train)
    seconds = time.perf_counter() - started
    grid, W = som.grid_, som.weights_
    winners = som.predict(X_train)
    hits = hit_map(winners, grid)
    metrics = {
        "quantization_error": som.quantization_error(X_train),
        "topographic_error": som.topographic_error(X_train),
        "empty_nodes": float((hits == 0).sum()),
        "n_nodes": float(grid.n_nodes),
        "grid_rows": float(grid.rows),
        "grid_cols": float(grid.cols),
        "train_seconds": seconds,
    }
    if grid.topology == "rectangular":
        metrics["topographic_error_4"] = som.topographic_error(X_train, 4)
    if len(X_test):
        metrics["test/quantization_error"] = som.quantization_error(X_test)
    k = min(config.density_k, len(X_train))
    result = MapResult(
        metrics=metrics,
        tags={"grid_rule": som.grid_rule_},
        som=som,
        grid=grid,
        u_matrix=u_matrix(W, grid),
        density=density_map(X_train, W, grid, k),
        density_k=k,
        hits=hits,
        planes=component_planes(W, grid),
        feature_names=tuple(feature_names),
    )
    if y_train is not None and class_names is not None:
        n_classes = len(class_names)
        metrics["purity"] = node_purity(winners, y_train, grid.n_nodes, n_classes)
        if y_test is not None and len(X_test):
            metrics["test/majority_vote_accuracy"] = majority_vote_accuracy(
                winners, y_train, som.predict(X_test), y_test, grid.n_nodes, n_classes
            )
        result.majority = majority_labels(winners, y_train, grid, n_classes)
        result.class_hits = class_hit_maps(winners, y_train, grid, n_classes)
        result.class_names = tuple(class_names)
    return result


def weights_npz(som: KohonenMap, feature_names: Sequence[str]) -> bytes:
    """The fitted map as an .npz: weights (rows, cols, n), feature names, topology."""
    buffer = io.BytesIO()
    np.savez(
        buffer,
        weights=som.weights_grid,
        feature_names=np.array(list(feature_names)),
        topology=som.topology,
        toroidal=som.toroidal,
    )
    return buffer.getvalue()
