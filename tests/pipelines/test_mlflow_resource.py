"""The MLflow resource against a temporary store, driven by real (tiny) Dagster materialisations."""

from dagster import (
    AssetSelection,
    ConfigurableIOManager,
    Definitions,
    Output,
    RetryPolicy,
    asset,
    define_asset_job,
    in_process_executor,
    materialize,
)
from mlflow.tracking import MlflowClient

from pipelines.hooks import mlflow_failure_hook
from pipelines.resources import MlflowTracking
from unsup_core.training import EpochLog


@asset
def logged(context, mlflow: MlflowTracking):
    with mlflow.asset_run(context, params={"model": {"width": 4, "kind": "ae"}, "seed": 1}) as run:
        run.log_metrics({"score": 0.5})
        logger = run.epoch_logger(flush_every=2)
        for epoch in range(1, 6):
            logger.on_epoch_end(
                EpochLog(epoch, {"loss": 1.0 / epoch}, {"loss": 2.0 / epoch}, 0.1, 0.0)
            )
        logger.on_fit_end(None)
        run.log_dict({"rows": 3}, "data_summary.json")
    return Output(1, metadata=run.dagster_metadata())


@asset
def downstream(context, logged: int, mlflow: MlflowTracking):
    with mlflow.asset_run(context) as run:
        run.log_metrics({"value": logged + 1})
    return logged + 1


@asset
def broken(context, mlflow: MlflowTracking):
    with mlflow.asset_run(context):
        raise RuntimeError("boom in the asset body")


def runs_of(store: MlflowTracking):
    client = store.client()
    experiment = client.get_experiment_by_name(store.experiment_name)
    return client, client.search_runs([experiment.experiment_id], max_results=100)


def test_one_child_run_per_asset_under_one_parent(mlflow_store):
    result = materialize([logged, downstream], resources={"mlflow": mlflow_store})
    client, runs = runs_of(mlflow_store)
    parents = [r for r in runs if r.data.tags["dagster.level"] == "run"]
    children = [r for r in runs if r.data.tags["dagster.level"] == "asset"]
    assert len(parents) == 1 and len(children) == 2
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["dagster.run_id"] == result.run_id
        assert child.data.tags["dagster.step_key"] == child.data.tags["dagster.asset_key"]
    child = next(c for c in children if c.data.tags["dagster.asset_key"] == "logged")
    assert child.info.run_name == f"logged · {result.run_id[:8]}"  # asset and run, in a legend
    assert child.data.params == {"model.width": "4", "model.kind": "ae", "seed": "1"}
    history = client.get_metric_history(child.info.run_id, "train/loss")
    assert [m.step for m in history] == [1, 2, 3, 4, 5]
    assert child.data.metrics["score"] == 0.5
    assert [a.path for a in client.list_artifacts(child.info.run_id)] == ["data_summary.json"]
    metadata = result.asset_materializations_for_node("logged")[0].metadata
    assert metadata["mlflow_run_id"].value == child.info.run_id
    assert metadata["mlflow_url"].value.endswith(f"/runs/{child.info.run_id}")


def test_each_dagster_run_gets_its_own_parent(mlflow_store):
    first = materialize([logged], resources={"mlflow": mlflow_store})
    second = materialize([logged], resources={"mlflow": mlflow_store})
    _, runs = runs_of(mlflow_store)
    parents = {r.data.tags["dagster.run_id"] for r in runs if r.data.tags["dagster.level"] == "run"}
    assert parents == {first.run_id, second.run_id}
    artifact_dirs = {r.info.artifact_uri for r in runs}
    assert len(artifact_dirs) == len(runs)  # nothing overwrites an earlier run's artifacts


def test_a_failing_asset_leaves_child_and_parent_failed(mlflow_store):
    result = materialize([broken], resources={"mlflow": mlflow_store}, raise_on_error=False)
    assert not result.success
    _, runs = runs_of(mlflow_store)
    status = {r.data.tags["dagster.level"]: r for r in runs}
    assert status["asset"].info.status == "FAILED"
    assert status["asset"].data.tags["error"] == "RuntimeError: boom in the asset body"
    assert status["run"].info.status == "FAILED"
    assert all(r.info.status != "RUNNING" for r in runs)


def test_metrics_are_sent_in_batches(mlflow_store, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("log_metric called: metrics must go through log_batch")

    monkeypatch.setattr(MlflowClient, "log_metric", forbidden)
    assert materialize([logged], resources={"mlflow": mlflow_store}).success


class FailingStore(ConfigurableIOManager):
    def handle_output(self, context, obj):
        raise OSError("disk full while storing the output")

    def load_input(self, context):
        raise NotImplementedError


@asset(io_manager_key="failing_io")
def stored_badly(context, mlflow: MlflowTracking):
    with mlflow.asset_run(context) as run:
        run.log_metrics({"done": 1})
    return 1


def test_failure_after_the_asset_body_still_fails_the_runs(mlflow_store):
    job = define_asset_job(
        "hooked",
        AssetSelection.all(),
        hooks={mlflow_failure_hook},
        executor_def=in_process_executor,
    )
    defs = Definitions(
        assets=[stored_badly],
        jobs=[job],
        resources={"mlflow": mlflow_store, "failing_io": FailingStore()},
    )
    result = defs.resolve_job_def("hooked").execute_in_process(raise_on_error=False)
    assert not result.success
    _, runs = runs_of(mlflow_store)
    by_level = {r.data.tags["dagster.level"]: r for r in runs}
    assert by_level["asset"].info.status == "FAILED"
    assert "disk full" in by_level["asset"].data.tags["error"]
    assert by_level["run"].info.status == "FAILED"


def test_default_store_lives_in_the_repository(monkeypatch):
    from pipelines.resources import DEFAULT_STORE, default_tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_tracking_uri() == f"sqlite:///{DEFAULT_STORE / 'mlflow.db'}"
    assert DEFAULT_STORE.name == "mlflow" and not (DEFAULT_STORE / "__init__.py").exists()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/db.sqlite")
    assert MlflowTracking().resolved_tracking_uri() == "sqlite:////elsewhere/db.sqlite"


def test_telemetry_is_off():
    import os

    assert os.environ.get("MLFLOW_DISABLE_TELEMETRY", "").lower() in ("true", "1")


@asset
def zoo_like(context, mlflow: MlflowTracking):
    with mlflow.asset_run(context) as run:
        for kind in ("first", "second"):
            with run.nested(kind, params={"kind": kind}) as child:
                child.log_metrics({"test/recon": 0.1})
        try:
            with run.nested("broken"):
                raise ValueError("bad kind")
        except ValueError:
            pass
    return 1


def test_nested_runs_hang_under_the_asset_run(mlflow_store):
    assert materialize([zoo_like], resources={"mlflow": mlflow_store}).success
    _, runs = runs_of(mlflow_store)
    asset_run = next(r for r in runs if r.data.tags["dagster.level"] == "asset")
    nested = {
        r.data.tags["dagster.nested"]: r for r in runs if r.data.tags["dagster.level"] == "nested"
    }
    assert set(nested) == {"first", "second", "broken"}
    run_prefix = asset_run.data.tags["dagster.run_id"][:8]
    assert nested["first"].info.run_name == f"zoo_like/first · {run_prefix}"
    for name in ("first", "second"):
        assert nested[name].info.status == "FINISHED"
        assert nested[name].data.tags["mlflow.parentRunId"] == asset_run.info.run_id
        assert nested[name].data.tags["dagster.asset_key"] == "zoo_like"
        assert nested[name].data.params == {"kind": name}
    assert nested["broken"].info.status == "FAILED"
    assert nested["broken"].data.tags["error"] == "ValueError: bad kind"


ATTEMPTS = {"flaky": 0, "bad_config": 0}


@asset(retry_policy=RetryPolicy(max_retries=1))
def flaky(context, mlflow: MlflowTracking):
    ATTEMPTS["flaky"] += 1
    with mlflow.asset_run(context):
        if context.retry_number == 0:
            raise ConnectionError("tracking server blinked")
    return 1


@asset(retry_policy=RetryPolicy(max_retries=3))
def bad_config(context, mlflow: MlflowTracking):
    ATTEMPTS["bad_config"] += 1
    with mlflow.asset_run(context):
        raise ValueError("lr=-1 must be > 0")


def test_a_retried_asset_that_then_succeeds_leaves_the_parent_finished(mlflow_store):
    result = materialize([flaky], resources={"mlflow": mlflow_store})
    assert result.success and ATTEMPTS["flaky"] == 2
    _, runs = runs_of(mlflow_store)
    attempts = sorted(
        (r.data.tags["dagster.retry_number"], r.info.status)
        for r in runs
        if r.data.tags["dagster.level"] == "asset"
    )
    assert attempts == [("0", "FAILED"), ("1", "FINISHED")]
    assert next(r for r in runs if r.data.tags["dagster.level"] == "run").info.status == "FINISHED"


def test_deterministic_errors_fail_at_once_without_spending_retries(mlflow_store):
    result = materialize([bad_config], resources={"mlflow": mlflow_store}, raise_on_error=False)
    assert not result.success and ATTEMPTS["bad_config"] == 1
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "ValueError: lr=-1 must be > 0" in failure.step_failure_data.error.message
    _, runs = runs_of(mlflow_store)
    assert {r.data.tags["dagster.level"]: r.info.status for r in runs} == {
        "asset": "FAILED",
        "run": "FAILED",
    }


def test_the_parent_run_carries_what_triggered_it(mlflow_store):
    materialize(
        [logged],
        resources={"mlflow": mlflow_store},
        tags={"unsup/trigger": "sensor", "unsup/incoming_file": "/in/a.csv", "team": "x"},
    )
    _, runs = runs_of(mlflow_store)
    parent = next(r for r in runs if r.data.tags["dagster.level"] == "run")
    assert parent.data.tags["unsup/trigger"] == "sensor"
    assert parent.data.tags["unsup/incoming_file"] == "/in/a.csv" and "team" not in parent.data.tags


def test_steps_that_create_a_parent_at_once_settle_on_the_oldest(mlflow_store, monkeypatch):
    """No lock in the local profile: a step that created a parent while another step's already
    existed (its first search missed it) adopts the oldest and deletes its own."""
    import pipelines.resources as resources

    client = mlflow_store.client()
    experiment = mlflow_store.experiment_id(client)
    first = mlflow_store._parent_run(client, experiment, "dagster-run-1", "job")
    searches = []
    real = resources._parent_runs

    def racing(*args):
        searches.append(args)
        return [] if len(searches) == 1 else real(*args)  # the first search misses `first`

    monkeypatch.setattr(resources, "_parent_runs", racing)
    second = mlflow_store._parent_run(client, experiment, "dagster-run-1", "job")
    assert second == first
    monkeypatch.setattr(resources, "_parent_runs", real)
    assert real(client, experiment, "dagster-run-1") == [first]  # the duplicate was deleted
    assert mlflow_store._parent_run(client, experiment, "dagster-run-2", "job") != first


def test_runs_a_dead_step_left_running_are_closed_with_the_reason(mlflow_store):
    from dagster import DagsterRunStatus, DefaultSensorStatus

    from pipelines.definitions import defs

    client = mlflow_store.client()
    experiment = mlflow_store.experiment_id(client)
    parent = mlflow_store._parent_run(client, experiment, "dead-run", "job")
    child = client.create_run(
        experiment, tags={"dagster.run_id": "dead-run", "mlflow.parentRunId": parent}
    ).info.run_id
    other = client.create_run(experiment, tags={"dagster.run_id": "live-run"}).info.run_id
    closed = mlflow_store.close_open_runs("dead-run", "FAILED", "worker lost")
    assert set(closed) == {parent, child}
    assert {client.get_run(r).info.status for r in (parent, child)} == {"FAILED"}
    assert client.get_run(child).data.tags["error"] == "worker lost"
    assert client.get_run(other).info.status == "RUNNING"
    names = {s.name: s for s in defs.sensors}
    for status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
        sensor = names[f"settle_on_{status.value.lower()}"]
        assert sensor.default_status == DefaultSensorStatus.RUNNING
