"""The stacked-autoencoder experiment as one recipe: pretraining layer by layer, fine-tuning, the
encoder it hands on (on the data, or on a base encoder's codes), its metrics and determinism."""

import numpy as np
import pytest
import torch

from unsup_core.selfsupervised import MaskedFeatureConfig, MaskedFeatureModel
from unsup_core.stacked import (
    StackedEncoder,
    StackedOnEncoder,
    StackedTrainingConfig,
    train_stacked_autoencoder,
)
from unsup_core.training import Callback
from unsup_core.validation import build_config

METRICS = {"test/recon_stacked", "test/recon", "probe/accuracy"}
STAGES = ["layer1/", "layer2/", "finetune/"]


def tiny(start_from: str) -> StackedTrainingConfig:
    """A 16 -> 8 stack, two epochs per stage, a probe on 3 labels per class."""
    return build_config(
        StackedTrainingConfig,
        {
            "stack": {"layer_sizes": [16, 8]},
            "start_from": start_from,
            "pretrain": {"epochs": 2, "lr": 1e-2},
            "finetune": {"epochs": 2, "early_stopping_patience": None},
            "probe_labels_per_class": 3,
        },
    )


class StageLog(Callback):
    """Appends its stage to ``seen`` when a run starts."""

    def __init__(self, stage: str, seen: list) -> None:
        self.stage, self.seen = stage, seen

    def on_fit_start(self, model) -> None:
        self.seen.append(self.stage)


@pytest.fixture(scope="module")
def base():
    """A small pretrained-looking base encoder: 64 features -> 12 codes."""
    return MaskedFeatureModel(
        MaskedFeatureConfig(in_features=64, hidden=(16,), code_dim=12, seed=3)
    )


@pytest.fixture(scope="module")
def from_data(small_digits):
    """The tiny stack trained on the small digits, and the stages its callbacks saw."""
    seen = []
    result = train_stacked_autoencoder(
        small_digits, tiny("data"), callbacks=lambda stage: [StageLog(stage, seen)]
    )
    return result, seen


def test_a_stack_on_the_data(small_digits, from_data):
    result, seen = from_data
    encoder = result.encoder
    assert type(encoder) is StackedEncoder and result.models == {"encoder": encoder}
    assert encoder.config.in_features == small_digits.n_features  # set from the data
    assert encoder.config.layer_sizes == (16, 8)
    assert seen == STAGES and list(result.histories) == STAGES
    assert all(len(history.epochs) == 2 for history in result.histories.values())
    assert result.tags == {"start_from": "data"}
    assert set(result.metrics) == METRICS
    assert result.metrics["test/recon"] > 0 and result.metrics["test/recon_stacked"] > 0
    assert 0 <= result.metrics["probe/accuracy"] <= 1


def test_the_recipe_is_deterministic(small_digits, from_data):
    first, _ = from_data
    second = train_stacked_autoencoder(small_digits, tiny("data"))
    assert first.metrics == second.metrics
    for a, b in zip(first.encoder.parameters(), second.encoder.parameters()):
        assert torch.equal(a, b)


def test_a_stack_on_a_base_encoders_codes(small_digits, base):
    before = {k: v.clone() for k, v in base.state_dict().items()}
    result = train_stacked_autoencoder(small_digits, tiny("encoder"), base)
    encoder = result.encoder
    assert type(encoder) is StackedOnEncoder and result.tags == {"start_from": "encoder"}
    assert encoder.stacked.config.in_features == base.out_features == 12  # the base's codes
    assert encoder.base is not base and encoder.out_features == 8
    assert all(torch.equal(before[k], v) for k, v in base.state_dict().items())  # a copy
    x = torch.as_tensor(small_digits.test.X[:5])
    with torch.no_grad():
        torch.testing.assert_close(encoder.encode(x), encoder.stacked(base.encode(x)))
    assert set(result.metrics) == METRICS and list(result.histories) == STAGES


def test_start_from_encoder_needs_a_base_and_start_from_data_ignores_one(small_digits, base):
    with pytest.raises(ValueError, match=r"start_from='encoder' needs a pretrained base encoder"):
        train_stacked_autoencoder(small_digits, tiny("encoder"))
    result = train_stacked_autoencoder(small_digits, tiny("data"), base)
    assert type(result.encoder) is StackedEncoder and result.encoder.config.in_features == 64


def test_a_table_without_labels_has_no_probe(unlabelled_table):
    result = train_stacked_autoencoder(unlabelled_table, tiny("data"))
    assert set(result.metrics) == {"test/recon_stacked", "test/recon"}
    assert result.encoder.config.in_features == 6


@pytest.mark.parametrize(
    "values, message",
    [
        ({"start_from": "codes"}, r"start_from='codes' is not one of \['data', 'encoder'\]"),
        ({"probe_labels_per_class": 0}, r"probe_labels_per_class=0 must be >= 1"),
        ({"stack": {"layer_kind": "rbm"}}, r"layer_kind='rbm' is not one of"),
    ],
)
def test_bad_settings_raise(values, message):
    with pytest.raises(ValueError, match=message):
        build_config(StackedTrainingConfig, values)


def test_figures_of_the_result(from_data):
    from unsup_core.plotting.figures import stacked_figures

    figures = stacked_figures(from_data[0])
    assert set(figures) == {"layer1_loss", "layer2_loss", "finetune_loss"}
    assert all(figure.axes for figure in figures.values())
    assert np.isfinite(from_data[0].metrics["test/recon"])
