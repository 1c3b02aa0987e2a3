"""Asset checks: gates on the prepared data before any model trains on it, and on the models
before anything downstream (the registry, the code map) uses them."""

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetIn,
    Config,
    asset_check,
)
from pydantic import Field
from torch import nn

from unsup_core.arrays import accuracy, apply_array, encoder_codes
from unsup_core.competitive import KohonenMap
from unsup_core.data import PreparedData, class_balance

MIN_CLASS_BALANCE = 0.2  # smallest / largest class count in the training split
SPLIT_TOLERANCE = 0.05  # allowed deviation of a split's share from its configured fraction


@asset_check(
    asset="prepared_dataset",
    blocking=True,
    description="Every split is finite: no NaN or inf reaches a model.",
)
def prepared_no_nan(prepared_dataset: PreparedData) -> AssetCheckResult:
    splits = {
        "train": prepared_dataset.train,
        "val": prepared_dataset.val,
        "test": prepared_dataset.test,
    }
    bad = {name: int((~np.isfinite(split.X)).sum()) for name, split in splits.items()}
    return AssetCheckResult(passed=sum(bad.values()) == 0, metadata={"non_finite_values": bad})


@asset_check(
    asset="prepared_dataset",
    blocking=True,
    description="Split sizes match the configured fractions and train/test are non-empty.",
)
def prepared_split_sizes(prepared_dataset: PreparedData) -> AssetCheckResult:
    data = prepared_dataset
    sizes = {"train": len(data.train), "val": len(data.val), "test": len(data.test)}
    total = sum(sizes.values())
    wanted = {"test": data.config.test_fraction, "val": data.config.val_fraction}
    off = {name: round(abs(sizes[name] / total - share), 4) for name, share in wanted.items()}
    passed = (
        sizes["train"] > 0
        and (sizes["test"] > 0 or wanted["test"] == 0)
        and max(off.values()) <= SPLIT_TOLERANCE
    )
    return AssetCheckResult(
        passed=passed, metadata={**{f"n_{k}": v for k, v in sizes.items()}, "share_deviation": off}
    )


@asset_check(
    asset="prepared_dataset",
    description=f"Class balance of the training split (smallest/largest count) is at "
    f"least {MIN_CLASS_BALANCE}; a warning, not a gate.",
)
def prepared_class_balance(prepared_dataset: PreparedData) -> AssetCheckResult:
    data = prepared_dataset
    if data.train.y is None:
        return AssetCheckResult(passed=True, metadata={"labels": "none"})
    balance = class_balance(data.train.y, data.n_classes)
    return AssetCheckResult(
        passed=balance >= MIN_CLASS_BALANCE,
        severity=AssetCheckSeverity.WARN,
        metadata={"class_balance": balance, "threshold": MIN_CLASS_BALANCE},
    )


# --- Model gates: a failing blocking check stops everything downstream (the registry too). ---


class AccuracyGateConfig(Config):
    min_accuracy: float = Field(0.8, description="Lowest acceptable test accuracy")


class ReconstructionGateConfig(Config):
    max_relative_mse: float = Field(
        0.5,
        description="Highest acceptable test reconstruction MSE as a share of the test "
        "features' mean variance (1 - R^2; 1.0 = no better than predicting the mean)",
    )


class TopographicGateConfig(Config):
    max_topographic_error: float = Field(
        0.3,
        description="Highest acceptable topographic error "
        "(share of objects whose two best units are not adjacent)",
    )


def finite_outputs_check(asset_name: str, method: str) -> AssetChecksDefinition:
    """A blocking check that the model of ``asset_name`` has finite weights and gives finite
    outputs (``method``: forward, predict or encode) on the test split."""

    @asset_check(
        asset=asset_name,
        name="finite_outputs",
        blocking=True,
        additional_ins={"prepared_dataset": AssetIn("prepared_dataset")},
        description=f"Weights and {method} outputs on the test split are finite.",
    )
    def _check(model: Any, prepared_dataset: PreparedData) -> AssetCheckResult:
        models = model.values() if isinstance(model, Mapping) else [model]
        bad_weights = sum(
            int((~torch.isfinite(t)).sum())
            for m in models
            for t in m.state_dict().values()
            if t.is_floating_point()
        )
        outputs = [
            encoder_codes(m, prepared_dataset.test.X)
            if method == "encode"
            else apply_array(m, prepared_dataset.test.X, method)
            for m in models
        ]
        bad_outputs = sum(int((~np.isfinite(o)).sum()) for o in outputs)
        return AssetCheckResult(
            passed=bad_weights == 0 and bad_outputs == 0,
            metadata={"non_finite_weights": bad_weights, "non_finite_outputs": bad_outputs},
        )

    return _check


@asset_check(
    asset="student_model",
    blocking=True,
    additional_ins={"prepared_dataset": AssetIn("prepared_dataset")},
    description="The student's test accuracy reaches the configured minimum.",
)
def student_accuracy_gate(
    config: AccuracyGateConfig, student_model: nn.Module, prepared_dataset: PreparedData
) -> AssetCheckResult:
    test = prepared_dataset.test
    score = accuracy(student_model, test.X, test.y)
    return AssetCheckResult(
        passed=score >= config.min_accuracy,
        metadata={"test_accuracy": score, "min_accuracy": config.min_accuracy},
    )


@asset_check(
    asset="plain_autoencoder",
    blocking=True,
    additional_ins={"prepared_dataset": AssetIn("prepared_dataset")},
    description="The autoencoder's test reconstruction MSE, relative to the features' "
    "variance, stays below the maximum (scale-free, so it suits any data).",
)
def reconstruction_gate(
    config: ReconstructionGateConfig, plain_autoencoder: nn.Module, prepared_dataset: PreparedData
) -> AssetCheckResult:
    X = prepared_dataset.test.X
    mse = float(np.mean((apply_array(plain_autoencoder, X) - X) ** 2))
    relative = mse / max(float(np.mean(np.var(X, axis=0))), 1e-12)
    return AssetCheckResult(
        passed=bool(relative <= config.max_relative_mse),
        metadata={
            "test_recon_mse": mse,
            "relative_mse": relative,
            "max_relative_mse": config.max_relative_mse,
        },
    )


@asset_check(
    asset="code_som",
    blocking=True,
    additional_ins={
        "prepared_dataset": AssetIn("prepared_dataset"),
        "student_model": AssetIn("student_model"),
    },
    description="The code map preserves neighbourhoods: topographic error below the maximum.",
)
def topographic_error_gate(
    config: TopographicGateConfig,
    code_som: KohonenMap,
    prepared_dataset: PreparedData,
    student_model: nn.Module,
) -> AssetCheckResult:
    error = float(
        code_som.topographic_error(encoder_codes(student_model, prepared_dataset.train.X))
    )
    return AssetCheckResult(
        passed=error <= config.max_topographic_error,
        metadata={
            "topographic_error": error,
            "max_topographic_error": config.max_topographic_error,
        },
    )


MODEL_OUTPUT_CHECKS = [
    finite_outputs_check(name, method)
    for name, method in (
        ("plain_autoencoder", "forward"),
        ("stacked_autoencoder", "encode"),
        ("ssl_encoder", "encode"),
        ("transfer_models", "predict"),
        ("teacher_model", "predict"),
        ("student_model", "predict"),
    )
]
