"""The typed dataset every method of the library consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """A feature matrix with optional labels, as loaded from a source.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32
        Features. May hold NaN for missing values (filled later by the preparation step
        according to the missing-value policy); never +-inf.
    feature_names : tuple of str, length n_features
    y : ndarray of shape (n_samples,), int64, optional
        Class codes ``0 .. n_classes - 1``; ``class_names[c]`` is the original label of code ``c``.
    class_names : tuple of str, optional
        Required exactly when ``y`` is given.
    image_shape : tuple of int, optional
        ``(height, width)`` or ``(channels, height, width)``; its product must equal n_features.
    row_ids : ndarray of shape (n_samples,), int64
        Row numbers in the source (0-based data rows), kept through filtering so that every
        error and every prediction can be traced back to the file.
    source : str
        Where the data came from (``"digits"`` or a file path), used in error messages.
    keep_mask : bool
        Keep an observed-value mask when missing values are imputed (the ``mask`` policy).
    """

    X: np.ndarray
    feature_names: tuple[str, ...]
    y: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None
    image_shape: tuple[int, ...] | None = None
    row_ids: np.ndarray = field(default=None)  # type: ignore[assignment]
    source: str = "<memory>"
    keep_mask: bool = False

    def __post_init__(self) -> None:
        X = self.X
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError(
                f"{self.source}: X must be a 2-D array, got {type(X).__name__} "
                f"with shape {getattr(X, 'shape', None)}"
            )
        if X.dtype != np.float32:
            raise ValueError(f"{self.source}: X must be float32, got {X.dtype}")
        n, d = X.shape
        if n == 0:
            raise ValueError(f"{self.source}: the dataset has no rows")
        if d == 0:
            raise ValueError(f"{self.source}: the dataset has no feature columns")
        if len(self.feature_names) != d:
            raise ValueError(
                f"{self.source}: {len(self.feature_names)} feature names for {d} columns"
            )
        if np.isinf(X).any():
            row, col = np.argwhere(np.isinf(X))[0]
            raise ValueError(
                f"{self.source}: column {self.feature_names[col]!r}, row {row}: "
                f"value {X[row, col]} is infinite"
            )
        if self.row_ids is None:
            object.__setattr__(self, "row_ids", np.arange(n, dtype=np.int64))
        elif len(self.row_ids) != n:
            raise ValueError(f"{self.source}: {len(self.row_ids)} row ids for {n} rows")
        self._check_labels(n)
        self._check_image_shape(d)

    def _check_labels(self, n: int) -> None:
        if (self.y is None) != (self.class_names is None):
            raise ValueError(f"{self.source}: y and class_names must be given together")
        if self.y is None:
            return
        y = self.y
        if y.shape != (n,) or y.dtype != np.int64:
            raise ValueError(
                f"{self.source}: y must be int64 of shape ({n},), got {y.dtype} {y.shape}"
            )
        k = len(self.class_names)  # type: ignore[arg-type]
        if n and (y.min() < 0 or y.max() >= k):
            raise ValueError(
                f"{self.source}: class codes must lie in [0, {k}), got [{y.min()}, {y.max()}]"
            )

    def _check_image_shape(self, d: int) -> None:
        shape = self.image_shape
        if shape is None:
            return
        if len(shape) not in (2, 3) or any(int(s) < 1 for s in shape):
            raise ValueError(
                f"{self.source}: image_shape must be (height, width) or "
                f"(channels, height, width) of positive ints, got {shape}"
            )
        if int(np.prod(shape)) != d:
            raise ValueError(
                f"{self.source}: image_shape {tuple(shape)} holds {int(np.prod(shape))} "
                f"values but the data has {d} feature columns"
            )

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int:
        return 0 if self.class_names is None else len(self.class_names)

    @property
    def has_missing(self) -> bool:
        return bool(np.isnan(self.X).any())

    def subset(self, index: np.ndarray) -> Dataset:
        """Rows ``index`` of this dataset (row ids and names kept)."""
        return Dataset(
            X=self.X[index],
            feature_names=self.feature_names,
            y=None if self.y is None else self.y[index],
            class_names=self.class_names,
            image_shape=self.image_shape,
            row_ids=self.row_ids[index],
            source=self.source,
            keep_mask=self.keep_mask,
        )
