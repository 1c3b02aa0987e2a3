"""Honest quality measures of generated objects, judged by a classifier trained on the real data.

FID and the Inception score (Heusel et al. 2017; Salimans et al. 2016) use an ImageNet network,
which means nothing on 8x8 digits or on tables. Here the same formulas use a classifier trained
on the real data itself: its last hidden layer gives the features of the Frechet distance, its
class probabilities give the classifier score, the class histogram (mode collapse shows as
missing classes) and the mean confidence. The numbers compare models judged by one classifier;
they are not comparable with published FID/IS values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..arrays import apply_array
from ..distillation.models import MLPClassifier, MLPClassifierConfig
from ..training import Trainer, TrainerConfig


def _features(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 2:
        raise ValueError(f"{name} has shape {values.shape}; expected (n, features) with n >= 2")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return values


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((matrix + matrix.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (n_a, d), (n_b, d):

        ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)).

    Tr (S_a S_b)^(1/2) is computed as the sum of the square roots of the eigenvalues of the
    symmetric PSD matrix S_a^(1/2) S_b S_a^(1/2) (same eigenvalues as S_a S_b), so it is real
    and stable for singular covariances (dead units) where ``scipy.linalg.sqrtm`` of S_a S_b
    returns complex parts. Covariances with denominator n - 1. Clipped at 0 (rounding).
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a has {a.shape[1]} columns, features_b {b.shape[1]}")
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root_a = _sqrt_psd(cov_a)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0.0, None)).sum()
    value = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross
    return float(max(value, 0.0))


def _probabilities(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError(f"probabilities have shape {probs.shape}; expected (n, n_classes), n >= 1")
    if (probs < 0).any() or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probabilities must be non-negative with rows summing to 1")
    return probs


def classifier_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))), p(y) the mean of p(y|x) over the samples: the Inception
    score's formula (Salimans et al. 2016) with the data's own classifier. Between 1 (every
    sample judged alike, or every judgement uniform) and n_classes (confident and balanced).
    ``probs`` (n, n_classes)."""
    p = np.clip(_probabilities(probs), 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


def class_histogram(probs: np.ndarray) -> np.ndarray:
    """(n_classes,) share of the samples assigned to each class (argmax of p(y|x))."""
    p = _probabilities(probs)
    return np.bincount(p.argmax(axis=1), minlength=p.shape[1]) / p.shape[0]


def mean_confidence(probs: np.ndarray) -> float:
    """Mean over the samples of max_y p(y|x)."""
    return float(_probabilities(probs).max(axis=1).mean())


JUDGED_SAMPLES = 1000  # samples per quality measurement, wherever one is taken


@dataclass(frozen=True)
class SampleQuality:
    """The measures of one sample set; ``class_shares`` in class order."""

    frechet_distance: float
    classifier_score: float
    n_classes_present: int
    min_class_share: float
    mean_confidence: float
    class_shares: tuple[float, ...]

    def metrics(self, prefix: str = "") -> dict[str, float]:
        """Flat scalars for logging (the shares as ``class_share/<k>``)."""
        flat = {
            "frechet_distance": self.frechet_distance,
            "classifier_score": self.classifier_score,
            "n_classes_present": float(self.n_classes_present),
            "min_class_share": self.min_class_share,
            "mean_confidence": self.mean_confidence,
        }
        flat.update({f"class_share/{k}": share for k, share in enumerate(self.class_shares)})
        return {f"{prefix}{key}": value for key, value in flat.items()}


@dataclass(frozen=True)
class QualityJudgeConfig:
    """The judging classifier ``n_features -> *hidden -> n_classes`` (its last hidden layer
    gives the features) and how long it trains with the shared Trainer.

    Parameters
    ----------
    hidden : hidden widths (at least one: the last gives the features).
    epochs : training epochs.
    batch_size : objects per step.
    lr : Adam learning rate.
    seed : seed of initialisation, training and the row sample.
    max_rows : the judge trains on, and compares to, at most this many real objects (a
        sample drawn with ``seed`` when there are more), so its cost stops growing with the
        data; ``None``: every object.
    """

    hidden: tuple[int, ...] = (128, 64)
    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    max_rows: int | None = 20_000

    def __post_init__(self) -> None:
        if isinstance(self.hidden, (int, str)) or not len(self.hidden):
            raise ValueError(f"hidden={self.hidden!r} must hold at least one width (the features)")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name in ("epochs", "batch_size", "lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)} must be > 0")
        if self.max_rows is not None and self.max_rows < 2:
            raise ValueError(f"max_rows={self.max_rows} must be >= 2 or None")


class QualityJudge:
    """A classifier trained on real objects, and the real reference features it compares to.

    >>> judge = QualityJudge.fit(X_train, y_train, n_classes=10)
    >>> judge.evaluate(generator.sample(1000).numpy()).frechet_distance
    """

    def __init__(self, classifier: MLPClassifier, reference: np.ndarray) -> None:
        self.classifier = classifier
        self.reference_features_ = self.features(reference)

    @classmethod
    def fit(
        cls, X: np.ndarray, y: np.ndarray, n_classes: int, config: QualityJudgeConfig | None = None
    ) -> QualityJudge:
        """Train the classifier on (X, y) (the real training data; at most ``max_rows`` of
        them, a seeded sample) and keep those as the reference."""
        cfg = config or QualityJudgeConfig()
        if y is None:
            raise ValueError("the quality judge needs class labels y for the real data")
        if cfg.max_rows is not None and len(X) > cfg.max_rows:
            rows = np.sort(
                np.random.default_rng(cfg.seed).choice(len(X), cfg.max_rows, replace=False)
            )
            X, y = X[rows], y[rows]
        classifier = MLPClassifier(
            MLPClassifierConfig(
                in_features=X.shape[1], hidden=cfg.hidden, n_classes=n_classes, seed=cfg.seed
            )
        )
        Trainer(
            TrainerConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed)
        ).fit(classifier, {"x": X, "y": y})
        return cls(classifier, X)

    def features(self, X: np.ndarray) -> np.ndarray:
        """(n, hidden[-1]) activations of the classifier's last hidden layer."""
        return apply_array(self.classifier.net[:-1], X)

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        """(n, n_classes) p(y|x) of the classifier."""
        return torch.softmax(torch.as_tensor(apply_array(self.classifier, X)), dim=1).numpy()

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.probabilities(X).argmax(axis=1) == y))

    def evaluate(self, samples: np.ndarray | torch.Tensor) -> SampleQuality:
        """Every measure of ``samples`` (n, n_features) against the real reference."""
        samples = samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else samples
        probs = self.probabilities(samples)
        shares = class_histogram(probs)
        return SampleQuality(
            frechet_distance=frechet_distance(self.reference_features_, self.features(samples)),
            classifier_score=classifier_score(probs),
            n_classes_present=int((shares > 0).sum()),
            min_class_share=float(shares.min()),
            mean_confidence=mean_confidence(probs),
            class_shares=tuple(float(s) for s in shares),
        )
