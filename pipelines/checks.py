"""Asset checks on the prepared data: the gates before any model trains on it."""

import numpy as np
from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from unsup_core.data import PreparedData, class_balance

MIN_CLASS_BALANCE = 0.2  # smallest / largest class count in the training split
SPLIT_TOLERANCE = 0.05  # allowed deviation of a split's share from its configured fraction


@asset_check(asset="prepared_dataset", blocking=True,
             description="Every split is finite: no NaN or inf reaches a model.")
def prepared_no_nan(prepared_dataset: PreparedData) -> AssetCheckResult:
    splits = {"train": prepared_dataset.train, "val": prepared_dataset.val,
              "test": prepared_dataset.test}
    bad = {name: int((~np.isfinite(split.X)).sum()) for name, split in splits.items()}
    return AssetCheckResult(passed=sum(bad.values()) == 0, metadata={"non_finite_values": bad})


@asset_check(asset="prepared_dataset", blocking=True,
             description="Split sizes match the configured fractions and train/test are non-empty.")
def prepared_split_sizes(prepared_dataset: PreparedData) -> AssetCheckResult:
    data = prepared_dataset
    sizes = {"train": len(data.train), "val": len(data.val), "test": len(data.test)}
    total = sum(sizes.values())
    wanted = {"test": data.config.test_fraction, "val": data.config.val_fraction}
    off = {name: round(abs(sizes[name] / total - share), 4) for name, share in wanted.items()}
    passed = sizes["train"] > 0 and (sizes["test"] > 0 or wanted["test"] == 0) and \
        max(off.values()) <= SPLIT_TOLERANCE
    return AssetCheckResult(passed=passed, metadata={**{f"n_{k}": v for k, v in sizes.items()},
                                                     "share_deviation": off})


@asset_check(asset="prepared_dataset",
             description=f"Class balance of the training split (smallest/largest count) is at "
                         f"least {MIN_CLASS_BALANCE}; a warning, not a gate.")
def prepared_class_balance(prepared_dataset: PreparedData) -> AssetCheckResult:
    data = prepared_dataset
    if data.train.y is None:
        return AssetCheckResult(passed=True, metadata={"labels": "none"})
    balance = class_balance(data.train.y, data.n_classes)
    return AssetCheckResult(passed=balance >= MIN_CLASS_BALANCE, severity=AssetCheckSeverity.WARN,
                            metadata={"class_balance": balance, "threshold": MIN_CLASS_BALANCE})
