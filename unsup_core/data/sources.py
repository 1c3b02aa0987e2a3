"""Data sources: the embedded digits and user files, behind one ``load_dataset``."""

from __future__ import annotations

import numpy as np

from .config import SourceConfig
from .dataset import Dataset
from .tables import load_table


def load_digits_dataset() -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, values 0..16, 10 classes).

    Read from the copy that ships inside scikit-learn; nothing is downloaded.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    names = tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    return Dataset(
        X=bunch.data.astype(np.float32),
        feature_names=names,
        y=bunch.target.astype(np.int64),
        class_names=tuple(str(c) for c in bunch.target_names),
        image_shape=(8, 8),
        source="digits",
    )


def load_dataset(config: SourceConfig) -> Dataset:
    """Load the dataset ``config`` describes."""
    if config.source == "digits":
        return load_digits_dataset()
    return load_table(config)
