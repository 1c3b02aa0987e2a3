"""Pseudo-labelling (self-training): the selection rule against a naive version, the teachers,
that no hidden label is ever read, seeded determinism, the frozen shortcut and bad settings."""

import copy
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from unsup_core.arrays import encoder_codes
from unsup_core.data.prepare import Split
from unsup_core.selfsupervised import AugmentConfig
from unsup_core.stacked import StackedAutoencoderConfig, greedy_layerwise_pretrain
from unsup_core.training import Trainer, TrainerConfig
from unsup_core.transfer import (
    EncoderClassifier,
    PseudoLabelConfig,
    TransferConfig,
    fit_classifier,
    fit_target,
    select_pseudo_labels,
    self_train,
    spread_labels,
)

FAST = TrainerConfig(epochs=1, batch_size=32, lr=1e-2)


def steps(n: int) -> TrainerConfig:
    """FAST with a budget of n optimiser steps."""
    return replace(FAST, epochs=None, steps=n)


def transfer(n: int, **pseudo_label) -> TransferConfig:
    """A transfer config of n-step fits with the given pseudo-label settings."""
    return TransferConfig(trainer=steps(n), pseudo_label=PseudoLabelConfig(**pseudo_label))


@pytest.fixture(scope="module")
def encoder(prepared_digits):
    """A 64 -> 32 -> 16 stacked encoder pretrained layer-wise on the digits."""
    config = StackedAutoencoderConfig(in_features=64, layer_sizes=(32, 16))
    encoder, _ = greedy_layerwise_pretrain(
        config, prepared_digits.train.X, TrainerConfig(epochs=10, lr=1e-2)
    )
    return encoder


def naive_selection(probabilities, threshold, share):
    """The kept pool indices of :func:`select_pseudo_labels`, one class and object at a time."""
    labels, confidence = probabilities.argmax(1), probabilities.max(1)
    kept = []
    for c in set(labels.tolist()):
        members = sorted(np.flatnonzero(labels == c), key=lambda j: (-confidence[j], j))
        for j in members[: math.ceil(share * len(members))]:
            if confidence[j] >= threshold and confidence[j] > 0:
                kept.append(j)
    return sorted(kept)


@pytest.mark.parametrize("threshold, share", [(0.0, 1.0), (0.6, 1.0), (0.3, 0.5), (0.9, 0.25)])
def test_selection_equals_a_naive_version_and_respects_the_threshold(threshold, share):
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(4, 0.3), size=200)
    probabilities[:5] = 0.0  # rows the graph did not reach: never kept
    chosen, labels = select_pseudo_labels(probabilities, threshold, share)
    assert chosen.tolist() == naive_selection(probabilities, threshold, share)
    np.testing.assert_array_equal(labels, probabilities[chosen].argmax(1))
    assert (probabilities[chosen].max(1) >= threshold).all() and not set(range(5)) & set(chosen)
    rejected = np.setdiff1d(np.arange(200), chosen)
    if share == 1.0:  # everything above the threshold is kept
        assert (probabilities[rejected].max(1) < max(threshold, 1e-12)).all()


def test_label_spreading_rows_are_distributions_over_all_classes():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [5, 5], [0, 5]], dtype=np.float32)
    y_pool = rng.integers(0, 3, 60)
    pool = centres[y_pool] + 0.3 * rng.normal(size=(60, 2)).astype(np.float32)
    labelled = centres.copy()
    # n_classes 4: class 3 has no labelled object, so its column stays 0
    probabilities = spread_labels(labelled, np.array([0, 1, 2]), pool, 4, n_neighbors=5)
    assert probabilities.shape == (60, 4)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-6)
    assert (probabilities[:, 3] == 0).all()
    assert (probabilities.argmax(1) == y_pool).mean() > 0.95


def test_the_hidden_labels_are_never_read(prepared_digits, encoder):
    """Scrambling the labels of the unlabelled pool and of the test split leaves the trained
    model unchanged: only the labelled objects' labels reach the fit."""
    data = prepared_digits
    labelled = data.few_labels(5, seed=0)
    rng = np.random.default_rng(0)
    hidden_y = rng.integers(0, data.n_classes, len(data.train))
    hidden_y[labelled] = data.train.y[labelled]
    scrambled = replace(
        data,
        train=replace(data.train, y=hidden_y),
        test=replace(data.test, y=rng.permutation(data.test.y)),
    )
    assert isinstance(scrambled.train, Split)
    config = transfer(20, rounds=2, threshold=0.5)
    models = [
        fit_target(copy.deepcopy(encoder), "pseudo_label", d, labelled, config)[0]
        for d in (data, scrambled)
    ]
    for a, b in zip(models[0].state_dict().values(), models[1].state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_self_training_is_seeded_and_reports_its_rounds(prepared_digits, encoder):
    data = prepared_digits
    labelled = data.few_labels(3, seed=0)
    pool = np.setdiff1d(np.arange(len(data.train)), labelled)[:300]
    args = (data.train.X[labelled], data.train.y[labelled], data.train.X[pool], data.n_classes)
    config = PseudoLabelConfig(rounds=2, threshold=0.12, teacher="head", curriculum=True)
    first, history = self_train(encoder, *args, steps(20), config)
    second, _ = self_train(encoder, *args, steps(20), config)
    other, _ = self_train(encoder, *args, replace(steps(20), seed=1), config)
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(first.parameters(), other.parameters()))
    assert [h["round"] for h in history] == [1, 2]
    # curriculum: round 1 keeps at most about half of each predicted class
    assert history[0]["pseudo_labelled"] <= len(pool) // 2 + data.n_classes
    assert 0 < history[0]["pseudo_labelled"] <= history[1]["pseudo_labelled"] <= len(pool)
    assert all(h["mean_confidence"] >= 0.12 for h in history)
    assert all(
        torch.equal(a, b) for a, b in zip(encoder.parameters(), copy.deepcopy(encoder).parameters())
    )


def test_a_frozen_head_trained_on_codes_equals_training_through_the_encoder(
    prepared_digits, encoder
):
    """The codes shortcut (used by frozen transfer and frozen students) is the same
    optimisation as running the frozen encoder inside the classifier at every step."""
    data = prepared_digits
    labelled = data.few_labels(5, seed=2)
    X, y = data.train.X[labelled], data.train.y[labelled]
    slow = EncoderClassifier(
        copy.deepcopy(encoder), data.n_classes, freeze_encoder=True, seed=FAST.seed
    )
    Trainer(steps(30)).fit(slow, {"x": X, "y": y})
    fast = fit_classifier(
        encoder, "frozen", X, y, data.n_classes, steps(30), codes=encoder_codes(encoder, X)
    )
    torch.testing.assert_close(fast.head.weight, slow.head.weight, rtol=1e-4, atol=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(fast.encoder.parameters(), encoder.parameters()))
    with pytest.raises(ValueError, match="codes has 3 rows for 50 labels"):
        fit_classifier(encoder, "frozen", X, y, data.n_classes, FAST, codes=X[:3])
    with pytest.raises(ValueError, match="mode='pseudo_label' is not one of"):
        fit_classifier(encoder, "pseudo_label", X, y, data.n_classes, FAST)


def pixel_encoder() -> torch.nn.Linear:
    """x -> x: a frozen student on it is logistic regression on the pixels."""
    encoder = torch.nn.Linear(64, 64)
    with torch.no_grad():
        encoder.weight.copy_(torch.eye(64))
        encoder.bias.zero_()
    return encoder


def test_pseudo_labelling_beats_the_labels_alone_with_five_labels(prepared_digits):
    """On pixels: label spreading's pseudo-labels lift the frozen (logistic) student."""
    data = prepared_digits
    config = transfer(150, student_mode="frozen")
    scores = {"frozen": [], "pseudo_label": []}
    for seed in (0, 1):
        labelled = data.few_labels(5, seed=seed)
        for mode in scores:
            scores[mode].append(fit_target(pixel_encoder(), mode, data, labelled, config)[1])
    assert np.mean(scores["pseudo_label"]) > np.mean(scores["frozen"]) + 0.03


def test_augmented_student_sees_views_of_the_images(prepared_digits, encoder, monkeypatch):
    import unsup_core.transfer.classifier as module

    calls = []
    original = module.augment_images

    def spy(images, config, generator=None):
        calls.append(tuple(images.shape))
        return original(images, config, generator)

    monkeypatch.setattr(module, "augment_images", spy)
    data = prepared_digits
    labelled = data.few_labels(2, seed=0)
    pool = np.setdiff1d(np.arange(len(data.train)), labelled)[:100]
    config = PseudoLabelConfig(threshold=0.0, augment=AugmentConfig())
    self_train(
        encoder,
        data.train.X[labelled],
        data.train.y[labelled],
        data.train.X[pool],
        data.n_classes,
        steps(3),
        config,
        image_shape=(8, 8),
    )
    assert calls and all(shape[1:] == (1, 8, 8) for shape in calls)
    with pytest.raises(ValueError, match="augment needs the image_shape"):
        self_train(
            encoder,
            data.train.X[labelled],
            data.train.y[labelled],
            data.train.X[pool],
            data.n_classes,
            steps(3),
            config,
        )


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"rounds": 0}, ValueError, r"rounds=0 must be an int >= 1"),
        ({"threshold": 1.0}, ValueError, r"threshold=1.0 must lie in \[0, 1\)"),
        ({"student_mode": "scratch"}, ValueError, r"student_mode='scratch' is not one of"),
        ({"teacher": "oracle"}, ValueError, r"teacher='oracle' is not one of"),
        ({"n_neighbors": 0}, ValueError, r"n_neighbors=0 must be >= 1"),
        ({"augment": "strong"}, TypeError, r"augment must be an AugmentConfig or None, got str"),
    ],
)
def test_bad_configs_raise(kwargs, error, message):
    with pytest.raises(error, match=message):
        PseudoLabelConfig(**kwargs)


def test_bad_inputs_raise(encoder):
    X = np.zeros((4, 64), dtype=np.float32)
    with pytest.raises(ValueError, match=r"y_labelled must be non-empty class codes in \[0, 3\)"):
        self_train(encoder, X, np.array([0, 1, 2, 3]), X, 3, FAST)
    with pytest.raises(ValueError, match="X_pool is empty"):
        self_train(encoder, X, np.array([0, 1, 2, 0]), X[:0], 3, FAST)
    with pytest.raises(ValueError, match=r"share=0 must lie in \(0, 1\]"):
        select_pseudo_labels(np.ones((3, 2)) / 2, 0.5, 0)


def test_the_pool_is_capped_at_a_seeded_sample(prepared_digits, encoder):
    data = prepared_digits
    labelled = data.few_labels(3, seed=0)
    pool = np.setdiff1d(np.arange(len(data.train)), labelled)[:300]
    args = (data.train.X[labelled], data.train.y[labelled], data.train.X[pool], data.n_classes)
    capped = PseudoLabelConfig(threshold=0.0, curriculum=False, student_mode="frozen", max_pool=50)
    _, history = self_train(encoder, *args, steps(5), capped)
    assert history[0]["pseudo_labelled"] == 50  # threshold 0 keeps every pooled object
    _, whole = self_train(encoder, *args, steps(5), replace(capped, max_pool=None))
    assert whole[0]["pseudo_labelled"] == 300
    with pytest.raises(ValueError, match="max_pool=0 must be >= 1"):
        PseudoLabelConfig(max_pool=0)
