"""Preparation: stratified split by seed, missing values and scaling fitted on train only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sizing import auto_labels_per_class
from .config import PrepareConfig
from .dataset import Dataset


@dataclass(frozen=True)
class Scaler:
    """Affine per-feature map ``x' = (x - offset) / scale`` fitted on the training split.

    ``fill`` holds the training means used to impute missing values before scaling.
    """

    kind: str
    offset: np.ndarray
    scale: np.ndarray
    fill: np.ndarray
    low: np.ndarray
    high: np.ndarray
    clip: bool = False

    @classmethod
    def fit(cls, X: np.ndarray, kind: str, clip: bool = False) -> Scaler:
        fill = np.nanmean(X, axis=0)
        filled = np.where(np.isnan(X), fill, X)
        d = X.shape[1]
        if kind == "standard":
            offset, scale = filled.mean(axis=0), filled.std(axis=0)
        elif kind == "minmax":
            offset, scale = filled.min(axis=0), filled.max(axis=0) - filled.min(axis=0)
        else:
            offset, scale = np.zeros(d), np.ones(d)
        scale = np.where(scale > 0, scale, 1.0)  # a constant feature maps to 0, not to NaN
        low, high = filled.min(axis=0), filled.max(axis=0)
        return cls(
            kind,
            offset.astype(np.float32),
            scale.astype(np.float32),
            fill.astype(np.float32),
            low.astype(np.float32),
            high.astype(np.float32),
            clip,
        )

    def transform(self, X: np.ndarray) -> np.ndarray:
        filled = np.where(np.isnan(X), self.fill, X)
        if self.clip:
            filled = np.clip(filled, self.low, self.high)
        return ((filled - self.offset) / self.scale).astype(np.float32)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        return (X * self.scale + self.offset).astype(np.float32)


@dataclass(frozen=True)
class Split:
    """One split: scaled finite features, labels, observed-value mask, source row ids."""

    X: np.ndarray
    y: np.ndarray | None
    observed: np.ndarray | None
    row_ids: np.ndarray

    def __len__(self) -> int:
        return self.X.shape[0]

    def tensors(self) -> dict[str, np.ndarray]:
        """The split as trainer data: ``{"x"}`` plus ``"y"`` and ``"observed"`` when present."""
        data = {"x": self.X}
        if self.y is not None:
            data["y"] = self.y
        if self.observed is not None:
            data["observed"] = self.observed
        return data


@dataclass(frozen=True)
class PreparedData:
    """Train / validation / test splits of one dataset, ready for training."""

    train: Split
    val: Split
    test: Split
    scaler: Scaler
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...] | None
    image_shape: tuple[int, ...] | None
    source: str
    config: PrepareConfig

    @property
    def n_features(self) -> int:
        return self.train.X.shape[1]

    @property
    def n_classes(self) -> int:
        return 0 if self.class_names is None else len(self.class_names)

    def smallest_class(self) -> tuple[str, int] | None:
        """The class with the fewest training samples and that count (``None`` without
        labels); label budgets are checked against, and sized from, this count."""
        y = self.train.y
        if y is None or len(y) == 0:
            return None
        counts = np.bincount(y, minlength=max(self.n_classes, int(y.max()) + 1))
        present = np.flatnonzero(counts)
        index = int(present[np.argmin(counts[present])])
        name = self.class_names[index] if self.class_names is not None else str(index)
        return name, int(counts[index])

    def label_budget(self, per_class: int | None, preferred: int = 10) -> int:
        """``per_class``, or when it is ``None`` the data-sized budget: ``preferred`` labels per
        class, or the smallest class's training count when it has fewer
        (:func:`unsup_core.sizing.auto_labels_per_class`)."""
        if per_class is not None:
            return int(per_class)
        smallest = self.smallest_class()
        if smallest is None:
            raise ValueError(f"{self.source}: few-label subsets need labels; the data has none")
        return auto_labels_per_class(smallest[1], preferred)

    def few_labels(self, per_class: int | None, seed: int, preferred: int = 10) -> np.ndarray:
        """Indices into ``train`` of ``per_class`` labelled samples of every class
        (``None``: :meth:`label_budget`)."""
        if self.train.y is None:
            raise ValueError(f"{self.source}: few-label subsets need labels; the data has none")
        per_class = self.label_budget(per_class, preferred)
        return few_label_indices(self.train.y, per_class, seed, self.class_names)


def stratified_split(
    y: np.ndarray | None,
    n_samples: int,
    test_fraction: float,
    val_fraction: float,
    seed: int,
    class_names: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (train, val, test); each class split in the given proportions.

    Without labels the split is a plain random permutation.
    """
    rng = np.random.default_rng(seed)
    if y is None:
        groups = [np.arange(n_samples)]
    else:
        n_classes = len(class_names) if class_names is not None else int(y.max()) + 1
        if n_samples < n_classes:
            raise ValueError(f"{n_samples} samples are fewer than the {n_classes} classes")
        groups = [np.flatnonzero(y == c) for c in range(n_classes)]
        needed = 1 + (test_fraction > 0) + (val_fraction > 0)
        for c, members in enumerate(groups):
            if 0 < len(members) < needed:
                name = class_names[c] if class_names is not None else c
                raise ValueError(
                    f"class {name!r} has {len(members)} sample(s); a stratified split "
                    f"into {needed} parts needs at least {needed} per class"
                )
    parts: tuple[list, list, list] = ([], [], [])
    for members in groups:
        members = rng.permutation(members)
        n_test = _share(len(members), test_fraction)
        n_val = _share(len(members), val_fraction)
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)  # type: ignore[return-value]


def _share(n: int, fraction: float) -> int:
    """round(n * fraction), but at least 1 when the fraction is positive, leaving 1 for train."""
    if fraction <= 0 or n == 0:
        return 0
    return int(min(max(1, round(n * fraction)), n - 1))


def few_label_indices(
    y: np.ndarray, per_class: int, seed: int, class_names: tuple[str, ...] | None = None
) -> np.ndarray:
    """``per_class`` random indices of each class in ``y`` (sorted), drawn with ``seed``."""
    if per_class < 1:
        raise ValueError(f"per_class={per_class} must be >= 1")
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if per_class > len(members):
            name = class_names[c] if class_names is not None else int(c)
            raise ValueError(
                f"per_class={per_class} is larger than class {name!r}, which has "
                f"{len(members)} training samples"
            )
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def prepare(dataset: Dataset, config: PrepareConfig) -> PreparedData:
    """Split ``dataset``, fit imputation and scaling on the training split, transform all three.

    Missing values are filled with training means; ``dataset.keep_mask`` keeps an
    observed-value mask per split (the ``mask`` missing-value policy).
    """
    train_idx, val_idx, test_idx = stratified_split(
        dataset.y,
        dataset.n_samples,
        config.test_fraction,
        config.val_fraction,
        config.seed,
        dataset.class_names,
    )
    train_X = dataset.X[train_idx]
    all_missing = np.isnan(train_X).all(axis=0)
    if all_missing.any():
        name = dataset.feature_names[int(np.argmax(all_missing))]
        raise ValueError(
            f"{dataset.source}: column {name!r} has no observed value in the "
            "training split; nothing to impute it from"
        )
    scaler = Scaler.fit(train_X, config.scaling, config.clip)

    def make(index: np.ndarray) -> Split:
        X = dataset.X[index]
        observed = ~np.isnan(X) if dataset.keep_mask else None
        y = None if dataset.y is None else dataset.y[index]
        return Split(scaler.transform(X), y, observed, dataset.row_ids[index])

    return PreparedData(
        train=make(train_idx),
        val=make(val_idx),
        test=make(test_idx),
        scaler=scaler,
        feature_names=dataset.feature_names,
        class_names=dataset.class_names,
        image_shape=dataset.image_shape,
        source=dataset.source,
        config=config,
    )
