"""The shared training core: one trainer, its config, callbacks and scoped torch settings."""

from .callbacks import (
    Callback,
    EpochLog,
    Progress,
    StageCallbacks,
    TrainingHistory,
    WeightAverage,
    no_callbacks,
    no_progress,
    replay,
)
from .config import TrainerConfig, resolve_device
from .runtime import seeded, torch_threads
from .trainer import Trainer, TrainingDiverged, as_tensors, evaluate

__all__ = [
    "Callback",
    "EpochLog",
    "Progress",
    "StageCallbacks",
    "Trainer",
    "TrainerConfig",
    "TrainingDiverged",
    "TrainingHistory",
    "WeightAverage",
    "as_tensors",
    "evaluate",
    "no_callbacks",
    "no_progress",
    "replay",
    "resolve_device",
    "seeded",
    "torch_threads",
]
