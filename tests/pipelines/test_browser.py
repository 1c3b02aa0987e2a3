"""The UIs as a user sees them, in headless Chromium: the Dagster asset page of ``data_som``
draws its key figure inline, and MLflow's compare view of two pipeline runs shows the metric
values MLflow stores for them. The pages are those of the session's live services and runs
(tests/pipelines/conftest.py); screenshots go to ``$TEST_ARTIFACTS/browser/``."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from dagster import MarkdownMetadataValue

from pipelines.ui_metadata import (
    INLINE_MARKDOWN_LIMIT,
    KEY_FIGURE_LABEL,
    figure_metadata,
    mlflow_artifact_url,
)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201ffa1d4ce"
    "0000000049454e44ae426082"
)
LOADED_IMAGES = """return [...document.images]
  .filter(i => i.complete && i.naturalWidth > 0 && i.src.includes(arguments[0]))
  .map(i => [i.alt, i.src, i.naturalWidth, i.naturalHeight])"""

SCROLL_TO_HEADING = """const found = [...document.querySelectorAll('*')]
  .filter(e => e.textContent.trim() === arguments[0]);
if (found.length) found[found.length - 1].scrollIntoView();"""


# ----------------------------------------------------------------------------- the metadata
def test_figure_metadata_puts_the_key_figure_by_url_first_and_embeds_every_figure():
    url = mlflow_artifact_url("http://127.0.0.1:5000/", "0123abcd" * 4, "plots/u matrix.png")
    metadata = figure_metadata({"u matrix": PNG, "hits": PNG}, urls={"u matrix": url})
    assert list(metadata) == [KEY_FIGURE_LABEL, "plot_u matrix", "plot_hits"]
    inline = metadata[KEY_FIGURE_LABEL].value
    assert inline == (
        "![u matrix](http://127.0.0.1:5000/get-artifact?"
        "path=plots%2Fu+matrix.png&run_uuid=0123abcd0123abcd0123abcd0123abcd)"
    )
    assert len(inline) < INLINE_MARKDOWN_LIMIT  # what the Dagster UI draws without a click
    assert all(isinstance(v, MarkdownMetadataValue) for v in metadata.values())
    assert metadata["plot_hits"].value.startswith("![hits](data:image/png;base64,iVBORw0KGgo")


def test_figure_metadata_without_urls_keys_and_errors():
    assert figure_metadata({}) == {}
    assert list(figure_metadata({"a": PNG, "b": PNG})) == ["plot_a", "plot_b"]
    chosen = figure_metadata({"a": PNG, "b": PNG}, key="b", urls={"a": "http://x/a", "b": "u"})
    assert chosen[KEY_FIGURE_LABEL].value == "![b](u)"
    with pytest.raises(ValueError, match=r"key='c' is not one of the figures \['a', 'b'\]"):
        figure_metadata({"a": PNG, "b": PNG}, key="c")


# ----------------------------------------------------------------------------- the pages
def screenshot(browser, artifacts_dir: Path, name: str) -> Path:
    folder = artifacts_dir / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


def wait_in_page(browser, predicate, timeout: float, what: str, artifacts_dir: Path, name: str):
    """The first truthy ``predicate()`` while the page renders; a screenshot either way."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            break
        time.sleep(0.5)
    shot = screenshot(browser, artifacts_dir, name)
    if not value:
        text = browser.execute_script("return document.body.innerText")[:3000]
        raise AssertionError(f"{what} not seen in {timeout:.0f} s (screenshot {shot}):\n{text}")
    return value


def materialization(dagster, asset: str, run_id: str) -> dict:
    """The asset's materialisation in the run: its timestamp and Markdown metadata."""
    data = dagster.query(
        """query($key: AssetKeyInput!) { assetOrError(assetKey: $key) { ... on Asset {
          assetMaterializations(limit: 100) { runId timestamp
            metadataEntries { label ... on MarkdownMetadataEntry { mdStr } } } } } }""",
        key={"path": [asset]},
    )
    found = [m for m in data["assetOrError"]["assetMaterializations"] if m["runId"] == run_id]
    assert found, f"no materialisation of {asset} in run {run_id}"
    return found[0]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_dagster_asset_page_draws_the_key_figure_inline(
    live_services, tiny_run, browser, artifacts_dir
):
    dagster = live_services.dagster
    dagster.query("mutation { setNuxSeen }")  # no "Join the Dagster community" dialog
    event = materialization(dagster, "data_som", tiny_run)
    markdown = {e["label"]: e.get("mdStr") for e in event["metadataEntries"]}
    assert any(label.startswith("plot_") for label in markdown), sorted(markdown)
    if KEY_FIGURE_LABEL not in markdown:
        pytest.fail(
            f"data_som's materialisation has no {KEY_FIGURE_LABEL!r} entry (only "
            f"{sorted(markdown)}): AssetRun.dagster_metadata does not use "
            "pipelines.ui_metadata.figure_metadata"
        )
    assert len(markdown[KEY_FIGURE_LABEL]) < INLINE_MARKDOWN_LIMIT
    assert live_services.tracking in markdown[KEY_FIGURE_LABEL]

    # the run's materialisation on the Events tab: the figure is drawn, no click needed
    browser.get(
        f"{live_services.dagster_url}/assets/data_som?view=events&time={event['timestamp']}"
    )
    images = wait_in_page(
        browser,
        lambda: browser.execute_script(LOADED_IMAGES, f"{live_services.tracking}/get-artifact"),
        60,
        "the key figure drawn on the Events tab",
        artifacts_dir,
        "dagster-data_som-events",
    )
    assert images[0][2] > 100 and images[0][3] > 100, images  # a figure, not an icon

    # the Overview tab draws the latest materialisation's key figure inline as well
    browser.get(f"{live_services.dagster_url}/assets/data_som")
    wait_in_page(
        browser,
        lambda: browser.execute_script(
            "return [...document.images].filter(i => i.src.includes(arguments[0])).length",
            "/get-artifact?",
        ),
        60,
        "the key figure as an image on the Overview tab",
        artifacts_dir,
        "dagster-data_som-overview",
    )


def mlflow_formatted(value: float) -> str:
    """A metric value as MLflow's UI prints it (``Utils.formatMetric`` of its JS bundle)."""

    def js_round(x: float) -> float:
        return math.floor(x + 0.5)

    def js_string(x: float) -> str:
        return str(int(x)) if x == int(x) else repr(x)

    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        mantissa, exponent = f"{value:.3e}".split("e")
        return f"{mantissa}e{int(exponent):+d}"
    for limit, scale in ((10, 1000), (100, 100)):
        if abs(value) < limit:
            return js_string(js_round(value * scale) / scale)
    return js_string(js_round(value * 10) / 10)


def finished_parents(client, experiment_id: str) -> list:
    return client.search_runs(
        [experiment_id],
        filter_string="tags.`dagster.level` = 'run' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=10,
    )


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_mlflow_compare_view_shows_the_parent_runs_metrics(
    live_services, tiny_run, browser, artifacts_dir
):
    client = live_services.client()
    experiment = client.get_experiment_by_name("unsup-pipeline")
    parents = finished_parents(client, experiment.experiment_id)
    if len(parents) < 2:  # alone; after the live test the sensor's run is the second
        run_id = live_services.dagster.launch(live_services.run_config("tiny"))
        status, _ = live_services.dagster.wait(run_id, 600)
        assert status == "SUCCESS", live_services.dagster.step_failures(run_id)
        parents = finished_parents(client, experiment.experiment_id)
    mine = next(p for p in parents if p.data.tags["dagster.run_id"] == tiny_run)
    other = next(p for p in parents if p.info.run_id != mine.info.run_id)
    runs = [client.get_run(p.info.run_id) for p in (mine, other)]
    metrics = {run.info.run_id: run.data.metrics for run in runs}
    if not any(metrics.values()):
        pytest.skip(
            "the pipeline's parent runs carry no metrics, so the compare view has none to show "
            "(parents get headline metrics from pipelines.resources.summarize_on_parent)"
        )

    ids = [run.info.run_id for run in runs]
    route = (
        f"/compare-runs?runs={quote(json.dumps(ids))}"
        f"&experiments={quote(json.dumps([experiment.experiment_id]))}"
    )
    browser.get(f"{live_services.tracking}/#{route}")
    names = [run.info.run_name for run in runs]
    wait_in_page(
        browser,
        lambda: all(n in browser.execute_script("return document.body.innerText") for n in names),
        60,
        f"the compare view of runs {names}",
        artifacts_dir,
        "mlflow-compare-runs",
    )
    text = browser.execute_script("return document.body.innerText")
    browser.execute_script(SCROLL_TO_HEADING, "Metrics")
    screenshot(browser, artifacts_dir, "mlflow-compare-runs-metrics")
    shown = {
        (run_id, key): mlflow_formatted(value)
        for run_id, values in metrics.items()
        for key, value in values.items()
    }
    missing_keys = sorted({key for _, key in shown if key not in text})
    assert not missing_keys, f"metric names not on the compare page: {missing_keys}"
    tokens = set(re.findall(r"[-+0-9.e]+", text))
    missing = {k: v for k, v in shown.items() if v not in tokens}
    assert not missing, f"metric values not on the compare page: {missing}"
