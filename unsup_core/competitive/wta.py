"""Competitive learning: online k-means by hard competition (WTA) and soft competition (WTM).

Clusters Y = {1..K} with centres w_y; an object goes to the nearest centre,
a(x) = argmin_y rho(x, w_y), rho the Euclidean distance. The objective
Q(w) = 1/2 sum_i ||w_{a(x_i)} - x_i||^2 is minimised by stochastic gradient, one random object
x_i at a time (a two-layer "Kohonen network", Kohonen 1982; MacQueen 1967):

``OnlineKMeans`` (winner takes all)   w_y := w_y + eta (x_i - w_y) [a(x_i) = y]
``SoftCompetitiveLearning`` (winner takes most)
                                      w_y := w_y + eta (x_i - w_y) K(rho(x_i, w_y))   for every y

Both keep a running estimate of the mean squared distance,
Q := (1 - lambda) Q + lambda rho^2(x_i, w_y) (y the winner, w_y after its step), started from
the exact mean_i rho^2(x_i, w_{a(x_i)}) at the initial centres (the mean, not the sum, so
that Q is on the scale of the terms it averages), and stop after an epoch in which
both the relative change of Q and the largest centre movement (in units of the data's spread,
the root mean squared distance to the data mean) fall below ``tol``, or after ``epochs``.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from unsup_core.competitive.distances import best_matching, check_input, pairwise
from unsup_core.competitive.schedules import ScheduleLike, check_schedule, schedule_values

from ..validation import check_choice

INITS = ("k-means++", "random")
KERNELS = ("gaussian", "exponential")
# (start, end) kernel widths in units of the data's spread; exp(-r / s) needs a narrower s than
# exp(-r^2 / (2 s^2)) for the same softness, since r - r_min ~ (r^2 - r_min^2) / (2 r).
DEFAULT_WIDTHS = {"gaussian": (0.25, 0.01), "exponential": (0.1, 0.004)}
InitLike = str | np.ndarray


def kmeans_plusplus(X: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007), as in scikit-learn.

    Each new centre is the best, by the resulting sum of squared distances, of
    ``2 + log(n_clusters)`` samples drawn with probability proportional to D(x)^2, the squared
    distance to the nearest centre chosen so far. ``X`` (N, D) -> centres (n_clusters, D).
    """
    n_trials = 2 + int(np.log(n_clusters))
    centres = [rng.integers(len(X))]
    closest = pairwise(X[centres], X, squared=True)[0]
    for _ in range(1, n_clusters):
        total = closest.sum()
        p = closest / total if total > 0 else np.full(len(X), 1.0 / len(X))
        trials = rng.choice(len(X), size=n_trials, p=p)
        candidates = np.minimum(closest, pairwise(X[trials], X, squared=True))
        best = int(candidates.sum(1).argmin())
        centres.append(trials[best])
        closest = candidates[best]
    return X[centres].copy()


class _CompetitiveClustering(ClusterMixin, TransformerMixin, BaseEstimator):
    """Shared parameters, initialisation, restarts and the predict/transform/score interface."""

    def _check_params(self, X: np.ndarray) -> None:
        n_samples, n_features = X.shape
        if not isinstance(self.n_clusters, numbers.Integral) or self.n_clusters < 1:
            raise ValueError(f"n_clusters={self.n_clusters!r} should be an integer >= 1")
        if self.n_clusters > n_samples:
            raise ValueError(f"n_clusters={self.n_clusters} should be <= n_samples={n_samples}")
        if isinstance(self.init, str):
            check_choice("init", self.init, INITS)
        else:
            init = np.asarray(self.init, dtype=np.float64)
            if init.shape != (self.n_clusters, n_features) or not np.isfinite(init).all():
                raise ValueError(
                    f"init array of shape {init.shape} should be finite with shape "
                    f"(n_clusters, n_features) = ({self.n_clusters}, {n_features})"
                )
        for name in ("n_init", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name}={value!r} should be an integer >= 1")
        if not 0 < self.lr_start <= 1 or not 0 <= self.lr_end <= 1:
            raise ValueError(
                f"lr_start={self.lr_start} should lie in (0, 1] and lr_end={self.lr_end} in [0, 1]"
            )
        check_schedule("lr_schedule", self.lr_schedule, self.lr_start, self.lr_end)
        if self.ema_lambda is not None and not 0 < self.ema_lambda <= 1:
            raise ValueError(f"ema_lambda={self.ema_lambda} should lie in (0, 1] or be None")
        if self.tol < 0:
            raise ValueError(f"tol={self.tol} should be >= 0")

    def _check_input(self, X: ArrayLike, method: str) -> np.ndarray:
        """``X`` as float64 (N, D), checked for ``method``; methods other than fit need a fit."""
        if method != "fit":
            check_is_fitted(self, "cluster_centers_")
        who = f"{type(self).__name__}.{method}"
        n_features = None if method == "fit" else self.n_features_in_
        X = check_input(X, n_features, nan_policy="ignore", who=who)
        if np.isnan(X).any():
            row, col = np.argwhere(np.isnan(X))[0]
            raise ValueError(
                f"{who}: X[{row}, {col}] is NaN; {type(self).__name__} needs complete "
                "data, so impute or drop missing values first"
            )
        return np.ascontiguousarray(X, dtype=np.float64)

    def _initial_centres(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not isinstance(self.init, str):
            return np.array(self.init, dtype=np.float64)
        if self.init == "random":
            return X[rng.choice(len(X), size=self.n_clusters, replace=False)].copy()
        return kmeans_plusplus(X, self.n_clusters, rng)

    def _schedule(
        self, schedule: ScheduleLike, start: float, end: float, epoch: int, n: int
    ) -> list[float]:
        """One epoch's values of a schedule that runs over ``epochs * n`` updates."""
        steps = np.arange(epoch * n, (epoch + 1) * n)
        return schedule_values(schedule, start, end, self.epochs * n, steps).tolist()

    def fit(self, X: ArrayLike, y: object = None) -> _CompetitiveClustering:
        """Learn ``n_clusters`` centres from ``X`` (N, D); keeps the best of ``n_init`` runs."""
        X = self._check_input(X, "fit")
        self._check_params(X)
        self._validate_extra()
        rng = np.random.default_rng(self.random_state)
        spread = float(np.sqrt(((X - X.mean(0)) ** 2).sum(1).mean())) or 1.0  # 1.0: all equal
        lam = 1.0 / len(X) if self.ema_lambda is None else float(self.ema_lambda)
        best = None
        for _ in range(self.n_init):
            centres = self._initial_centres(X, rng)
            run = self._run(X, centres, rng, lam, spread)
            d2 = pairwise(X, run[0], squared=True)
            inertia = float(d2.min(1).sum())
            if best is None or inertia < best[0]:
                best = (inertia, d2.argmin(1), *run)
        (
            self.inertia_,
            self.labels_,
            self.cluster_centers_,
            q_history,
            self.n_iter_,
            self.n_epochs_,
            wins,
        ) = best
        self.q_history_ = np.asarray(q_history)
        self.win_counts_ = np.asarray(wins, dtype=np.int64)
        self.dead_units_ = int((self.win_counts_ == 0).sum())
        self.n_features_in_ = X.shape[1]
        return self

    def _validate_extra(self) -> None:
        """Checks of the subclass's own parameters."""

    def _run(
        self, X: np.ndarray, w: np.ndarray, rng: np.random.Generator, lam: float, spread: float
    ) -> tuple[np.ndarray, list[float], int, int, list[int]]:
        """One run from centres ``w``: (centres, q_history, n_updates, epochs, win counts)."""
        n = len(X)
        wins = [0] * len(w)
        history = [float(pairwise(X, w, squared=True).min(1).mean())]
        for epoch in range(self.epochs):
            etas = self._schedule(self.lr_schedule, self.lr_start, self.lr_end, epoch, n)
            w_before = w.copy()
            history.append(
                self._epoch(
                    X, w, rng.permutation(n).tolist(), etas, epoch, spread, history[-1], lam, wins
                )
            )
            q_change = abs(history[-1] - history[-2]) / max(abs(history[-2]), 1e-300)
            w_change = float(np.sqrt(((w - w_before) ** 2).sum(1).max())) / spread
            if q_change < self.tol and w_change < self.tol:
                break
        return w, history, (epoch + 1) * n, epoch + 1, wins

    def _epoch(
        self,
        X: np.ndarray,
        w: np.ndarray,
        order: list[int],
        etas: list[float],
        epoch: int,
        spread: float,
        q: float,
        lam: float,
        wins: list[int],
    ) -> float:
        """Present the objects ``X[order]`` with steps ``etas``, updating ``w`` (K, D) and
        ``wins`` in place; return the running Q."""
        raise NotImplementedError

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Index of the nearest centre, a(x) = argmin_y rho(x, w_y); (N, D) -> (N,)."""
        return best_matching(self._check_input(X, "predict"), self.cluster_centers_)[0][:, 0]

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Euclidean distances rho(x, w_y) to every centre; (N, D) -> (N, n_clusters)."""
        return pairwise(self._check_input(X, "transform"), self.cluster_centers_)

    def score(self, X: ArrayLike, y: object = None) -> float:
        """Minus the inertia of ``X``: -sum_i min_y rho^2(x_i, w_y) (higher is better)."""
        X = self._check_input(X, "score")
        return -float(pairwise(X, self.cluster_centers_, squared=True).min(1).sum())


class OnlineKMeans(_CompetitiveClustering):
    """Online k-means: hard competition (WTA) trained by stochastic gradient.

    For each object x_i in a fresh random order every epoch: y := argmin_y rho(x_i, w_y),
    w_y := w_y + eta_t (x_i - w_y), Q := (1 - lambda) Q + lambda rho^2(x_i, w_y). The step eta_t
    follows ``lr_schedule`` from ``lr_start`` to ``lr_end`` over ``epochs * N`` updates
    (Kohonen 1982; MacQueen 1967; Bottou & Bengio 1995 for the SG view). A large early step lets
    centres travel between clusters; the decay to a small step makes them settle.

    Parameters
    ----------
    n_clusters : int, default 8
    init : {"k-means++", "random"} or ndarray (n_clusters, n_features), default "k-means++"
        "random" picks distinct random samples; an array is used as given by every run.
    n_init : int, default 1
        Independent runs; the one with the lowest inertia is kept.
    epochs : int, default 20
    lr_start, lr_end : float, default 0.5, 0.002
        Learning rate at the first and (nearly) the last update, in (0, 1] and [0, 1].
    lr_schedule : {"exponential", "linear", "inverse", "constant"} or callable,
        default "exponential"; see :mod:`unsup_core.competitive.schedules`.
    ema_lambda : float or None, default None
        lambda of the running Q; None means 1 / n_samples (a window of about one epoch).
    tol : float, default 1e-4
        Stop after an epoch in which the relative change of Q and the largest centre movement
        divided by the data's spread are both below ``tol``. The running Q fluctuates by about
        sqrt(lambda / 2) times the spread of the per-sample losses, so a small ``tol`` usually
        lets the run go to ``epochs``.
    random_state : int, Generator or None, default None

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features)
    labels_ : ndarray (n_samples,)       nearest centre of each training sample
    inertia_ : float                     sum_i min_y ||x_i - w_y||^2 (as scikit-learn)
    q_history_ : ndarray (n_epochs_ + 1,) running Q at the start and after each epoch
    n_iter_ : int                        updates (objects presented) in the kept run
    n_epochs_ : int
    win_counts_ : ndarray (n_clusters,)  times each centre won during training
    dead_units_ : int                    centres that never won
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: InitLike = "k-means++",
        n_init: int = 1,
        epochs: int = 20,
        lr_start: float = 0.5,
        lr_end: float = 0.002,
        lr_schedule: ScheduleLike = "exponential",
        ema_lambda: float | None = None,
        tol: float = 1e-4,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.epochs = epochs
        self.lr_start = lr_start
        self.lr_end = lr_end
        self.lr_schedule = lr_schedule
        self.ema_lambda = ema_lambda
        self.tol = tol
        self.random_state = random_state

    def _epoch(
        self,
        X: np.ndarray,
        w: np.ndarray,
        order: list[int],
        etas: list[float],
        epoch: int,
        spread: float,
        q: float,
        lam: float,
        wins: list[int],
    ) -> float:
        # Distances by ||x||^2 + ||w||^2 - 2 w.x with W2 = -2 W and the squared norms cached:
        # one matrix-vector product and one argmin per object; the winner's new norm follows
        # from ||(1 - eta) w + eta x||^2 without touching the other rows.
        x_sq = (X * X).sum(1).tolist()
        w2 = -2.0 * w
        rows = list(w2)  # views of the rows of w2
        w_sq = (w * w).sum(1)
        scores = np.empty(len(w))
        dot, add, argmin = np.dot, np.add, np.ndarray.argmin
        keep = 1.0 - lam
        for i, eta in zip(order, etas):
            x = X[i]
            dot(w2, x, out=scores)
            add(scores, w_sq, out=scores)  # ||w||^2 - 2 w.x = rho^2 - ||x||^2
            y = int(argmin(scores))
            s_y = float(scores[y])
            n_y = float(w_sq[y])
            a = 1.0 - eta
            row = rows[y]
            row *= a
            row -= (2.0 * eta) * x
            # ||w'||^2 = a^2 ||w||^2 + 2 a eta w.x + eta^2 ||x||^2, with 2 w.x = n_y - s_y
            w_sq[y] = a * a * n_y + a * eta * (n_y - s_y) + eta * eta * x_sq[i]
            wins[y] += 1
            q = keep * q + lam * a * a * (x_sq[i] + s_y)  # rho^2 after the step
        np.divide(w2, -2.0, out=w)  # the cached norms (and their rounding drift) go with w2
        return q


class SoftCompetitiveLearning(_CompetitiveClustering):
    """Soft competition (WTM, winner takes most): every centre moves towards each object.

    For each object x_i in a fresh random order every epoch, y* the winner:
    w_y := w_y + eta_t (x_i - w_y) K(rho(x_i, w_y)) / K(rho(x_i, w_y*)) for all y, then
    Q := (1 - lambda) Q + lambda rho^2(x_i, w_y*). K is non-negative and non-increasing:
    ``"gaussian"`` K(r) = exp(-r^2 / (2 s^2)) or ``"exponential"`` K(r) = exp(-r / s), so the
    farther a centre, the smaller its step. Dividing by the winner's kernel value (one factor per
    object, shared by all centres) keeps the steps numerically safe however far the data lie: the
    winner steps by eta_t, the others by eta_t exp(-(rho_y^2 - rho_y*^2) / (2 s^2)) or
    eta_t exp(-(rho_y - rho_y*) / s). The width s = width_t * spread (``spread`` the root mean
    squared distance of the data to its mean) is annealed from ``width_start`` to ``width_end``:
    wide, all centres share every object and none is left behind (the exponential kernel's
    heavier tail drags far centres along best); narrow, the rule becomes that of
    :class:`OnlineKMeans`, which then finishes from a good start, as in deterministic annealing
    (Rose 1998). A ``width_start`` well above the data's largest principal standard deviation
    merges all centres into one point, and identical centres never part again.

    Parameters
    ----------
    As :class:`OnlineKMeans` (``epochs`` defaults to 30), plus
    kernel : {"gaussian", "exponential"}, default "gaussian"
    width_start, width_end : float or None, default None
        Kernel width at the first and last update, in units of the data's spread; > 0. None
        means (0.25, 0.01) for the gaussian kernel and (0.1, 0.004) for the exponential one.
    width_schedule : {"exponential", "linear", "inverse", "constant"} or callable,
        default "exponential"

    Attributes
    ----------
    As :class:`OnlineKMeans`; a centre "wins" an object when it is the nearest one.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: InitLike = "k-means++",
        n_init: int = 1,
        epochs: int = 30,
        lr_start: float = 0.5,
        lr_end: float = 0.002,
        lr_schedule: ScheduleLike = "exponential",
        kernel: str = "gaussian",
        width_start: float | None = None,
        width_end: float | None = None,
        width_schedule: ScheduleLike = "exponential",
        ema_lambda: float | None = None,
        tol: float = 1e-4,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.epochs = epochs
        self.lr_start = lr_start
        self.lr_end = lr_end
        self.lr_schedule = lr_schedule
        self.kernel = kernel
        self.width_start = width_start
        self.width_end = width_end
        self.width_schedule = width_schedule
        self.ema_lambda = ema_lambda
        self.tol = tol
        self.random_state = random_state

    def _validate_extra(self) -> None:
        check_choice("kernel", self.kernel, KERNELS)
        start, end = self._widths()
        if not (start > 0 and end > 0):
            raise ValueError(f"width_start={start} and width_end={end} should both be > 0")
        check_schedule("width_schedule", self.width_schedule, start, end)

    def _widths(self) -> tuple[float, float]:
        start, end = DEFAULT_WIDTHS[self.kernel]
        return (
            start if self.width_start is None else float(self.width_start),
            end if self.width_end is None else float(self.width_end),
        )

    def _epoch(
        self,
        X: np.ndarray,
        w: np.ndarray,
        order: list[int],
        etas: list[float],
        epoch: int,
        spread: float,
        q: float,
        lam: float,
        wins: list[int],
    ) -> float:
        widths = np.asarray(self._schedule(self.width_schedule, *self._widths(), epoch, len(X)))
        widths *= spread
        gaussian = self.kernel == "gaussian"
        scales = (-0.5 / widths**2 if gaussian else -1.0 / widths).tolist()
        diff = np.empty_like(w)
        d2 = np.empty(len(w))
        step = np.empty(len(w))
        step_col = step[:, None]
        subtract, einsum, exp, sqrt = np.subtract, np.einsum, np.exp, np.sqrt
        keep = 1.0 - lam
        for i, eta, scale in zip(order, etas, scales):
            subtract(w, X[i], out=diff)
            einsum("ij,ij->i", diff, diff, out=d2)
            y = int(d2.argmin())
            d2_y = float(d2[y])
            if gaussian:
                subtract(d2, d2_y, out=step)
            else:
                sqrt(d2, out=step)
                step -= step[y]
            step *= scale
            exp(step, out=step)  # K(rho_y) / K(rho_y*)
            step *= eta
            diff *= step_col
            w -= diff  # w_y += eta_y (x - w_y) for every y
            wins[y] += 1
            q = keep * q + lam * (1.0 - eta) ** 2 * d2_y
        return q
