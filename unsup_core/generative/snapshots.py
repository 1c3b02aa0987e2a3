"""A training callback that keeps the generator's samples (and their quality) at checkpoints."""

from __future__ import annotations

import numpy as np
import torch

from ..training import Callback, EpochLog, TrainingHistory
from .networks import Generator
from .quality import QualityJudge, SampleQuality


class SampleSnapshots(Callback):
    """Every ``every`` epochs and at the last one: ``grid`` samples at fixed noise (the same z
    each time, so the grids show one set of objects evolving) into ``samples_[epoch]``, and, with
    a ``judge``, the :class:`SampleQuality` of ``n_judged`` fresh samples into ``quality_[epoch]``.
    Arrays out; drawing is the plotting module's job."""

    def __init__(
        self,
        every: int,
        grid: int = 40,
        judge: QualityJudge | None = None,
        n_judged: int = 1000,
        seed: int = 0,
    ) -> None:
        if every < 1 or grid < 1 or n_judged < 2:
            raise ValueError(
                f"every={every} and grid={grid} must be >= 1, n_judged={n_judged} >= 2"
            )
        self.every, self.grid, self.judge, self.n_judged, self.seed = (
            every,
            grid,
            judge,
            n_judged,
            seed,
        )
        self.samples_: dict[int, np.ndarray] = {}
        self.quality_: dict[int, SampleQuality] = {}
        self._generator: Generator | None = None
        self._last: int | None = None

    def on_fit_start(self, model: torch.nn.Module) -> None:
        if not isinstance(model, Generator):
            raise TypeError(f"SampleSnapshots follows a Generator, got {type(model).__name__}")
        self._generator = model

    def on_epoch_end(self, log: EpochLog) -> None:
        self._last = log.epoch
        if log.epoch % self.every == 0:
            self._take(log.epoch)

    def on_fit_end(self, history: TrainingHistory) -> None:
        if self._last is not None and self._last not in self.samples_:
            self._take(self._last)

    def _take(self, epoch: int) -> None:
        generator = self._generator
        assert generator is not None  # on_fit_start ran
        fixed = torch.Generator().manual_seed(self.seed)
        self.samples_[epoch] = generator.sample(self.grid, fixed).cpu().numpy()
        if self.judge is not None:
            fresh = torch.Generator().manual_seed(self.seed + epoch)
            self.quality_[epoch] = self.judge.evaluate(generator.sample(self.n_judged, fresh))
