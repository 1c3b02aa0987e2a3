"""What a recipe (a multi-step experiment of the library) returns: the trained models, the
numbers measured on them, the training histories and tables; recipe results add the arrays
their figures are drawn from. Callers log these as they see fit (the pipeline: to MLflow)."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from .training import TrainingHistory


@dataclass
class ExperimentResult:
    """Models by artifact name (``"student"``), metrics by MLflow-style name (``"test/accuracy"``),
    one history per training stage (``""``, ``"layer1/"``, ``"finetune/"``), string tags, and
    tables as lists of rows."""

    models: dict[str, nn.Module] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    histories: dict[str, TrainingHistory] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    tables: dict[str, list[dict]] = field(default_factory=dict)
