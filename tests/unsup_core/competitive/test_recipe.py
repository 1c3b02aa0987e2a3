"""A Kohonen map of a dataset as one recipe: the fitted map, its measures, the arrays people read,
labels or none, the weights file, and two seeded runs giving one map."""

import io

import numpy as np
import pytest

from unsup_core.competitive import (
    KohonenMap,
    KohonenMapConfig,
    MapConfig,
    auto_grid_shape,
    fit_map,
    weights_npz,
)
from unsup_core.validation import build_config

LABELLED_METRICS = {
    "quantization_error",
    "topographic_error",
    "topographic_error_4",
    "empty_nodes",
    "n_nodes",
    "grid_rows",
    "grid_cols",
    "train_seconds",
    "test/quantization_error",
    "purity",
    "test/majority_vote_accuracy",
}
TINY = MapConfig(som=KohonenMapConfig(rows=4, cols=5, epochs=3, random_state=0), density_k=3)


def fit(data, config: MapConfig = TINY, labels: bool = True):
    """:func:`fit_map` on the training and test splits of a prepared dataset."""
    extra = (
        dict(y_train=data.train.y, y_test=data.test.y, class_names=data.class_names)
        if labels
        else {}
    )
    return fit_map(data.train.X, data.test.X, data.feature_names, config, **extra)


@pytest.fixture(scope="module")
def result(small_digits):
    """The tiny labelled map of the small digits."""
    return fit(small_digits)


def test_the_fitted_map_and_its_measures(small_digits, result):
    som, X = result.som, small_digits.train.X
    assert isinstance(som, KohonenMap) and som.weights_.shape == (20, 64)
    assert som.get_params() == TINY.som.build().get_params()
    metrics = result.metrics
    assert set(metrics) == LABELLED_METRICS
    assert metrics["quantization_error"] == som.quantization_error(X)
    assert metrics["test/quantization_error"] == som.quantization_error(small_digits.test.X)
    assert metrics["topographic_error"] == som.topographic_error(X)
    assert metrics["topographic_error_4"] == som.topographic_error(X, 4)
    assert metrics["topographic_error"] <= metrics["topographic_error_4"] <= 1  # 8 vs 4 adjacent
    assert metrics["n_nodes"] == 20 and metrics["empty_nodes"] == float((result.hits == 0).sum())
    assert (metrics["grid_rows"], metrics["grid_cols"]) == (4, 5)
    assert result.tags == {"grid_rule": "configured"}
    assert 0 < metrics["purity"] <= 1 and 0 <= metrics["test/majority_vote_accuracy"] <= 1
    assert metrics["train_seconds"] > 0


def test_the_arrays_people_read(small_digits, result):
    grid = result.grid
    assert grid.shape == (4, 5) and result.density_k == 3
    assert result.u_matrix.shape == result.density.shape == result.hits.shape == (4, 5)
    assert result.hits.sum() == len(small_digits.train)
    assert result.planes.shape == (64, 4, 5)
    np.testing.assert_array_equal(result.planes[:, 1, 2], result.som.weights_[1 * 5 + 2])
    assert result.class_hits.shape == (10, 4, 5)
    np.testing.assert_array_equal(result.class_hits.sum(0), result.hits)
    empty = result.hits == 0
    assert (result.majority[empty] == -1).all() and (result.majority[~empty] >= 0).all()
    assert result.feature_names == small_digits.feature_names
    assert result.class_names == small_digits.class_names


def test_two_seeded_runs_give_one_map(small_digits, result):
    again = fit(small_digits)
    np.testing.assert_array_equal(again.som.weights_, result.som.weights_)
    skip = {"train_seconds"}
    assert {k: v for k, v in again.metrics.items() if k not in skip} == {
        k: v for k, v in result.metrics.items() if k not in skip
    }


def test_the_default_map_takes_its_grid_from_the_data_and_records_it(small_digits):
    config = build_config(MapConfig, {"som": {"epochs": 2}})
    assert (config.som.rows, config.som.cols, config.som.max_side) == (None, None, 40)
    result = fit(small_digits, config)
    n = len(small_digits.train)
    shape = auto_grid_shape(small_digits.train.X)
    assert result.grid.shape == shape == result.som.weights_grid.shape[:2]
    assert (result.metrics["grid_rows"], result.metrics["grid_cols"]) == shape
    assert result.metrics["n_nodes"] == shape[0] * shape[1]
    assert abs(shape[0] * shape[1] - 5 * n**0.54321) <= max(shape)  # the rule's node count
    assert result.tags["grid_rule"].startswith("auto (ceil(5 N^0.54321) nodes")
    assert result.som.get_params()["rows"] is None  # the parameter stays as set
    partial = fit(small_digits, build_config(MapConfig, {"som": {"rows": 4, "epochs": 2}}))
    assert partial.grid.rows == 4 and partial.tags["grid_rule"].startswith("configured rows")


def test_without_labels_there_is_no_label_overlay(small_digits):
    result = fit(small_digits, labels=False)
    assert set(result.metrics) == LABELLED_METRICS - {"purity", "test/majority_vote_accuracy"}
    assert result.majority is None and result.class_hits is None and result.class_names is None


def test_a_hexagonal_map_has_no_four_neighbour_error_and_k_is_capped(small_digits):
    config = build_config(
        MapConfig,
        {"som": {"rows": 3, "cols": 3, "topology": "hexagonal", "epochs": 2}, "density_k": 10_000},
    )
    assert config.som.random_state == 0  # the rest of the default map config is kept
    result = fit(small_digits, config)
    assert "topographic_error_4" not in result.metrics
    assert result.density_k == len(small_digits.train)


def test_the_weights_file(small_digits, result):
    stored = np.load(io.BytesIO(weights_npz(result.som, small_digits.feature_names)))
    np.testing.assert_array_equal(stored["weights"], result.som.weights_.reshape(4, 5, 64))
    assert list(stored["feature_names"]) == list(small_digits.feature_names)
    assert str(stored["topology"]) == "rectangular" and not bool(stored["toroidal"])


@pytest.mark.parametrize(
    "values, message",
    [
        ({"density_k": 0}, r"density_k=0 must be >= 1"),
        ({"som": {"rows": 0}}, r"grid rows=0 must be an integer >= 1"),
        ({"som": {"algorithm": "sgd"}}, r"algorithm='sgd' is not one of \['batch', 'online'\]"),
        ({"som": {"n_epochs": 3}}, r"KohonenMapConfig has no field 'n_epochs'"),
    ],
)
def test_bad_settings_raise(values, message):
    with pytest.raises(ValueError, match=message):
        build_config(MapConfig, values)


def test_figures_of_the_result(result):
    from unsup_core.plotting.figures import map_figures

    figures = map_figures(result)
    assert set(figures) == {"u_matrix", "density", "hit_map", "component_planes", "label_overlay"}
    assert all(figure.axes for figure in figures.values())
