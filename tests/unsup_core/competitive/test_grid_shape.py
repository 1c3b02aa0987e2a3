"""The map's grid from the data (the SOM Toolbox's som_topol_struct rule): node counts by hand,
the side ratio of elongated data along its principal axis, the cap, one- and two-feature data,
configured sides kept exactly, the toroidal hexagonal parity, and the rule against a transcription
of the toolbox's code."""

import math

import numpy as np
import pytest

from unsup_core.competitive import KohonenMap, KohonenMapConfig, auto_grid_shape
from unsup_core.competitive.grid import auto_nodes, principal_ratio


def shaped(n: int, stds: tuple[float, ...], seed: int = 0, angle: float = 0.0) -> np.ndarray:
    """n objects whose sample covariance is exactly diag(stds^2) (whitened, then scaled),
    turned by ``angle`` in the plane of the first two features."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, len(stds)))
    Z -= Z.mean(0)
    Z = Z @ np.linalg.inv(np.linalg.cholesky(np.cov(Z, rowvar=False)).T)
    X = Z * np.array(stds)
    if angle:
        turn = np.eye(len(stds))
        c, s = np.cos(angle), np.sin(angle)
        turn[:2, :2] = [[c, -s], [s, c]]
        X = X @ turn.T
    return X


def toolbox_msize(X: np.ndarray, hexagonal: bool = False) -> tuple[int, int]:
    """som_topol_struct's map size (SOM Toolbox 2.0, Matlab), transcribed with loops:
    munits = ceil(5 dlen^0.54321); autocorrelation of the centred data; msize(2) =
    round(sqrt(munits / ratio [* sqrt(0.75)])), msize(1) = round(munits / msize(2))."""
    n, d = X.shape
    munits = math.ceil(5 * n**0.54321)
    means = [sum(X[k, i] for k in range(n)) / n for i in range(d)]
    A = np.zeros((d, d))
    for i in range(d):
        for j in range(i, d):
            products = ((X[k, i] - means[i]) * (X[k, j] - means[j]) for k in range(n))
            A[i, j] = A[j, i] = sum(products) / n
    eigval = sorted(np.linalg.eigvals(A).real)
    if eigval[-1] == 0 or eigval[-2] * munits < eigval[-1]:
        ratio = 1.0
    else:
        ratio = math.sqrt(eigval[-1] / eigval[-2])
    short = round(math.sqrt(munits / ratio * (math.sqrt(0.75) if hexagonal else 1.0)))
    short = min(munits, short)
    return round(munits / short), short


def test_node_counts_by_hand():
    assert abs(5 * 200**0.54321 - 88.902) < 1e-3  # 200^0.54321 = 17.78
    assert auto_nodes(200) == 89
    assert abs(5 * 200_000**0.54321 - 3789.156) < 1e-3
    assert auto_nodes(200_000) == 3790
    assert auto_nodes(1) == 5


def test_round_data_gets_a_square_grid_and_huge_data_the_cap():
    assert auto_grid_shape(shaped(200, (1.0, 1.0))) == (10, 9)  # sqrt(89) = 9.43 -> 9, 89/9 -> 10
    assert auto_grid_shape(shaped(200_000, (1.0, 1.0))) == (40, 40)  # 3790 nodes, capped
    assert auto_grid_shape(shaped(200_000, (1.0, 1.0)), max_side=25) == (25, 25)


def test_elongated_data_gives_ratio_four_along_the_principal_axis():
    rng = np.random.default_rng(1)
    sample = rng.normal(size=(2000, 2)) * [4.0, 1.0]  # variances 16 : 1
    assert principal_ratio(sample, auto_nodes(2000)) == pytest.approx(4.0, rel=0.05)
    X = shaped(200, (4.0, 1.0), angle=np.pi / 6)
    assert principal_ratio(X, 89) == pytest.approx(4.0)
    rows, cols = auto_grid_shape(X)
    assert (rows, cols) == (18, 5)  # cols = round(sqrt(89 / 4)) = 5, rows = round(89 / 5) = 18
    # the cap keeps the aspect: 40 rows, 40 / 4 columns
    assert auto_grid_shape(shaped(200_000, (4.0, 1.0))) == (40, 10)
    som = KohonenMap(epochs=3, random_state=0).fit(X)
    W = som.weights_grid.astype(np.float64)
    along_rows = W[-1].mean(0) - W[0].mean(0)
    along_cols = W[:, -1].mean(0) - W[:, 0].mean(0)
    principal = np.array([np.cos(np.pi / 6), np.sin(np.pi / 6)])
    assert abs(along_rows @ principal) / np.linalg.norm(along_rows) > 0.95
    assert np.linalg.norm(along_rows) > 2.5 * np.linalg.norm(along_cols)


def test_a_flat_second_axis_and_a_single_feature_give_ratio_one():
    t = np.linspace(-1, 1, 200)[:, None]
    line = np.hstack([t, 2 * t + 1e-6 * np.sin(40 * t)])  # lambda2 * 89 < lambda1
    assert principal_ratio(line, 89) == 1.0 and auto_grid_shape(line) == (10, 9)
    assert principal_ratio(t, 89) == 1.0 and auto_grid_shape(t) == (10, 9)
    assert principal_ratio(np.zeros((200, 3)), 89) == 1.0


def test_one_and_two_feature_data_fit():
    X = shaped(200, (2.0, 1.0))
    som = KohonenMap(epochs=2, random_state=0).fit(X)
    assert som.grid_.shape == auto_grid_shape(X) and som.weights_.shape[1] == 2
    one = KohonenMap(init="sample", epochs=2, random_state=0).fit(X[:, :1])
    assert one.grid_.shape == (10, 9) and one.weights_grid.shape == (10, 9, 1)
    assert np.isfinite(one.weights_).all()


def test_configured_sides_are_kept_exactly():
    X = shaped(200, (4.0, 1.0))
    for rows, cols in [(7, 3), (3, 7), (50, 2), (1, 1)]:
        som = KohonenMap(rows, cols, init="sample", epochs=1, random_state=0).fit(X)
        assert som.grid_.shape == (rows, cols) and som.grid_rule_ == "configured"
    assert auto_grid_shape(X, rows=5) == (5, 18)  # round(89 / 5)
    assert auto_grid_shape(X, cols=30) == (3, 30)
    assert auto_grid_shape(X, rows=60) == (60, 2)  # a set side may pass max_side
    assert auto_grid_shape(X, cols=1) == (40, 1)  # round(89 / 1), capped
    som = KohonenMap(cols=4, epochs=1, random_state=0).fit(X)
    assert som.grid_.shape == (22, 4)
    assert som.grid_rule_.startswith("configured cols, auto rows (ceil(5 N^0.54321) nodes / cols")
    auto = KohonenMap(epochs=1, random_state=0).fit(X)
    rule = "auto (ceil(5 N^0.54321) nodes, aspect sqrt(lambda1/lambda2), max_side=40)"
    assert auto.grid_rule_ == rule
    assert auto.history_[0]["sigma"] == 18 / 2  # the radius starts at half the grid used


def test_hexagonal_grids_keep_the_aspect_and_toroidal_ones_even_rows():
    round_data = shaped(200, (1.0, 1.0))
    # rows lie sqrt(3)/2 apart: cols = round(sqrt(89 * 0.866)) = 9, rows = round(89 / 9) = 10
    assert auto_grid_shape(round_data, topology="hexagonal") == (10, 9)
    big = shaped(200_000, (1.0, 1.0))
    # capped: 41 rows, round(41 * 0.866) = 36 columns; toroidal: 41 is odd -> 40 at the cap
    assert auto_grid_shape(big, 41, topology="hexagonal") == (41, 36)
    assert auto_grid_shape(big, 41, topology="hexagonal", toroidal=True) == (40, 36)
    # one side set: round(89 / 8) = 11 rows, odd -> 12
    assert auto_grid_shape(round_data, cols=8, topology="hexagonal", toroidal=True) == (12, 8)
    som = KohonenMap(cols=8, topology="hexagonal", toroidal=True, epochs=1, random_state=0)
    assert som.fit(round_data).grid_.shape == (12, 8)
    with pytest.raises(ValueError, match=r"toroidal hexagonal grid needs an even number of rows"):
        KohonenMapConfig(rows=5, topology="hexagonal", toroidal=True)


@pytest.mark.parametrize("hexagonal", [False, True])
def test_the_rule_matches_the_toolbox_transcription(hexagonal):
    rng = np.random.default_rng(2)
    topology = "hexagonal" if hexagonal else "rectangular"
    for n, d in [(50, 2), (200, 3), (700, 5), (1500, 2)]:
        for _ in range(3):
            X = rng.normal(size=(n, d)) * rng.uniform(0.2, 3.0, size=d) + rng.normal(size=d)
            long, short = toolbox_msize(X, hexagonal)
            expected = (max(long, short), min(long, short))
            assert auto_grid_shape(X, 1000, topology=topology) == expected, (n, d)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_side": 1}, r"grid max_side=1 must be an integer >= 2"),
        ({"max_side": 2.5}, r"grid max_side=2.5 must be an integer >= 2"),
        ({"cols": 0}, r"grid cols=0 must be an integer >= 1"),
    ],
)
def test_bad_grid_settings_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KohonenMapConfig(**kwargs)
    with pytest.raises(ValueError, match=message):
        auto_grid_shape(np.zeros((10, 2)), **kwargs)


def test_no_samples_is_an_error():
    with pytest.raises(ValueError, match="X has no samples"):
        auto_grid_shape(np.zeros((0, 2)))
