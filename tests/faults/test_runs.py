"""Whole tiny graphs, as `make run` starts them: two runs at once on one Dagster instance and
MLflow store both succeed, print the summary, leave nothing RUNNING, and give the same metrics
(same config and seed)."""

import pytest
from dagster import DagsterRunStatus

from pipelines.resources import MlflowTracking

from .conftest import Store

pytestmark = pytest.mark.slow
TIMING = ("seconds", "_ms", "time", "per_second", "samples_per_s", "speed")
READS_THE_STORE = ("registered_models", "experiment_report")  # see the other run's results


def metrics_by_run(store: Store) -> dict[str, dict[str, dict[str, float]]]:
    """Every non-timing metric of every MLflow run: per Dagster run, keyed by the run's place in
    the graph."""
    found: dict[str, dict[str, dict[str, float]]] = {}
    for run in store.mlflow_runs():
        tags = run.data.tags
        key = "/".join(
            tags.get(k, "") for k in ("dagster.level", "dagster.asset_key", "dagster.nested")
        )
        mine = found.setdefault(tags["dagster.run_id"], {})
        assert key not in mine, key
        mine[key] = {
            name: value
            for name, value in run.data.metrics.items()
            if not any(part in name for part in TIMING)
        }
    return found


def test_two_tiny_runs_at_once_succeed_print_the_summary_and_agree(store: Store):
    # the stores exist first (two processes creating one SQLite schema at once would race)
    MlflowTracking(tracking_uri=store.tracking_uri).experiment_id(store.client())
    store.dagster_runs()
    processes = [store.start("tiny") for _ in range(2)]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, out[-2000:] + err[-2000:]
        outputs.append(out)
    for out in outputs:  # what `make run` prints
        assert "SUCCESS" in out and "registered_models" in out
        assert "accuracy_ssl_pseudo_label_k10=" in out
        assert "student_model:student_accuracy_gate" in out
        assert f"MLflow store: {store.tracking_uri}" in out
    assert {v for v in (1, 2) if any(f"student_version={v}" in out for out in outputs)} == {1, 2}
    runs = store.dagster_runs()
    assert len(runs) == 2 and {r.status for r in runs} == {DagsterRunStatus.SUCCESS}
    assert not store.running()
    parents = [r for r in store.mlflow_runs() if r.data.tags.get("dagster.level") == "run"]
    assert len(parents) == 2 and {p.info.status for p in parents} == {"FINISHED"}
    # both registered a student; one of them holds the alias, none is left pending
    client = store.client()
    versions = client.search_model_versions("name = 'unsup-digits-student'")
    assert len(versions) == 2 and not any("promote_on_success" in v.tags for v in versions)
    champion = client.get_model_version_by_alias("unsup-digits-student", "champion")
    assert champion.version in {v.version for v in versions}
    # determinism: every model's metrics are the same in both runs
    first, second = (
        {k: v for k, v in by_place.items() if not any(a in k for a in READS_THE_STORE)}
        for by_place in metrics_by_run(store).values()
    )
    assert set(first) == set(second) and len(first) > 20
    differing = {
        key: {m: (v, second[key].get(m)) for m, v in values.items() if second[key].get(m) != v}
        for key, values in first.items()
    }
    assert not {k: v for k, v in differing.items() if v}
    assert sum(len(v) for v in first.values()) > 200  # the comparison covered real metrics
