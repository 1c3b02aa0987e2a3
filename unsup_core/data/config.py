"""Typed configuration of data loading and preparation, validated when built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..validation import check_choice, choices

Source = Literal["digits", "file"]
Categorical = Literal["onehot", "ordinal"]
Missing = Literal["error", "drop", "impute", "mask"]
Constant = Literal["error", "drop", "keep"]
Scaling = Literal["standard", "minmax", "none"]
SOURCES, CATEGORICAL, MISSING = choices(Source), choices(Categorical), choices(Missing)
CONSTANT, SCALING = choices(Constant), choices(Scaling)


@dataclass(frozen=True)
class SourceConfig:
    """Where the data comes from and how a table becomes a feature matrix.

    ``source="digits"`` is scikit-learn's bundled 8x8 digits (no download); ``source="file"``
    reads a CSV or Parquet ``path``. ``missing`` is the policy for NaN: ``error`` stops at the
    first missing value, ``drop`` removes incomplete rows, ``impute`` fills with the training
    split's column means, ``mask`` does the same and keeps an observed-value mask.
    """

    source: Source = "digits"
    path: str | None = None
    label_column: str | None = None
    feature_columns: tuple[str, ...] | None = None
    drop_columns: tuple[str, ...] = ()
    categorical: Categorical = "onehot"
    max_categories: int = 20
    missing: Missing = "error"
    na_values: tuple[str, ...] = ()
    constant_columns: Constant = "error"
    image_shape: tuple[int, ...] | None = None
    separator: str = ","

    def __post_init__(self) -> None:
        check_choice("source", self.source, SOURCES)
        check_choice("categorical", self.categorical, CATEGORICAL)
        check_choice("missing", self.missing, MISSING)
        check_choice("constant_columns", self.constant_columns, CONSTANT)
        if self.source == "file" and not self.path:
            raise ValueError("source='file' needs a path to a CSV or Parquet file")
        if self.max_categories < 2:
            raise ValueError(f"max_categories={self.max_categories} must be >= 2")


@dataclass(frozen=True)
class PrepareConfig:
    """Split and scaling. Fractions are of the whole dataset; train gets the rest.

    The scaler (and the imputation means) are fitted on the training split only; ``clip`` clips
    validation and test features to the range seen in training (for min-max scaling: [0, 1],
    which likelihoods such as a Bernoulli decoder need).
    """

    test_fraction: float = 0.3
    val_fraction: float = 0.1
    scaling: Scaling = "minmax"
    clip: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("scaling", self.scaling, SCALING)
        for name in ("test_fraction", "val_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name}={value} must lie in [0, 1)")
        if self.test_fraction + self.val_fraction >= 1.0:
            raise ValueError(f"test_fraction + val_fraction = {self.test_fraction + self.val_fraction} "
                             "leaves no training data; it must be < 1")
