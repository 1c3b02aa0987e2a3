"""MLflow Model Registry with a quality gate: every candidate becomes a new model version; the
alias ``champion`` moves to it only when it beats the current champion on held-out data.

The current champion is re-scored on the *same* held-out data as the candidate (its checkpoint
is downloaded and evaluated), so a change of data cannot make an old score look better or
worse than it is. When the champion cannot be re-scored (its inputs no longer fit the data),
its recorded score is used and the decision says so.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from torch import nn

from unsup_core.serialization import from_checkpoint

from .model_export import MODEL_DIR, save_pyfunc
from .tracking import AssetRun

CHAMPION = "champion"
ROLE_TAG = "role"
# A version that beat the champion in a run still in progress: the alias moves when the whole
# run has succeeded and every gate passed (settle_pending), never from a failed run.
PENDING_TAG = "promote_on_success"
RUN_TAG = "dagster.run_id"


@dataclass(frozen=True)
class RegistryDecision:
    """What happened to one candidate: its version, whether it became the champion, and why."""

    name: str
    version: str
    metric: str
    value: float
    promoted: bool
    champion_version: str
    previous_champion: str | None
    previous_value: float | None
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def model_name(prefix: str, source: str, role: str) -> str:
    """A registered model name per data source (each dataset has its own champion line):
    ``unsup-digits-student``; a file source contributes its stem."""
    stem = Path(source.removeprefix("file:")).stem if source != "digits" else "digits"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-") or "data"
    return f"{prefix}-{slug}-{role}"


def register_candidate(
    client: MlflowClient,
    run: AssetRun,
    name: str,
    model: nn.Module,
    metric: str,
    value: float,
    score: Callable[[nn.Module], float],
    min_improvement: float = 0.0,
    promote: bool = True,
    kind: str | None = None,
    example: np.ndarray | None = None,
    dagster_run_id: str | None = None,
) -> RegistryDecision:
    """Log ``model`` to ``run`` (the run that trained it) under ``<name>/checkpoint.pt`` and,
    with ``kind`` and an input ``example``, as a pyfunc model ``<name>/mlflow_model`` with a
    signature (:mod:`pipelines.model_export`; the version's source), register it as a new
    version of ``name`` and decide whether it takes ``champion``: if ``value > champion's score +
    min_improvement`` (higher is better); otherwise the version stays a challenger. ``score``
    evaluates a model on the held-out data that gave ``value``. With ``promote`` false the alias
    does not move yet: the version is tagged pending, for :func:`settle_pending` once the run
    that registered it (``dagster_run_id``, default: ``run``'s tag) has ended."""
    if min_improvement < 0:
        raise ValueError(f"min_improvement={min_improvement} must be >= 0")
    artifact = f"{name}/checkpoint.pt"
    run.log_model(model, artifact)
    source = f"runs:/{run.run_id}/{name}"
    if kind is not None and example is not None:
        with tempfile.TemporaryDirectory() as tmp:
            local = save_pyfunc(model, kind, example, Path(tmp) / MODEL_DIR)
            client.log_artifacts(run.run_id, str(local), f"{name}/{MODEL_DIR}")
        source = f"runs:/{run.run_id}/{name}/{MODEL_DIR}"
    _ensure_registered_model(client, name)
    version = client.create_model_version(
        name,
        source=source,
        run_id=run.run_id,
        tags={
            metric: f"{value:.6f}",
            "metric": metric,
            "checkpoint": artifact,
            RUN_TAG: dagster_run_id or run.tags.get(RUN_TAG, ""),
        },
        description=f"{metric} = {value:.4f} on held-out data",
    ).version
    previous = _champion(client, name)
    if previous is None:
        promoted, previous_value, reason = True, None, "first version: no champion yet"
    else:
        previous_value, how = _rescore(client, previous, metric, score)
        promoted = value > previous_value + min_improvement
        comparison = ">" if promoted else "<="
        reason = (
            f"{metric} {value:.4f} {comparison} champion v{previous.version}'s "
            f"{previous_value:.4f}{f' + {min_improvement}' if min_improvement else ''} ({how})"
        )
    if promoted and promote:
        _make_champion(client, name, str(version), previous)
    else:
        client.set_model_version_tag(name, version, ROLE_TAG, "challenger")
        if promoted:
            client.set_model_version_tag(name, version, PENDING_TAG, "true")
            reason += "; champion once the whole run has succeeded"
    client.set_model_version_tag(name, version, "decision", reason)
    return RegistryDecision(
        name,
        str(version),
        metric,
        float(value),
        promoted,
        str(version if promoted else previous.version),
        None if previous is None else str(previous.version),
        previous_value,
        reason,
    )


def _make_champion(client: MlflowClient, name: str, version: str, previous) -> None:
    client.set_registered_model_alias(name, CHAMPION, version)
    if previous is not None and str(previous.version) != version:
        client.set_model_version_tag(name, previous.version, ROLE_TAG, "retired champion")
    client.set_model_version_tag(name, version, ROLE_TAG, CHAMPION)


def settle_pending(
    client: MlflowClient, dagster_run_id: str, succeeded: bool, outcome: str
) -> list[str]:
    """The versions a Dagster run registered as pending: champion if the run ``succeeded``
    (and none better took the alias meanwhile), else tagged with the failed run's ``outcome``
    and left challengers. Returns one line per version."""
    lines = []
    found = client.search_model_versions(f"tags.`{RUN_TAG}` = '{dagster_run_id}'")
    for version in found:
        if version.tags.get(PENDING_TAG) != "true":
            continue
        name, number = version.name, str(version.version)
        client.delete_model_version_tag(name, number, PENDING_TAG)
        if not succeeded:
            client.set_model_version_tag(name, number, "run_failed", outcome)
            lines.append(f"{name} v{number}: not promoted ({outcome})")
            continue
        previous = _champion(client, name)
        metric = version.tags.get("metric")
        if previous is not None and metric and str(previous.version) != number:
            mine = float(version.tags[metric])
            theirs = float(previous.tags.get(metric, "-inf"))
            if theirs >= mine:  # a better champion arrived while this run went on
                client.set_model_version_tag(
                    name, number, "decision", f"champion v{previous.version} took the alias first"
                )
                lines.append(f"{name} v{number}: not promoted (v{previous.version} is better)")
                continue
        _make_champion(client, name, number, previous)
        lines.append(f"{name} v{number}: champion ({outcome})")
    return lines


def _ensure_registered_model(client: MlflowClient, name: str) -> None:
    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(name)
        except MlflowException:  # created by a concurrent run in between
            client.get_registered_model(name)


def _champion(client: MlflowClient, name: str):
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def _rescore(
    client: MlflowClient, champion, metric: str, score: Callable[[nn.Module], float]
) -> tuple[float, str]:
    """The champion's score on today's held-out data, or its recorded score if it cannot run."""
    recorded = float(champion.tags.get(metric, "nan"))
    artifact = champion.tags.get("checkpoint")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = client.download_artifacts(champion.run_id, artifact, tmp)
            model = from_checkpoint(torch.load(local, map_location="cpu", weights_only=True))
            return float(score(model)), "re-scored on the same held-out data"
    except (MlflowException, OSError, RuntimeError, ValueError, TypeError) as error:
        return recorded, f"recorded score; re-scoring failed: {type(error).__name__}"


DECISION_COLUMNS = (
    "role",
    "name",
    "version",
    "metric",
    "value",
    "promoted",
    "champion_version",
    "reason",
)


def register_role(
    client: MlflowClient,
    run: AssetRun,
    role: str,
    name: str,
    model: nn.Module,
    metric: str,
    score: Callable[[nn.Module], float],
    min_improvement: float = 0.0,
    promote: bool = True,
    source_run: AssetRun | None = None,
    kind: str | None = None,
    example: np.ndarray | None = None,
) -> dict:
    """Register ``model`` as the candidate of ``role`` (see :func:`register_candidate`; the
    model goes to ``source_run``, the run that trained it, else to ``run``), log the
    decision to ``run`` (metrics ``<role>/<metric>``, ``<role>/promoted``; tags
    ``<role>.registered_model``, ``<role>.version``, ``<role>.decision``) and return it as a row."""
    decision = register_candidate(
        client,
        source_run or run,
        name,
        model,
        metric,
        score(model),
        score,
        min_improvement,
        promote,
        kind,
        example,
        run.tags.get(RUN_TAG),  # the registering run's: settle_pending finds it by this
    )
    run.log_metrics(
        {f"{role}/{metric}": decision.value, f"{role}/promoted": float(decision.promoted)}
    )
    run.set_tags(
        {
            f"{role}.registered_model": name,
            f"{role}.version": decision.version,
            f"{role}.decision": decision.reason,
        }
    )
    return {"role": role, **decision.as_dict()}
