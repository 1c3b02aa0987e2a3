"""FixMatch: the confidence mask and the loss against naive versions, the labelled term is plain
cross-entropy, the contract (terms finite, one step changes the weights), seeded determinism,
tables refused, bad settings, and on small digits it beats the labels alone."""

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unsup_core.applicability import why_not_applicable
from unsup_core.arrays import accuracy
from unsup_core.data.prepare import few_label_indices
from unsup_core.selfsupervised import NO_AUGMENT, ContrastiveConfig, ContrastiveModel
from unsup_core.training import Callback, Trainer, TrainerConfig
from unsup_core.transfer import (
    EncoderClassifier,
    FixMatch,
    FixMatchConfig,
    TransferConfig,
    align_distribution,
    confident_pseudo_labels,
    fixmatch_fit,
    fixmatch_terms,
)
from unsup_core.transfer.curves import fit_target

IDENTITY = NO_AUGMENT


def config(steps: int, seed: int = 0, **values) -> FixMatchConfig:
    return FixMatchConfig(
        trainer=TrainerConfig(steps=steps, batch_size=64, lr=1e-2, seed=seed), **values
    )


class StepHeads(Callback):
    """The head's weight after every optimiser step of a FixMatch fit."""

    def __init__(self):
        self.heads = []

    def on_step_end(self, model):
        self.heads.append(model.classifier.head.weight.detach().clone())


@pytest.fixture(scope="module")
def encoder(small_digits):
    """A small contrastive CNN (16, 32 filters, 64-d codes) pretrained for 30 epochs."""
    model = ContrastiveModel(
        ContrastiveConfig(
            image_shape=small_digits.image_shape, conv_channels=(16, 32), code_dim=64, seed=0
        )
    )
    Trainer(TrainerConfig(epochs=30, batch_size=128, lr=2e-3)).fit(
        model, {"x": small_digits.train.X}
    )
    return model


def test_mask_selects_exactly_the_predictions_at_or_above_the_threshold():
    logits = torch.randn(500, 5, generator=torch.Generator().manual_seed(0)) * 3
    for threshold in (0.3, 0.8, 0.95):
        mask, pseudo = confident_pseudo_labels(logits, threshold)
        for j in range(len(logits)):  # naive: one row at a time
            p = torch.exp(logits[j]) / torch.exp(logits[j]).sum()
            assert mask[j].item() == float(p.max().item() >= threshold)
            assert pseudo[j].item() == int(p.argmax())
        assert 0 < mask.sum() < len(logits)


def test_loss_equals_a_naive_version():
    rng = torch.Generator().manual_seed(1)
    labelled, y = torch.randn(6, 4, generator=rng), torch.randint(0, 4, (6,), generator=rng)
    weak, strong = torch.randn(10, 4, generator=rng) * 4, torch.randn(10, 4, generator=rng)
    terms = fixmatch_terms(labelled, y, weak, strong, threshold=0.7, unlabelled_weight=2.0)
    naive_l = sum(-torch.log_softmax(labelled[i], 0)[y[i]] for i in range(6)) / 6
    naive_u = 0.0
    for j in range(10):
        p = torch.softmax(weak[j], 0)
        if p.max() >= 0.7:
            naive_u += -torch.log_softmax(strong[j], 0)[p.argmax()]
    naive_u = naive_u / 10  # averaged over the whole unlabelled batch
    torch.testing.assert_close(terms["labelled"], naive_l)
    torch.testing.assert_close(terms["unlabelled"], torch.as_tensor(naive_u, dtype=torch.float32))
    torch.testing.assert_close(terms["loss"], naive_l + 2.0 * naive_u)


def test_unlabelled_term_is_zero_when_no_prediction_is_confident():
    weak = torch.zeros(8, 10)  # uniform: confidence 0.1
    strong = torch.randn(8, 10, requires_grad=True)
    terms = fixmatch_terms(torch.randn(3, 10), torch.tensor([0, 1, 2]), weak, strong, 0.5, 1.0)
    assert terms["unlabelled"].item() == 0.0 and terms["mask_rate"].item() == 0.0
    terms["unlabelled"].backward()
    assert not strong.grad.any()


def test_distribution_alignment_reweights_like_a_naive_version():
    rng = torch.Generator().manual_seed(2)
    logits = torch.randn(50, 4, generator=rng) * 2
    factors = torch.tensor([0.5, 1.0, 2.0, 4.0])
    mask, pseudo = confident_pseudo_labels(logits, 0.6, factors)
    for j in range(len(logits)):
        p = torch.softmax(logits[j], 0) * factors
        p = p / p.sum()
        assert pseudo[j].item() == int(p.argmax())
        assert mask[j].item() == float(p.max().item() >= 0.6)
    plain = torch.softmax(logits, 1)
    torch.testing.assert_close(align_distribution(plain, torch.full((4,), 3.0)), plain)
    assert not torch.equal(pseudo, confident_pseudo_labels(logits, 0.6)[1])  # it changed some


def test_alignment_tracks_the_predicted_shares_in_training_only(small_digits, encoder):
    labelled = few_label_indices(small_digits.train.y, 2, seed=0)
    model = FixMatch(
        EncoderClassifier(encoder, small_digits.n_classes),
        small_digits.train.X[labelled],
        small_digits.train.y[labelled],
        small_digits.image_shape,
        FixMatchConfig(alignment_momentum=0.5),
    )
    favoured = torch.zeros(8, 10)
    favoured[:, 3] = 5.0  # every weak view predicts class 3
    model.eval()
    torch.testing.assert_close(model.alignment(favoured), torch.ones(10))  # pi = p~ = 1/10
    model.train()
    factors = model.alignment(favoured)
    p = torch.softmax(favoured[0], 0)
    torch.testing.assert_close(model.predicted_shares, 0.5 * torch.full((10,), 0.1) + 0.5 * p)
    assert factors.argmin().item() == 3  # the over-predicted class is damped
    assert (
        FixMatch(
            EncoderClassifier(encoder, small_digits.n_classes),
            small_digits.train.X[labelled],
            small_digits.train.y[labelled],
            small_digits.image_shape,
        ).alignment(favoured)
        is None
    )  # off by default


def test_labelled_term_is_plain_cross_entropy_of_the_classifier(small_digits, encoder):
    labelled = few_label_indices(small_digits.train.y, 2, seed=0)  # 20 <= labelled batch
    classifier = EncoderClassifier(encoder, small_digits.n_classes)
    model = FixMatch(
        classifier,
        small_digits.train.X[labelled],
        small_digits.train.y[labelled],
        small_digits.image_shape,
        FixMatchConfig(weak=IDENTITY, labelled_batch_size=32),
    ).train()
    terms = model.loss({"x": torch.as_tensor(small_digits.train.X[:16])})
    X = torch.as_tensor(small_digits.train.X[labelled])
    plain = F.cross_entropy(classifier(X), torch.as_tensor(small_digits.train.y[labelled]))
    torch.testing.assert_close(terms["labelled"], plain)
    assert set(terms) == {"loss", "labelled", "unlabelled", "mask_rate", "accuracy"}
    assert all(torch.isfinite(t) for t in terms.values())
    before = [p.detach().clone() for p in classifier.parameters()]
    terms["loss"].backward()
    torch.optim.SGD(classifier.parameters(), lr=0.1).step()
    assert any(not torch.equal(a, b) for a, b in zip(before, classifier.parameters()))


def test_seeded_fits_are_identical_and_the_encoder_is_not_changed(small_digits, encoder):
    labelled = few_label_indices(small_digits.train.y, 2, seed=0)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    first, history = fixmatch_fit(encoder, small_digits, labelled, config(12, threshold=0.5))
    second, _ = fixmatch_fit(encoder, small_digits, labelled, config(12, threshold=0.5))
    third, _ = fixmatch_fit(encoder, small_digits, labelled, config(12, seed=1, threshold=0.5))
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(first.head.weight, third.head.weight)
    assert all(torch.equal(v, encoder.state_dict()[k]) for k, v in before.items())
    assert {"train/unlabelled", "train/mask_rate"} <= set(history.final)


def test_ema_returns_the_average_of_the_steps_weights(small_digits, encoder):
    """Same steps and seed: the averaged classifier differs from the last weights, and
    reproduces the naive average of the weights after each step."""
    labelled = few_label_indices(small_digits.train.y, 2, seed=0)
    last, _ = fixmatch_fit(encoder, small_digits, labelled, config(6, threshold=0.5))
    averaged, _ = fixmatch_fit(
        encoder, small_digits, labelled, config(6, threshold=0.5, ema_decay=0.5)
    )
    assert not torch.allclose(last.head.weight, averaged.head.weight)
    recorder = StepHeads()
    fixmatch_fit(encoder, small_digits, labelled, config(6, threshold=0.5), [recorder])
    expected = recorder.heads[0]
    for head in recorder.heads[1:]:
        expected = 0.5 * expected + 0.5 * head
    torch.testing.assert_close(averaged.head.weight, expected)
    torch.testing.assert_close(last.head.weight, recorder.heads[-1])


def test_fixmatch_beats_the_labels_alone_after_the_same_steps(small_digits, encoder):
    """3 labels per class of ~24; lambda_u = 0 is the same classifier, views and steps on the
    labels alone. Measured: 0.959 against 0.851 test accuracy (seed 0)."""
    labelled = few_label_indices(small_digits.train.y, 3, seed=0)
    fixmatch = config(400, threshold=0.9)
    accuracies = [
        accuracy(
            fixmatch_fit(encoder, small_digits, labelled, settings)[0],
            small_digits.test.X,
            small_digits.test.y,
        )
        for settings in (fixmatch, replace(fixmatch, unlabelled_weight=0.0))
    ]
    assert accuracies[0] >= accuracies[1] + 0.05, accuracies


def test_tables_are_refused(small_table):
    assert "needs images" in why_not_applicable(fixmatch_fit, small_table)
    with pytest.raises(ValueError, match="does not apply to small_table: needs images"):
        fixmatch_fit(torch.nn.Identity(), small_table, np.arange(3))


@pytest.mark.parametrize(
    "values, message",
    [
        ({"threshold": 0.0}, "threshold=0.0 must lie in"),
        ({"unlabelled_weight": -1.0}, "unlabelled_weight=-1.0 must be >= 0"),
        ({"labelled_batch_size": 0}, "labelled_batch_size=0 must be >= 1"),
        ({"encoder_lr_scale": -0.1}, "encoder_lr_scale=-0.1 must be >= 0"),
        ({"ema_decay": 1.0}, "ema_decay=1.0 must lie in"),
        ({"alignment_momentum": 0.0}, "alignment_momentum=0.0 must lie in"),
    ],
)
def test_bad_settings_raise(values, message):
    with pytest.raises(ValueError, match=message):
        FixMatchConfig(**values)


def test_settings_of_the_wrong_type_raise():
    with pytest.raises(TypeError, match="strong must be of type AugmentConfig, got dict"):
        FixMatchConfig(strong={"max_shift": 2})


def test_bad_labelled_indices_raise(small_digits, encoder):
    with pytest.raises(ValueError, match="distinct rows of the training split"):
        fixmatch_fit(encoder, small_digits, [0, 0, 1])
    with pytest.raises(ValueError, match="non-empty 1-D index"):
        fixmatch_fit(encoder, small_digits, [])


def test_fixmatch_is_a_transfer_mode_asked_for_by_name(small_digits, encoder):
    assert "fixmatch" not in TransferConfig().modes  # a minute per fit: not a default mode
    labelled = few_label_indices(small_digits.train.y, 2, seed=0)
    transfer = TransferConfig(modes=("fixmatch",), fixmatch=config(12, threshold=0.5))
    model, score = fit_target(encoder, "fixmatch", small_digits, labelled, transfer)
    direct, _ = fixmatch_fit(encoder, small_digits, labelled, transfer.fixmatch)
    assert score == pytest.approx(accuracy(direct, small_digits.test.X, small_digits.test.y))
    assert isinstance(model, EncoderClassifier)
