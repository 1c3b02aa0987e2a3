"""Signs that a model trained without error is still broken: a GAN whose samples are no better
than a Gaussian fitted to the data, miss classes, or lose outright to the discriminator; codes
that a linear probe reads worse than the raw features; map nodes that win no object.

Arrays in, numbers out; what counts as broken (the thresholds) is the caller's decision.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from .arrays import apply_array
from .evaluation import ProbeConfig, few_label_probe
from .generative.baselines import gaussian_samples
from .generative.quality import (
    JUDGED_SAMPLES,
    QualityJudge,
    QualityJudgeConfig,
    class_histogram,
    frechet_distance,
)
from .validation import config_part


@dataclass(frozen=True)
class GanDiagnosisConfig:
    """How :func:`diagnose_gan` measures a GAN: how many samples it judges, the seed of
    everything it draws, and the judging classifier.

    Parameters
    ----------
    judged_samples : generator samples (and Gaussian draws) judged.
    seed : seed of the samples' noise, the Gaussian draws and the judge.
    judge : the classifier trained on the real training objects whose last hidden layer gives
        the features of the Frechet distance (needs labels); its seed is ``seed``.
    """

    judged_samples: int = JUDGED_SAMPLES
    seed: int = 0
    judge: QualityJudgeConfig = config_part(QualityJudgeConfig(), set_by_recipe=("seed",))

    def __post_init__(self) -> None:
        if self.judged_samples < 2:
            raise ValueError(f"judged_samples={self.judged_samples} must be >= 2")


@dataclass(frozen=True)
class GanDiagnosis:
    """What :func:`diagnose_gan` measured. The judge's numbers are None without labels.

    Parameters
    ----------
    discriminator_real_accuracy : share of real (held-out) objects with D(x) > 1/2.
    discriminator_fake_accuracy : share of G's samples with D(G(z)) < 1/2.
    frechet_distance : of G's samples to the real training objects, in the judge's features.
    gaussian_frechet_distance : the same for draws of N(mean, covariance) fitted to the real
        training objects: the baseline a GAN must beat.
    n_classes_present : classes the judge assigns at least one of G's samples to.
    real_classes_present : classes the judge assigns at least one real training object to
        (what G can be asked for: a class the judge never predicts is not G's fault).
    """

    discriminator_real_accuracy: float
    discriminator_fake_accuracy: float
    frechet_distance: float | None = None
    gaussian_frechet_distance: float | None = None
    n_classes_present: int | None = None
    real_classes_present: int | None = None

    @property
    def discriminator_accuracy(self) -> float:
        """Balanced accuracy of D: the mean of its real and fake accuracies."""
        return (self.discriminator_real_accuracy + self.discriminator_fake_accuracy) / 2

    def measurements(self) -> dict[str, float]:
        """Every value measured (the judge's left out when there were no labels) and D's
        balanced accuracy, by field name."""
        values = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return {**values, "discriminator_accuracy": self.discriminator_accuracy}

    def findings(
        self, max_frechet_ratio: float, max_missing_classes: int, max_discriminator_accuracy: float
    ) -> list[str]:
        """What says the GAN collapsed (empty: nothing): a Frechet distance >= ratio x the
        Gaussian baseline's, more than ``max_missing_classes`` classes missing among the
        samples, a discriminator's balanced accuracy above the maximum."""
        found = []
        if self.frechet_distance is not None:
            limit = max_frechet_ratio * self.gaussian_frechet_distance
            if self.frechet_distance >= limit:
                found.append(
                    f"Frechet distance {self.frechet_distance:.4g} is no better than "
                    f"{max_frechet_ratio:g} x the Gaussian baseline's "
                    f"{self.gaussian_frechet_distance:.4g}"
                )
            if self.n_classes_present < self.real_classes_present - max_missing_classes:
                found.append(
                    f"{self.n_classes_present} of {self.real_classes_present} classes present"
                )
        if self.discriminator_accuracy > max_discriminator_accuracy:
            found.append(
                f"discriminator accuracy {self.discriminator_accuracy:.3f} > "
                f"{max_discriminator_accuracy:g}: it wins outright"
            )
        return found


def _rows(X: np.ndarray, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"{name} has shape {X.shape}; expected (n, features) with n >= 2")
    return X


def diagnose_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    X_train: np.ndarray,
    X_real: np.ndarray,
    y_train: np.ndarray | None = None,
    n_classes: int = 0,
    config: GanDiagnosisConfig | None = None,
) -> GanDiagnosis:
    """Measure a trained GAN for collapse.

    ``config.judged_samples`` samples of G at noise drawn with
    ``torch.Generator().manual_seed(config.seed)`` (``generator.sample(n, torch_generator)``)
    are scored by D (``discriminator.logits``) beside the real objects ``X_real`` (n_real, d),
    best held out. With labels ``y_train`` (n_train,) a :class:`QualityJudge` (``config.judge``,
    seeded with ``config.seed``) is trained on ``X_train`` (n_train, d) (Frechet distance in its
    last hidden layer, as the GAN recipe judges), and as many draws of a Gaussian fitted to
    ``X_train`` (``np.random.default_rng(config.seed)``) give the baseline distance.
    """
    config = config or GanDiagnosisConfig()
    n_samples, seed = config.judged_samples, config.seed
    X_train, X_real = _rows(X_train, "X_train"), _rows(X_real, "X_real")
    samples = generator.sample(n_samples, torch.Generator().manual_seed(seed)).cpu().numpy()
    real_logits = apply_array(discriminator, X_real, "logits")
    fake_logits = apply_array(discriminator, samples, "logits")
    measured = GanDiagnosis(
        discriminator_real_accuracy=float(np.mean(real_logits > 0)),
        discriminator_fake_accuracy=float(np.mean(fake_logits < 0)),
    )
    if y_train is None:
        return measured
    if n_classes < 1:
        raise ValueError(f"n_classes={n_classes} must be >= 1 when labels y_train are given")
    judge = QualityJudge.fit(X_train, y_train, n_classes, replace(config.judge, seed=seed))
    gaussian = gaussian_samples(X_train, n_samples, np.random.default_rng(seed))
    reference = judge.reference_features_
    return GanDiagnosis(
        discriminator_real_accuracy=measured.discriminator_real_accuracy,
        discriminator_fake_accuracy=measured.discriminator_fake_accuracy,
        frechet_distance=frechet_distance(reference, judge.features(samples)),
        gaussian_frechet_distance=frechet_distance(reference, judge.features(gaussian)),
        n_classes_present=int((class_histogram(judge.probabilities(samples)) > 0).sum()),
        real_classes_present=int((class_histogram(judge.probabilities(X_train)) > 0).sum()),
    )


@dataclass(frozen=True)
class ProbeComparison:
    """Few-label linear probe accuracies (means over draws) of codes and of raw features, on
    the same labelled objects and the same test objects."""

    code_accuracy: float
    raw_accuracy: float
    labels_per_class: int
    draws: int

    @property
    def deficit(self) -> float:
        """How far the codes' probe falls below the raw features' (negative: codes better)."""
        return self.raw_accuracy - self.code_accuracy


def probe_against_raw(
    train_codes: np.ndarray,
    test_codes: np.ndarray,
    X_train: np.ndarray,
    X_test: np.ndarray,
    y_train: np.ndarray,
    y_test: np.ndarray,
    config: ProbeConfig | None = None,
) -> ProbeComparison:
    """:func:`~unsup_core.evaluation.few_label_probe` (standardised logistic regression on
    ``config.labels_per_class`` labels of every class, ``config.draws`` draws from
    ``config.seed``) of the codes (n_train, k) / (n_test, k) and of the raw features
    (n_train, d) / (n_test, d): the same label draws, the same test objects.
    ``labels_per_class`` is lowered to the smallest class's training count (at least 1) so a
    small class does not stop the comparison."""
    config = config or ProbeConfig()
    labels_per_class, draws, seed = config.labels_per_class, config.draws, config.seed
    y_train = np.asarray(y_train)
    if len(train_codes) != len(X_train) or len(X_train) != len(y_train):
        raise ValueError(
            f"train_codes ({len(train_codes)}), X_train ({len(X_train)}) and y_train "
            f"({len(y_train)}) must have one row per training object"
        )
    if len(test_codes) != len(X_test):
        raise ValueError(f"test_codes ({len(test_codes)}) and X_test ({len(X_test)}) differ")
    per_class = int(min(labels_per_class, np.unique(y_train, return_counts=True)[1].min()))
    code, _ = few_label_probe(train_codes, y_train, test_codes, y_test, per_class, draws, seed)
    raw, _ = few_label_probe(X_train, y_train, X_test, y_test, per_class, draws, seed)
    return ProbeComparison(code, raw, per_class, draws)


def empty_node_share(winners: np.ndarray, n_nodes: int) -> float:
    """Share of the ``n_nodes`` map nodes that are the best match of none of the objects;
    ``winners`` (n,) the best node of each object (``KohonenMap.predict``)."""
    winners = np.asarray(winners)
    if n_nodes < 1:
        raise ValueError(f"n_nodes={n_nodes} must be >= 1")
    if winners.size and (winners.min() < 0 or winners.max() >= n_nodes):
        raise ValueError(
            f"winners hold node indices {winners.min()}..{winners.max()}, outside 0..{n_nodes - 1}"
        )
    return float(1.0 - np.unique(winners).size / n_nodes)


__all__ = [
    "GanDiagnosis",
    "GanDiagnosisConfig",
    "ProbeComparison",
    "ProbeConfig",
    "diagnose_gan",
    "empty_node_share",
    "probe_against_raw",
]
