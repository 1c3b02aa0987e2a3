"""Measures of learned codes shared by the model families: few-label linear probes, sparsity of
codes, and the encoder's Jacobian norm."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data.prepare import few_label_indices


@dataclass(frozen=True)
class ProbeConfig:
    """A few-label linear probe: how many labels it sees and how often they are drawn.

    Parameters
    ----------
    labels_per_class : labelled training objects per class of each probe draw.
    draws : label draws; the accuracies are means over them.
    seed : seed of the label draws (draw d uses seed + d).
    """

    labels_per_class: int = 10
    draws: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.labels_per_class < 1 or self.draws < 1:
            raise ValueError(
                f"labels_per_class={self.labels_per_class} and draws={self.draws} must be >= 1"
            )


PROBE = ProbeConfig()  # the probe's defaults, declared once


def few_label_probe(
    train_codes: np.ndarray,
    y_train: np.ndarray,
    test_codes: np.ndarray,
    y_test: np.ndarray,
    per_class: int = PROBE.labels_per_class,
    draws: int = PROBE.draws,
    seed: int = PROBE.seed,
    standardize: bool = True,
    C: float = 1.0,
    max_iter: int = 2000,
) -> tuple[float, float]:
    """Mean and standard deviation over ``draws`` of the test accuracy of a logistic regression
    (L2 penalty, inverse strength ``C``) trained on ``per_class`` labelled codes of every class;
    draw d labels ``few_label_indices(y_train, per_class, seed + d)``. Codes are standardised
    on those labelled codes unless ``standardize=False`` (then the probe sees the codes as
    they are: scikit-learn's default logistic regression, the usual linear probe). The probe of
    draw d gets ``random_state=seed + d``: no draw touches the global random state."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not C > 0 or max_iter < 1:
        raise ValueError(f"C={C} must be > 0 and max_iter={max_iter} >= 1")
    scores = []
    for draw in range(draws):
        index = few_label_indices(y_train, per_class, seed + draw)
        probe = LogisticRegression(C=C, max_iter=max_iter, random_state=seed + draw)
        if standardize:
            probe = make_pipeline(StandardScaler(), probe)
        probe.fit(train_codes[index], y_train[index])
        scores.append(probe.score(test_codes, y_test))
    return float(np.mean(scores)), float(np.std(scores))


def near_zero_fraction(codes: np.ndarray, rel_tol: float = 0.05) -> float:
    """Share of code entries z_ij with |z_ij| <= rel_tol * max_i |z_ij| (per unit j), so that
    shrinking all codes uniformly does not count as sparsity."""
    scale = np.abs(codes).max(axis=0, keepdims=True)
    return float(np.mean(np.abs(codes) <= rel_tol * np.where(scale > 0, scale, 1.0)))


def mean_jacobian_norm(encode, X: np.ndarray | torch.Tensor, batch_size: int = 256) -> float:
    """Mean over objects of ||J_f(x)||_F^2, the squared Frobenius norm of the encoder's Jacobian,
    computed exactly with autograd (``torch.func.jacrev`` under ``vmap``)."""
    from torch.func import jacrev, vmap

    X = torch.as_tensor(
        np.asarray(X) if not isinstance(X, torch.Tensor) else X, dtype=torch.float32
    )
    single = lambda x: encode(x[None])[0]  # noqa: E731
    total = 0.0
    for start in range(0, len(X), batch_size):
        jacobians = vmap(jacrev(single))(X[start : start + batch_size])  # (B, code, in)
        total += float((jacobians.detach() ** 2).sum())
    return total / len(X)


def label_spreading_accuracy(
    train_X: np.ndarray,
    y_train: np.ndarray,
    test_X: np.ndarray,
    y_test: np.ndarray,
    per_class: int = 10,
    draws: int = 5,
    seed: int = 0,
) -> tuple[float, float]:
    """Baseline: graph-based label spreading (kNN graph over all training objects, labels of
    ``per_class`` objects per class, the rest unlabelled); mean and std of test accuracy."""
    from sklearn.semi_supervised import LabelSpreading

    scores = []
    for draw in range(draws):
        index = few_label_indices(y_train, per_class, seed + draw)
        y = np.full(len(y_train), -1)
        y[index] = y_train[index]
        with np.errstate(divide="ignore", invalid="ignore"):
            model = LabelSpreading(kernel="knn", n_neighbors=7, max_iter=200).fit(train_X, y)
            scores.append(model.score(test_X, y_test))
    return float(np.mean(scores)), float(np.std(scores))
