"""The experiment report compares like with like: runs grouped by config (hash, else preset and
data, else "unknown"), this run set apart from its history, better judged by each metric's
direction, other configs listed and never compared, a readable trends figure. Plain rows, and
one temporary MLflow store with fake parent runs; no Dagster run."""

import csv

import pytest
from mlflow.tracking import MlflowClient

from pipelines.assets.report import build_report, log_report, report_markdown, trends_figure
from pipelines.experiment_history import (
    HEADLINES,
    HIGHER_IS_BETTER,
    UNKNOWN_CONFIG,
    compare_runs,
    config_group,
    direction_label,
    group_runs,
    history_rows,
    is_better,
    run_config,
)
from pipelines.tags import TAG_ASSET, TAG_LEVEL, TAG_RUN_ID
from pipelines.tracking import AssetRun

FD, ACC = "gan/frechet_distance", "student/accuracy"
THIS = "e" * 36


def row(name, status="FINISHED", preset=None, data=None, config_hash=None, **metrics):
    """A history row as history_rows gives it; ``name`` is the Dagster run id."""
    return {
        "dagster_run": name[:8],
        "dagster_run_id": name,
        "mlflow_run": f"mlflow-{name}",
        "started": "2026-03-01 08:43:00",  # set by the fixture
        "status": status,
        "preset": preset,
        "data": data,
        "config_hash": config_hash,
        **{h.column: None for h in HEADLINES},
        "not_applicable": None,
        **{k.replace("__", "/"): v for k, v in metrics.items()},
    }


def tiny(name, status="FINISHED", fd=None, acc=None):
    return row(
        name,
        status,
        "tiny",
        "digits",
        "aaaaaaaaaaaa",
        gan__frechet_distance=fd,
        student__accuracy=acc,
    )


@pytest.fixture
def rows():
    """Oldest first: runs of this config (tiny), of another (default), an old run without a
    hash, a run without any config tag, a concurrent run of this config, and this run."""
    found = [
        tiny("a1a1a1a1", fd=20.0, acc=0.80),
        row(
            "b2b2b2b2",
            preset="default",
            data="digits",
            config_hash="bbbbbbbbbbbb",
            gan__frechet_distance=5.0,
            student__accuracy=0.99,
        ),
        row("c3c3c3c3", preset="tiny", data="digits", gan__frechet_distance=1.0),
        row("d4d4d4d4", gan__frechet_distance=2.0),
        tiny("f5f5f5f5", fd=12.0, acc=0.90),
        tiny("g6g6g6g6", status="RUNNING", fd=3.0),  # another run still going
        tiny(THIS, status="RUNNING", fd=10.0, acc=0.85),
    ]
    for day, found_row in enumerate(found, start=1):
        found_row["started"] = f"2026-03-{day:02d} 08:43:00"
    return found


def test_config_tags_are_read_with_fallbacks_for_older_runs():
    tags = {"unsup.preset": "tiny", "unsup.data": "digits", "unsup.config_hash": "0123456789ab"}
    assert run_config(tags) == {"preset": "tiny", "data": "digits", "config_hash": "0123456789ab"}
    old = {"unsup/preset": "default", "unsup/incoming_file": "/in/votes.csv"}
    assert run_config(old) == {"preset": "default", "data": "/in/votes.csv", "config_hash": None}
    assert run_config({"unsup/data": "digits", "unsup.data": "x.csv"})["data"] == "x.csv"
    assert run_config({}) == {"preset": None, "data": None, "config_hash": None}


def test_runs_are_grouped_by_hash_else_preset_and_data_else_unknown(rows):
    assert config_group(rows[0]) == config_group(rows[4]) == "config aaaaaaaaaaaa"
    assert config_group(rows[2]) == "preset tiny, data digits"  # same preset, but no hash
    assert config_group(rows[3]) == UNKNOWN_CONFIG
    groups = group_runs(rows)
    assert list(groups) == [
        "config aaaaaaaaaaaa",
        UNKNOWN_CONFIG,
        "preset tiny, data digits",
        "config bbbbbbbbbbbb",
    ]
    assert [r["dagster_run"] for r in groups["config aaaaaaaaaaaa"]] == [
        "a1a1a1a1",
        "f5f5f5f5",
        "g6g6g6g6",
        THIS[:8],
    ]


def test_this_run_is_compared_only_with_earlier_runs_of_its_config(rows):
    comparison = compare_runs(rows, THIS)
    assert comparison.this_run is rows[-1]
    assert [r["dagster_run"] for r in comparison.history] == ["a1a1a1a1", "f5f5f5f5", "g6g6g6g6"]
    assert THIS not in {r["dagster_run_id"] for r in comparison.history}  # not its own history
    assert comparison.previous is rows[4]  # the latest FINISHED one, not the run still going
    by_metric = {c["metric"]: c for c in comparison.changes}
    assert by_metric[FD]["previous_run"] == 12.0 and by_metric[FD]["change"] == -2.0
    assert by_metric[FD]["better"] is True  # a lower Frechet distance is better
    assert by_metric[ACC]["change"] == pytest.approx(-0.05) and by_metric[ACC]["better"] is False
    assert set(comparison.others) == {
        "config bbbbbbbbbbbb",
        "preset tiny, data digits",
        UNKNOWN_CONFIG,
    }


def test_compare_all_takes_every_earlier_run(rows):
    comparison = compare_runs(rows, THIS, compare="all")
    assert len(comparison.history) == len(rows) - 1 and comparison.others == {}
    assert THIS not in {r["dagster_run_id"] for r in comparison.history}
    with pytest.raises(ValueError, match="compare='some' must be one of"):
        compare_runs(rows, THIS, compare="some")


def test_without_this_runs_row_nothing_is_compared(rows):
    comparison = compare_runs(rows[:-1], THIS)
    assert comparison.this_run is None and comparison.history == [] and comparison.changes == []
    assert sum(map(len, comparison.others.values())) == len(rows) - 1


def test_each_headline_has_one_direction():
    assert set(HIGHER_IS_BETTER) == {h.column for h in HEADLINES}
    assert HIGHER_IS_BETTER[ACC] and not HIGHER_IS_BETTER[FD]
    assert not HIGHER_IS_BETTER["plain_ae/test_recon_mse"]
    assert is_better(-1.0, higher_is_better=False) and not is_better(-1.0, higher_is_better=True)
    assert is_better(0.0, True) is None and is_better(None, True) is None
    assert direction_label(True) == "↑ better" and direction_label(False) == "↓ better"


def test_report_lists_other_configs_apart_and_never_compares_them(rows):
    report = build_report(compare_runs(rows, THIS), ["- student: `m` v1: promoted"])
    text = report_markdown(report)
    assert "preset tiny, data digits, config aaaaaaaaaaaa" in text  # this run's config
    compared, others = text.split("## Other configs (not compared with this run)")
    assert "b2b2b2b2" not in compared and "c3c3c3c3" not in compared  # never compared
    assert "d4d4d4d4" not in compared
    assert "### preset default, data digits, config bbbbbbbbbbbb: 1 run, not compared" in others
    assert f"### {UNKNOWN_CONFIG}" in others and "config without hash" in others
    assert "| gan/frechet_distance | ↓ better | 10 | 12 | -2 | True |" in report.changes_table
    assert "| student/accuracy | ↑ better | 0.85 | 0.9 |" in report.changes_table
    assert f"{FD} ↓" in report.table and f"{ACC} ↑" in report.table  # direction in the header
    assert THIS[:8] not in report.table  # this run is not in its own history
    assert report.runs_compared == 4 and report.value()["previous_run"] == "f5f5f5f5"


def test_trends_figure_has_readable_labels(rows):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for compare, n_groups in (("same_config", 1), ("all", 4)):
        figure = trends_figure(build_report(compare_runs(rows, THIS, compare), []))
        FigureCanvasAgg(figure).draw()
        assert figure.get_size_inches()[0] <= 10
        box = figure.bbox
        axes = [a for a in figure.axes if a.get_visible()]
        assert {a.get_title().split("\n")[0] for a in axes} == {FD, ACC}
        for axis in axes:
            assert "better" in axis.get_title() and axis.get_xlabel() and axis.get_ylabel()
            ticks = [t for t in axis.get_xticklabels() if t.get_visible()]
            assert ticks and all(t.get_text() for t in ticks)
            assert ticks[-1].get_text() == f"this run · {THIS[:8]}"
            for text in [*ticks, *axis.texts]:  # tick and value labels inside the figure
                extent = text.get_window_extent()
                assert box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0
        titles = {a.get_title() for a in axes}
        assert f"{FD}\n(lower is better)" in titles and f"{ACC}\n(higher is better)" in titles
        legends = figure.legends
        assert len(legends) == (n_groups > 1)
        if legends:
            assert len(legends[0].get_texts()) == n_groups


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A temporary MLflow store with five pipeline runs of job ``j``: two of config A, one of
    config B, one old run with only the Dagster preset tag, and this run (RUNNING)."""
    root = tmp_path_factory.mktemp("m")
    client = MlflowClient(tracking_uri=f"sqlite:///{root}/m.db")
    # artifacts beside the store (the default is ./mlruns in the working directory)
    experiment_id = client.create_experiment("report", artifact_location=str(root / "artifacts"))
    runs = [  # Dagster run id, config tags, FD, status
        (
            "r1" * 18,
            {"unsup.preset": "tiny", "unsup.data": "digits", "unsup.config_hash": "a" * 12},
            20.0,
            "FINISHED",
        ),
        (
            "r2" * 18,
            {"unsup.preset": "default", "unsup.data": "digits", "unsup.config_hash": "b" * 12},
            5.0,
            "FINISHED",
        ),
        ("r3" * 18, {"unsup/preset": "tiny"}, 9.0, "FINISHED"),
        (
            "r4" * 18,
            {"unsup.preset": "tiny", "unsup.data": "digits", "unsup.config_hash": "a" * 12},
            12.0,
            "FINISHED",
        ),
        (
            "r5" * 18,
            {"unsup.preset": "tiny", "unsup.data": "digits", "unsup.config_hash": "a" * 12},
            10.0,
            "RUNNING",
        ),
    ]
    for i, (dagster_run, tags, fd, status) in enumerate(runs):
        start = 1_770_000_000_000 + i * 60_000
        parent = client.create_run(
            experiment_id,
            start_time=start,
            tags={TAG_RUN_ID: dagster_run, TAG_LEVEL: "run", "dagster.job": "j", **tags},
        ).info.run_id
        child = client.create_run(
            experiment_id,
            start_time=start + 1000,
            tags={
                TAG_RUN_ID: dagster_run,
                TAG_LEVEL: "asset",
                TAG_ASSET: "gan_model",
                "mlflow.parentRunId": parent,
            },
        ).info.run_id
        client.log_metric(child, FD, fd)
        client.set_terminated(child, "FINISHED")
        if status != "RUNNING":
            client.set_terminated(parent, status)
    return client, experiment_id, [r[0] for r in runs]


def test_history_is_read_from_mlflow_and_grouped_by_config(store, tmp_path):
    client, experiment_id, dagster_runs = store
    rows = history_rows(client, experiment_id, "j", max_runs=10)
    assert [r["dagster_run_id"] for r in rows] == dagster_runs  # oldest first
    assert rows[2]["preset"] == "tiny" and rows[2]["config_hash"] is None  # the fallback
    assert [r[FD] for r in rows] == [20.0, 5.0, 9.0, 12.0, 10.0]
    comparison = compare_runs(rows, dagster_runs[-1])
    assert comparison.this_run["status"] == "RUNNING"
    assert [r["dagster_run_id"] for r in comparison.history] == [dagster_runs[0], dagster_runs[3]]
    assert set(comparison.others) == {"config " + "b" * 12, "preset tiny, data ?"}
    [fd] = [c for c in comparison.changes if c["metric"] == FD]
    assert fd["previous_run"] == 12.0 and fd["better"] is True

    report = build_report(comparison, [])
    run_id = client.create_run(experiment_id).info.run_id
    run = AssetRun(client, run_id, experiment_id, "report", "http://ui", {})
    log_report(run, report)
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"experiment_report.md", "experiment_report.csv", "experiment_report.json"} <= artifacts
    with open(client.download_artifacts(run_id, "experiment_report.md", str(tmp_path))) as f:
        markdown = f.read()
    assert "| RUNNING |" not in markdown  # this run is not listed in its own history
    assert "### preset default, data digits, config bbbbbbbbbbbb" in markdown
    with open(client.download_artifacts(run_id, "experiment_report.csv", str(tmp_path))) as f:
        roles = [line["role"] for line in csv.DictReader(f)]
    assert sorted(roles) == ["compared", "compared", "other config", "other config", "this run"]
    assert client.get_run(run_id).data.metrics["runs_compared"] == 3
