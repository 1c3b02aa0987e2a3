"""The map's grid: node positions, grid distances r((m_i, h_i), (m, h)) and adjacency.

Nodes are numbered row-major: node k sits at row k // cols, column k % cols. On a hexagonal
grid odd rows are shifted right by 1/2 and rows are sqrt(3)/2 apart, so every node has six
neighbours at distance 1. A toroidal grid wraps both axes (distances take the shorter way round).
:func:`auto_grid_shape` sizes a grid from the data (the SOM Toolbox rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from typing import Literal

import numpy as np

from ..validation import check_choice, choices

Topology = Literal["rectangular", "hexagonal"]
TOPOLOGIES = choices(Topology)
HEX_ROW_STEP = np.sqrt(3) / 2
NODES_FACTOR, NODES_EXPONENT = 5.0, 0.54321  # the SOM Toolbox's som_topol_struct


def check_side(name: str, value: object, minimum: int = 1) -> None:
    """A grid side (``rows``, ``cols``; ``max_side``) must be an integer >= ``minimum``."""
    if isinstance(value, bool) or int(value) != value or value < minimum:  # type: ignore[call-overload]
        raise ValueError(f"grid {name}={value} must be an integer >= {minimum}")


@dataclass(frozen=True)
class Grid:
    rows: int
    cols: int
    topology: Topology = "rectangular"
    toroidal: bool = False

    def __post_init__(self) -> None:
        for name in ("rows", "cols"):
            check_side(name, getattr(self, name))
        check_choice("topology", self.topology, TOPOLOGIES)
        if self.toroidal and self.topology == "hexagonal" and self.rows % 2:
            raise ValueError(
                f"a toroidal hexagonal grid needs an even number of rows, got rows={self.rows}"
            )

    @property
    def n_nodes(self) -> int:
        return self.rows * self.cols

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @cached_property
    def index(self) -> np.ndarray:
        """(K, 2) integer (row, col) of every node."""
        rows, cols = np.divmod(np.arange(self.n_nodes), self.cols)
        return np.stack([rows, cols], axis=1)

    @cached_property
    def positions(self) -> np.ndarray:
        """(K, 2) float (y, x) positions in the plane (unit spacing between neighbours)."""
        r, c = self.index[:, 0].astype(float), self.index[:, 1].astype(float)
        if self.topology == "hexagonal":
            return np.stack([r * HEX_ROW_STEP, c + 0.5 * (r % 2)], axis=1)
        return np.stack([r, c], axis=1)

    @property
    def squared_distances(self) -> np.ndarray:
        """(K, K) squared grid distances r^2 between all pairs of nodes (cached, read-only)."""
        return _squared_distances(self)

    def axis_offsets(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, rows) and (cols, cols) squared offsets along each axis (rectangular grids):
        r^2 = dr^2 + dc^2 separates, which lets a gaussian factor into two small exps."""
        if self.topology != "rectangular":
            raise ValueError("axis offsets exist only for rectangular grids")

        def along(n: int) -> np.ndarray:
            d = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]).astype(float)
            return (np.minimum(d, n - d) if self.toroidal else d) ** 2

        return along(self.rows), along(self.cols)

    def adjacency(self, connectivity: int | None = None) -> np.ndarray:
        """(K, K) bool: True for neighbouring nodes (a node is not its own neighbour); cached.

        Rectangular grids: ``connectivity`` 4 (edges) or 8 (edges and corners, the default).
        Hexagonal grids: the 6 nodes at distance 1.
        """
        return _adjacency(self, connectivity)

    def neighbour_lists(self, connectivity: int | None = None) -> np.ndarray:
        """(K, m) indices of each node's neighbours, padded with -1 (cached)."""
        return _neighbour_lists(self, connectivity)


def auto_nodes(n_samples: int) -> int:
    """The SOM Toolbox's node count for ``n_samples`` training objects: ceil(5 N^0.54321)."""
    return int(np.ceil(NODES_FACTOR * n_samples**NODES_EXPONENT))


def principal_ratio(X: np.ndarray, n_nodes: int) -> float:
    """sqrt(lambda1 / lambda2) of the two largest eigenvalues of the covariance of X's complete
    rows; 1 with one feature, fewer than two complete rows, no variance, or lambda2 so small
    that lambda2 * n_nodes < lambda1 (the SOM Toolbox's test for a flat second axis)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 2:
        return 1.0
    X = X[~np.isnan(X).any(axis=1)]
    if len(X) < 2:
        return 1.0
    eigenvalues = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    lambda1, lambda2 = float(eigenvalues[-1]), float(max(eigenvalues[-2], 0.0))
    if lambda1 <= 0 or lambda2 * n_nodes < lambda1:
        return 1.0
    return float(np.sqrt(lambda1 / lambda2))


def auto_grid_shape(
    X: np.ndarray,
    max_side: int = 40,
    *,
    rows: int | None = None,
    cols: int | None = None,
    topology: Topology = "rectangular",
    toroidal: bool = False,
) -> tuple[int, int]:
    """The grid shape (rows, cols) for training data X (N, n) by the SOM Toolbox's rule
    (``som_topol_struct``; Vesanto et al. 2000, "SOM Toolbox for Matlab 5", report A57).

    Nodes K = ceil(5 N^0.54321). Side ratio r = sqrt(lambda1 / lambda2) of the two largest
    eigenvalues of X's covariance (:func:`principal_ratio`; r = 1 with one feature or a flat
    second axis). As in the toolbox, the short side is cols = round(sqrt(K / r)) and the long
    side rows = round(K / cols) (swapped if rounding made cols the longer), so the long side
    runs along the first principal axis, where ``init="pca"`` spreads it. A hexagonal grid's
    rows lie sqrt(3)/2 apart, so there r is replaced by a = r / (sqrt(3)/2), rows per column,
    which keeps the aspect r on the plane. Each side is at least 2; a long side over
    ``max_side`` becomes ``max_side`` and the short side round(max_side / a), so the aspect
    stays. A toroidal hexagonal grid needs even rows: an odd derived count gets one more row
    (one fewer at ``max_side``).

    Given one side, it is kept as it is and the other is derived from the node count alone:
    round(K / given), at least 2 and at most ``max_side``. Given both, they are returned.

    Examples (round data, r = 1): N = 200 -> K = 89, a 10 x 9 grid; N = 200,000 -> K = 3790,
    capped at 40 x 40.
    """
    check_side("max_side", max_side, minimum=2)
    for name, value in (("rows", rows), ("cols", cols)):
        if value is not None:
            check_side(name, value)
    if rows is not None and cols is not None:
        return int(rows), int(cols)
    n_samples = len(X)
    if n_samples < 1:
        raise ValueError("auto_grid_shape: X has no samples")
    nodes, max_side = auto_nodes(n_samples), int(max_side)
    if rows is not None:
        return int(rows), min(max(2, round(nodes / rows)), max_side)
    if cols is not None:
        rows = min(max(2, round(nodes / cols)), max_side)
    else:
        squeeze = HEX_ROW_STEP if topology == "hexagonal" else 1.0
        aspect = principal_ratio(X, nodes) / squeeze  # rows per column
        cols = max(2, round(np.sqrt(nodes / aspect)))
        rows = max(2, round(nodes / cols))
        rows, cols = max(rows, cols), min(rows, cols)
        if rows > max_side:
            rows, cols = max_side, min(max(2, round(max_side / aspect)), max_side)
    if toroidal and topology == "hexagonal" and rows % 2:
        rows = rows + 1 if rows + 1 <= max_side else rows - 1
    return int(rows), int(cols)


def grid_rule(rows: int | None, cols: int | None, max_side: int) -> str:
    """How :func:`auto_grid_shape` found the shape, in words (an MLflow tag)."""
    nodes = "ceil(5 N^0.54321) nodes"
    if rows is not None and cols is not None:
        return "configured"
    if rows is not None or cols is not None:
        given, derived = ("rows", "cols") if rows is not None else ("cols", "rows")
        return f"configured {given}, auto {derived} ({nodes} / {given}, max_side={max_side})"
    return f"auto ({nodes}, aspect sqrt(lambda1/lambda2), max_side={max_side})"


@cache
def _squared_distances(grid: Grid) -> np.ndarray:
    p = grid.positions
    dy = np.abs(p[:, None, 0] - p[None, :, 0])
    dx = np.abs(p[:, None, 1] - p[None, :, 1])
    if grid.toroidal:
        height = grid.rows * (HEX_ROW_STEP if grid.topology == "hexagonal" else 1.0)
        dy = np.minimum(dy, height - dy)
        dx = np.minimum(dx, grid.cols - dx)
    d2 = dy**2 + dx**2
    d2.setflags(write=False)
    return d2


@cache
def _neighbour_lists(grid: Grid, connectivity: int | None) -> np.ndarray:
    adjacency = grid.adjacency(connectivity)
    width = int(adjacency.sum(1).max()) if grid.n_nodes > 1 else 0
    lists = np.full((grid.n_nodes, width), -1, dtype=np.int64)
    for k, row in enumerate(adjacency):
        found = np.flatnonzero(row)
        lists[k, : len(found)] = found
    lists.setflags(write=False)
    return lists


@cache
def _adjacency(grid: Grid, connectivity: int | None) -> np.ndarray:
    d2 = grid.squared_distances
    if grid.topology == "hexagonal":
        if connectivity not in (None, 6):
            raise ValueError(f"connectivity={connectivity}: a hexagonal grid has 6 neighbours")
        adjacent = np.isclose(d2, 1.0)
    else:
        connectivity = connectivity or 8
        if connectivity not in (4, 8):
            raise ValueError(f"connectivity={connectivity} is not one of [4, 8]")
        limit = 1.0 if connectivity == 4 else 2.0
        adjacent = (d2 > 0) & (d2 <= limit + 1e-9)
    adjacent.setflags(write=False)
    return adjacent
