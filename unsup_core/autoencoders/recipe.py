"""Training one autoencoder on prepared data, as one call: build it for the data's width,
train it with the shared trainer, measure it on the test split."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..applicability import min_features, requires
from ..arrays import apply_array, count_parameters
from ..data.prepare import PreparedData
from ..results import ExperimentResult
from ..training import (
    StageCallbacks,
    Trainer,
    TrainerConfig,
    TrainingHistory,
    evaluate,
    no_callbacks,
)
from .plain import Autoencoder, AutoencoderConfig

SHOWN_OBJECTS = 10  # test objects whose reconstructions a result keeps for figures


@dataclass(frozen=True)
class AutoencoderTrainingConfig:
    """An autoencoder and how to train it.

    Parameters
    ----------
    model : the architecture (its input width comes from the data).
    trainer : the shared trainer's settings (early stopping watches the validation split).
    """

    model: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(epochs=30, early_stopping_patience=10)
    )


@dataclass
class AutoencoderResult(ExperimentResult):
    """``models["checkpoint"]`` the trained model; ``originals`` the first test objects and
    ``reconstructions`` their reconstructions (for figures)."""

    history: TrainingHistory = field(default_factory=TrainingHistory)
    originals: np.ndarray | None = None
    reconstructions: np.ndarray | None = None


@requires(min_features(2))
def train_autoencoder(
    data: PreparedData,
    config: AutoencoderTrainingConfig | None = None,
    callbacks: StageCallbacks = no_callbacks,
) -> AutoencoderResult:
    """Minimise the mean reconstruction error L(g(f(x)), x) over the training split (the
    validation split, when there is one, for early stopping and the best weights). Metrics:
    ``test/recon``, ``n_params``, ``epochs_run``, ``best_epoch``, ``train_seconds``."""
    config = config or AutoencoderTrainingConfig()
    model = Autoencoder(replace(config.model, in_features=data.n_features))
    val = data.val.tensors() if len(data.val) else None
    history = Trainer(config.trainer, callbacks("")).fit(model, data.train.tensors(), val)
    test = evaluate(model, data.test.tensors())
    originals = data.test.X[:SHOWN_OBJECTS]
    return AutoencoderResult(
        models={"checkpoint": model},
        histories={"": history},
        history=history,
        metrics={
            "test/recon": test["recon"],
            "n_params": float(count_parameters(model)),
            "epochs_run": float(len(history.epochs)),
            "best_epoch": float(history.best_epoch or len(history.epochs)),
            "train_seconds": history.seconds,
        },
        originals=originals,
        reconstructions=apply_array(model, originals),
    )
