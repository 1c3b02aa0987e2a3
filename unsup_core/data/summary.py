"""Plain-dict summaries of datasets, for reports and tracking artifacts."""

from __future__ import annotations

import numpy as np

from .dataset import Dataset
from .prepare import PreparedData


def class_counts(y: np.ndarray | None, class_names: tuple[str, ...] | None) -> dict[str, int]:
    if y is None or class_names is None:
        return {}
    counts = np.bincount(y, minlength=len(class_names))
    return {name: int(n) for name, n in zip(class_names, counts)}


def summarize_dataset(dataset: Dataset) -> dict:
    """Shape, labels, missing values and per-feature ranges of a loaded dataset."""
    X = dataset.X
    missing = np.isnan(X).sum(axis=0)
    return {
        "source": dataset.source,
        "n_samples": dataset.n_samples,
        "n_features": dataset.n_features,
        "n_classes": dataset.n_classes,
        "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
        "class_counts": class_counts(dataset.y, dataset.class_names),
        "missing_values": int(missing.sum()),
        "features": [
            {
                "name": name,
                "min": float(np.nanmin(col)) if m < len(col) else None,
                "max": float(np.nanmax(col)) if m < len(col) else None,
                "missing": int(m),
            }
            for name, col, m in zip(dataset.feature_names, X.T, missing)
        ],
    }


def summarize_prepared(data: PreparedData) -> dict:
    """Split sizes, class balance per split and the fitted scaling."""
    splits = {"train": data.train, "val": data.val, "test": data.test}
    return {
        "source": data.source,
        "n_features": data.n_features,
        "scaling": data.scaler.kind,
        "split_sizes": {name: len(split) for name, split in splits.items()},
        "class_counts": {
            name: class_counts(split.y, data.class_names) for name, split in splits.items()
        },
        "config": {
            "test_fraction": data.config.test_fraction,
            "val_fraction": data.config.val_fraction,
            "seed": data.config.seed,
        },
    }


def class_balance(y: np.ndarray, n_classes: int) -> float:
    """Smallest over largest class count (1 = perfectly balanced, 0 = a class is absent)."""
    counts = np.bincount(y, minlength=n_classes)
    return float(counts.min() / counts.max()) if counts.max() > 0 else 0.0
