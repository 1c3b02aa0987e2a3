"""Kohonen map: each claim against an independent naive version, MiniSom as an oracle."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from unsup_core.competitive import (
    Grid,
    KohonenMap,
    class_hit_maps,
    component_planes,
    density_map,
    hit_map,
    kernel,
    majority_labels,
    node_purity,
    schedule_values,
    topographic_error,
    u_matrix,
)
from unsup_core.competitive.som_training import batch_epoch, train_online


@pytest.fixture(scope="module")
def digits01():
    """The 1,797 digits scaled to [0, 1] (X (n, 64), y (n,))."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def uniform_square(n=600, seed=0):
    """n points drawn uniformly from the unit square, (n, 2)."""
    return np.random.default_rng(seed).uniform(0, 1, size=(n, 2))


def naive_winners(X, W):
    """Index of the nearest weight row of W (K, d) for every row of X (n, d), one at a time."""
    return np.array([np.argmin([np.linalg.norm(x - w) for w in W]) for x in X])


# --- grid, kernels, schedules --------------------------------------------------------------


def test_grid_neighbours_rectangular_hexagonal_toroidal():
    assert Grid(3, 4).adjacency(4).sum() == 2 * (3 * 3 + 2 * 4)  # edges counted both ways
    assert Grid(3, 3).adjacency(8)[4].sum() == 8
    hexagonal = Grid(4, 4, "hexagonal")
    assert hexagonal.adjacency()[5].sum() == 6  # an inner node has six neighbours
    torus = Grid(4, 5, toroidal=True)
    assert np.all(torus.adjacency(4).sum(1) == 4) and torus.adjacency(4)[0, 4]  # wraps round


def test_kernels_match_their_formulas():
    r2 = np.array([0.0, 1.0, 4.0, 9.0])
    np.testing.assert_allclose(kernel(r2, 2.0, "gaussian"), np.exp(-r2 / 8))
    np.testing.assert_array_equal(kernel(r2, 2.0, "bubble"), [1, 1, 1, 0])
    np.testing.assert_allclose(kernel(r2, 2.0, "mexican_hat"), (1 - r2 / 4) * np.exp(-r2 / 8))
    assert kernel(np.array([4.0]), 2.0, "mexican_hat")[0] == 0.0


def test_schedules_reach_their_end_values():
    np.testing.assert_allclose(schedule_values("linear", 0.5, 0.0, 4), [0.5, 0.375, 0.25, 0.125])
    assert schedule_values("exponential", 8.0, 1.0, 3, steps=[3])[0] == pytest.approx(1.0)
    assert schedule_values("inverse", 8.0, 1.0, 5, steps=[5])[0] == pytest.approx(1.0)
    np.testing.assert_allclose(
        schedule_values(lambda t, total: 1 / (1 + t), 0, 0, 3), [1, 0.5, 1 / 3]
    )


# --- training --------------------------------------------------------------------------------


def test_two_blobs_give_two_nodes_at_the_blob_means():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.05, (100, 2)), rng.normal(5, 0.05, (100, 2))])
    som = KohonenMap(
        1, 2, epochs=20, sigma_start=0.5, sigma_end=0.1, init="sample", random_state=0
    ).fit(X)
    centres = sorted(map(tuple, np.round(som.weights_, 1)))
    assert centres == [(0.0, 0.0), (5.0, 5.0)]


@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_map_orders_itself_on_uniform_square(algorithm):
    X = uniform_square()
    som = KohonenMap(
        8, 8, algorithm=algorithm, init="uniform", epochs=15, sigma_start=4, random_state=1
    ).fit(X)
    assert som.topographic_error(X) < 0.05
    W = som.weights_
    adjacent = Grid(8, 8).adjacency(4)
    neighbour_gap = np.mean([np.linalg.norm(W[i] - W[j]) for i, j in zip(*np.nonzero(adjacent))])
    any_gap = np.mean(np.linalg.norm(W[:, None] - W[None], axis=-1))
    assert neighbour_gap < 0.35 * any_gap
    rows, cols = Grid(8, 8).index.T
    correlations = [abs(np.corrcoef(W[:, f], axis)[0, 1]) for f in (0, 1) for axis in (rows, cols)]
    assert sorted(correlations)[-2] > 0.9  # each coordinate follows one grid axis


@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_quantization_error_falls_with_epochs(digits01, algorithm):
    X = digits01[0][:500]
    som = KohonenMap(6, 6, algorithm=algorithm, epochs=5, random_state=0).fit(X)
    errors = [h["quantization_error"] for h in som.history_]
    assert errors[-1] < errors[0] and som.quantization_error(X) < errors[0]


@pytest.mark.parametrize("algorithm", ["batch", "online"])
def test_seeded_fits_are_identical(digits01, algorithm):
    X = digits01[0][:300]

    def fit(seed: int) -> np.ndarray:
        som = KohonenMap(5, 4, algorithm=algorithm, init="sample", epochs=2, random_state=seed)
        return som.fit(X).weights_

    np.testing.assert_array_equal(fit(3), fit(3))
    assert not np.array_equal(fit(3), fit(4))


def test_batch_epoch_matches_a_naive_batch_map(digits01):
    import torch

    X, W = digits01[0][:200], digits01[0][200:212].copy()
    grid = Grid(3, 4)
    new, qe = batch_epoch(
        torch.tensor(W),
        torch.tensor(X),
        torch.tensor((X * X).sum(1)),
        False,
        torch.tensor(grid.squared_distances),
        1.3,
        "gaussian",
        "euclidean",
        64,
    )
    winners = naive_winners(X, W)
    H = np.exp(-grid.squared_distances / (2 * 1.3**2))
    expected = np.array(
        [
            sum(H[k, winners[i]] * X[i] for i in range(len(X)))
            / sum(H[k, winners[i]] for i in range(len(X)))
            for k in range(12)
        ]
    )
    np.testing.assert_allclose(new.numpy(), expected, rtol=1e-10)
    assert qe == pytest.approx(np.mean([np.linalg.norm(x - W[w]) for x, w in zip(X, winners)]))


@pytest.mark.parametrize(
    "grid, neighbourhood",
    [
        (Grid(3, 4), "gaussian"),
        (Grid(4, 4, "hexagonal"), "gaussian"),
        (Grid(3, 4, toroidal=True), "bubble"),
        (Grid(3, 4), "mexican_hat"),
    ],
)
def test_online_steps_match_the_naive_rule(digits01, grid, neighbourhood):
    X, W0 = digits01[0][:40], digits01[0][100 : 100 + grid.n_nodes].copy()
    order = np.arange(40)[::-1]
    eta, sigma = np.linspace(0.5, 0.1, 40), np.linspace(2.0, 0.8, 40)
    W = train_online(W0.copy(), X, grid, order, eta, sigma, neighbourhood)
    naive = W0.copy()
    for t, i in enumerate(order):
        c = np.argmin(np.linalg.norm(X[i] - naive, axis=1))
        g = eta[t] * kernel(grid.squared_distances[c], sigma[t], neighbourhood)
        naive += g[:, None] * (X[i] - naive)
    np.testing.assert_allclose(W, naive, atol=1e-12)


def test_online_map_reproduces_minisom_train_random(digits01):
    minisom = pytest.importorskip("minisom")
    X = digits01[0]
    rows, cols, seed = 10, 10, 7
    steps = len(X)
    ours = KohonenMap(
        rows,
        cols,
        algorithm="online",
        init="pca",
        dtype="float64",
        sigma_start=5.0,
        sigma_end=1.0,
        lr_start=0.5,
        lr_end=0.0,
    )
    reference = minisom.MiniSom(
        rows,
        cols,
        X.shape[1],
        sigma=5.0,
        learning_rate=0.5,
        decay_function="linear_decay_to_zero",
        sigma_decay_function="linear_decay_to_one",
        random_seed=seed,
    )
    start = KohonenMap(rows, cols, init="pca", epochs=1)._initial_weights(
        X, Grid(rows, cols), np.random.default_rng(0)
    )
    reference._weights = start.reshape(rows, cols, -1).copy()
    # MiniSom's order: its RandomState first drew the initial weights, then shuffles t % N.
    state = np.random.RandomState(seed)
    state.rand(rows, cols, X.shape[1])
    order = np.arange(steps) % len(X)
    state.shuffle(order)
    reference.train_random(X, steps)
    ours.init = start
    ours.fit(X, sample_order=order)
    np.testing.assert_allclose(ours.weights_grid, reference.get_weights(), rtol=0, atol=1e-10)


# --- metrics and maps -------------------------------------------------------------------------


def test_metrics_match_brute_force(digits01):
    X, y = digits01[0][:300], digits01[1][:300]
    som = KohonenMap(5, 5, epochs=3, random_state=0).fit(X)
    W = som.weights_.astype(np.float64)
    distances = np.linalg.norm(X[:, None] - W[None], axis=-1)
    assert som.quantization_error(X) == pytest.approx(distances.min(1).mean(), rel=1e-5)
    first, second = np.argsort(distances, axis=1)[:, :2].T
    grid = som.grid_
    gap = np.abs(grid.index[first] - grid.index[second]).max(1)
    manhattan = np.abs(grid.index[first] - grid.index[second]).sum(1)
    assert topographic_error(X, W, grid, 8) == pytest.approx(np.mean(gap > 1))
    assert topographic_error(X, W, grid, 4) == pytest.approx(np.mean(manhattan > 1))
    winners = som.predict(X)
    np.testing.assert_array_equal(winners, first)
    majority_hits = sum(np.bincount(y[winners == k]).max() for k in np.unique(winners))
    assert node_purity(winners, y, 25, 10) == pytest.approx(majority_hits / len(y))


def test_maps_match_hand_computation():
    grid = Grid(2, 2)
    W = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0], [1.0, 1.0]])
    u = u_matrix(W, grid)  # 8-connectivity: every node touches the other three
    d = lambda a, b: np.linalg.norm(W[a] - W[b])  # noqa: E731
    assert u[0, 0] == pytest.approx((d(0, 1) + d(0, 2) + d(0, 3)) / 3)
    assert u_matrix(W, grid, 4)[0, 0] == pytest.approx((d(0, 1) + d(0, 2)) / 2)
    winners = np.array([0, 0, 3, 1])
    np.testing.assert_array_equal(hit_map(winners, grid), [[2, 1], [0, 1]])
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0]])
    np.testing.assert_allclose(density_map(X, W, grid, k=2)[0, 0], (0 + 2) / 2)
    planes = component_planes(W, grid)
    assert planes.shape == (2, 2, 2) and planes[1, 0, 1] == 4.0
    y = np.array([1, 1, 0, 2])
    assert majority_labels(winners, y, grid, 3).tolist() == [[1, 2], [-1, 0]]
    assert class_hit_maps(winners, y, grid, 3)[1, 0, 0] == 2


def test_hexagonal_and_toroidal_maps_train(digits01):
    X = digits01[0][:300]
    for som in (
        KohonenMap(6, 6, topology="hexagonal", epochs=3, random_state=0),
        KohonenMap(6, 6, toroidal=True, epochs=3, random_state=0),
        KohonenMap(6, 6, topology="hexagonal", algorithm="online", epochs=1, random_state=0),
    ):
        som.fit(X)
        assert np.isfinite(som.weights_).all() and 0 <= som.topographic_error(X) < 0.5
        assert u_matrix(som.weights_, som.grid_).shape == (6, 6)


@pytest.mark.parametrize("metric", ["manhattan", "cosine"])
def test_other_metrics_pick_their_own_winners(digits01, metric):
    from scipy.spatial.distance import cdist

    X = digits01[0][:200]
    som = KohonenMap(4, 4, metric=metric, epochs=2, random_state=0).fit(X)
    scipy_name = "cityblock" if metric == "manhattan" else "cosine"
    expected = cdist(X, som.weights_.astype(np.float64), scipy_name).argmin(1)
    assert np.mean(som.predict(X) == expected) > 0.99  # float32 ties aside


# --- missing values and bad input ----------------------------------------------------------------


def test_nan_is_an_error_unless_asked_for(digits01):
    X = digits01[0][:200].copy()
    X[5, 3] = np.nan
    with pytest.raises(
        ValueError, match=r"X\[5, 3\] is NaN; impute it, or pass nan_policy='ignore'"
    ):
        KohonenMap(3, 3).fit(X)
    som = KohonenMap(3, 3, nan_policy="ignore", epochs=3, random_state=0).fit(X)
    assert np.isfinite(som.weights_).all()
    observed = ~np.isnan(X[5])
    W = som.weights_.astype(np.float64)
    scaled = ((X[5, observed] - W[:, observed]) ** 2).sum(1) * 64 / observed.sum()
    assert som.predict(X[5:6])[0] == np.argmin(scaled)
    with pytest.raises(ValueError, match="algorithm='batch' only"):
        KohonenMap(3, 3, algorithm="online", nan_policy="ignore").fit(X)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rows": 0}, "grid rows=0 must be an integer >= 1"),
        (
            {"neighbourhood": "triangle"},
            r"neighbourhood='triangle' is not one of \['gaussian', 'bubble', 'mexican_hat'\]",
        ),
        ({"algorithm": "sgd"}, r"algorithm='sgd' is not one of \['batch', 'online'\]"),
        ({"init": "random"}, r"init='random' is not one of \['uniform', 'sample', 'pca'\]"),
        ({"metric": "chebyshev"}, r"metric='chebyshev' is not one of"),
        ({"sigma_schedule": "cosine"}, r"sigma_schedule='cosine' is not one of"),
        ({"epochs": 0}, "epochs=0 must be an integer >= 1"),
        ({"init": np.zeros((2, 2))}, r"init array has shape \(2, 2\); expected \(9, 4\)"),
        ({"device": "tpu"}, "device='tpu'"),
    ],
)
def test_bad_configuration_names_the_value(kwargs, message):
    params = {"rows": 3, "cols": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        KohonenMap(**params).fit(np.random.default_rng(0).normal(size=(20, 4)))


def test_wrong_feature_count_and_unfitted_map():
    X = np.random.default_rng(0).normal(size=(30, 4))
    for method in ("predict", "transform", "quantization_error", "topographic_error"):
        with pytest.raises(NotFittedError, match="KohonenMap instance is not fitted yet"):
            getattr(KohonenMap(2, 2), method)(X)
    som = KohonenMap(2, 2, epochs=1).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but the model was fitted with 4"):
        som.predict(X[:, :3])
