"""Typed configuration of data loading and preparation, validated when built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..validation import check_choice, choices

Source = Literal["digits", "file"]
Categorical = Literal["onehot", "ordinal"]
BinaryMissing = Literal["as_missing", "own_level"]
Missing = Literal["error", "drop", "impute", "mask"]
Constant = Literal["error", "drop", "keep"]
Scaling = Literal["standard", "minmax", "none"]
SOURCES, CATEGORICAL, MISSING = choices(Source), choices(Categorical), choices(Missing)
CONSTANT, SCALING = choices(Constant), choices(Scaling)
BINARY_MISSING = choices(BinaryMissing)


@dataclass(frozen=True)
class SourceConfig:
    """Where the data comes from and how a table becomes a feature matrix.

    Parameters
    ----------
    source : "digits" (scikit-learn's bundled 8x8 digits, no download) or "file".
    path : CSV or Parquet file when source is "file".
    label_column : column holding the class label, if any (text or integer classes).
    feature_columns : use only these columns (default: every other column).
    drop_columns : columns to ignore (ids, free text).
    categorical : encoding of text columns: "onehot" (a column per level) or "ordinal".
        A text column with two levels (yes/no) is one 0/1 column either way, named
        ``column=<second level>`` (``q3=y``) when one-hot: two columns would mirror each other.
    binary_missing : a missing value in a two-level text column: "as_missing" (follows
        ``missing``) or "own_level" (coded 0.5, halfway between the levels; never imputed).
    max_categories : a text column with more levels is an error.
    missing : missing values: "error" (stop at the first), "drop" the row, "impute" the
        training split's column means, or "mask" (impute and keep an observed-value mask).
    na_values : extra strings read as missing (e.g. "?").
    constant_columns : a column with one value: "error", "drop" or "keep" (images keep them).
    image_shape : (height, width) or (channels, height, width) if each row is an image.
    separator : CSV field separator.
    """

    source: Source = "digits"
    path: str | None = None
    label_column: str | None = None
    feature_columns: tuple[str, ...] | None = None
    drop_columns: tuple[str, ...] = ()
    categorical: Categorical = "onehot"
    binary_missing: BinaryMissing = "as_missing"
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
        check_choice("binary_missing", self.binary_missing, BINARY_MISSING)
        check_choice("constant_columns", self.constant_columns, CONSTANT)
        if self.source == "file" and not self.path:
            raise ValueError("source='file' needs a path to a CSV or Parquet file")
        if self.max_categories < 2:
            raise ValueError(f"max_categories={self.max_categories} must be >= 2")


@dataclass(frozen=True)
class PrepareConfig:
    """Split and scaling. Fractions are of the whole dataset; train gets the rest. The scaler
    (and the imputation means) are fitted on the training split only.

    Parameters
    ----------
    test_fraction : share of all rows held out for testing (stratified).
    val_fraction : share of all rows for validation and early stopping.
    scaling : feature scaling: "standard", "minmax" or "none".
    clip : clip validation and test features to the range seen in training (min-max: [0, 1],
        which likelihoods such as a Bernoulli decoder need).
    seed : seed of the split.
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
            raise ValueError(
                f"test_fraction + val_fraction = {self.test_fraction + self.val_fraction} "
                "leaves no training data; it must be < 1"
            )
