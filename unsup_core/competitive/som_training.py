"""The two Kohonen-map training algorithms, as pure functions on a weight matrix.

online (Kohonen 1982, the classic rule; numpy, one sample per step):
    pick x_i; winner c = argmin_k ||x_i - w_k||; for every node k:
    w_k += eta(t) K(r(c, k); sigma(t)) (x_i - w_k)
batch (Kohonen's batch map; torch, one pass over the data per epoch):
    c_i = argmin_k rho(x_i, w_k) for all i (chunked);
    S_j = sum_{i: c_i = j} x_i,  n_j = |{i: c_i = j}|
    w_k = sum_j K(r(j, k); sigma) S_j / sum_j K(r(j, k); sigma) n_j
Neither builds an (N, K, D) intermediate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.linalg import blas

from .distances import nearest, pairwise_torch
from .grid import Grid
from .neighbourhood import kernel

FOLD_BELOW = 1e-30  # fold the lazy row scale back into the weights below this


def train_online(
    W: np.ndarray,
    X: np.ndarray,
    grid: Grid,
    order: np.ndarray,
    eta: np.ndarray,
    sigma: np.ndarray,
    neighbourhood: str,
) -> np.ndarray:
    """Run ``len(order)`` online updates on ``W`` (K, D) with Euclidean winners; returns W.

    ``eta[t]`` and ``sigma[t]`` are the schedules at step t. The update
    w_k <- w_k + g_k (x - w_k) = (1 - g_k) w_k + g_k x, with g_k = eta K(r(c, k); sigma),
    is applied to a lazily scaled copy W = diag(s) V (the weight-scale trick of SGD solvers):
    the row scaling becomes s <- (1 - g) s, an O(K) step, and the rest is one BLAS rank-one
    update V <- V + (g / s) x^T. With w.x = s (V x) from one matrix-vector product and the squared
    norms carried in closed form, ||w'||^2 = (1 - g)^2 ||w||^2 + 2 g (1 - g) w.x + g^2 ||x||^2,
    each step makes two passes over the weights instead of MiniSom's six. The scale is folded
    back into V whenever it gets small, and at the end.
    """
    cols = grid.cols
    V = np.array(W, order="F", copy=True)
    scale = np.ones(len(V), dtype=V.dtype)
    rank_one = blas.dger if V.dtype == np.float64 else blas.sger
    X = np.ascontiguousarray(X, dtype=V.dtype)
    x_sq = np.einsum("nd,nd->n", X, X)
    w_sq = np.einsum("kd,kd->k", V, V)
    separable = grid.topology == "rectangular" and neighbourhood == "gaussian"
    if separable:
        dr2, dc2 = grid.axis_offsets()
    else:
        grid_d2 = grid.squared_distances
    for t, i in enumerate(order):
        x = X[i]
        dots = scale * (V @ x)
        winner = int(np.argmin(w_sq - 2.0 * dots))
        s = sigma[t]
        if separable:
            r, c = divmod(winner, cols)
            d = 2.0 * s * s
            g = np.multiply.outer(np.exp(-dr2[r] / d), np.exp(-dc2[c] / d)).ravel() * eta[t]
        else:
            g = kernel(grid_d2[winner], s, neighbourhood) * eta[t]
        keep = 1.0 - g
        w_sq = keep * keep * w_sq + 2.0 * g * keep * dots + g * g * x_sq[i]
        scale *= keep
        if np.abs(scale).min() < FOLD_BELOW:  # fold the scale in (also when a g_k reaches 1)
            V *= (scale / keep)[:, None]
            V *= keep[:, None]
            scale[:] = 1.0
            V = rank_one(1.0, g, x, a=V, overwrite_a=True)
            continue
        V = rank_one(1.0, g / scale, x, a=V, overwrite_a=True)
    V *= scale[:, None]
    return V


def batch_epoch(
    W: torch.Tensor,
    X: torch.Tensor,
    x_sq: torch.Tensor,
    has_nan: bool,
    grid_d2: torch.Tensor,
    sigma: float,
    neighbourhood: str,
    metric: str,
    chunk: int,
    reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
    n_total: int | None = None,
) -> tuple[torch.Tensor, float]:
    """One batch-map epoch; returns the new weights and the quantisation error of the old ones.
    ``x_sq`` holds the squared norms of the rows of X, ``has_nan`` whether X has NaN.

    With NaN in ``X`` (NaN-aware mode) winners use the rescaled observed-feature distance and
    each feature's sums and counts run over the objects that observe it.

    Data parallel: X is this process's share of the rows; ``reduce`` sums the numerator and
    denominator statistics (and the distance total) over the processes before the update (an
    all-reduce of K x D + K + 1 numbers per epoch), and ``n_total`` is the number of rows of all
    shares.
    """
    K, D = W.shape
    sums = torch.zeros(K, D, dtype=W.dtype, device=W.device)
    counts = torch.zeros((K, D) if has_nan else (K,), dtype=W.dtype, device=W.device)
    total_distance = torch.zeros((), dtype=torch.float64, device=W.device)
    fast = metric == "euclidean" and not has_nan
    w_sq = (W * W).sum(1) if fast else None
    for start in range(0, X.shape[0], chunk):
        block = X[start : start + chunk]
        if fast:  # argmin_k ||w_k||^2 - 2 x.w_k; the distance itself only for the error
            partial, winners = nearest(torch.addmm(w_sq, block, W.T, alpha=-2.0))
            distance = (partial + x_sq[start : start + chunk]).clamp_min_(0).sqrt_()
        else:
            distance, winners = pairwise_torch(block, W, metric).min(dim=1)
        total_distance += distance.sum()
        if has_nan:
            observed = ~torch.isnan(block)
            sums.index_add_(0, winners, torch.where(observed, block, torch.zeros_like(block)))
            counts.index_add_(0, winners, observed.to(W.dtype))
        else:
            sums.index_add_(0, winners, block)
            counts += torch.bincount(winners, minlength=K)
    if reduce is not None:
        sums, counts, total_distance = reduce(sums), reduce(counts), reduce(total_distance)
    H = kernel(grid_d2, sigma, neighbourhood)
    numerator = H @ sums
    denominator = H @ counts
    if not has_nan:
        denominator = denominator[:, None]
    updated = torch.where(denominator > 1e-12, numerator / denominator, W)
    return updated, float(total_distance) / (n_total or X.shape[0])
