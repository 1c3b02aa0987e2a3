"""Distances between objects and prototypes, in numpy and torch, with a NaN-aware option.

``euclidean``  rho(x, w) = ||x - w||_2
``manhattan``  rho(x, w) = ||x - w||_1
``cosine``     rho(x, w) = 1 - x.w / (||x|| ||w||)
NaN-aware euclidean (``nan_policy="ignore"``): the sum runs over the observed features of x and
is rescaled by n_features / n_observed, so rows with gaps stay comparable to complete ones.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from ..validation import check_choice, choices

Metric = Literal["euclidean", "manhattan", "cosine"]
NanPolicy = Literal["error", "ignore"]
METRICS, NAN_POLICIES = choices(Metric), choices(NanPolicy)
EPS = 1e-12


def check_metric(metric: str) -> None:
    check_choice("metric", metric, METRICS)


def check_input(X: np.ndarray, n_features: int | None, nan_policy: str, who: str) -> np.ndarray:
    """A 2-D float array with the expected width; NaN only where ``nan_policy='ignore'``."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{who}: X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{who}: X has no samples")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{who}: X has {X.shape[1]} features, but the model was fitted with {n_features}"
        )
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    if np.isinf(X).any():
        row, col = np.argwhere(np.isinf(X))[0]
        raise ValueError(f"{who}: X[{row}, {col}] = {X[row, col]} is infinite")
    if nan_policy == "error" and np.isnan(X).any():
        row, col = np.argwhere(np.isnan(X))[0]
        raise ValueError(
            f"{who}: X[{row}, {col}] is NaN; impute it, or pass nan_policy='ignore' for "
            "a NaN-aware distance"
        )
    return X


def pairwise_torch(
    X: torch.Tensor, W: torch.Tensor, metric: str = "euclidean", squared: bool = False
) -> torch.Tensor:
    """(N, D), (K, D) -> (N, K) distances. NaN entries of X are treated as unobserved."""
    observed = ~torch.isnan(X)
    if not bool(observed.all()):
        return _nan_euclidean(X, W, observed, squared)
    if metric == "euclidean":
        d2 = (X * X).sum(1, keepdim=True) - 2 * X @ W.T + (W * W).sum(1)
        d2 = d2.clamp_min_(0)
        return d2 if squared else d2.sqrt_()
    if metric == "manhattan":
        return torch.cdist(X, W, p=1)
    if metric == "cosine":
        Xn = X / X.norm(dim=1, keepdim=True).clamp_min(EPS)
        Wn = W / W.norm(dim=1, keepdim=True).clamp_min(EPS)
        return 1 - Xn @ Wn.T
    raise ValueError(f"metric={metric!r} is not one of {list(METRICS)}")


def _nan_euclidean(
    X: torch.Tensor, W: torch.Tensor, observed: torch.Tensor, squared: bool
) -> torch.Tensor:
    mask = observed.to(X.dtype)
    Xz = torch.where(observed, X, torch.zeros_like(X))
    d2 = (Xz * Xz).sum(1, keepdim=True) - 2 * Xz @ W.T + mask @ (W * W).T
    scale = X.shape[1] / mask.sum(1, keepdim=True).clamp_min(1)
    d2 = (d2 * scale).clamp_min_(0)
    return d2 if squared else d2.sqrt_()


def nearest(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row-wise (min, argmin) of a score matrix. On the CPU numpy's SIMD argmin is several times
    faster than torch's min over rows, so the argmin goes through a zero-copy numpy view."""
    if scores.device.type != "cpu":
        return scores.min(dim=1)
    index = torch.from_numpy(scores.numpy().argmin(axis=1))
    return scores.gather(1, index[:, None])[:, 0], index


def pairwise(
    X: np.ndarray,
    W: np.ndarray,
    metric: str = "euclidean",
    squared: bool = False,
    chunk: int = 8192,
) -> np.ndarray:
    """numpy front end of :func:`pairwise_torch`, chunked over rows of X (bounded memory)."""
    dtype = torch.float64 if X.dtype == np.float64 or W.dtype == np.float64 else torch.float32
    Wt = torch.as_tensor(W, dtype=dtype)
    out = [
        pairwise_torch(torch.as_tensor(X[i : i + chunk], dtype=dtype), Wt, metric, squared)
        for i in range(0, len(X), chunk)
    ]
    return torch.cat(out).numpy()


def best_matching(
    X: np.ndarray, W: np.ndarray, metric: str = "euclidean", k: int = 1, chunk: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (N, k) of the k nearest prototypes of each row and their distances (N, k).

    Euclidean search on complete rows ranks ||w||^2 - 2 x.w (one matrix product) and takes the
    square root of the k winners only.
    """
    dtype = torch.float64 if X.dtype == np.float64 or W.dtype == np.float64 else torch.float32
    Wt = torch.as_tensor(W, dtype=dtype)
    w_sq = (Wt * Wt).sum(1)
    index, dist = [], []
    for i in range(0, len(X), chunk):
        block = torch.as_tensor(X[i : i + chunk], dtype=dtype)
        if metric == "euclidean" and not bool(torch.isnan(block).any()):
            scores = torch.addmm(w_sq, block, Wt.T, alpha=-2.0)
            if k > 1:
                values, indices = torch.topk(scores, k, dim=1, largest=False)
            else:
                values, indices = (v[:, None] for v in nearest(scores))
            values = (values + (block * block).sum(1, keepdim=True)).clamp_min_(0).sqrt_()
        else:
            d = pairwise_torch(block, Wt, metric)
            values, indices = (
                torch.topk(d, k, dim=1, largest=False) if k > 1 else d.min(1, keepdim=True)
            )
        index.append(indices)
        dist.append(values)
    return torch.cat(index).numpy(), torch.cat(dist).numpy()
