"""Trends of headline metrics across pipeline runs (the experiment report's figure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .base import new_figure

MAX_WIDTH = 10.0  # inches
MAX_TICK_LABELS = 12  # per panel; with more runs every k-th is named (always the latest)


def plot_metric_trends(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str = "headline metrics across runs",
    higher_is_better: Mapping[str, bool] | None = None,
    groups: Sequence[str] | None = None,
    xlabel: str = "pipeline run (oldest first)",
):
    """One small panel per metric: its value in each run, the latest value written beside it.

    Parameters
    ----------
    labels : sequence of str, length n_runs
        Short names of the runs, oldest first (x tick labels, rotated).
    series : mapping of str to sequence of float or None, each of length n_runs
        A metric's value in each run; None (or NaN) leaves a gap.
    title : str
        The figure's title.
    higher_is_better : mapping of str to bool, optional
        Each metric's better direction: its panel's title says "(higher is better)" or
        "(lower is better)".
    groups : sequence of str, length n_runs, optional
        Which group (config) each run belongs to: each group is its own line, and a legend
        names them when there are several.
    xlabel : str
        The x axis label of every panel.

    Returns
    -------
    matplotlib.figure.Figure
        Constrained layout, at most 10 inches wide.
    """
    n_runs = len(labels)
    group_of = [""] * n_runs if groups is None else list(groups)
    if len(group_of) != n_runs:
        raise ValueError(f"groups has {len(group_of)} entries, labels n_runs={n_runs}")
    for name, values in series.items():
        if len(values) != n_runs:
            raise ValueError(f"series {name!r} has {len(values)} values, labels n_runs={n_runs}")
    directions = higher_is_better or {}
    names = list(series)
    columns = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // columns))
    order = list(dict.fromkeys(group_of))
    legend_height = 0.25 * (len(order) + 1) if len(order) > 1 else 0.0
    figure = new_figure(min(MAX_WIDTH, 3.3 * columns), 3.0 * rows + legend_height)
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    x = np.arange(n_runs)
    step = max(1, -(-n_runs // MAX_TICK_LABELS))
    ticks = x[::-1][::step][::-1]  # the latest run is always named
    for axis, name in zip(axes, names):
        values = np.array([np.nan if v is None else float(v) for v in series[name]])
        for index, group in enumerate(order):
            inside = np.array([g == group for g in group_of])
            axis.plot(
                x[inside], values[inside], marker="o", color=f"C{index % 10}", label=group or None
            )
        finite = np.flatnonzero(np.isfinite(values))
        if finite.size:
            last = finite[-1]
            at_right_edge = last == n_runs - 1 and n_runs > 1
            axis.annotate(
                f"{values[last]:.4g}",
                (x[last], values[last]),
                textcoords="offset points",
                xytext=(-3, 6) if at_right_edge else (0, 6),
                ha="right" if at_right_edge else "center",
                fontsize=8,
                annotation_clip=False,
            )
        axis.margins(x=0.1, y=0.3)  # room for the value label inside the axes
        direction = directions.get(name)
        better = "" if direction is None else f"\n({'higher' if direction else 'lower'} is better)"
        axis.set_title(f"{name}{better}", fontsize=9)
        axis.set_xticks(
            ticks,
            [labels[i] for i in ticks],
            rotation=40,
            ha="right",
            rotation_mode="anchor",
            fontsize=7,
        )
        axis.tick_params(axis="y", labelsize=7)
        axis.set_xlabel(xlabel, fontsize=8)
        axis.set_ylabel(name.rsplit("/", 1)[-1], fontsize=8)
        axis.grid(alpha=0.3)
    for axis in axes[len(names) :]:
        axis.set_visible(False)
    if len(order) > 1 and names:
        handles, texts = axes[0].get_legend_handles_labels()
        figure.legend(handles, texts, loc="outside lower center", fontsize=8, ncols=1)
    figure.suptitle(title)
    return figure
