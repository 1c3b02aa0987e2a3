"""Small prepared datasets for the library's recipe tests (the shared fixtures ``digits``,
``prepared_digits`` and ``blobs`` are in ``tests/conftest.py``)."""

from dataclasses import replace

import numpy as np
import pytest

from unsup_core.data import Dataset, PrepareConfig, prepare

SMALL_DIGITS = 400  # images: about 24 training objects per class
TABLE_ROWS = 300


@pytest.fixture(scope="session")
def small_digits(digits):
    """The first 400 digits (8x8 images, 10 classes), split 60/10/30 and min-max scaled."""
    return prepare(digits.subset(np.arange(SMALL_DIGITS)), PrepareConfig(seed=0))


@pytest.fixture(scope="session")
def small_table():
    """A labelled table without an image shape: 300 rows, 6 named columns ``f0..f5`` around
    three class centres (the last two columns separate the classes best), min-max scaled."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=TABLE_ROWS).astype(np.int64)
    centres = rng.normal(size=(3, 6)) * np.array([0.5, 0.5, 0.5, 0.5, 2.0, 2.0])
    X = (centres[y] + 0.5 * rng.normal(size=(TABLE_ROWS, 6))).astype(np.float32)
    dataset = Dataset(
        X=X,
        feature_names=tuple(f"f{j}" for j in range(6)),
        y=y,
        class_names=("a", "b", "c"),
        source="small_table",
    )
    return prepare(dataset, PrepareConfig(seed=0))


@pytest.fixture(scope="session")
def unlabelled_table(small_table):
    """``small_table`` without its labels (and class names)."""
    return replace(
        small_table,
        class_names=None,
        **{name: replace(getattr(small_table, name), y=None) for name in ("train", "val", "test")},
    )
