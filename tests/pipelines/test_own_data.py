"""The whole graph (tiny settings) on users' tables and images: every asset fits the data or
materialises a "not applicable" record, and the exact set of those is asserted per table."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_digits

from pipelines.definitions import ASSETS
from pipelines.presets import compose, load_preset, with_table

from .test_pipeline_e2e import mlflow_runs, run_pipeline

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
LABELLED = {"teacher_model", "student_model", "privileged_student", "transfer_models"}
SEED = 0


def votes_table(path: Path, rows: int = 160) -> None:
    """Yes/no answers (``?`` for missing) that lean by party, a text class label."""
    rng = np.random.default_rng(SEED)
    party = rng.choice(["democrat", "republican"], rows)
    frame = {"party": party}
    for q in range(1, 9):
        lean = np.where(party == "democrat", 0.2 + 0.07 * q, 0.8 - 0.07 * q)
        answers = np.where(rng.random(rows) < lean, "y", "n").astype(object)
        answers[rng.random(rows) < 0.05] = "?"
        frame[f"q{q}"] = answers
    pd.DataFrame(frame).to_csv(path, index=False)


def mixed_table(path: Path, rows: int = 150) -> None:
    """Numeric and text columns with missing values; three text classes."""
    rng = np.random.default_rng(SEED)
    grade = rng.choice(["low", "mid", "high"], rows)
    level = pd.Series(grade).map({"low": 0.0, "mid": 1.0, "high": 2.0}).to_numpy()
    age = (30 + 10 * level + rng.normal(0, 5, rows)).round(1)
    age[rng.random(rows) < 0.1] = np.nan
    colour = rng.choice(["red", "green", "blue"], rows).astype(object)
    colour[rng.random(rows) < 0.1] = None
    frame = pd.DataFrame(
        {
            "age": age,
            "income": (1000 * level + rng.normal(0, 300, rows)).round(0),
            "colour": colour,
            "member": np.where(level + rng.normal(0, 0.7, rows) > 1, "yes", "no"),
            "grade": grade,
        }
    )
    frame.to_csv(path, index=False)


def unlabelled_table(path: Path, rows: int = 150) -> None:
    rng = np.random.default_rng(SEED)
    centres = rng.normal(0, 3, (3, 5))
    X = centres[rng.integers(0, 3, rows)] + rng.normal(0, 1, (rows, 5))
    pd.DataFrame(X.round(3), columns=[f"m{j}" for j in range(5)]).to_csv(path, index=False)


def narrow_table(path: Path, rows: int = 150) -> None:
    """One feature column and a label."""
    rng = np.random.default_rng(SEED)
    label = rng.integers(0, 2, rows)
    pd.DataFrame({"x": (label * 2 + rng.normal(0, 0.8, rows)).round(3), "label": label}).to_csv(
        path, index=False
    )


def image_table(path: Path, rows: int = 400) -> None:
    """Digits padded to 10x10 (a shape whose sides are not multiples of 4), one row each."""
    digits = load_digits()
    images = np.pad(digits.images[:rows], ((0, 0), (1, 1), (1, 1)))
    frame = pd.DataFrame(images.reshape(rows, 100), columns=[f"p{j}" for j in range(100)])
    frame["digit"] = digits.target[:rows]
    frame.to_csv(path, index=False)


TABLES = {
    # name: (builder, label column, extra source settings, assets that do not apply)
    "votes": (votes_table, "party", {}, set()),
    "mixed": (mixed_table, "grade", {}, set()),
    "unlabelled": (
        unlabelled_table,
        None,
        {},
        LABELLED | {"code_som", "registered_models"},
    ),
    "narrow": (
        narrow_table,
        "label",
        {},
        {
            "plain_autoencoder",
            "autoencoder_zoo",
            "ssl_encoder",
            "stacked_autoencoder",
            "transfer_models",
            "privileged_student",
        },
    ),
    "images_10x10": (image_table, "digit", {"image_shape": [10, 10]}, set()),
}


def not_applicable(result) -> dict[str, str]:
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if "not_applicable" in materialization.metadata:
            reason = materialization.metadata["not_applicable"].value
            found[materialization.asset_key.to_user_string()] = reason
    return found


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_whole_graph_runs_on_each_table(name, tmp_path, mlflow_store):
    build, label, extra, expected = TABLES[name]
    path = tmp_path / f"{name}.csv"
    build(path)
    run_config = with_table(load_preset("tiny"), str(path), label)  # `make run DATA= LABEL=`
    run_config = compose(run_config, {"ops": {"raw_dataset": {"config": extra}}})
    result = run_pipeline(mlflow_store, tmp_path, run_config)
    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialised == {a.key.to_user_string() for a in ASSETS}  # nothing skipped
    reasons = not_applicable(result)
    assert set(reasons) == expected, reasons
    if label is None:
        assert all("no labels" in reasons[a] for a in LABELLED)
        [zoo] = [
            e.step_materialization_data.materialization
            for e in result.get_asset_materialization_events()
            if e.asset_key.to_user_string() == "autoencoder_zoo"
        ]
        assert "label_regularized" in zoo.metadata["kinds_not_applicable"].value
    _, runs = mlflow_runs(mlflow_store)
    assert not [r for r in runs if r.info.status != "FINISHED"]
    tagged = {
        r.data.tags["dagster.asset_key"]: r.data.tags["unsup.not_applicable"]
        for r in runs
        if "unsup.not_applicable" in r.data.tags
    }
    assert tagged == reasons
    [report] = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "experiment_report"
    ]
    listed = report.metadata["not_applicable_assets"].value
    assert all(asset in listed for asset in expected)


def readme_recipe() -> dict:
    """The YAML block of the README's "Your own data" section."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Your own data", 1)[1]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))


def test_the_readme_recipe_runs_verbatim_on_a_yes_no_table(tmp_path, mlflow_store):
    path = tmp_path / "house-votes.csv"
    votes_table(path)
    recipe = readme_recipe()
    recipe["ops"]["raw_dataset"]["config"]["path"] = str(path)  # only the path changes
    assert "base" not in recipe  # it lies over the default preset; tiny here for speed
    result = run_pipeline(mlflow_store, tmp_path, compose(load_preset("tiny"), recipe))
    assert result.success and not not_applicable(result)
    [som] = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "data_som"
    ]
    assert any(k.startswith("plot_") for k in som.metadata)  # the classic picture, inline
    client, runs = mlflow_runs(mlflow_store)
    [run] = [r for r in runs if r.data.tags.get("dagster.asset_key") == "data_som"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    for figure in ("component_planes", "u_matrix", "density", "label_overlay"):
        assert any(figure in a for a in artifacts), (figure, artifacts)
    stored = client.download_artifacts(run.info.run_id, "model/som_weights.npz", str(tmp_path))
    planes = np.load(stored)["feature_names"].tolist()
    assert planes == [f"q{q}=y" for q in range(1, 9)]  # one component plane per question
