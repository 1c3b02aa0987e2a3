"""The data-sized defaults (``unsup_core.sizing``): batch sizes and label budgets follow the rows
when a config leaves them unset, stated rules checked at N = 200 and N = 200,000."""

import numpy as np
import pytest
import torch
from torch import nn

from unsup_core.data import Dataset, PrepareConfig, prepare
from unsup_core.preflight import data_problems
from unsup_core.sizing import auto_batch_size, auto_label_budgets, auto_labels_per_class
from unsup_core.training import Trainer, TrainerConfig
from unsup_core.transfer import TransferConfig


def table(n_rows: int, rare_share: float, seed: int = 0):
    """Two classes, the rare one ``rare_share`` of the rows; two numeric columns."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n_rows) < rare_share).astype(np.int64)
    X = (rng.normal(size=(n_rows, 2)) + 2.0 * y[:, None]).astype(np.float32)
    return prepare(
        Dataset(X=X, feature_names=("a", "b"), y=y, class_names=("common", "rare"), source="t"),
        PrepareConfig(seed=0),
    )


@pytest.fixture(scope="module")
def rows_200():
    return table(200, rare_share=0.07)  # the rare class: 10 training rows


@pytest.fixture(scope="module")
def rows_200k():
    return table(200_000, rare_share=0.3)


@pytest.mark.parametrize(
    ("rows", "batch"), [(1, 16), (200, 16), (1_078, 64), (5_000, 256), (200_000, 512)]
)
def test_batch_size_is_the_power_of_two_nearest_rows_over_16_within_16_to_512(rows, batch):
    assert auto_batch_size(rows) == batch


def test_sizes_reject_impossible_inputs():
    with pytest.raises(ValueError, match="n_rows=0 must be >= 1"):
        auto_batch_size(0)
    with pytest.raises(ValueError, match="smallest_class=0 must be >= 1"):
        auto_label_budgets(0)
    with pytest.raises(ValueError, match="must be >= 1"):
        auto_labels_per_class(3, preferred=0)


@pytest.mark.parametrize(
    ("rows", "batch", "epochs", "steps"),
    [
        (200, 16, 77, 1001),  # 13 steps per epoch: min_steps raises 60 epochs to 77
        (200_000, 512, 6, 2000),  # 391 steps per epoch: max_steps cuts 60 epochs to 6
    ],
)
def test_unset_batch_size_follows_the_rows_with_the_step_floor_and_cap(rows, batch, epochs, steps):
    config = TrainerConfig(epochs=60, min_steps=1000, max_steps=2000, batch_size=None)
    assert config.batch_size_for(rows) == batch
    assert config.epochs_for(rows) == epochs
    assert config.steps_for(rows) == steps
    assert TrainerConfig(batch_size=32).batch_size_for(rows) == 32  # an explicit value wins


class Regression(nn.Module):
    """Counts its optimiser steps."""

    def __init__(self):
        super().__init__()
        self.net, self.steps = nn.Linear(2, 1), 0

    def loss(self, batch):
        self.steps += 1
        return {"loss": ((self.net(batch["x"]) - 1.0) ** 2).mean()}


def test_the_trainer_uses_and_records_the_data_sized_batch():
    model = Regression()
    history = Trainer(TrainerConfig(epochs=1)).fit(model, {"x": torch.zeros(200, 2)})
    assert history.batch_size == 16 and model.steps == 13


def test_label_budgets_at_200_rows_keep_the_rungs_the_rare_class_fills(rows_200):
    name, count = rows_200.smallest_class()
    assert (name, count) == ("rare", 10)
    config = TransferConfig().for_data(rows_200)
    assert config.labels_per_class == (1, 5, 10, 0)  # 20 would exceed the rare class
    assert config.model_labels_per_class == 10
    assert len(rows_200.few_labels(None, seed=0)) == 2 * 10
    assert rows_200.label_budget(None, preferred=20) == 10
    assert data_problems(TransferConfig(), rows_200) == []  # unset budgets need no check
    assert data_problems(TransferConfig(labels_per_class=(1, 20, 0)), rows_200) == [
        "labels_per_class=[20] is larger than class 'rare', which has 10 training samples in t "
        "(at most 10 labels per class)"
    ]


def test_label_budgets_at_200k_rows_are_the_full_ladder(rows_200k):
    config = TransferConfig().for_data(rows_200k)
    assert config.labels_per_class == (1, 5, 10, 20, 0)
    assert config.model_labels_per_class == 10
    assert rows_200k.label_budget(None, preferred=20) == 20
    assert rows_200k.label_budget(3) == 3  # an explicit budget is kept


def test_explicit_budgets_are_never_resized(rows_200):
    config = TransferConfig(labels_per_class=(1, 0), model_labels_per_class=2)
    assert config.for_data(rows_200) == config
