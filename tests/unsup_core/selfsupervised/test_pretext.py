"""Pretraining on a pretext as one recipe: the model of the asked pretext (masked features for a
table), its data fields set from the data, the metrics it reports, and seeded determinism."""

import numpy as np
import pytest

from unsup_core.arrays import encoder_codes
from unsup_core.selfsupervised import (
    ContrastiveModel,
    MaskedFeatureModel,
    PatchPositionModel,
    PretextTrainingConfig,
    pretext_model,
    train_pretext,
)
from unsup_core.training import Callback
from unsup_core.validation import build_config


def tiny(pretext: str, **values) -> PretextTrainingConfig:
    """Tiny models of every pretext, two epochs, a probe on 3 labels per class."""
    return build_config(
        PretextTrainingConfig,
        {
            "pretext": pretext,
            "contrastive": {"encoder": "mlp", "hidden": [16], "code_dim": 4, "projection_dim": 4},
            "patch_position": {"hidden": [8], "embed_dim": 4, "head_hidden": [8]},
            "masked_features": {"hidden": [8], "code_dim": 4, "decoder_hidden": [8]},
            "trainer": {"epochs": 2, "batch_size": 64},
            "probe_labels_per_class": 3,
            **values,
        },
    )


class EpochCounter(Callback):
    """Counts the epoch logs of the stages it is given for."""

    def __init__(self, seen: list) -> None:
        self.seen = seen

    def on_epoch_end(self, log) -> None:
        self.seen.append(log.epoch)


@pytest.mark.parametrize(
    "pretext, model_class, terms",
    [
        ("contrastive", ContrastiveModel, {"loss", "nt_xent"}),
        ("patch_position", PatchPositionModel, {"loss", "position_ce", "accuracy"}),
        ("masked_features", MaskedFeatureModel, {"loss", "masked_mse"}),
    ],
)
def test_train_pretext_on_images(small_digits, pretext, model_class, terms):
    seen = []
    result = train_pretext(small_digits, tiny(pretext), lambda stage: [EpochCounter(seen)])
    model = result.model
    assert type(model) is model_class and result.models["checkpoint"] is model
    assert result.tags == {"pretext": pretext}
    data_field = "in_features" if pretext == "masked_features" else "image_shape"
    expected = 64 if pretext == "masked_features" else (8, 8)
    assert getattr(model.config, data_field) == expected  # set from the data
    assert set(result.metrics) == {f"test/{term}" for term in terms} | {"probe/accuracy"}
    assert 0 <= result.metrics["probe/accuracy"] <= 1
    assert np.isfinite(result.metrics["test/loss"]) and result.metrics["test/loss"] > 0
    assert seen == [1, 2] and len(result.histories[""].epochs) == 2
    assert encoder_codes(model, small_digits.test.X[:5]).shape == (5, model.out_features)


def test_a_table_falls_back_to_masked_features(small_table):
    result = train_pretext(small_table, tiny("contrastive"))
    assert result.tags == {"pretext": "masked_features"}
    assert isinstance(result.model, MaskedFeatureModel)
    assert result.model.config.in_features == 6 and result.model.out_features == 4
    assert set(result.metrics) == {"test/loss", "test/masked_mse", "probe/accuracy"}


def test_data_without_labels_have_no_probe(unlabelled_table):
    result = train_pretext(unlabelled_table, tiny("masked_features"))
    assert set(result.metrics) == {"test/loss", "test/masked_mse"}


def test_train_pretext_is_deterministic(small_digits):
    first, second = (train_pretext(small_digits, tiny("patch_position")) for _ in range(2))
    assert first.metrics == second.metrics
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_pretext_model_builds_the_asked_pretext_for_the_datas_shape():
    config = tiny("patch_position")
    model, used = pretext_model(config, 64, (8, 8))
    assert used == "patch_position" and isinstance(model, PatchPositionModel)
    assert model.config.image_shape == (8, 8) and config.patch_position.image_shape is None
    model, used = pretext_model(config, 12, None)
    assert used == "masked_features" and model.config.in_features == 12
    default, used = pretext_model(PretextTrainingConfig(pretext="masked_features"), 12, None)
    assert default.out_features == 128  # as wide as the default contrastive encoder's codes
    contrastive, used = pretext_model(
        build_config(PretextTrainingConfig, {"contrastive": {"encoder": "mlp"}}), 64, (8, 8)
    )
    assert used == "contrastive" and isinstance(contrastive, ContrastiveModel)
    assert contrastive.out_features == 128 and contrastive.config.conv_channels == (32, 64)
    with pytest.raises(ValueError, match=r"pretext='jigsaw' is not one of"):
        tiny("jigsaw")
    with pytest.raises(ValueError, match=r"probe_labels_per_class=0 must be >= 1"):
        tiny("contrastive", probe_labels_per_class=0)
