"""Training one autoencoder as a recipe: the data's width is set, the metrics are what they say,
callbacks see the run, two runs of one config agree, and the result draws its figures."""

import numpy as np
import pytest

from unsup_core.arrays import apply_array, count_parameters
from unsup_core.autoencoders import Autoencoder, AutoencoderConfig
from unsup_core.autoencoders.recipe import AutoencoderTrainingConfig, train_autoencoder
from unsup_core.training import Callback, TrainerConfig
from unsup_core.validation import build_config

TINY = AutoencoderTrainingConfig(
    model=AutoencoderConfig(hidden=(8,), code_dim=3),
    trainer=TrainerConfig(epochs=3, early_stopping_patience=2),
)
METRICS = {"test/recon", "n_params", "epochs_run", "best_epoch", "train_seconds"}


class StageRecorder(Callback):
    """Records the stage it was made for and every epoch log it receives."""

    def __init__(self, stage: str, seen: list) -> None:
        self.stage, self.seen = stage, seen

    def on_epoch_end(self, log) -> None:
        self.seen.append((self.stage, log.epoch))


@pytest.fixture(scope="module")
def result(small_digits):
    """The tiny autoencoder trained on the small digits."""
    return train_autoencoder(small_digits, TINY)


def test_the_model_gets_the_datas_width_and_the_templates_architecture(small_digits, result):
    model = result.models["checkpoint"]
    assert type(model) is Autoencoder
    assert model.config.in_features == small_digits.n_features == 64
    assert (model.config.hidden, model.config.code_dim) == ((8,), 3)
    assert TINY.model.in_features is None  # the template itself is not changed


def test_metrics_name_what_they_measure(small_digits, result):
    model, metrics = result.models["checkpoint"], result.metrics
    assert set(metrics) == METRICS
    test = small_digits.test.X
    assert metrics["test/recon"] == pytest.approx(
        float(((apply_array(model, test) - test) ** 2).mean()), rel=1e-5
    )
    assert metrics["n_params"] == count_parameters(model) == 2 * (64 * 8 + 8 * 3) + 8 + 3 + 8 + 64
    assert metrics["epochs_run"] == 3 and 1 <= metrics["best_epoch"] <= 3
    assert metrics["train_seconds"] > 0
    assert result.histories[""] is result.history and len(result.history.epochs) == 3
    assert "loss" in result.history.epochs[0].val  # early stopping watched the validation split
    np.testing.assert_array_equal(result.originals, test[:10])
    np.testing.assert_array_equal(result.reconstructions, apply_array(model, test[:10]))


def test_two_runs_of_one_config_agree_and_callbacks_see_the_run(small_digits, result):
    seen = []
    again = train_autoencoder(small_digits, TINY, lambda stage: [StageRecorder(stage, seen)])
    assert seen == [("", 1), ("", 2), ("", 3)]
    assert {k: v for k, v in again.metrics.items() if k != "train_seconds"} == {
        k: v for k, v in result.metrics.items() if k != "train_seconds"
    }
    np.testing.assert_array_equal(again.reconstructions, result.reconstructions)


def test_a_table_without_images_trains_too(small_table):
    config = build_config(
        AutoencoderTrainingConfig,
        {"model": {"hidden": [4], "code_dim": 2}, "trainer": {"epochs": 2}},
    )
    result = train_autoencoder(small_table, config)
    assert result.models["checkpoint"].config.in_features == 6
    assert result.reconstructions.shape == (10, 6) and result.metrics["test/recon"] > 0


def test_figures_of_the_result(small_digits, small_table, result):
    from unsup_core.plotting.figures import autoencoder_figures

    figures = autoencoder_figures(result, small_digits)
    assert set(figures) == {"loss_curves", "reconstructions"}
    assert all(figure.axes for figure in figures.values())
    table = train_autoencoder(small_table, TINY)
    assert set(autoencoder_figures(table, small_table)) == {"loss_curves"}  # no images
