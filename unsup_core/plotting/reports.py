"""Trends of headline metrics across pipeline runs (the experiment report's figure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .base import new_figure


def plot_metric_trends(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str = "headline metrics across runs",
):
    """One small panel per metric: its value in each run (x: runs, oldest first; missing values
    leave gaps). ``labels`` name the runs; ``series`` maps a metric name to one value per run."""
    names = list(series)
    columns = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // columns))
    figure = new_figure(4.2 * columns, 2.6 * rows)
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    x = np.arange(len(labels))
    for axis, name in zip(axes, names):
        values = np.array([np.nan if v is None else float(v) for v in series[name]])
        axis.plot(x, values, marker="o")
        if len(values) and np.isfinite(values[-1]):
            axis.annotate(
                f"{values[-1]:.4g}",
                (x[-1], values[-1]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
            )
        axis.set_title(name, fontsize=9)
        axis.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
        axis.grid(alpha=0.3)
    for axis in axes[len(names) :]:
        axis.set_visible(False)
    figure.suptitle(title)
    return figure
