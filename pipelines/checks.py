"""Asset checks: gates on the prepared data before any model trains on it, on the models
before anything downstream (the registry, the code map) uses them, and warnings about models
that trained without error but are broken (a collapsed GAN, useless codes, an empty map, a
student worse than its baseline).

A model asset may hold :class:`~unsup_core.applicability.NotApplicable` instead of a model (the
method does not apply to the data): every check then passes and says why in its metadata."""

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import torch
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetIn,
    AssetKey,
    Config,
    asset_check,
)
from pydantic import Field

from unsup_core.applicability import NotApplicable
from unsup_core.arrays import accuracy, apply_array, encoder_codes
from unsup_core.data import PreparedData, class_balance
from unsup_core.diagnostics import (
    GanDiagnosisConfig,
    ProbeConfig,
    diagnose_gan,
    empty_node_share,
    probe_against_raw,
)

from .configs import dagster_config

MIN_CLASS_BALANCE = 0.2  # smallest / largest class count in the training split
SPLIT_TOLERANCE = 0.05  # allowed deviation of a split's share from its configured fraction
NO_LABELS = "none"  # metadata "labels" of a check whose label-needing part had no labels
# What a model asset holds: its model (an nn.Module, a mapping of them, a KohonenMap) or
# NotApplicable. Dagster type-checks an input by its annotation and cannot check a union, so
# the checks take models as this alias of Any.
ModelValue = Any
# A finite-outputs probe: (weights, outputs, what the outputs were computed on).
Probed = tuple[list[np.ndarray], list[np.ndarray], str]
OutputProbe = Callable[[Any, PreparedData], Probed]


def not_applicable(*values: Any) -> AssetCheckResult | None:
    """A passing result with metadata ``{"not_applicable": reason}`` when one of ``values`` is
    :class:`NotApplicable` (a mapping of models: when every member is), else None::

        if skipped := not_applicable(model):
            return skipped
    """
    for value in values:
        members = list(value.values()) if isinstance(value, Mapping) else [value]
        if members and all(isinstance(m, NotApplicable) for m in members):
            return AssetCheckResult(passed=True, metadata={"not_applicable": members[0].reason})
    return None


@asset_check(
    asset="prepared_dataset",
    blocking=True,
    description="Every split is finite: no NaN or inf reaches a model.",
)
def prepared_no_nan(prepared_dataset: PreparedData) -> AssetCheckResult:
    if skipped := not_applicable(prepared_dataset):
        return skipped
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
    if skipped := not_applicable(prepared_dataset):
        return skipped
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
    if skipped := not_applicable(prepared_dataset):
        return skipped
    data = prepared_dataset
    if data.train.y is None:
        return AssetCheckResult(passed=True, metadata={"labels": NO_LABELS})
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


def _floating_tensors(models: list[Any]) -> list[np.ndarray]:
    return [
        t.detach().cpu().numpy()
        for m in models
        for t in m.state_dict().values()
        if t.is_floating_point()
    ]


def network_outputs(method: str) -> OutputProbe:
    """Weights and ``method`` (forward, predict or encode) outputs on the test split of a model
    or of every model in a mapping (a zoo)."""

    def probe(model: Any, data: PreparedData) -> Probed:
        members = model.values() if isinstance(model, Mapping) else [model]
        models = [m for m in members if not isinstance(m, NotApplicable)]
        outputs = [
            encoder_codes(m, data.test.X)
            if method == "encode"
            else apply_array(m, data.test.X, method)
            for m in models
        ]
        return _floating_tensors(models), outputs, "test split"

    return probe


def map_outputs(som: Any, data: PreparedData) -> Probed:
    """A SOM's codebook, and its distances to the test split when it maps the data's features
    (the code map's inputs are codes: its codebook only)."""
    if som.n_features_in_ == data.n_features:
        return [som.weights_], [som.transform(data.test.X)], "test split"
    return [som.weights_], [], "codebook only (the map is of codes)"


def gan_outputs(models: Mapping[str, Any], data: PreparedData) -> Probed:
    """Both networks' weights, 256 seeded samples and the discriminator on the test split."""
    generator, discriminator = models["generator"], models["discriminator"]
    with torch.no_grad():
        samples = generator.sample(256, torch.Generator().manual_seed(0)).cpu().numpy()
    scores = apply_array(discriminator, data.test.X)
    networks = _floating_tensors([generator, discriminator])
    return networks, [samples, scores], "256 samples; the test split"


def view_outputs(model: Any, data: PreparedData) -> Probed:
    """The LUPI student sees its own view x of the data (degraded images or some columns): the
    test split when the widths agree, else uniform rows in the data's [0, 1] range."""
    width = model.config.in_features
    if width == data.n_features:
        outputs = [apply_array(model, data.test.X, "predict")]
        return _floating_tensors([model]), outputs, "test split"
    rows = np.random.default_rng(0).random((len(data.test), width), dtype=np.float32)
    return (
        _floating_tensors([model]),
        [apply_array(model, rows, "predict")],
        f"uniform [0, 1] rows of the student's {width} inputs",
    )


def finite_outputs_check(asset_name: str, probe: OutputProbe, what: str) -> AssetChecksDefinition:
    """A blocking check that the model of ``asset_name`` has finite weights and gives finite
    outputs (``probe`` says which weights and outputs)."""

    @asset_check(
        asset=asset_name,
        name="finite_outputs",
        blocking=True,
        additional_ins={"prepared_dataset": AssetIn("prepared_dataset")},
        description=f"Weights and {what} are finite.",
    )
    def _check(model: Any, prepared_dataset: PreparedData) -> AssetCheckResult:
        if skipped := not_applicable(model):
            return skipped
        weights, outputs, inputs = probe(model, prepared_dataset)
        bad_weights = sum(int((~np.isfinite(w)).sum()) for w in weights)
        bad_outputs = sum(int((~np.isfinite(o)).sum()) for o in outputs)
        return AssetCheckResult(
            passed=bad_weights == 0 and bad_outputs == 0,
            metadata={
                "non_finite_weights": bad_weights,
                "non_finite_outputs": bad_outputs,
                "inputs": inputs,
            },
        )

    return _check


@asset_check(
    asset="student_model",
    blocking=True,
    additional_ins={"prepared_dataset": AssetIn("prepared_dataset")},
    description="The student's test accuracy reaches the configured minimum.",
)
def student_accuracy_gate(
    config: AccuracyGateConfig, student_model: ModelValue, prepared_dataset: PreparedData
) -> AssetCheckResult:
    if skipped := not_applicable(student_model):
        return skipped
    test = prepared_dataset.test
    if test.y is None:
        return AssetCheckResult(passed=True, metadata={"labels": NO_LABELS})
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
    config: ReconstructionGateConfig, plain_autoencoder: ModelValue, prepared_dataset: PreparedData
) -> AssetCheckResult:
    if skipped := not_applicable(plain_autoencoder):
        return skipped
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
    code_som: ModelValue,
    prepared_dataset: PreparedData,
    student_model: ModelValue,
) -> AssetCheckResult:
    if skipped := not_applicable(code_som, student_model):
        return skipped
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


MODEL_OUTPUT_CHECKS = [  # every asset that holds a model
    finite_outputs_check(name, probe, what)
    for name, probe, what in (
        ("plain_autoencoder", network_outputs("forward"), "reconstructions of the test split"),
        ("autoencoder_zoo", network_outputs("forward"), "every member's reconstructions"),
        ("stacked_autoencoder", network_outputs("encode"), "codes of the test split"),
        ("ssl_encoder", network_outputs("encode"), "codes of the test split"),
        ("transfer_models", network_outputs("predict"), "every classifier's predictions"),
        ("teacher_model", network_outputs("predict"), "predictions on the test split"),
        ("student_model", network_outputs("predict"), "predictions on the test split"),
        ("privileged_student", view_outputs, "predictions on the student's view"),
        ("data_som", map_outputs, "the codebook and its distances to the test split"),
        ("code_som", map_outputs, "the codebook"),
        ("gan_model", gan_outputs, "samples and discriminator scores"),
    )
]


# --- Failure detection: models that trained without error but are broken. Warnings by default
# (non-blocking): a run still finishes and the finding is visible on the asset.


class FailureCheckConfig(Config):
    severity: Literal["WARN", "ERROR"] = Field(
        "WARN", description="Severity of a failed check (it never blocks downstream assets)"
    )


# What the checks measure, and how, is the library's (one declaration per field); what counts as
# broken (thresholds, severity) is the pipeline's.
GanDiagnosisSettings = dagster_config(GanDiagnosisConfig)
ProbeSettings = dagster_config(ProbeConfig)


class GanCollapseConfig(FailureCheckConfig):
    max_frechet_ratio: float = Field(
        1.0,
        description="Fails when the GAN's Frechet distance is at least this multiple of the "
        "Gaussian baseline's (N(mean, cov) of the training data, same judge); 1.0 = no better "
        "than the Gaussian",
    )
    max_missing_classes: int = Field(
        0,
        description="How many of the classes the judge finds among the real training objects "
        "may be missing from the GAN's samples",
    )
    max_discriminator_accuracy: float = Field(
        0.99,
        description="Fails when the discriminator's balanced accuracy (held-out real objects "
        "vs fresh samples) is above this: D is pinned at 1 and G learns nothing",
    )
    diagnosis: GanDiagnosisSettings = Field(
        GanDiagnosisSettings(),
        description="How the GAN is measured: samples judged, seed, the judging classifier",
    )


class ProbeCheckConfig(FailureCheckConfig):
    tolerance: float = Field(
        0.0,
        description="Fails when the codes' probe accuracy is below the raw features' by more "
        "than this (accuracy points, 0.05 = 5 points)",
    )
    probe: ProbeSettings = Field(
        ProbeSettings(), description="The few-label probe of the codes and of the raw features"
    )


class EmptyNodesConfig(FailureCheckConfig):
    max_empty_share: float = Field(
        0.5,
        description="Highest acceptable share of map nodes that win no training object",
    )


class StudentBaselineConfig(FailureCheckConfig):
    tolerance: float = Field(
        0.0,
        description="Fails when the student's test accuracy is below its baseline's (the same "
        "student on the labels alone) by more than this (accuracy points)",
    )


def failure(config: FailureCheckConfig, findings: list[str], **measured: Any) -> AssetCheckResult:
    """Passed when ``findings`` is empty; the findings (what is wrong) joined into ``finding``."""
    return AssetCheckResult(
        passed=not findings,
        severity=AssetCheckSeverity(config.severity),
        metadata={"finding": "; ".join(findings) or "none", **measured},
    )


@asset_check(
    asset="gan_model",
    blocking=False,
    additional_ins={"prepared_dataset": AssetIn("prepared_dataset")},
    description="Detects a collapsed GAN: samples no closer to the data (Frechet distance in "
    "the features of a classifier trained on the real data) than a Gaussian fitted to it, "
    "classes missing among the samples, or a discriminator that tells real from generated "
    "perfectly. Without labels only the discriminator is judged.",
)
def gan_collapse(
    config: GanCollapseConfig, gan_model: ModelValue, prepared_dataset: PreparedData
) -> AssetCheckResult:
    if skipped := not_applicable(gan_model):
        return skipped
    data = prepared_dataset
    held_out = data.test.X if len(data.test) >= 2 else data.train.X
    found = diagnose_gan(
        gan_model["generator"],
        gan_model["discriminator"],
        data.train.X,
        held_out,
        data.train.y,
        data.n_classes,
        config.diagnosis.to_library(),
    )
    findings = found.findings(
        config.max_frechet_ratio, config.max_missing_classes, config.max_discriminator_accuracy
    )
    measured: dict[str, Any] = found.measurements()
    if found.frechet_distance is None:
        measured["labels"] = NO_LABELS
    else:
        measured.update(
            max_frechet_ratio=config.max_frechet_ratio,
            max_missing_classes=config.max_missing_classes,
        )
    return failure(
        config,
        findings,
        **measured,
        max_discriminator_accuracy=config.max_discriminator_accuracy,
        judged_samples=config.diagnosis.judged_samples,
    )


def probe_vs_raw_check(asset_name: str) -> AssetChecksDefinition:
    """A warning when a few-label linear probe reads the codes of ``asset_name``'s encoder
    worse than the raw features."""

    @asset_check(
        asset=asset_name,
        name="probe_vs_raw_features",
        blocking=False,
        additional_ins={"prepared_dataset": AssetIn("prepared_dataset")},
        description="Detects an encoder whose codes are worse than no encoder: a few-label "
        "linear probe (same labels, same test split) scores lower on the codes than on the "
        "raw features. Passes, saying so, without labels.",
    )
    def _check(
        config: ProbeCheckConfig, model: ModelValue, prepared_dataset: PreparedData
    ) -> AssetCheckResult:
        if skipped := not_applicable(model):
            return skipped
        train, test = prepared_dataset.train, prepared_dataset.test
        if train.y is None or test.y is None:
            return AssetCheckResult(passed=True, metadata={"labels": NO_LABELS})
        probe = probe_against_raw(
            encoder_codes(model, train.X),
            encoder_codes(model, test.X),
            train.X,
            test.X,
            train.y,
            test.y,
            config.probe.to_library(),
        )
        worse = probe.deficit > config.tolerance
        return failure(
            config,
            [
                f"codes' probe accuracy {probe.code_accuracy:.3f} is below the raw features' "
                f"{probe.raw_accuracy:.3f}"
            ]
            if worse
            else [],
            code_probe_accuracy=probe.code_accuracy,
            raw_probe_accuracy=probe.raw_accuracy,
            tolerance=config.tolerance,
            labels_per_class=probe.labels_per_class,
            draws=probe.draws,
        )

    return _check


@asset_check(
    asset="data_som",
    blocking=False,
    additional_ins={"prepared_dataset": AssetIn("prepared_dataset")},
    description="Detects a map with most nodes empty: the share of nodes that are the best "
    "match of no training object stays at most the maximum.",
)
def empty_nodes(
    config: EmptyNodesConfig, data_som: ModelValue, prepared_dataset: PreparedData
) -> AssetCheckResult:
    if skipped := not_applicable(data_som):
        return skipped
    n_nodes = int(data_som.weights_.shape[0])
    share = empty_node_share(data_som.predict(prepared_dataset.train.X), n_nodes)
    empty = round(share * n_nodes)
    return failure(
        config,
        [f"{empty} of {n_nodes} nodes win no training object"]
        if share > config.max_empty_share
        else [],
        empty_nodes=empty,
        n_nodes=n_nodes,
        empty_share=share,
        max_empty_share=config.max_empty_share,
    )


def latest_metadata(context: AssetCheckExecutionContext, asset_name: str) -> dict[str, Any]:
    """The plain values of the metadata of ``asset_name``'s latest materialisation."""
    event = context.instance.get_latest_materialization_event(AssetKey(asset_name))
    if event is None or event.asset_materialization is None:
        return {}
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


@asset_check(
    asset="student_model",
    blocking=False,
    description="Detects a student that distillation made worse: its test accuracy is below "
    "that of the same student trained on the labels alone (the asset's student_accuracy and "
    "baseline_accuracy), beyond the tolerance.",
)
def student_vs_baseline(
    context: AssetCheckExecutionContext, config: StudentBaselineConfig, student_model: ModelValue
) -> AssetCheckResult:
    if skipped := not_applicable(student_model):
        return skipped
    recorded = latest_metadata(context, "student_model")
    if not {"student_accuracy", "baseline_accuracy"} <= recorded.keys():
        return AssetCheckResult(
            passed=True,
            metadata={"finding": "no student_accuracy / baseline_accuracy recorded"},
        )
    student, baseline = float(recorded["student_accuracy"]), float(recorded["baseline_accuracy"])
    return failure(
        config,
        [f"student accuracy {student:.3f} is below its baseline's {baseline:.3f}"]
        if student < baseline - config.tolerance
        else [],
        student_accuracy=student,
        baseline_accuracy=baseline,
        tolerance=config.tolerance,
    )


FAILURE_CHECKS = [
    gan_collapse,
    probe_vs_raw_check("ssl_encoder"),
    probe_vs_raw_check("stacked_autoencoder"),
    empty_nodes,
    student_vs_baseline,
]
