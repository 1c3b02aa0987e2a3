"""Every figure is fit for a report: a title, named axes, a legend or colour bar wherever colour
encodes something, integer epoch ticks, at most 10 inches wide, wide strips wrapped into grids,
and no text written into map cells. Tiny synthetic inputs, drawn with the Agg canvas."""

import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.text import Text

from unsup_core.competitive import KohonenMapConfig, MapConfig, fit_map
from unsup_core.competitive.grid import Grid
from unsup_core.plotting import (
    plot_accuracy_curve,
    plot_code_scatter,
    plot_component_planes,
    plot_image_grid,
    plot_label_overlay,
    plot_loss_curves,
    plot_map,
    plot_reconstructions,
)
from unsup_core.plotting.base import EMPTY_COLOUR, class_colours, grid_shape
from unsup_core.plotting.figures import map_figures
from unsup_core.plotting.generative import (
    plot_adversarial_history,
    plot_class_shares,
    plot_sample_grid,
)
from unsup_core.plotting.maps import class_colour_map
from unsup_core.training.callbacks import EpochLog, TrainingHistory

MAX_WIDTH = 10.0
CLASSES = ("zero", "one", "two")
GAN_TERMS = ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy")


def history(epochs: int = 3, terms: tuple[str, ...] = ("loss", "recon", "kl")) -> TrainingHistory:
    """``epochs`` epochs of the named train terms (1/e each), ``loss`` and ``recon`` also on
    validation; a GAN's terms with ``terms=GAN_TERMS``."""
    logs = [
        EpochLog(
            e,
            {term: 1 / e for term in terms},
            {term: 1.1 / e for term in terms if term in ("loss", "recon")},
            1e-3,
            0.1,
        )
        for e in range(1, epochs + 1)
    ]
    return TrainingHistory(epochs=logs, best_epoch=epochs)


def class_maps(grid: Grid, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(majority, class_hits) of random hits on ``grid``, with at least one empty node."""
    hits = np.random.default_rng(seed).poisson(1.0, size=(len(CLASSES), *grid.shape))
    hits[:, 0, 0] = 0
    majority = hits.argmax(axis=0)
    majority[hits.sum(axis=0) == 0] = -1
    return majority, hits


def draw(figure):
    """Render on an Agg canvas (as the pipelines' PNG export does); returns the renderer."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def colour_bars(figure) -> list:
    return [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]


def is_picture(ax) -> bool:
    """An image or a hexagon map: axes that show pixels or nodes, not a quantity."""
    return bool(ax.images) or any(isinstance(c, PatchCollection) for c in ax.collections)


def plot_axes(figure) -> list:
    """The visible axes that are neither colour bars nor pictures."""
    return [
        ax
        for ax in figure.axes
        if ax.get_visible() and ax.get_label() != "<colorbar>" and not is_picture(ax)
    ]


def assert_texts_fit(figure, name: str) -> None:
    """Titles, axis labels and legend entries lie inside the figure (none is cut off)."""
    renderer = draw(figure)
    ticks = {
        label
        for ax in figure.axes
        for axis in (ax.xaxis, ax.yaxis)
        for tick in axis.majorTicks + axis.minorTicks
        for label in (tick.label1, tick.label2)
    }
    page = figure.bbox.padded(1)
    for text in figure.findobj(Text):
        if text in ticks or not text.get_text() or not text.get_visible():
            continue
        if text.axes is not None and not text.axes.get_visible():
            continue
        box = text.get_window_extent(renderer)
        assert page.contains(box.x0, box.y0) and page.contains(box.x1, box.y1), (
            f"{name}: {text.get_text()!r} runs off the figure"
        )


def has_title(figure) -> bool:
    return bool(figure.get_suptitle()) or any(ax.get_title() for ax in figure.axes)


def figure_builders() -> dict:
    rng = np.random.default_rng(0)
    square = Grid(4, 5)
    majority, hits = class_maps(square)
    return {
        "loss_curves": lambda: plot_loss_curves(history(), "vae"),
        "adversarial": lambda: plot_adversarial_history(history(3, GAN_TERMS)),
        "class_shares": lambda: plot_class_shares(
            {"gan": [0.2, 0.3, 0.5], "real": [0.3, 0.3, 0.4]}, CLASSES
        ),
        "code_scatter": lambda: plot_code_scatter(
            rng.normal(size=(60, 4)), rng.integers(0, 3, 60), CLASSES, "codes"
        ),
        "image_grid": lambda: plot_image_grid(rng.random((13, 16)), (4, 4), 12),
        "sample_grid": lambda: plot_sample_grid(rng.random((13, 16)), (4, 4), 12, ""),
        "reconstructions": lambda: plot_reconstructions(
            rng.random((14, 16)), rng.random((14, 16)), (4, 4), n=14
        ),
        "accuracy_curve": lambda: plot_accuracy_curve(
            [
                {"labels_per_class": k, "mode": m, "accuracy": 0.5, "accuracy_std": 0.1}
                for k in (1, 5, 0)
                for m in ("frozen", "finetune")
            ]
        ),
        "map": lambda: plot_map(hits[0], square, "hit map", "Greys", "objects won"),
        "component_planes": lambda: plot_component_planes(
            rng.random((8, *square.shape)), square, [f"feature {j}" for j in range(8)]
        ),
        "label_overlay": lambda: plot_label_overlay(majority, hits, square, CLASSES),
        "label_overlay_hexagonal": lambda: plot_label_overlay(
            *class_maps(Grid(4, 6, "hexagonal")), Grid(4, 6, "hexagonal"), CLASSES
        ),
    }


@pytest.mark.parametrize("name", list(figure_builders()))
def test_every_figure_has_a_title_named_axes_and_fits_the_page(name):
    figure = figure_builders()[name]()
    assert has_title(figure)
    assert figure.get_size_inches()[0] <= MAX_WIDTH
    for ax in plot_axes(figure):
        assert ax.get_xlabel() and ax.get_ylabel(), f"{name}: {ax.get_title()!r} lacks a label"
    assert_texts_fit(figure, name)


@pytest.mark.parametrize("epochs", [1, 2, 3, 4])
@pytest.mark.parametrize("plot", [plot_loss_curves, plot_adversarial_history])
def test_epoch_axes_have_integer_ticks_on_short_runs(plot, epochs):
    figure = plot(history(epochs, ("loss",) if plot is plot_loss_curves else GAN_TERMS))
    draw(figure)
    for ax in plot_axes(figure):
        assert ax.get_xlabel() == "epoch"
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        low, high = ax.get_xlim()
        shown = [t for t in ax.get_xticks() if low <= t <= high]
        assert labels and all(re.fullmatch(r"\d+", label) for label in labels), labels
        assert all(float(t).is_integer() for t in shown) and epochs in shown


def test_several_series_get_a_legend():
    figure = plot_loss_curves(history(), "vae")
    for ax in plot_axes(figure):
        assert ax.get_legend() is not None
    scatter = plot_code_scatter(np.random.default_rng(0).normal(size=(30, 2)), None, None, "c")
    assert scatter.axes[0].get_legend() is None  # one series, nothing to tell apart
    for figure in (
        plot_adversarial_history(history(3, GAN_TERMS)),
        plot_class_shares({"gan": [0.5, 0.5], "real": [0.4, 0.6]}, ["a", "b"]),
    ):
        assert all(ax.get_legend() is not None for ax in figure.axes)


def test_code_scatter_names_every_class_in_its_legend_even_one_absent_from_the_data():
    codes = np.random.default_rng(0).normal(size=(40, 3))
    figure = plot_code_scatter(codes, np.repeat([0, 2], 20), CLASSES, "codes")
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend == ["zero", "two"]  # each colour next to its own name
    colours = [c.get_facecolor()[0] for c in figure.axes[0].collections]
    np.testing.assert_allclose(colours[1][:3], class_colours(3)[2][:3])
    unlabelled = plot_code_scatter(codes, np.repeat([0, -1], 20), CLASSES, "codes")
    legend = [t.get_text() for t in unlabelled.axes[0].get_legend().get_texts()]
    assert legend == ["zero", "other"]  # no object is dropped


def test_wide_strips_wrap_into_grids_within_the_page():
    assert grid_shape(11, 5) == (3, 5) and grid_shape(3, 5) == (1, 3) and grid_shape(0) == (1, 1)
    planes = plot_component_planes(np.zeros((8, 3, 3)), Grid(3, 3), [str(j) for j in range(8)])
    maps = [ax for ax in planes.axes if ax.get_visible() and is_picture(ax)]
    assert len(maps) == 8 and len({round(ax.get_position().x0, 3) for ax in maps}) == 6
    loss = plot_loss_curves(history(3, ("loss", "a", "b", "c", "d")), "vae")
    assert len({round(ax.get_position().x0, 3) for ax in plot_axes(loss)}) == 3
    images = plot_image_grid(np.zeros((13, 16)), (4, 4), columns=40)
    assert images.get_size_inches()[0] <= MAX_WIDTH


def test_values_encoded_by_colour_come_with_a_labelled_colour_bar():
    grid = Grid(4, 5)
    hits = class_maps(grid)[1][0]
    single = plot_map(hits, grid, "hit map", "Greys", "objects won")
    assert [bar.get_ylabel() for bar in colour_bars(single)] == ["objects won"]
    draw(single)
    ticks = [t.get_text() for t in colour_bars(single)[0].get_yticklabels() if t.get_text()]
    assert all(re.fullmatch(r"\d+", t) for t in ticks), ticks  # counts: integer ticks
    assert single.axes[0].get_xlabel() == "map column"
    assert single.axes[0].get_ylabel() == "map row"
    planes = plot_component_planes(
        np.random.default_rng(0).random((7, 4, 5)), grid, list("abcdefg")
    )
    assert len(colour_bars(planes)) == 1  # one shared scale
    assert colour_bars(planes)[0].get_ylabel()


def test_component_planes_beyond_the_limit_show_the_features_that_vary_most():
    planes = np.zeros((5, 2, 2))
    planes[3, 0, 0] = 1.0
    planes[1, 1, 1] = 0.5
    figure = plot_component_planes(planes, Grid(2, 2), list("abcde"), max_planes=2)
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible() and is_picture(ax)]
    assert titles == ["b", "d"] and "2 of 5" in figure.get_suptitle()


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_label_overlay_is_a_class_coloured_map_with_a_legend_and_per_class_hit_maps(topology):
    grid = Grid(4, 6, topology)
    majority, hits = class_maps(grid)
    figure = plot_label_overlay(majority, hits, grid, CLASSES)
    assert figure.get_size_inches()[0] <= MAX_WIDTH and figure.get_suptitle()
    legends = [ax.get_legend() for ax in figure.axes if ax.get_legend() is not None]
    assert len(legends) == 1
    assert [t.get_text() for t in legends[0].get_texts()] == [*CLASSES, "empty"]
    maps = [ax for ax in figure.axes if is_picture(ax)]
    assert len(maps) == 1 + len(CLASSES)  # the class map, then one hit map per class
    assert [ax.get_title() for ax in maps[1:]] == list(CLASSES)
    bars = colour_bars(figure)
    assert len(bars) == 1 and "objects" in bars[0].get_ylabel()
    draw(figure)
    for ax in maps:
        assert not ax.texts
        labels = {ax.title, ax.xaxis.label, ax.yaxis.label, ax._left_title, ax._right_title}
        if ax.get_legend() is not None:  # the legend beside the class map
            labels |= {ax.get_legend().get_title(), *ax.get_legend().get_texts()}
        stray = [t for t in ax.findobj(Text) if t.get_text() and t not in labels]
        assert stray == [], [t.get_text() for t in stray]


def test_label_overlay_shows_at_most_max_classes_hit_maps_and_says_so():
    grid = Grid(3, 3)
    hits = np.random.default_rng(0).poisson(1.0, size=(12, 3, 3))
    names = [f"class {k}" for k in range(12)]
    figure = plot_label_overlay(hits.argmax(axis=0), hits, grid, names, max_classes=10)
    assert len([ax for ax in figure.axes if ax.get_visible() and is_picture(ax)]) == 11
    legend = next(ax.get_legend() for ax in figure.axes if ax.get_legend() is not None)
    assert len(legend.get_texts()) == 13  # every class in the legend, and "empty"
    assert any("10 of 12" in sub.get_suptitle() for sub in figure.subfigs)


def test_class_colours_are_distinct_and_never_the_empty_grey():
    for n in (2, 10, 20, 25):
        colours = class_colours(n)
        assert colours.shape == (n, 4) and len({tuple(c) for c in colours}) == n
        spread = colours[:, :3].max(axis=1) - colours[:, :3].min(axis=1)
        assert (spread > 0.1).all(), f"a grey among {n} class colours"


def test_class_colour_map_fades_mixed_nodes_and_greys_empty_ones():
    hits = np.zeros((2, 1, 3), dtype=int)
    hits[0, 0, 0] = 4  # pure class 0
    hits[:, 0, 1] = [2, 2]  # an even mix: the faintest shade
    majority = np.array([[0, 0, -1]])
    colours = class_colour_map(majority, hits)
    np.testing.assert_allclose(colours[0, 0], class_colours(2)[0])
    np.testing.assert_allclose(colours[0, 2], EMPTY_COLOUR)
    assert colours[0, 1, :3].mean() > colours[0, 0, :3].mean()  # paler
    assert (colours[0, 1, :3] < 1).any()  # but not white


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_map_figures_keep_their_names_and_are_all_report_ready(topology):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    X = (rng.normal(size=(3, 4))[y] + 0.2 * rng.normal(size=(90, 4))).astype(np.float32)
    som = KohonenMapConfig(rows=4, cols=4, topology=topology, epochs=2, random_state=0)
    result = fit_map(X, X[:10], list("abcd"), MapConfig(som=som, density_k=3), y, y[:10], CLASSES)
    figures = map_figures(result)
    assert set(figures) == {"u_matrix", "density", "hit_map", "component_planes", "label_overlay"}
    for name, figure in figures.items():
        assert has_title(figure) and colour_bars(figure), name
        assert all(bar.get_ylabel() for bar in colour_bars(figure)), name
        assert figure.get_size_inches()[0] <= MAX_WIDTH, name
        assert_texts_fit(figure, name)
