"""The failure checks: each one fails (a warning, with a finding) on a deliberately broken model
and passes on a sane one; every check passes, saying why, on a NotApplicable model and where
labels are missing."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from dagster import (
    AssetCheckSeverity,
    DagsterInstance,
    Output,
    asset,
    build_asset_check_context,
    materialize,
)
from torch import nn

from pipelines.checks import (
    MODEL_OUTPUT_CHECKS,
    AccuracyGateConfig,
    EmptyNodesConfig,
    GanCollapseConfig,
    ProbeCheckConfig,
    ReconstructionGateConfig,
    StudentBaselineConfig,
    TopographicGateConfig,
    empty_nodes,
    finite_outputs_check,
    gan_collapse,
    gan_outputs,
    map_outputs,
    network_outputs,
    prepared_class_balance,
    probe_vs_raw_check,
    reconstruction_gate,
    student_accuracy_gate,
    student_vs_baseline,
    topographic_error_gate,
    view_outputs,
)
from unsup_core.applicability import NotApplicable
from unsup_core.competitive import KohonenMap
from unsup_core.data import PrepareConfig, prepare
from unsup_core.distillation import MLPClassifier, MLPClassifierConfig
from unsup_core.generative import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig

GAN = GanCollapseConfig(diagnosis={"judged_samples": 300})  # the library's 40-epoch judge
PROBE = ProbeCheckConfig(probe={"labels_per_class": 5, "draws": 2})
NO_LABELS = NotApplicable("no labels (the data has no label column)")


@pytest.fixture(scope="module")
def data(digits):
    """400 digits (8x8, 10 classes) split 60/10/30."""
    return prepare(digits.subset(np.arange(400)), PrepareConfig(seed=0))


@pytest.fixture(scope="module")
def unlabelled(data):
    return replace(
        data,
        class_names=None,
        **{name: replace(getattr(data, name), y=None) for name in ("train", "val", "test")},
    )


def values(result) -> dict:
    return {key: value.value for key, value in result.metadata.items()}


# --- gan_model: collapse -------------------------------------------------------------------


class ConstantGenerator(nn.Module):
    """Collapsed: every sample is the same image."""

    def __init__(self, image: np.ndarray) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.as_tensor(image))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.image.expand(n, -1).clone()


class ReplayGenerator(nn.Module):
    """Sane: samples the training objects themselves."""

    def __init__(self, X: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("X", torch.as_tensor(X))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.X[torch.randint(len(self.X), (n,), generator=generator)]


class PinnedDiscriminator(nn.Module):
    """Tells the constant image from every real one: logit ||x - image||^2 - 1e-3."""

    def __init__(self, image: np.ndarray) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.as_tensor(image))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.image) ** 2).sum(dim=1) - 1e-3


def broken_gan(data) -> dict[str, nn.Module]:
    image = data.train.X[0]
    return {"generator": ConstantGenerator(image), "discriminator": PinnedDiscriminator(image)}


def sane_gan(data) -> dict[str, nn.Module]:
    return {
        "generator": ReplayGenerator(data.train.X),
        "discriminator": Discriminator(DiscriminatorConfig(in_features=64, hidden=(16,))),
    }


def test_gan_collapse_fails_on_a_constant_generator_and_names_every_finding(data):
    result = gan_collapse(config=GAN, gan_model=broken_gan(data), prepared_dataset=data)
    meta = values(result)
    assert not result.passed and result.severity == AssetCheckSeverity.WARN
    assert "1 of 10 classes present" in meta["finding"]
    assert "no better than 1 x the Gaussian baseline" in meta["finding"]
    assert "discriminator accuracy 1.000 > 0.99" in meta["finding"]
    assert meta["frechet_distance"] > meta["gaussian_frechet_distance"]
    assert meta["max_frechet_ratio"] == 1.0 and meta["max_discriminator_accuracy"] == 0.99


def test_gan_collapse_passes_a_generator_of_real_objects(data):
    result = gan_collapse(config=GAN, gan_model=sane_gan(data), prepared_dataset=data)
    meta = values(result)
    assert result.passed, meta["finding"]
    assert meta["finding"] == "none" and meta["n_classes_present"] == 10
    assert meta["frechet_distance"] < meta["gaussian_frechet_distance"]


def test_gan_collapse_thresholds_are_run_config(data):
    lenient = GAN.model_copy(
        update={"max_missing_classes": 9, "max_frechet_ratio": 1e9, "max_discriminator_accuracy": 1}
    )
    assert gan_collapse(config=lenient, gan_model=broken_gan(data), prepared_dataset=data).passed
    strict = GAN.model_copy(update={"severity": "ERROR", "max_frechet_ratio": 0.0})
    result = gan_collapse(config=strict, gan_model=sane_gan(data), prepared_dataset=data)
    assert not result.passed and result.severity == AssetCheckSeverity.ERROR


def test_gan_collapse_without_labels_judges_only_the_discriminator(unlabelled):
    broken = gan_collapse(config=GAN, gan_model=broken_gan(unlabelled), prepared_dataset=unlabelled)
    assert not broken.passed and values(broken)["labels"] == "none"
    assert values(broken)["finding"].startswith("discriminator accuracy 1.000")
    sane = gan_collapse(config=GAN, gan_model=sane_gan(unlabelled), prepared_dataset=unlabelled)
    assert sane.passed and "frechet_distance" not in values(sane)


# --- ssl_encoder / stacked_autoencoder: codes vs raw features -------------------------------


def linear_encoder(weight: torch.Tensor) -> nn.Linear:
    encoder = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        encoder.weight.copy_(weight)
        encoder.bias.zero_()
    return encoder


@pytest.mark.parametrize("asset_name", ["ssl_encoder", "stacked_autoencoder"])
def test_probe_check_fails_on_an_encoder_that_maps_everything_to_zero(data, asset_name):
    check = probe_vs_raw_check(asset_name)
    result = check(config=PROBE, model=linear_encoder(torch.zeros(8, 64)), prepared_dataset=data)
    meta = values(result)
    assert not result.passed and result.severity == AssetCheckSeverity.WARN
    assert meta["code_probe_accuracy"] < meta["raw_probe_accuracy"]
    assert meta["finding"].startswith("codes' probe accuracy")


def test_probe_check_passes_codes_as_good_as_the_features(data):
    check = probe_vs_raw_check("ssl_encoder")
    result = check(config=PROBE, model=linear_encoder(torch.eye(64)), prepared_dataset=data)
    meta = values(result)
    assert result.passed and meta["code_probe_accuracy"] == meta["raw_probe_accuracy"]
    assert meta["labels_per_class"] == 5 and meta["tolerance"] == 0.0


# --- data_som: empty nodes ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_map(data):
    return KohonenMap(4, 4, epochs=5, random_state=0).fit(data.train.X)


def test_empty_nodes_fails_on_a_map_far_from_the_data(data, fitted_map):
    broken = KohonenMap(4, 4, epochs=5, random_state=0).fit(data.train.X)
    broken.weights_ = np.full_like(broken.weights_, 50.0)  # far from the [0, 1] data ...
    broken.weights_[0] = data.train.X.mean(axis=0)  # ... but node 0: it wins every object
    result = empty_nodes(config=EmptyNodesConfig(), data_som=broken, prepared_dataset=data)
    meta = values(result)
    assert not result.passed and result.severity == AssetCheckSeverity.WARN
    assert meta["finding"] == "15 of 16 nodes win no training object"
    assert meta["empty_share"] == 15 / 16 and meta["max_empty_share"] == 0.5


def test_empty_nodes_passes_a_fitted_map(data, fitted_map):
    result = empty_nodes(config=EmptyNodesConfig(), data_som=fitted_map, prepared_dataset=data)
    assert result.passed and values(result)["empty_share"] <= 0.5


# --- student_model: worse than its baseline (read from the materialisation's metadata) -----


def student_run(student: float, baseline: float, config: dict | None = None, model=None):
    @asset(name="student_model")
    def stub_student() -> Output:
        metadata = {"student_accuracy": student, "baseline_accuracy": baseline}
        return Output(nn.Linear(4, 2) if model is None else model, metadata=metadata)

    run_config = {"ops": {"student_model_student_vs_baseline": {"config": config or {}}}}
    result = materialize(
        [stub_student, student_vs_baseline],
        instance=DagsterInstance.ephemeral(),
        run_config=run_config,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_student_vs_baseline_fails_on_a_student_worse_than_its_baseline():
    evaluation = student_run(student=0.6, baseline=0.8)
    assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.WARN
    finding = evaluation.metadata["finding"].value
    assert finding == "student accuracy 0.600 is below its baseline's 0.800"


def test_student_vs_baseline_passes_a_better_student_or_one_within_tolerance():
    better = student_run(student=0.9, baseline=0.8)
    assert better.passed and better.metadata["finding"].value == "none"
    assert student_run(student=0.6, baseline=0.8, config={"tolerance": 0.25}).passed


def test_a_not_applicable_student_passes_in_a_run_too():
    """Dagster type-checks a check's inputs: a NotApplicable value must get through."""
    evaluation = student_run(student=0.6, baseline=0.8, model=NO_LABELS)
    assert evaluation.passed
    assert evaluation.metadata["not_applicable"].value == NO_LABELS.reason


def test_student_vs_baseline_passes_when_nothing_was_recorded():
    context = build_asset_check_context(instance=DagsterInstance.ephemeral())
    result = student_vs_baseline(
        context, config=StudentBaselineConfig(), student_model=nn.Linear(4, 2)
    )
    assert result.passed and "no student_accuracy" in values(result)["finding"]


# --- NotApplicable models and missing labels: every check passes and says why ---------------


def test_every_model_check_passes_a_not_applicable_model_with_its_reason(data):
    context = build_asset_check_context(instance=DagsterInstance.ephemeral())
    results = [
        student_accuracy_gate(
            config=AccuracyGateConfig(), student_model=NO_LABELS, prepared_dataset=data
        ),
        reconstruction_gate(
            config=ReconstructionGateConfig(), plain_autoencoder=NO_LABELS, prepared_dataset=data
        ),
        topographic_error_gate(
            config=TopographicGateConfig(),
            code_som=NO_LABELS,
            prepared_dataset=data,
            student_model=NO_LABELS,
        ),
        finite_outputs_check("transfer_models", network_outputs("predict"), "predictions")(
            model={"ssl": NO_LABELS, "stacked": NO_LABELS}, prepared_dataset=data
        ),
        gan_collapse(config=GAN, gan_model=NO_LABELS, prepared_dataset=data),
        probe_vs_raw_check("ssl_encoder")(config=PROBE, model=NO_LABELS, prepared_dataset=data),
        empty_nodes(config=EmptyNodesConfig(), data_som=NO_LABELS, prepared_dataset=data),
        student_vs_baseline(context, config=StudentBaselineConfig(), student_model=NO_LABELS),
    ]
    for result in results:
        assert result.passed and values(result) == {"not_applicable": NO_LABELS.reason}


def test_finite_outputs_checks_the_members_of_a_mapping_that_apply(data):
    check = finite_outputs_check("transfer_models", network_outputs("forward"), "outputs")
    broken = linear_encoder(torch.full((2, 64), float("nan")))
    result = check(model={"ssl": NO_LABELS, "stacked": broken}, prepared_dataset=data)
    assert not result.passed and values(result)["non_finite_weights"] == 128


def test_every_model_asset_has_a_finite_outputs_check():
    checked = {next(iter(c.check_keys)).asset_key.to_user_string() for c in MODEL_OUTPUT_CHECKS}
    models = {
        "plain_autoencoder", "autoencoder_zoo", "stacked_autoencoder", "ssl_encoder",
        "transfer_models", "teacher_model", "student_model", "privileged_student",
        "data_som", "code_som", "gan_model",
    }  # fmt: skip
    assert checked == models


def test_finite_outputs_catch_a_broken_map_gan_and_lupi_student(data):
    som = KohonenMap(rows=3, cols=3, epochs=1, random_state=0).fit(data.train.X)
    assert map_outputs(som, data)[2] == "test split"
    som.weights_[0, 0] = np.nan
    result = finite_outputs_check("data_som", map_outputs, "codebook")(som, data)
    assert not result.passed and values(result)["non_finite_weights"] == 1

    generator = Generator(GeneratorConfig(out_features=64, hidden=(8,), seed=0))
    discriminator = Discriminator(DiscriminatorConfig(in_features=64, hidden=(8,), seed=0))
    check = finite_outputs_check("gan_model", gan_outputs, "samples")
    gan = {"generator": generator, "discriminator": discriminator}
    assert check(gan, data).passed
    with torch.no_grad():
        next(generator.parameters()).fill_(float("inf"))
    result = check(gan, data)
    assert not result.passed and values(result)["non_finite_outputs"] > 0

    student = MLPClassifier(MLPClassifierConfig(in_features=16, n_classes=10, hidden=(4,)))
    with torch.no_grad():
        next(student.parameters()).fill_(float("nan"))
    result = finite_outputs_check("privileged_student", view_outputs, "predictions")(student, data)
    assert (
        not result.passed
        and values(result)["inputs"] == "uniform [0, 1] rows of the student's 16 inputs"
    )


def test_label_needing_checks_pass_without_labels_and_say_so(unlabelled):
    results = [
        student_accuracy_gate(
            config=AccuracyGateConfig(), student_model=nn.Linear(64, 2), prepared_dataset=unlabelled
        ),
        probe_vs_raw_check("stacked_autoencoder")(
            config=PROBE, model=linear_encoder(torch.zeros(8, 64)), prepared_dataset=unlabelled
        ),
        prepared_class_balance(prepared_dataset=unlabelled),
    ]
    for result in results:
        assert result.passed and values(result) == {"labels": "none"}
