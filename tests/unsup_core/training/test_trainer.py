"""The shared trainer: learns, stops on divergence, is deterministic, reports every term."""

import numpy as np
import pytest
import torch
from torch import nn

from unsup_core.autoencoders import Autoencoder, AutoencoderConfig
from unsup_core.training import (
    Callback,
    Trainer,
    TrainerConfig,
    TrainingDiverged,
    WeightAverage,
    evaluate,
    seeded,
    torch_threads,
)


def autoencoder(seed: int = 0) -> Autoencoder:
    """An 8 -> 16 -> 2 autoencoder initialised with ``seed``."""
    return Autoencoder(AutoencoderConfig(in_features=8, hidden=(16,), code_dim=2, seed=seed))


class Recorder(Callback):
    """Counts fit starts and keeps every epoch log and the final history."""

    def __init__(self):
        self.logs, self.started, self.ended = [], 0, None

    def on_fit_start(self, model):
        self.started += 1

    def on_epoch_end(self, log):
        self.logs.append(log)

    def on_fit_end(self, history):
        self.ended = history


class TwoTerms(nn.Module):
    """A toy model whose loss has two named terms; ``blow_up_at`` makes one term NaN."""

    def __init__(self, blow_up_at: int | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(8))
        self.calls, self.blow_up_at = 0, blow_up_at

    def loss(self, batch):
        self.calls += 1
        fit = ((batch["x"] - self.weight) ** 2).mean()
        penalty = self.weight.abs().mean() * 0.01
        if self.blow_up_at is not None and self.calls >= self.blow_up_at:
            penalty = penalty * float("nan")
        return {"loss": fit + penalty, "fit": fit, "penalty": penalty}


def test_loss_falls_on_toy_data(blobs):
    X, _ = blobs
    history = Trainer(TrainerConfig(epochs=15, batch_size=32, lr=3e-3)).fit(autoencoder(), {"x": X})
    losses = history.series("train/loss")
    assert losses[-1] < 0.2 * losses[0]
    assert history.completed and len(history.epochs) == 15


def test_callbacks_receive_every_named_term_per_epoch(blobs):
    X, _ = blobs
    recorder = Recorder()
    Trainer(TrainerConfig(epochs=3), callbacks=[recorder]).fit(TwoTerms(), {"x": X}, {"x": X[:50]})
    assert recorder.started == 1 and [log.epoch for log in recorder.logs] == [1, 2, 3]
    assert set(recorder.logs[0].train) == {"loss", "fit", "penalty"}
    assert set(recorder.logs[0].metrics()) >= {"train/fit", "val/penalty", "lr"}
    assert recorder.ended.completed


def test_epoch_terms_are_sample_weighted_means(blobs):
    X, _ = blobs
    recorder = Recorder()
    model = TwoTerms()
    Trainer(TrainerConfig(epochs=1, lr=1e-9, batch_size=150), callbacks=[recorder]).fit(
        model, {"x": X}
    )
    expected = evaluate(model, {"x": X})  # lr ~ 0: weights unchanged during the epoch
    assert recorder.logs[0].train["fit"] == pytest.approx(expected["fit"], rel=1e-5)


def test_nan_loss_stops_with_epoch_and_term(blobs):
    X, _ = blobs
    recorder = Recorder()
    model = TwoTerms(blow_up_at=20)  # 400 samples / 64 = 7 batches per epoch: epoch 3
    with pytest.raises(
        TrainingDiverged, match=r"epoch 3 \(train\): loss term 'penalty' = nan"
    ) as err:
        Trainer(TrainerConfig(epochs=5, batch_size=64), callbacks=[recorder]).fit(model, {"x": X})
    assert err.value.epoch == 3 and err.value.term == "penalty"
    assert torch.isfinite(model.weight).all()  # no step was taken with the NaN loss
    assert recorder.ended is not None and not recorder.ended.completed
    assert len(recorder.ended.epochs) == 2


def test_exploding_learning_rate_is_caught(blobs):
    X, _ = blobs
    with pytest.raises(TrainingDiverged, match="diverged"):
        Trainer(TrainerConfig(epochs=5, optimizer="sgd", lr=1e8)).fit(autoencoder(), {"x": X})


def test_same_seed_gives_identical_weights(blobs):
    X, _ = blobs
    config = TrainerConfig(epochs=3, seed=7)
    models = [autoencoder(seed=1) for _ in range(3)]
    Trainer(config).fit(models[0], {"x": X})
    Trainer(config).fit(models[1], {"x": X})
    Trainer(TrainerConfig(epochs=3, seed=8)).fit(models[2], {"x": X})
    for a, b in zip(models[0].state_dict().values(), models[1].state_dict().values()):
        assert torch.equal(a, b)
    assert any(
        not torch.equal(a, c)
        for a, c in zip(models[0].state_dict().values(), models[2].state_dict().values())
    )


def test_training_leaves_the_global_rng_and_threads_alone(blobs):
    X, _ = blobs
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Trainer(TrainerConfig(epochs=1, num_threads=2)).fit(autoencoder(), {"x": X})
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_early_stopping_restores_the_best_weights(blobs):
    X, _ = blobs
    model = autoencoder()
    config = TrainerConfig(epochs=200, lr=0.05, early_stopping_patience=3, min_delta=1e-3)
    history = Trainer(config).fit(model, {"x": X}, {"x": X[:100]})
    assert history.stopped_early and len(history.epochs) < 200
    assert len(history.epochs) == history.best_epoch + 3
    assert evaluate(model, {"x": X[:100]})["loss"] == pytest.approx(history.best_val_loss, rel=1e-5)


def test_gradient_clipping_bounds_the_step(blobs):
    X, _ = blobs
    model = TwoTerms()
    model.weight.data.fill_(1000.0)
    Trainer(
        TrainerConfig(
            epochs=1, optimizer="sgd", lr=1.0, momentum=0.0, grad_clip_norm=0.1, batch_size=400
        )
    ).fit(model, {"x": X})
    assert torch.linalg.norm(model.weight - 1000.0) <= 0.1 + 1e-4


def test_frozen_parameters_are_not_trained(blobs):
    X, _ = blobs
    model = autoencoder()
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    before = [p.clone() for p in model.encoder.parameters()]
    decoder_before = [p.clone() for p in model.decoder.parameters()]
    Trainer(TrainerConfig(epochs=2)).fit(model, {"x": X})
    assert all(torch.equal(a, b) for a, b in zip(before, model.encoder.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(decoder_before, model.decoder.parameters()))


def test_cosine_schedule_lowers_the_learning_rate(blobs):
    X, _ = blobs
    history = Trainer(TrainerConfig(epochs=4, lr=0.01, lr_schedule="cosine")).fit(
        autoencoder(), {"x": X}
    )
    lrs = history.series("lr")
    assert lrs[0] == 0.01 and all(a > b for a, b in zip(lrs, lrs[1:]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "epochs=0 must be > 0"),
        ({"optimizer": "lbfgs"}, r"optimizer='lbfgs' is not one of \['adam', 'adamw', 'sgd'\]"),
        ({"grad_clip_norm": -1.0}, "grad_clip_norm=-1.0 must be > 0"),
        ({"device": "tpu"}, "device='tpu'"),
        ({"num_threads": 0}, "num_threads=0 must be >= 1"),
        ({"steps": 0}, "steps=0 must be > 0"),
        ({"steps": 10, "epochs": 2}, r"epochs=2 and steps=10: set one budget, not both"),
        (
            {"steps": 10, "early_stopping_patience": 3},
            r"early_stopping_patience=3 with steps=10: a step budget always runs to the end",
        ),
    ],
)
def test_bad_trainer_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainerConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, rows, epochs",
    [
        ({}, 100, 20),  # neither budget: 20 epochs
        ({"epochs": 3}, 100, 3),
        ({"steps": 10, "batch_size": 32}, 100, 3),  # 4 steps per epoch: 12 >= 10 steps
        ({"steps": 8, "batch_size": 32}, 100, 2),
        ({"steps": 10, "batch_size": 32}, 1000, 1),  # at least one whole epoch
        ({"steps": 1, "batch_size": 5}, 1, 1),
    ],
)
def test_a_step_budget_is_rounded_up_to_whole_epochs(kwargs, rows, epochs):
    assert TrainerConfig(**kwargs).epochs_for(rows) == epochs


@pytest.mark.parametrize(
    ("rows", "epochs"),
    [(1000, 5), (100, 25), (64, 50), (10, 100)],  # 32 per batch: 32, 4, 2, 1 batches
)
def test_min_steps_raises_epochs_on_small_data_only(rows, epochs):
    config = TrainerConfig(epochs=5, min_steps=100, batch_size=32)
    assert config.epochs_for(rows) == epochs


@pytest.mark.parametrize(("rows", "epochs"), [(200, 250), (200_000, 60)])
def test_the_default_presets_autoencoder_rule_at_200_and_200000_rows(rows, epochs):
    # default.yaml's plain_autoencoder: 60 epochs of 64, at least 1000 steps
    config = TrainerConfig(epochs=60, min_steps=1000, batch_size=64)
    assert config.epochs_for(rows) == epochs  # 4 batches: 250 epochs; 3125 batches: as set


@pytest.mark.parametrize(("rows", "epochs", "steps"), [(100, 5, 20), (1000, 2, 40), (10**6, 1, 40)])
def test_max_steps_caps_the_training_of_large_data(rows, epochs, steps):
    config = TrainerConfig(epochs=5, max_steps=40, batch_size=32)  # 4, 32, 31250 batches
    assert (config.epochs_for(rows), config.steps_for(rows)) == (epochs, steps)


def test_the_trainer_stops_part_way_through_an_epoch_at_max_steps(blobs):
    X = blobs[0][:320]  # 10 batches of 32 per epoch
    steps = []

    class CountSteps(TwoTerms):
        def loss(self, batch):
            steps.append(len(batch["x"]))
            return super().loss(batch)

    history = Trainer(TrainerConfig(epochs=3, max_steps=15, batch_size=32)).fit(
        CountSteps(), {"x": X}
    )
    assert len(history.epochs) == 2 and len(steps) == 15  # 10 + 5 of the second epoch
    assert all(np.isfinite(e.train["loss"]) for e in history.epochs)
    with pytest.raises(ValueError, match="min_steps=50 must be <= max_steps=40"):
        TrainerConfig(min_steps=50, max_steps=40)


def test_min_steps_is_a_floor_for_epochs_not_for_a_step_budget():
    with pytest.raises(ValueError, match="min_steps=10 with steps=5"):
        TrainerConfig(steps=5, min_steps=10)
    with pytest.raises(ValueError, match="min_steps=0 must be > 0"):
        TrainerConfig(min_steps=0)


def test_the_trainer_runs_the_step_budget(blobs):
    X = blobs[0][:100]
    steps = []

    class CountSteps(TwoTerms):
        def loss(self, batch):
            steps.append(len(batch["x"]))
            return super().loss(batch)

    history = Trainer(TrainerConfig(steps=10, batch_size=32)).fit(CountSteps(), {"x": X})
    assert len(history.epochs) == 3 and len(steps) == 12 and sum(steps) == 300


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error path")
def test_cuda_requested_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available"):
        TrainerConfig(device="cuda")


def test_bad_data_is_rejected(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="same first dimension"):
        Trainer().fit(TwoTerms(), {"x": X, "y": np.zeros(3)})
    with pytest.raises(ValueError, match="early_stopping_patience needs validation data"):
        Trainer(TrainerConfig(early_stopping_patience=2)).fit(TwoTerms(), {"x": X})


def test_model_without_loss_key_is_rejected(blobs):
    class NoLoss(TwoTerms):
        def loss(self, batch):
            return {"fit": super().loss(batch)["fit"]}

    with pytest.raises(ValueError, match="must return a dict with a 'loss' key"):
        Trainer(TrainerConfig(epochs=1)).fit(NoLoss(), {"x": blobs[0]})


def test_scoped_helpers_restore_state():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with seeded(5):
        a = torch.rand(2)
    with seeded(5):
        b = torch.rand(2)
    assert torch.equal(a, b)


class StepRecorder(Callback):
    """Keeps a copy of the parameters after every optimiser step."""

    def __init__(self):
        self.snapshots = []

    def on_step_end(self, model):
        self.snapshots.append([p.detach().clone() for p in model.parameters()])


def test_weight_average_is_the_naive_exponential_average_of_every_step(blobs):
    """theta_bar_1 = theta_1, theta_bar_t = d theta_bar_(t-1) + (1 - d) theta_t, against the
    parameters recorded after each step; training itself is not changed by the callback."""
    X, _ = blobs
    decay = 0.9
    recorder, average = StepRecorder(), WeightAverage(decay)
    model = autoencoder()
    config = TrainerConfig(epochs=3, batch_size=32, lr=1e-2)
    Trainer(config, [recorder, average]).fit(model, {"x": X})
    alone = autoencoder()
    Trainer(config).fit(alone, {"x": X})
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), alone.parameters()))
    assert len(recorder.snapshots) == 3 * -(-len(X) // 32)
    expected = recorder.snapshots[0]
    for snapshot in recorder.snapshots[1:]:
        expected = [decay * e + (1 - decay) * s for e, s in zip(expected, snapshot)]
    averaged = average.copy_to(autoencoder(seed=5))
    for mean, want in zip(averaged.parameters(), expected):
        torch.testing.assert_close(mean, want)
    assert not torch.allclose(next(averaged.parameters()), next(model.parameters()))


def test_weight_average_needs_a_decay_in_the_open_unit_interval_and_a_fit():
    with pytest.raises(ValueError, match=r"decay=1\.0 must lie in"):
        WeightAverage(1.0)
    with pytest.raises(ValueError, match="no average yet"):
        WeightAverage(0.5).copy_to(autoencoder())
