"""Model registry: the student and the encoder become new versions; ``champion`` moves only to
a version that beats the current champion on held-out data, and only once the whole run has
succeeded with every gate passed (pipelines.lifecycle.settle_run)."""

from collections.abc import Callable
from functools import partial

from dagster import AssetExecutionContext, Config, MetadataValue, Output
from pydantic import Field
from torch import nn

from unsup_core.applicability import NotApplicable, labels
from unsup_core.arrays import accuracy, encoder_codes
from unsup_core.data import PreparedData
from unsup_core.evaluation import ProbeConfig, few_label_probe

from ..applicability import not_applicable_output
from ..configs import dagster_config
from ..model_export import CLASSIFIER, ENCODER
from ..registry import DECISION_COLUMNS, model_name, register_candidate, register_role
from ..reporting import markdown_table
from ..resources import MlflowTracking
from ..tracking import AssetRun
from ..versioning import recipe_asset

EncoderProbeConfig = dagster_config(ProbeConfig)


class RegisteredModelsConfig(Config):
    """Registry names and the gate's margin."""

    name_prefix: str = Field(
        "unsup",
        description="Registered models are <prefix>-<data>-student and <prefix>-<data>-encoder",
    )
    min_improvement: float = Field(
        0.0,
        description="A challenger must beat the champion's "
        "held-out score by more than this to take the alias",
    )
    probe: EncoderProbeConfig = Field(
        EncoderProbeConfig(), description="The few-label probe that scores the encoder's codes"
    )


# role -> (the asset whose MLflow run trained it: the version's source; served by pyfunc as)
TRAINED_BY = {"student": ("student_model", CLASSIFIER), "encoder": ("stacked_autoencoder", ENCODER)}


def student_accuracy(data: PreparedData, model: nn.Module) -> float:
    return accuracy(model, data.test.X, data.test.y)


def encoder_probe_accuracy(data: PreparedData, probe: ProbeConfig, model: nn.Module) -> float:
    train, test = encoder_codes(model, data.train.X), encoder_codes(model, data.test.X)
    y_train, y_test = data.train.y, data.test.y
    per_class, draws, seed = probe.labels_per_class, probe.draws, probe.seed
    return few_label_probe(train, y_train, test, y_test, per_class, draws, seed)[0]


def register(
    context: AssetExecutionContext,
    mlflow: MlflowTracking,
    run: AssetRun,
    config: RegisteredModelsConfig,
    data: PreparedData,
    role: str,
    model: nn.Module,
    metric: str,
    score: Callable[[nn.Module], float],
) -> dict:
    """One candidate, registered from the run that trained it and served by pyfunc."""
    asset, kind = TRAINED_BY[role]
    return register_role(
        mlflow.client(),
        run,
        role,
        model_name(config.name_prefix, data.source, role),
        model,
        metric,
        score,
        config.min_improvement,
        promote=False,
        source_run=mlflow.training_run(context, asset),
        kind=kind,
        example=data.test.X[:5],
    )


@recipe_asset(
    register_candidate,
    few_label_probe,
    optional_inputs=("student_model", "stacked_autoencoder"),
    group_name="registry",
    kinds={"mlflow"},
)
def registered_models(
    context: AssetExecutionContext,
    config: RegisteredModelsConfig,
    prepared_dataset: PreparedData,
    student_model: nn.Module,
    stacked_autoencoder: nn.Module,
    mlflow: MlflowTracking,
) -> Output[dict]:
    """Registers the student (test accuracy) and the stacked encoder (few-label probe accuracy
    of its codes) in the MLflow Model Registry; champion or challenger, with the reason. A
    model that does not apply to the data is left out; with neither, nothing is registered."""
    data = prepared_dataset
    reason = labels(data)  # both are scored on labelled test data
    if reason is not None:
        return not_applicable_output(context, mlflow, config, reason)
    probe = partial(encoder_probe_accuracy, data, config.probe.to_library())
    candidates = [  # role, model, metric, its score
        ("student", student_model, "test_accuracy", partial(student_accuracy, data)),
        ("encoder", stacked_autoencoder, "probe_accuracy", probe),
    ]
    candidates = [c for c in candidates if not isinstance(c[1], NotApplicable)]
    if not candidates:
        reason = f"neither model applies (student_model {student_model}; "
        reason += f"stacked_autoencoder {stacked_autoencoder})"
        return not_applicable_output(context, mlflow, config, reason)
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        decisions = [register(context, mlflow, run, config, data, *c) for c in candidates]
        table = markdown_table(decisions, DECISION_COLUMNS)
        run.log_dict({"decisions": decisions}, "registry_decisions.json")
    return Output(
        {d["role"]: d for d in decisions},
        metadata={
            **run.dagster_metadata(),
            "decisions": MetadataValue.md(table),
            **{f"{d['role']}_promoted": d["promoted"] for d in decisions},
            **{f"{d['role']}_version": d["version"] for d in decisions},
        },
    )
