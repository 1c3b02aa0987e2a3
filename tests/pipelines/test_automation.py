"""The retraining schedule and the new-data sensor, evaluated with Dagster's context builders."""

import datetime as dt
import json
import os
import time

import pytest
from dagster import (
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    build_schedule_context,
    build_sensor_context,
)

from pipelines.definitions import JOB_NAME, defs
from pipelines.presets import load_preset
from pipelines.schedules import build_retrain_schedule
from pipelines.sensors import build_incoming_data_sensor

JOB = defs.resolve_job_def(JOB_NAME)


def test_the_schedule_is_stopped_and_runs_the_whole_graph_with_the_preset():
    schedule = defs.resolve_schedule_def("retrain_schedule")
    assert schedule.default_status == DefaultScheduleStatus.STOPPED
    assert schedule.job_name == JOB_NAME and schedule.cron_schedule == "0 2 * * 1"
    tick = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)
    request = schedule.evaluate_tick(
        build_schedule_context(scheduled_execution_time=tick)
    ).run_requests[0]
    assert request.run_config == load_preset("default")
    assert request.run_key == f"retrain-{tick.isoformat()}"
    assert request.tags["unsup/trigger"] == "schedule"


def test_cron_and_preset_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("UNSUP_RETRAIN_CRON", "*/15 * * * *")
    monkeypatch.setenv("UNSUP_RETRAIN_PRESET", "tiny")
    schedule = build_retrain_schedule(JOB)
    assert schedule.cron_schedule == "*/15 * * * *"
    request = schedule.evaluate_tick(
        build_schedule_context(
            scheduled_execution_time=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        )
    ).run_requests[0]
    assert request.run_config == load_preset("tiny")
    with pytest.raises(ValueError, match="preset 'nope' not found"):
        build_retrain_schedule(JOB, preset="nope")


def write_aged(path, text):
    path.write_text(text)
    old = time.time() - 60  # older than the settle time
    os.utime(path, (old, old))


def evaluate(sensor, cursor=None):
    context = build_sensor_context(cursor=cursor, instance=DagsterInstance.ephemeral())
    result = sensor.evaluate_tick(context)
    return result, result.cursor


def test_sensor_launches_one_run_per_new_file_version(tmp_path):
    sensor = build_incoming_data_sensor(JOB, folder=tmp_path)
    assert sensor.default_status == DefaultSensorStatus.STOPPED
    result, cursor = evaluate(sensor)
    assert not result.run_requests and "no new or changed file" in result.skip_message

    data = tmp_path / "batch1.csv"
    write_aged(data, "a,b,label\n1,2,x\n")
    write_aged(tmp_path / "notes.txt", "ignored")
    result, cursor = evaluate(sensor, cursor)
    (request,) = result.run_requests
    raw = request.run_config["ops"]["raw_dataset"]["config"]
    assert raw == {"source": "file", "path": str(data), "label_column": "label"}
    assert (
        request.run_config["ops"]["student_model"] == load_preset("default")["ops"]["student_model"]
    )
    assert request.tags["unsup/incoming_file"] == str(data)
    assert json.loads(cursor) == {"batch1.csv": request.tags["unsup/file_version"]}

    result, cursor = evaluate(sensor, cursor)  # same version: nothing to do
    assert not result.run_requests

    write_aged(data, "a,b,label\n1,2,x\n3,4,y\n")  # changed: runs again, new run key
    result, cursor = evaluate(sensor, cursor)
    assert len(result.run_requests) == 1 and result.run_requests[0].run_key != request.run_key


def test_sensor_waits_for_a_file_still_being_written_and_reads_settings(tmp_path):
    sensor = build_incoming_data_sensor(JOB, folder=tmp_path)
    (tmp_path / "fresh.parquet").write_bytes(b"PAR1")  # modified just now
    result, _ = evaluate(sensor)
    assert not result.run_requests

    (tmp_path / "sensor.yaml").write_text(
        "preset: tiny\nraw_dataset: {label_column: y, image_shape: [8, 8]}\n"
        "ops: {privileged_student: {config: {privileged_columns: [p0]}}}\n"
    )
    write_aged(tmp_path / "digits.csv", "p0,y\n0,1\n")
    result, _ = evaluate(sensor)
    requests = {r.tags["unsup/incoming_file"]: r for r in result.run_requests}
    request = requests[str(tmp_path / "digits.csv")]
    assert request.run_config["ops"]["raw_dataset"]["config"]["image_shape"] == [8, 8]
    assert (
        request.run_config["ops"]["transfer_models"]
        == load_preset("tiny")["ops"]["transfer_models"]
    )
    assert request.run_config["ops"]["privileged_student"]["config"] == {
        **load_preset("tiny")["ops"]["privileged_student"]["config"],
        "privileged_columns": ["p0"],
    }


def test_sensor_skips_with_a_reason_when_its_settings_are_broken(tmp_path):
    sensor = build_incoming_data_sensor(JOB, folder=tmp_path)
    (tmp_path / "sensor.yaml").write_text("colour: blue\n")
    write_aged(tmp_path / "x.csv", "a\n1\n")
    result, cursor = evaluate(sensor)
    assert (
        not result.run_requests
        and "expected a mapping with keys 'preset', 'raw_dataset'" in result.skip_message
    )
    assert cursor is None  # nothing consumed: the file runs once the settings are fixed
    missing = build_incoming_data_sensor(JOB, folder=tmp_path / "absent")
    assert "does not exist yet" in evaluate(missing)[0].skip_message


def test_definitions_hold_the_schedule_and_the_sensor():
    assert defs.resolve_sensor_def("incoming_data_sensor").job_name == JOB_NAME
    assert defs.resolve_schedule_def("retrain_schedule").job_name == JOB_NAME


def test_sensor_takes_only_regular_files_inside_its_folder(tmp_path):
    folder, outside = tmp_path / "incoming", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    write_aged(outside / "secret.csv", "a\n1\n")
    write_aged(folder / "good.csv", "a\n1\n")
    write_aged(folder / "inside_target.csv", "a\n2\n")
    (folder / "leaves.csv").symlink_to(outside / "secret.csv")  # a link out of the folder
    (folder / "dangling.csv").symlink_to(folder / "gone.csv")  # its target does not exist
    (folder / "alias.csv").symlink_to(folder / "inside_target.csv")  # stays inside: fine
    (folder / "a_directory.csv").mkdir()
    result, _ = evaluate(build_incoming_data_sensor(JOB, folder=folder))
    launched = {r.tags["unsup/incoming_file"] for r in result.run_requests}
    assert launched == {
        str(folder / name) for name in ("good.csv", "inside_target.csv", "alias.csv")
    }
