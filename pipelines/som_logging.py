"""Fit a Kohonen map and log its metrics and maps to an MLflow run (shared by data_som and
code_som). Wiring only: every number and array comes from ``unsup_core.competitive``."""

import io
import time
from collections.abc import Sequence

import numpy as np

from unsup_core.competitive import (KohonenMap, class_hit_maps, component_planes, density_map,
                                    hit_map, majority_labels, node_purity, u_matrix)
from unsup_core.competitive.metrics import majority_vote_accuracy
from unsup_core.plotting import plot_component_planes, plot_label_overlay, plot_map

from .tracking import AssetRun


def fit_and_log_som(run: AssetRun, som: KohonenMap, X_train: np.ndarray, X_test: np.ndarray,
                    feature_names: Sequence[str], y_train: np.ndarray | None = None,
                    y_test: np.ndarray | None = None, class_names: Sequence[str] | None = None,
                    density_k: int = 5) -> dict[str, float]:
    """Train ``som`` on X_train; log QE/TE/purity and the map figures; return the metrics."""
    started = time.perf_counter()
    som.fit(X_train)
    seconds = time.perf_counter() - started
    grid, W = som.grid_, som.weights_
    winners = som.predict(X_train)
    hits = hit_map(winners, grid)
    metrics = {"quantization_error": som.quantization_error(X_train),
               "topographic_error": som.topographic_error(X_train),
               "empty_nodes": float((hits == 0).sum()), "n_nodes": float(grid.n_nodes),
               "train_seconds": seconds}
    if grid.topology == "rectangular":
        metrics["topographic_error_4"] = som.topographic_error(X_train, 4)
    if len(X_test):
        metrics["test/quantization_error"] = som.quantization_error(X_test)
    for record in som.history_:
        run.log_metrics({"epoch/quantization_error": record["quantization_error"],
                         "epoch/sigma": record["sigma"]}, step=record["epoch"])
    run.log_figure(plot_map(u_matrix(W, grid), grid, "U-matrix", "bone_r",
                            "mean distance to neighbours"), "u_matrix")
    k = min(density_k, len(X_train))
    run.log_figure(plot_map(density_map(X_train, W, grid, k), grid,
                            f"density: mean distance to {k} nearest objects", "magma_r"), "density")
    run.log_figure(plot_map(hits, grid, "hit map", "Greys", "objects won"), "hit_map")
    run.log_figure(plot_component_planes(component_planes(W, grid), grid, feature_names),
                   "component_planes")
    if y_train is not None and class_names is not None:
        n_classes = len(class_names)
        metrics["purity"] = node_purity(winners, y_train, grid.n_nodes, n_classes)
        if y_test is not None and len(X_test):
            metrics["test/majority_vote_accuracy"] = majority_vote_accuracy(
                winners, y_train, som.predict(X_test), y_test, grid.n_nodes, n_classes)
        run.log_figure(plot_label_overlay(majority_labels(winners, y_train, grid, n_classes),
                                          class_hit_maps(winners, y_train, grid, n_classes),
                                          grid, class_names), "label_overlay")
    run.log_metrics(metrics)
    run.log_bytes(weights_npz(som, feature_names), "model/som_weights.npz")
    return metrics


def weights_npz(som: KohonenMap, feature_names: Sequence[str]) -> bytes:
    """The fitted map as an .npz: weights (rows, cols, n), feature names, topology."""
    buffer = io.BytesIO()
    np.savez(buffer, weights=som.weights_grid, feature_names=np.array(list(feature_names)),
             topology=som.topology, toroidal=som.toroidal)
    return buffer.getvalue()
