"""The map's grid: node positions, grid distances r((m_i, h_i), (m, h)) and adjacency.

Nodes are numbered row-major: node k sits at row k // cols, column k % cols. On a hexagonal
grid odd rows are shifted right by 1/2 and rows are sqrt(3)/2 apart, so every node has six
neighbours at distance 1. A toroidal grid wraps both axes (distances take the shorter way round).
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


@dataclass(frozen=True)
class Grid:
    rows: int
    cols: int
    topology: Topology = "rectangular"
    toroidal: bool = False

    def __post_init__(self) -> None:
        for name in ("rows", "cols"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"grid {name}={value} must be an integer >= 1")
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
