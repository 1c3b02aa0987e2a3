"""The Kohonen self-organising map (Kohonen 1982, 2001) as a scikit-learn-style estimator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..training.config import resolve_device
from ..training.distributed import all_reduce_sum, world
from ..training.runtime import blas_threads, torch_threads
from ..validation import check_choice, choices, estimator_config
from .distances import (
    NAN_POLICIES,
    Metric,
    NanPolicy,
    best_matching,
    check_input,
    check_metric,
    pairwise,
)
from .grid import Grid, Topology, auto_grid_shape, check_side, grid_rule
from .metrics import quantization_error, topographic_error
from .neighbourhood import Neighbourhood, check_neighbourhood
from .schedules import ScheduleLike, check_schedule, schedule_values
from .som_training import batch_epoch, train_online

Algorithm = Literal["batch", "online"]
Init = Literal["uniform", "sample", "pca"]
Dtype = Literal["float32", "float64"]
ALGORITHMS, INITS = choices(Algorithm), choices(Init)
DTYPES = {"float32": np.float32, "float64": np.float64}


class KohonenMap(TransformerMixin, BaseEstimator):
    """Self-organising map on a ``rows x cols`` grid; node (m, h) holds a weight w_mh in R^n.
    The grid's size and aspect come from the training data unless set (:func:`auto_grid_shape`).

    Training (``algorithm="online"``, the classic rule): for an object x_i picked at random,
    the winner c = argmin rho(x_i, w_mh) (WTA), then every node moves towards x_i,
    w_mh += eta(t) K(r(c, (m, h)); sigma(t)) (x_i - w_mh) (WTM), r the Euclidean distance on the
    grid. ``algorithm="batch"`` runs Kohonen's batch map: each epoch sets every weight to the
    neighbourhood-weighted mean of the objects won by the nodes around it. A scikit-learn
    estimator: parameters are stored by ``__init__`` and checked by ``fit``;
    :data:`KohonenMapConfig` is the same parameters as a typed, validated config.

    Parameters
    ----------
    rows : grid rows M (``None``: from the data, the long side; see ``cols``).
    cols : grid columns H (``None``: from the data). With both ``None`` the SOM Toolbox rule
        sets the grid: ceil(5 N^0.54321) nodes for N training objects, rows / cols =
        sqrt(lambda1 / lambda2) of the data's two leading principal axes, each side 2 ..
        ``max_side``. With one side set, the other is ceil(5 N^0.54321) / that side, rounded
        (2 .. ``max_side``).
    max_side : the largest side a grid taken from the data gets (a set side is kept as set).
    topology : "rectangular" or "hexagonal".
    toroidal : wrap both grid axes.
    init : "uniform" (uniform in (-1/(2n), 1/(2n)), the classic start), "sample" (random
        objects), "pca" (the plane of the first two principal components), or an array of
        shape (rows * cols, n) or (rows, cols, n).
    algorithm : "batch" (Kohonen's batch map, fast) or "online" (the classic rule).
    epochs : passes over the data (online: ``epochs * n_samples`` updates).
    neighbourhood : kernel K: "gaussian", "bubble" or "mexican_hat".
    sigma_start : neighbourhood radius at the start (``None``: max(rows, cols) / 2 of the grid
        used).
    sigma_end : neighbourhood radius at the end.
    sigma_schedule : radius schedule: "linear", "exponential", "inverse", "constant" or a
        callable f(t, total).
    lr_start : learning rate eta of the online rule at the start (the batch map has none).
    lr_end : learning rate at the end.
    lr_schedule : learning-rate schedule (as ``sigma_schedule``). Online schedules run over
        the update index t = 0 .. T - 1 (total T, as MiniSom does); batch schedules over epochs,
        reaching their end value in the last epoch.
    metric : "euclidean", "manhattan" or "cosine" for the batch map and for predictions (the
        online rule uses the Euclidean winner).
    nan_policy : "error" (NaN in X is an error) or "ignore" (NaN-aware distance on the
        observed features only, rescaled; batch algorithm).
    dtype : "float32" or "float64" (``None``: float64 online, float32 batch).
    chunk_size : rows of X per distance block (bounds memory at chunk_size x K).
    num_threads : torch and BLAS threads during ``fit`` (1 is fastest for maps this size;
        ``None`` leaves the process settings).
    device : torch device of the batch map ("cpu", "cuda", ...); the online rule runs in numpy.
    random_state : seed of initialisation and sample order (``None``: fresh randomness).

    Attributes
    ----------
    weights_ : (rows * cols, n) node weights, row-major (node k is at row k // cols).
    grid_ : the :class:`Grid` used (its shape set or taken from the data).
    grid_rule_ : how the shape was found: "configured", or the automatic rule in words.
    history_ : per epoch ``{"epoch", "sigma", "lr", "quantization_error"}``; batch epochs
        report the error of the weights they started from.
    n_features_in_, n_iter_ (updates online, epochs batch).
    """

    def __init__(
        self,
        rows: int | None = None,
        cols: int | None = None,
        *,
        max_side: int = 40,
        topology: Topology = "rectangular",
        toroidal: bool = False,
        init: Init | np.ndarray = "pca",
        algorithm: Algorithm = "batch",
        epochs: int = 10,
        neighbourhood: Neighbourhood = "gaussian",
        sigma_start: float | None = None,
        sigma_end: float = 1.0,
        sigma_schedule: ScheduleLike = "linear",
        lr_start: float = 0.5,
        lr_end: float = 0.0,
        lr_schedule: ScheduleLike = "linear",
        metric: Metric = "euclidean",
        nan_policy: NanPolicy = "error",
        dtype: Dtype | None = None,
        chunk_size: int = 8192,
        num_threads: int | None = 1,
        device: str = "cpu",
        random_state: int | None = None,
    ) -> None:
        self.rows, self.cols, self.topology, self.toroidal = rows, cols, topology, toroidal
        self.max_side = max_side
        self.init, self.algorithm, self.epochs = init, algorithm, epochs
        self.neighbourhood = neighbourhood
        self.sigma_start, self.sigma_end, self.sigma_schedule = (
            sigma_start,
            sigma_end,
            sigma_schedule,
        )
        self.lr_start, self.lr_end, self.lr_schedule = lr_start, lr_end, lr_schedule
        self.metric, self.nan_policy, self.dtype = metric, nan_policy, dtype
        self.chunk_size, self.num_threads, self.random_state = chunk_size, num_threads, random_state
        self.device = device

    def sigma_start_for(self, grid: Grid) -> float:
        """The starting radius: ``sigma_start``, or max(rows, cols) / 2 of ``grid`` when it is
        ``None``."""
        return self.sigma_start if self.sigma_start is not None else max(grid.shape) / 2

    def grid_for(self, X: np.ndarray) -> Grid:
        """The grid this map trains on for X: ``rows`` and ``cols`` as set, the sides left
        ``None`` from :func:`auto_grid_shape`."""
        rows, cols = auto_grid_shape(
            X,
            self.max_side,
            rows=self.rows,
            cols=self.cols,
            topology=self.topology,
            toroidal=self.toroidal,
        )
        return Grid(rows, cols, self.topology, self.toroidal)

    # ----------------------------------------------------------------------------- fitting
    def fit(
        self, X: np.ndarray, y: None = None, sample_order: Sequence[int] | None = None
    ) -> KohonenMap:
        """Train on X (n_samples, n_features).

        ``sample_order`` (online only) replays a given sequence of row indices instead of a
        fresh random permutation per epoch (to reproduce a run, or compare with another
        implementation step by step).
        """
        self.check_params()
        with torch_threads(self.num_threads), blas_threads(self.num_threads):
            return self._fit(X, sample_order)

    def _fit(self, X: np.ndarray, sample_order: Sequence[int] | None) -> KohonenMap:
        X = check_input(X, None, self.nan_policy, "KohonenMap.fit")
        grid = self.grid_for(X)
        dtype = DTYPES[self.dtype or ("float64" if self.algorithm == "online" else "float32")]
        X = np.ascontiguousarray(X, dtype=dtype)
        has_nan = bool(np.isnan(X).any())
        if self.algorithm == "online" and has_nan:
            raise ValueError(
                "nan_policy='ignore' (NaN in X) is supported by algorithm='batch' only"
            )
        rng = np.random.default_rng(self.random_state)
        self.grid_ = grid
        self.grid_rule_ = grid_rule(self.rows, self.cols, self.max_side)
        self.n_features_in_ = X.shape[1]
        W = self._initial_weights(X, grid, rng, has_nan).astype(dtype)
        sigma_start = self.sigma_start_for(grid)
        if self.algorithm == "online":
            W = self._fit_online(W, X, grid, rng, sigma_start, sample_order)
        else:
            W = self._fit_batch(W, X, grid, sigma_start, has_nan)
        self.weights_ = W
        return self

    def check_params(self) -> None:
        """Validate every parameter (``ValueError`` naming it, its value and what is allowed);
        the grid's sides the data sets are checked when fitting. ``fit`` calls it; so does
        :data:`KohonenMapConfig` when built."""
        for name in ("rows", "cols"):
            if getattr(self, name) is not None:
                check_side(name, getattr(self, name))
        check_side("max_side", self.max_side, minimum=2)
        # a side the data sets stands in as 2: topology and a set side's parity are checked now
        grid = Grid(self.rows or 2, self.cols or 2, self.topology, self.toroidal)
        check_choice("algorithm", self.algorithm, ALGORITHMS)
        if isinstance(self.init, str):
            check_choice("init", self.init, INITS)
        check_neighbourhood(self.neighbourhood)
        check_metric(self.metric)
        check_choice("nan_policy", self.nan_policy, NAN_POLICIES)
        if self.dtype is not None:
            check_choice("dtype", self.dtype, tuple(DTYPES))
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ValueError(f"epochs={self.epochs} must be an integer >= 1")
        sigma_start = self.sigma_start_for(grid)
        if not (sigma_start > 0 and self.sigma_end > 0):
            raise ValueError(
                f"sigma_start={sigma_start} and sigma_end={self.sigma_end} must be > 0"
            )
        if self.lr_start < 0 or self.lr_end < 0:
            raise ValueError(f"lr_start={self.lr_start} and lr_end={self.lr_end} must be >= 0")
        check_schedule("sigma_schedule", self.sigma_schedule, sigma_start, self.sigma_end)
        check_schedule("lr_schedule", self.lr_schedule, self.lr_start, self.lr_end)
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size={self.chunk_size} must be >= 1")
        resolve_device(self.device)

    def _initial_weights(
        self, X: np.ndarray, grid: Grid, rng: np.random.Generator, has_nan: bool = False
    ) -> np.ndarray:
        K, n = grid.n_nodes, X.shape[1]
        if not isinstance(self.init, str):
            W = (
                np.array(self.init, dtype=np.float64).reshape(-1, n)
                if np.size(self.init) == K * n
                else None
            )
            if W is None or W.shape != (K, n):
                raise ValueError(
                    f"init array has shape {np.shape(self.init)}; expected ({K}, {n}) or "
                    f"({grid.rows}, {grid.cols}, {n})"
                )
            return W
        if self.init == "uniform":
            return rng.uniform(-1 / (2 * n), 1 / (2 * n), size=(K, n))
        complete = X[~np.isnan(X).any(axis=1)] if has_nan else X
        if len(complete) == 0:
            raise ValueError("every row of X has a NaN; init needs some complete rows")
        if self.init == "sample":
            return complete[rng.integers(0, len(complete), size=K)].astype(np.float64)
        return _pca_plane(complete, grid)

    def _fit_online(
        self,
        W: np.ndarray,
        X: np.ndarray,
        grid: Grid,
        rng: np.random.Generator,
        sigma_start: float,
        sample_order: Sequence[int] | None,
    ) -> np.ndarray:
        n = len(X)
        if sample_order is None:
            order = np.concatenate([rng.permutation(n) for _ in range(self.epochs)])
        else:
            order = np.asarray(sample_order, dtype=np.int64)
            if order.ndim != 1 or len(order) == 0 or order.min() < 0 or order.max() >= n:
                raise ValueError(f"sample_order must be a 1-D sequence of row indices in [0, {n})")
        total = len(order)
        eta = schedule_values(self.lr_schedule, self.lr_start, self.lr_end, total)
        sigma = schedule_values(self.sigma_schedule, sigma_start, self.sigma_end, total)
        W = np.ascontiguousarray(W)
        self.history_ = []
        per_epoch = max(n, 1)
        for epoch, start in enumerate(range(0, total, per_epoch), start=1):
            stop = min(start + per_epoch, total)
            W = train_online(
                W,
                X,
                grid,
                order[start:stop],
                eta[start:stop],
                sigma[start:stop],
                self.neighbourhood,
            )
            self.history_.append(
                {
                    "epoch": epoch,
                    "sigma": float(sigma[stop - 1]),
                    "lr": float(eta[stop - 1]),
                    "quantization_error": quantization_error(X, W, "euclidean"),
                }
            )
        self.n_iter_ = total
        return np.ascontiguousarray(W)

    def _fit_batch(
        self, W: np.ndarray, X: np.ndarray, grid: Grid, sigma_start: float, has_nan: bool
    ) -> np.ndarray:
        epochs = self.epochs
        sigma = schedule_values(
            self.sigma_schedule,
            sigma_start,
            self.sigma_end,
            max(epochs - 1, 1),
            steps=np.arange(epochs),
        )
        self.history_ = []
        device = resolve_device(self.device)
        where = world()  # under torchrun: each process takes rows rank::size, then all-reduce
        with torch.no_grad():
            Wt = torch.from_numpy(np.ascontiguousarray(W)).to(device)
            Xt = torch.from_numpy(np.ascontiguousarray(X[where.rank :: where.size])).to(device)
            x_sq = (Xt * Xt).sum(1)
            grid_d2 = torch.tensor(grid.squared_distances, dtype=Wt.dtype, device=device)
            for epoch in range(epochs):
                Wt, qe = batch_epoch(
                    Wt,
                    Xt,
                    x_sq,
                    has_nan,
                    grid_d2,
                    float(sigma[epoch]),
                    self.neighbourhood,
                    self.metric,
                    self.chunk_size,
                    reduce=all_reduce_sum if where.size > 1 else None,
                    n_total=len(X),
                )
                self.history_.append(
                    {
                        "epoch": epoch + 1,
                        "sigma": float(sigma[epoch]),
                        "lr": 1.0,
                        "quantization_error": qe,
                    }
                )
        self.n_iter_ = epochs
        return Wt.cpu().numpy()

    # ---------------------------------------------------------------------------- inference
    def _checked(self, X: np.ndarray, who: str) -> np.ndarray:
        check_is_fitted(self, "weights_")
        X = check_input(X, self.n_features_in_, self.nan_policy, f"KohonenMap.{who}")
        return X.astype(self.weights_.dtype, copy=False)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Index (row-major) of each object's best-matching node."""
        X = self._checked(X, "predict")
        return best_matching(X, self.weights_, self.metric, chunk=self.chunk_size)[0][:, 0]

    def winner_coordinates(self, X: np.ndarray) -> np.ndarray:
        """(n_samples, 2) grid (row, col) of each object's best-matching node."""
        return self.grid_.index[self.predict(X)]

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(n_samples, rows * cols) distances from each object to every node."""
        X = self._checked(X, "transform")
        return pairwise(X, self.weights_, self.metric, chunk=self.chunk_size)

    def quantization_error(self, X: np.ndarray) -> float:
        return quantization_error(
            self._checked(X, "quantization_error"), self.weights_, self.metric
        )

    def topographic_error(self, X: np.ndarray, connectivity: int | None = None) -> float:
        """Share of objects whose two best nodes are not adjacent (rectangular grids:
        ``connectivity`` 8, MiniSom's convention, or 4)."""
        X = self._checked(X, "topographic_error")
        return topographic_error(X, self.weights_, self.grid_, connectivity, self.metric)

    @property
    def weights_grid(self) -> np.ndarray:
        """(rows, cols, n_features) view of the weights."""
        return self.weights_.reshape(*self.grid_.shape, -1)


def _pca_plane(X: np.ndarray, grid: Grid) -> np.ndarray:
    """Nodes spread evenly over the plane of the first two principal components, centred on the
    mean, each axis spanning +-2 standard deviations of its component (one feature: along it,
    the columns start equal)."""
    n = len(X)
    mean = X.mean(axis=0, dtype=np.float64)
    covariance = (X.T @ X).astype(np.float64) - n * np.outer(mean, mean)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance / max(n - 1, 1))
    top = np.argsort(eigenvalues)[::-1][:2]
    vt = eigenvectors[:, top].T
    scale = np.sqrt(np.maximum(eigenvalues[top], 0.0))
    a = np.linspace(-1, 1, grid.rows) if grid.rows > 1 else np.zeros(1)
    b = np.linspace(-1, 1, grid.cols) if grid.cols > 1 else np.zeros(1)
    A, B = np.meshgrid(a, b, indexing="ij")
    plane = A.reshape(-1, 1) * scale[0] * vt[0]
    if len(top) > 1:
        plane = plane + B.reshape(-1, 1) * scale[1] * vt[1]
    return mean + 2 * plane


KohonenMapConfig = estimator_config(KohonenMap)
"""The parameters of :class:`KohonenMap` as a frozen, validated dataclass (generated from its
``__init__``, so each default is declared once); ``KohonenMapConfig(...).build()`` is the map."""
