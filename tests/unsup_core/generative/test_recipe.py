"""The GAN experiment as one recipe: networks sized from the data, checkpoints of samples and
quality, the final quality beside the baselines, data without labels, and determinism."""

import numpy as np
import pytest

from unsup_core.generative import (
    QUALITY_COLUMNS,
    AdversarialTrainerConfig,
    Discriminator,
    GanConfig,
    Generator,
    train_gan,
)
from unsup_core.training import Callback
from unsup_core.validation import build_config

BASELINES = {"real_heldout", "gaussian", "noisy_real", "random_pixels"}
MEASURES = (
    "frechet_distance",
    "classifier_score",
    "n_classes_present",
    "min_class_share",
    "mean_confidence",
)


def tiny(**values) -> GanConfig:
    """A 4 -> 16 -> n generator against an n -> 16 -> 1 discriminator, three epochs, checkpoints
    every two, a small judge and 50 judged samples."""
    return build_config(
        GanConfig,
        {
            "generator": {"noise_dim": 4, "hidden": [16]},
            "discriminator": {"hidden": [16]},
            "trainer": {"epochs": 3, "batch_size": 64, "lr": 1e-3, "lr_discriminator": 5e-4},
            "judge": {"hidden": [16], "epochs": 2},
            "checkpoint_every": 2,
            "grid_samples": 6,
            "judged_samples": 50,
            **values,
        },
    )


class EpochCounter(Callback):
    """Appends (stage, epoch) of every epoch log to ``seen``."""

    def __init__(self, stage: str, seen: list) -> None:
        self.stage, self.seen = stage, seen

    def on_epoch_end(self, log) -> None:
        self.seen.append((self.stage, log.epoch))


@pytest.fixture(scope="module")
def gan(small_digits):
    """The tiny GAN trained on the small digits, and the epochs its callbacks saw."""
    seen = []
    return train_gan(small_digits, tiny(), lambda stage: [EpochCounter(stage, seen)]), seen


def test_networks_are_sized_from_the_data(gan):
    result, seen = gan
    generator, discriminator = result.models["generator"], result.models["discriminator"]
    assert type(generator) is Generator and type(discriminator) is Discriminator
    assert (generator.config.out_features, generator.config.image_shape) == (64, (8, 8))
    assert (discriminator.config.in_features, discriminator.config.image_shape) == (64, (8, 8))
    assert seen == [("", 1), ("", 2), ("", 3)] and len(result.history.epochs) == 3
    assert [log.lr for log in result.history.epochs] == [5e-4] * 3  # D's own learning rate


def test_samples_and_quality_at_every_checkpoint_and_beside_the_baselines(gan):
    result, _ = gan
    assert sorted(result.samples) == sorted(result.checkpoint_quality) == [2, 3]
    assert all(
        s.shape == (6, 64) and s.min() >= 0 and s.max() <= 1 for s in result.samples.values()
    )
    assert set(result.qualities) == {"gan"} | BASELINES
    assert result.qualities["gan"] is result.checkpoint_quality[3]
    metrics = result.metrics
    assert metrics["epochs_run"] == 3 and metrics["train_seconds"] > 0
    for name, quality in result.qualities.items():
        for measure in MEASURES:
            assert metrics[f"{name}/{measure}"] == getattr(quality, measure)
        assert quality.min_class_share == min(quality.class_shares)
        assert sum(quality.class_shares) == pytest.approx(1.0)
    assert metrics["real_heldout/frechet_distance"] < metrics["random_pixels/frechet_distance"]
    rows = result.tables["quality"]
    assert [row["samples"] for row in rows] == list(result.qualities)
    assert all(set(QUALITY_COLUMNS) <= set(row) for row in rows)


def test_two_runs_of_one_config_agree(small_digits, gan):
    first, _ = gan
    second = train_gan(small_digits, tiny())
    skip = {"train_seconds"}
    assert {k: v for k, v in first.metrics.items() if k not in skip} == {
        k: v for k, v in second.metrics.items() if k not in skip
    }
    for epoch, samples in first.samples.items():
        np.testing.assert_array_equal(samples, second.samples[epoch])


def test_a_vae_baseline_joins_when_asked(small_digits):
    result = train_gan(small_digits, tiny(vae_epochs=1, trainer={"epochs": 1}))
    assert set(result.qualities) == {"gan", "vae"} | BASELINES
    assert "vae/frechet_distance" in result.metrics


def test_data_without_labels_train_without_a_judge(unlabelled_table):
    result = train_gan(unlabelled_table, tiny())
    assert result.models["generator"].config.out_features == 6
    assert result.models["generator"].config.image_shape is None
    assert set(result.metrics) == {"train_seconds", "epochs_run"}
    assert result.qualities == {} and result.checkpoint_quality == {}
    assert result.tables["quality"] == [] and sorted(result.samples) == [2, 3]


def test_a_conv_gan_needs_images(small_table):
    with pytest.raises(ValueError, match=r"kind='conv' needs image_shape"):
        train_gan(small_table, tiny(generator={"kind": "conv", "hidden": [8, 4]}))


@pytest.mark.parametrize(
    "values, message",
    [
        ({"checkpoint_every": 0}, r"checkpoint_every=0 and grid_samples=6 must be >= 1"),
        ({"judged_samples": 1}, r"judged_samples=1 >= 2"),
        ({"vae_epochs": -1}, r"vae_epochs=-1 must be >= 0"),
        ({"trainer": {"lr_discriminator": 0.0}}, r"lr_discriminator=0.0 must be > 0"),
        ({"generator": {"noise_dim": 0}}, r"noise_dim=0 must be >= 1"),
    ],
)
def test_bad_settings_raise(values, message):
    with pytest.raises(ValueError, match=message):
        tiny(**values)


def test_the_discriminator_rate_defaults_to_the_generators():
    assert AdversarialTrainerConfig(lr=1e-3).discriminator_lr == 1e-3
    assert AdversarialTrainerConfig(lr=1e-3, lr_discriminator=2e-4).discriminator_lr == 2e-4


def test_figures_of_the_result(small_digits, gan):
    from unsup_core.plotting.figures import gan_figures

    figures = gan_figures(gan[0], small_digits)
    assert set(figures) == {
        "samples_epoch_0002",
        "samples_epoch_0003",
        "adversarial_losses",
        "class_shares",
    }
    assert all(figure.axes for figure in figures.values())
