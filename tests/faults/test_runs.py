"""Whole tiny graphs: the same config and seed give the same metrics; two runs at once on one
instance and store both succeed and leave nothing RUNNING."""

import pytest
from dagster import DagsterRunStatus

from pipelines.resources import MlflowTracking

from .conftest import Store

pytestmark = pytest.mark.slow
TIMING = ("seconds", "_ms", "time", "per_second", "samples_per_s", "speed")


def metrics_by_run(store: Store) -> dict[str, dict[str, float]]:
    """Every non-timing metric of every MLflow run, keyed by the run's place in the graph."""
    found = {}
    for run in store.mlflow_runs():
        tags = run.data.tags
        key = "/".join(
            tags.get(k, "") for k in ("dagster.level", "dagster.asset_key", "dagster.nested")
        )
        assert key not in found, key
        found[key] = {
            name: value
            for name, value in run.data.metrics.items()
            if not any(part in name for part in TIMING)
        }
    return found


def test_the_tiny_graph_gives_the_same_metrics_twice_on_fresh_stores(tmp_path):
    stores = [Store(tmp_path / name) for name in ("first", "second")]
    processes = []
    for store in stores:
        store.home.mkdir(parents=True)
        (store.home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        processes.append(store.start("tiny"))
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, out[-2000:] + err[-2000:]
    first, second = (metrics_by_run(store) for store in stores)
    assert set(first) == set(second) and len(first) > 20
    differing = {
        key: {m: (v, second[key].get(m)) for m, v in values.items() if second[key].get(m) != v}
        for key, values in first.items()
    }
    assert not {k: v for k, v in differing.items() if v}
    assert sum(len(v) for v in first.values()) > 200  # the comparison covered real metrics


def test_two_runs_at_once_on_one_store_both_succeed(store):
    # the stores exist first (two processes creating one SQLite schema at once would race)
    MlflowTracking(tracking_uri=store.tracking_uri).experiment_id(store.client())
    store.dagster_runs()
    processes = [store.start("tiny") for _ in range(2)]
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, out[-2000:] + err[-2000:]
        assert "SUCCESS" in out
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
