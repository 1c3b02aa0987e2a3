"""Bad files and bad run configs: each stopped at the data or the run-config step (no model
trains), with a one-line message naming the problem, and nothing left RUNNING or lost."""

import hashlib

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from pipelines.definitions import JOB_NAME, build_definitions
from pipelines.preflight import config_problems, run_problems
from pipelines.presets import load_preset
from pipelines.run_job import main
from pipelines.run_logging import step_failure_cause

DATA_STEPS = [AssetKey(k) for k in ("raw_dataset", "prepared_dataset", "validated_run_config")]
ROWS = "".join(f"{i % 3},{i % 5},{'xy'[i % 2]}\n" for i in range(12))
BAD_FILES = {
    "missing.csv": ("a,b,label\n1,2,x\n3,,y\n" + ROWS, "column 'b', row 1 (line 3): value nan"),
    "typo.csv": ("a,b,label\n1,2,x\n3,oops,y\n" + ROWS, "column 'b', row 1 (line 3): value 'oops'"),
    "inf.csv": ("a,b,label\n1,inf,x\n" + ROWS, "column 'b', row 0 (line 2): value inf is infinite"),
    "huge.csv": ("a,b,label\n1,1e308,x\n" + ROWS, "row 0 (line 2): value 1e+308 does not fit"),
    "no_label.csv": ("a,b\n1,2\n3,4\n", "column 'label': no such column"),
    "empty.csv": ("", "is empty (0 bytes)"),
    "header_only.csv": ("a,b,label\n", "has a header but no data rows"),
    "ragged.csv": ("a,b,label\n1,2\n3,4,y,5\n", "cannot be read as csv"),
    "broken.parquet": ("not parquet at all", "cannot be read as parquet"),
}


def run_data_steps(tmp_path, mlflow_store, run_config, selection=DATA_STEPS):
    defs = build_definitions(mlflow=mlflow_store)
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False, asset_selection=selection
    )
    return result, instance.get_run_by_id(result.run_id).status


def open_runs(mlflow_store):
    client = mlflow_store.client()
    experiment = client.get_experiment_by_name(mlflow_store.experiment_name)
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    return [r for r in runs if r.info.status == "RUNNING"]


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_fails_the_data_step_with_one_line_naming_it(tmp_path, mlflow_store, name):
    text, expected = BAD_FILES[name]
    path = tmp_path / name
    path.write_text(text)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    config = {"source": "file", "path": str(path), "label_column": "label"}
    result, status = run_data_steps(
        tmp_path, mlflow_store, {"ops": {"raw_dataset": {"config": config}}}
    )
    assert status == DagsterRunStatus.FAILURE
    [failure] = [e for e in result.all_events if e.is_step_failure]
    cause = step_failure_cause(failure)
    assert failure.step_key == "raw_dataset" and "\n" not in cause
    assert expected in cause and str(path) in cause, cause
    assert not open_runs(mlflow_store)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # the file is untouched


BAD_CONFIGS = [
    ({"teacher_model": {"trainer": {"lr": -0.01}}}, "teacher_model.trainer: lr=-0.01"),
    ({"plain_autoencoder": {"trainer": {"epochs": 0}}}, "plain_autoencoder.trainer: epochs=0"),
    ({"data_som": {"som": {"rows": 0}}}, "data_som.som: grid rows=0"),
    (
        {"data_som": {"som": {"neighbourhood": "square"}}},
        "data_som.som.neighbourhood: Input should be 'gaussian'",
    ),
    ({"gan_model": {"trainer": {"d_steps": 0}}}, "gan_model.trainer"),
    ({"transfer_models": {"modes": ["frozen", "magic"]}}, "transfer_models"),
    ({"student_model": {"distillation": {"temperature": 0}}}, "student_model.distillation"),
    ({"privileged_student": {"mu": -1}}, "privileged_student: mu=-1"),
]


def merge(into: dict, fields: dict) -> None:
    for key, value in fields.items():
        if isinstance(value, dict):
            merge(into.setdefault(key, {}), value)
        else:
            into[key] = value


def test_every_bad_field_of_the_run_config_is_named_at_once():
    config = {"ops": {}}
    for values, _ in BAD_CONFIGS:
        for op, fields in values.items():
            merge(config["ops"].setdefault(op, {"config": {}})["config"], fields)
    problems = config_problems(config)
    for _, expected in BAD_CONFIGS:
        assert any(expected in p for p in problems), (expected, problems)
    assert len(problems) == len(BAD_CONFIGS)


def test_label_budgets_and_privileged_columns_are_checked_against_the_data(prepared_digits):
    config = {
        "ops": {
            "student_model": {"config": {"labels_per_class": 1000}},
            "transfer_models": {"config": {"labels_per_class": [1, 500, 0]}},
            "privileged_student": {"config": {"privileged_columns": ["nope"]}},
            "registered_models": {"config": {"probe": {"labels_per_class": 2000}}},
        }
    }
    problems, checked = run_problems(config, prepared_digits)
    smallest = min(prepared_digits.train.y.tolist().count(c) for c in range(10))
    assert "student_model.labels_per_class=1000 is larger than class" in problems[0]
    assert f"which has {smallest} training samples" in problems[0]
    assert any(p.startswith("transfer_models.labels_per_class=[500]") for p in problems)
    assert any("privileged_student.privileged_columns: ['nope']" in p for p in problems)
    assert any(p.startswith("registered_models.probe.labels_per_class=2000") for p in problems)
    assert len(problems) == 4 and "plain_autoencoder" in checked


def test_the_run_config_step_fails_before_any_training(tmp_path, mlflow_store):
    config = load_preset("tiny")
    config["ops"]["student_model"]["config"]["labels_per_class"] = 1000
    result, status = run_data_steps(tmp_path, mlflow_store, config, selection=None)  # all
    assert status == DagsterRunStatus.FAILURE
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "validated_run_config"
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialised == {"raw_dataset", "prepared_dataset"}  # no model trained
    assert "1 problem in the run config:" in step_failure_cause(failure)
    assert not open_runs(mlflow_store)


@pytest.mark.parametrize(
    "override, expected",
    [
        ("plain_autoencoder:\n    config:\n      trainer:\n        lr: fast\n", 'lr. Value "fast"'),
        ("plain_autoencoder:\n    config:\n      bogus: 1\n", 'unexpected config entry "bogus"'),
        ("data_som:\n    config:\n      som:\n        rows: 0\n", "data_som.som: grid rows=0"),
    ],
    ids=["string-for-lr", "unknown-key", "zero-rows"],
)
def test_make_run_lists_config_errors_without_a_traceback(
    tmp_path, monkeypatch, capsys, override, expected
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'm.db'}")
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    preset = tmp_path / "bad.yaml"
    preset.write_text("ops:\n  " + override)
    assert main(["--preset", str(preset)]) == 2
    err = capsys.readouterr().err
    assert "problem" in err and expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 4 and max(map(len, err.splitlines())) <= 320
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert not instance.get_runs()  # nothing was launched
