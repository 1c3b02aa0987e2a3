"""Failure diagnostics: each measure reads a deliberately broken model as broken and a sane one
as sane, agrees with a naive count, is reproducible from its seed and rejects bad input."""

import numpy as np
import pytest
import torch
from torch import nn

from unsup_core.diagnostics import (
    GanDiagnosisConfig,
    ProbeConfig,
    diagnose_gan,
    empty_node_share,
    probe_against_raw,
)
from unsup_core.generative import Discriminator, DiscriminatorConfig, QualityJudgeConfig

DIAGNOSIS = GanDiagnosisConfig(judged_samples=300, judge=QualityJudgeConfig(hidden=(64,)))
PROBE = ProbeConfig(labels_per_class=5, draws=2)


class ConstantGenerator(nn.Module):
    """A collapsed generator: every sample is the same object."""

    def __init__(self, image: np.ndarray) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.as_tensor(image, dtype=torch.float32))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.image.expand(n, -1).clone()


class ReplayGenerator(nn.Module):
    """A generator that learned the data perfectly: it samples training objects."""

    def __init__(self, X: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("X", torch.as_tensor(X, dtype=torch.float32))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.X[torch.randint(len(self.X), (n,), generator=generator)]


class PinnedDiscriminator(nn.Module):
    """D that tells the constant image from anything else: logit ||x - image||^2 - 1e-3."""

    def __init__(self, image: np.ndarray) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.as_tensor(image, dtype=torch.float32))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.image) ** 2).sum(dim=1) - 1e-3


@pytest.fixture(scope="module")
def gan_data(small_digits):
    train = small_digits.train
    return train.X, small_digits.test.X, train.y, small_digits.n_classes


def untrained_discriminator(n_features: int) -> Discriminator:
    return Discriminator(DiscriminatorConfig(in_features=n_features, hidden=(16,)))


def test_a_constant_generator_reads_as_collapsed(gan_data):
    X, held_out, y, n_classes = gan_data
    image = X[0]
    gan = ConstantGenerator(image), PinnedDiscriminator(image)
    found = diagnose_gan(*gan, X, held_out, y, n_classes, DIAGNOSIS)
    assert found.n_classes_present == 1 and found.real_classes_present == n_classes
    assert found.frechet_distance > found.gaussian_frechet_distance
    assert found.discriminator_accuracy == 1.0


def test_a_generator_of_real_objects_beats_the_gaussian_and_keeps_every_class(gan_data):
    X, held_out, y, n_classes = gan_data
    gan = ReplayGenerator(X), untrained_discriminator(X.shape[1])
    found = diagnose_gan(*gan, X, held_out, y, n_classes, DIAGNOSIS)
    assert found.frechet_distance < found.gaussian_frechet_distance
    assert found.n_classes_present == found.real_classes_present == n_classes
    assert found.discriminator_accuracy < 0.99
    # balanced accuracy is the mean of the two shares it reports
    mean = (found.discriminator_real_accuracy + found.discriminator_fake_accuracy) / 2
    assert found.discriminator_accuracy == pytest.approx(mean)


def test_without_labels_only_the_discriminator_is_judged_and_one_seed_repeats(gan_data):
    X, held_out, _, _ = gan_data
    args = (ReplayGenerator(X), untrained_discriminator(X.shape[1]), X, held_out)
    config = GanDiagnosisConfig(judged_samples=50, seed=3)
    first = diagnose_gan(*args, config=config)
    assert diagnose_gan(*args, config=config) == first
    assert first.frechet_distance is None and first.n_classes_present is None


def test_diagnose_gan_rejects_bad_input(gan_data):
    X, held_out, y, _ = gan_data
    gan = (ReplayGenerator(X), untrained_discriminator(X.shape[1]))
    few = GanDiagnosisConfig(judged_samples=10)
    with pytest.raises(ValueError, match="judged_samples=1 must be >= 2"):
        GanDiagnosisConfig(judged_samples=1)
    with pytest.raises(ValueError, match="n_classes=0 must be >= 1"):
        diagnose_gan(*gan, X, held_out, y, n_classes=0, config=few)
    with pytest.raises(ValueError, match=r"X_real has shape \(1, 64\)"):
        diagnose_gan(*gan, X, held_out[:1], config=few)


def test_codes_of_a_zero_encoder_fall_below_the_raw_features(small_digits):
    train, test = small_digits.train, small_digits.test
    zeros = np.zeros((len(train), 8)), np.zeros((len(test), 8))
    probe = probe_against_raw(*zeros, train.X, test.X, train.y, test.y, PROBE)
    assert probe.code_accuracy < 0.2 < 0.6 < probe.raw_accuracy  # chance vs a real probe
    assert probe.deficit == pytest.approx(probe.raw_accuracy - probe.code_accuracy)


def test_codes_equal_to_the_features_probe_exactly_as_the_features(small_digits):
    train, test = small_digits.train, small_digits.test
    probe = probe_against_raw(train.X, test.X, train.X, test.X, train.y, test.y, PROBE)
    assert probe.deficit == 0.0  # the same label draws, the same probe


def test_the_probe_lowers_labels_per_class_to_the_smallest_class():
    rng = np.random.default_rng(0)
    y = np.array([0] * 30 + [1] * 3)
    X = rng.normal(size=(33, 4)) + 3 * y[:, None]
    probe = probe_against_raw(X, X, X, X, y, y, ProbeConfig(labels_per_class=10, draws=1))
    assert probe.labels_per_class == 3 and probe.code_accuracy == probe.raw_accuracy


def test_probe_against_raw_rejects_mismatched_rows(small_digits):
    train, test = small_digits.train, small_digits.test
    with pytest.raises(ValueError, match="one row per training object"):
        probe_against_raw(train.X[:-1], test.X, train.X, test.X, train.y, test.y)
    with pytest.raises(ValueError, match="labels_per_class=0 and draws=1 must be >= 1"):
        ProbeConfig(labels_per_class=0, draws=1)


def test_empty_node_share_matches_a_naive_count():
    rng = np.random.default_rng(0)
    winners = rng.integers(0, 7, size=50)  # nodes 7..19 of 20 never win
    naive = sum(1 for node in range(20) if node not in set(winners.tolist())) / 20
    assert empty_node_share(winners, 20) == pytest.approx(naive)
    assert empty_node_share(np.zeros(10, dtype=int), 4) == 0.75
    assert empty_node_share(np.arange(4), 4) == 0.0


def test_empty_node_share_rejects_bad_nodes():
    with pytest.raises(ValueError, match="n_nodes=0 must be >= 1"):
        empty_node_share(np.zeros(3, dtype=int), 0)
    with pytest.raises(ValueError, match=r"node indices 0..5, outside 0..4"):
        empty_node_share(np.array([0, 5]), 5)
