"""Online k-means (WTA) and soft competitive learning (WTM): known answers, the fast update loops
against naive re-implementations, seeding, the running Q, dead units, scikit-learn parity and
input errors."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from unsup_core.competitive.schedules import schedule_values
from unsup_core.competitive.wta import OnlineKMeans, SoftCompetitiveLearning

ESTIMATORS = [OnlineKMeans, SoftCompetitiveLearning]


@pytest.fixture(scope="module")
def digits_X():  # noqa: N802 (X, the data matrix, as in the formulas)
    """The 1,797 digits scaled to [0, 1], (n, 64)."""
    return load_digits().data / 16.0


@pytest.fixture
def four_blobs():
    """200 points around the corners of a 4 x 4 square, and 4 centres far off in another corner."""
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    X = means[np.repeat(np.arange(4), 50)] + 0.3 * rng.normal(size=(200, 2))
    far_corner = np.array([10.0, 10.0]) + 0.1 * np.arange(4)[:, None] * np.array([1.0, -1.0])
    return X, far_corner


def naive_online_kmeans(X, init, seed, epochs, lr_start, lr_end, lam):
    """The course's SG algorithm written plainly: same random order, same schedule."""
    rng = np.random.default_rng(seed)
    w = init.astype(np.float64).copy()
    q = np.mean([min(((x - c) ** 2).sum() for c in w) for x in X])
    t = 0
    for _ in range(epochs):
        for i in rng.permutation(len(X)):
            eta = schedule_values("exponential", lr_start, lr_end, epochs * len(X), [t])[0]
            y = int(np.argmin(((X[i] - w) ** 2).sum(1)))
            w[y] = w[y] + eta * (X[i] - w[y])
            q = (1 - lam) * q + lam * ((X[i] - w[y]) ** 2).sum()
            t += 1
    return w, q


def naive_soft(X, init, seed, epochs, lr_start, lr_end, s_start, s_end):
    """WTM with a gaussian kernel of the distance, every centre stepping towards each object."""
    rng = np.random.default_rng(seed)
    w = init.astype(np.float64).copy()
    spread = np.sqrt(((X - X.mean(0)) ** 2).sum(1).mean())
    t = 0
    for _ in range(epochs):
        for i in rng.permutation(len(X)):
            eta = schedule_values("exponential", lr_start, lr_end, epochs * len(X), [t])[0]
            s = schedule_values("exponential", s_start, s_end, epochs * len(X), [t])[0] * spread
            rho = np.sqrt(((X[i] - w) ** 2).sum(1))
            kernel = np.exp(-(rho**2) / (2 * s**2)) / np.exp(-(rho.min() ** 2) / (2 * s**2))
            w = w + eta * kernel[:, None] * (X[i] - w)
            t += 1
    return w


def test_fast_online_loop_matches_the_naive_algorithm():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    init = X[:4].copy()
    model = OnlineKMeans(
        4, init=init, epochs=3, lr_start=0.5, lr_end=0.01, ema_lambda=0.05, tol=0, random_state=7
    ).fit(X)
    w, q = naive_online_kmeans(X, init, 7, 3, 0.5, 0.01, 0.05)
    np.testing.assert_allclose(model.cluster_centers_, w, rtol=1e-10, atol=1e-10)
    assert model.q_history_[-1] == pytest.approx(q, rel=1e-10)
    assert model.n_iter_ == 180 and model.n_epochs_ == 3 and len(model.q_history_) == 4


def test_fast_soft_loop_matches_the_naive_algorithm():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    init = X[:3].copy()
    model = SoftCompetitiveLearning(
        3,
        init=init,
        epochs=2,
        lr_start=0.5,
        lr_end=0.01,
        width_start=0.5,
        width_end=0.1,
        tol=0,
        random_state=3,
    ).fit(X)
    expected = naive_soft(X, init, 3, 2, 0.5, 0.01, 0.5, 0.1)
    np.testing.assert_allclose(model.cluster_centers_, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_two_blobs_give_their_means(estimator, blobs):
    X, labels = blobs
    model = estimator(2, random_state=0).fit(X)
    means = np.stack([X[labels == k].mean(0) for k in range(2)])
    order = np.argsort(model.cluster_centers_[:, 0])
    np.testing.assert_allclose(
        model.cluster_centers_[order], means[np.argsort(means[:, 0])], atol=0.03
    )
    assert adjusted_rand_score(labels, model.labels_) == 1.0
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    assert model.dead_units_ == 0


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_interface_is_consistent(estimator, blobs):
    X, _ = blobs
    model = estimator(3, epochs=2, random_state=0)
    labels = model.fit_predict(X)
    np.testing.assert_array_equal(labels, model.labels_)
    distances = model.transform(X)
    assert distances.shape == (len(X), 3)
    np.testing.assert_array_equal(distances.argmin(1), labels)
    assert model.score(X) == pytest.approx(-model.inertia_, rel=1e-9)
    assert model.inertia_ == pytest.approx((distances.min(1) ** 2).sum(), rel=1e-6)
    assert model.win_counts_.sum() == model.n_iter_ == model.n_epochs_ * len(X)
    assert clone(model).get_params() == model.get_params()


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_seeded_fits_are_identical_and_seeds_matter(estimator, blobs):
    X, _ = blobs
    first, again, other = (
        estimator(4, epochs=2, random_state=seed).fit(X).cluster_centers_ for seed in (0, 0, 1)
    )
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_running_q_tracks_the_true_mean_squared_distance(estimator, digits_X):
    model = estimator(10, epochs=8, random_state=0).fit(digits_X)
    true = model.inertia_ / len(digits_X)
    assert abs(model.q_history_[-1] - true) / true < 0.03
    assert model.q_history_[-1] < model.q_history_[0]


def test_soft_competition_leaves_fewer_dead_units(four_blobs):
    X, far_corner = four_blobs
    hard = OnlineKMeans(4, init=far_corner, random_state=0).fit(X)
    soft = SoftCompetitiveLearning(4, init=far_corner, kernel="exponential", random_state=0).fit(X)
    assert hard.dead_units_ == 3  # the first winner runs into the data, the rest never win
    assert soft.dead_units_ < hard.dead_units_
    assert soft.inertia_ < hard.inertia_


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_inertia_close_to_scikit_learn_kmeans(estimator, digits_X):
    reference = KMeans(10, n_init=3, random_state=0).fit(digits_X).inertia_
    model = estimator(10, random_state=0, epochs=15).fit(digits_X)
    assert model.inertia_ / reference < 1.05


def test_loose_tol_stops_early(blobs):
    X, _ = blobs
    model = OnlineKMeans(
        2, lr_start=0.1, lr_end=0.1, lr_schedule="constant", epochs=50, tol=0.5, random_state=0
    ).fit(X)
    assert model.n_epochs_ < 50 and len(model.q_history_) == model.n_epochs_ + 1


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_clusters": 0}, "n_clusters=0 should be an integer >= 1"),
        ({"n_clusters": 20}, "n_clusters=20 should be <= n_samples=5"),
        ({"init": "kmeans"}, r"init='kmeans' is not one of \['k-means\+\+', 'random'\]"),
        ({"init": np.zeros((3, 2))}, r"init array of shape \(3, 2\).*\(2, 3\)"),
        ({"lr_schedule": "cosine"}, "lr_schedule='cosine' is not one of"),
        ({"lr_start": 1.5}, r"lr_start=1.5 should lie in \(0, 1\]"),
        ({"epochs": 0}, "epochs=0 should be an integer >= 1"),
        ({"ema_lambda": 2.0}, "ema_lambda=2.0"),
    ],
)
def test_bad_parameters_raise(estimator, params, match):
    X = np.arange(15.0).reshape(5, 3)
    with pytest.raises(ValueError, match=match):
        estimator(**{"n_clusters": 2, **params}).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"kernel": "cauchy"}, r"kernel='cauchy' is not one of \['gaussian', 'exponential'\]"),
        ({"width_schedule": "step"}, "width_schedule='step' is not one of"),
        ({"width_start": 0.0}, "width_start=0.0"),
    ],
)
def test_bad_soft_parameters_raise(params, match):
    with pytest.raises(ValueError, match=match):
        SoftCompetitiveLearning(2, **params).fit(np.arange(15.0).reshape(5, 3))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_bad_data_raises(estimator, blobs):
    X, _ = blobs
    holed = X.copy()
    holed[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[3, 1\] is NaN"):
        estimator(2).fit(holed)
    with pytest.raises(NotFittedError):
        estimator(2).predict(X)
    model = estimator(2, epochs=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but the model was fitted with 8"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match=r"X\[0, 0\] is NaN"):
        model.transform(np.full((1, 8), np.nan))
