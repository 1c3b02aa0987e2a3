"""Figures as Dagster materialisation metadata, shown inline where the Dagster UI allows it.

What the Dagster 1.13 UI (dagster-webserver 1.13.27) renders without a click, read from its
bundle (``dagster_webserver/webapp/build``) and checked in headless Chromium:

* Markdown metadata (``MetadataValue.md``) is rendered inline only when its text is shorter
  than 1,000 characters, and only in the asset page's two metadata tables: the **Overview**
  tab's *Metadata* section (the latest materialisation) and the **Events** tab's selected
  materialisation (``/assets/<key>?view=events&time=<timestamp>``). Longer Markdown shows as
  "[Show Markdown]" (a click, then a dialog); the run page's event log always shows
  "[Show Markdown]", whatever the length.
* A PNG as a ``data:`` URI is 10-100 kB of base64, so a data-URI figure is always one click
  away. An image *by URL* is short: ``![name](http://mlflow/get-artifact?...)`` is inline.
* Neither kind of image is blocked: the webserver's Content-Security-Policy
  (``webapp/build/csp-header.txt``) has no ``img-src`` and no ``default-src``, and the
  Markdown sanitiser (rehype-sanitize) allows ``img`` with ``http``, ``https`` and ``data``
  sources. The image loads while the browser reaches the server in the URL (here the MLflow
  server at ``MlflowTracking.ui_url``, e.g. ``make ui``); otherwise its alt text shows.
* There is no image metadata type: ``MetadataValue`` has text, Markdown, URL, path, notebook,
  JSON, table, numbers and links to runs, jobs and assets, none drawn as a picture.
* The asset's ``description`` (the definition's docstring, Markdown of any length) is drawn
  inline on the Overview tab, data-URI images included (clipped, with "Show more"), and an
  ``AssetMaterialization``'s ``description`` is drawn inline on the Events tab. Neither fits:
  the first is fixed when the code location loads, not per materialisation, and the second
  cannot be set from ``Output``/``MaterializeResult`` (only an explicitly logged
  ``AssetMaterialization``, which would record a second materialisation).

So the key figure goes in as short Markdown whose image is the PNG the MLflow server serves
(``key_figure``: inline on the asset's Overview and Events tabs), and every figure, the key
one included, stays embedded as a data URI (``plot_<name>``: one click away, and still there
when the MLflow server is not running).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import urlencode

from dagster import MetadataValue

KEY_FIGURE_LABEL = "key_figure"
INLINE_MARKDOWN_LIMIT = 1000  # the Dagster UI draws shorter Markdown metadata inline


def mlflow_artifact_url(ui_url: str, run_id: str, artifact_path: str) -> str:
    """Where a browser fetches one artifact of an MLflow run from the MLflow server at
    ``ui_url`` (its ``/get-artifact`` endpoint, the one the MLflow UI's image preview uses)."""
    query = urlencode({"path": artifact_path, "run_uuid": run_id})
    return f"{ui_url.rstrip('/')}/get-artifact?{query}"


def embedded_png_markdown(name: str, png: bytes) -> str:
    """Markdown of a PNG embedded as a ``data:`` URI (self-contained; one click away)."""
    return f"![{_alt(name)}](data:image/png;base64,{base64.b64encode(png).decode()})"


def figure_metadata(
    plots: Mapping[str, bytes],
    key: str | None = None,
    *,
    urls: Mapping[str, str] | None = None,
) -> dict[str, MetadataValue]:
    """Metadata entries for an asset's figures.

    Parameters
    ----------
    plots
        PNG bytes by figure name, key figure first unless ``key`` names it.
    key
        The figure to show inline; default: the first of ``plots``.
    urls
        Where a browser can fetch each figure's PNG (e.g. :func:`mlflow_artifact_url`). Only
        with the key figure's URL is there an inline entry.

    Returns
    -------
    dict
        ``key_figure`` (the key figure by URL, short Markdown the UI draws inline) when the
        key figure has a URL, then ``plot_<name>`` for every figure (embedded PNG, one click
        away), in the order of ``plots``.
    """
    if not plots:
        return {}
    key = next(iter(plots)) if key is None else key
    if key not in plots:
        raise ValueError(f"key={key!r} is not one of the figures {sorted(plots)}")
    metadata: dict[str, MetadataValue] = {}
    url = (urls or {}).get(key)
    if url:
        metadata[KEY_FIGURE_LABEL] = MetadataValue.md(key_figure_markdown(key, url))
    for name, png in plots.items():
        metadata[f"plot_{name}"] = MetadataValue.md(embedded_png_markdown(name, png))
    return metadata


def key_figure_markdown(name: str, url: str) -> str:
    """Markdown of one image by URL; the Dagster UI draws it inline while it is shorter than
    ``INLINE_MARKDOWN_LIMIT`` characters (a URL of a few hundred characters at most)."""
    return f"![{_alt(name)}]({url.replace(' ', '%20').replace(')', '%29')})"


def _alt(name: str) -> str:
    return name.replace("[", "(").replace("]", ")")
