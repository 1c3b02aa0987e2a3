"""The label-regularised autoencoder: configuration errors, the classification term over labelled
objects only, the noise, and better few-label codes than the plain autoencoder on digits."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unsup_core.arrays import apply_array
from unsup_core.autoencoders.label_regularized import (
    LabelRegularizedAutoencoder,
    LabelRegularizedAutoencoderConfig,
)
from unsup_core.autoencoders.plain import Autoencoder, AutoencoderConfig
from unsup_core.evaluation import few_label_probe
from unsup_core.training import Trainer, TrainerConfig


def model(**kwargs) -> LabelRegularizedAutoencoder:
    """A 12 -> 16 -> 3 autoencoder with a 2-class head; ``kwargs`` override its config."""
    return LabelRegularizedAutoencoder(
        LabelRegularizedAutoencoderConfig(
            **{"in_features": 12, "hidden": (16,), "code_dim": 3, "n_classes": 2, **kwargs}
        )
    )


def with_some_labels(X: np.ndarray) -> dict[str, np.ndarray]:
    """Trainer data of X (n, 12) with a label: class = first feature above its median, every third
    object unlabelled (-1)."""
    y = (X[:, 0] > np.median(X[:, 0])).astype(np.int64)
    y[::3] = -1
    return {"x": X, "y": y}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_classes": 1}, r"n_classes=1 must be >= 2"),
        ({"label_weight": -0.5}, r"label_weight=-0.5 must be >= 0 and finite"),
        ({"head_hidden": (8, 0)}, r"head_hidden=\(8, 0\): every width must be >= 1"),
        ({"activation": "swish"}, r"activation='swish' is not one of"),
        ({"noise_std": -0.1}, r"noise_std=-0.1 must be >= 0 and finite"),
    ],
)
def test_label_regularized_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LabelRegularizedAutoencoderConfig(in_features=12, **kwargs)


def test_classification_is_the_cross_entropy_of_the_labelled_objects_only():
    m = model(n_classes=3, head_hidden=(5,), label_weight=0.7)
    x = torch.rand(7, 12, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([2, -1, 0, -1, 1, 1, -1])
    terms = m.loss({"x": x, "y": y})
    known = y >= 0
    logits = m.logits(x)[known]
    expected = -torch.log_softmax(logits, dim=1)[torch.arange(4), y[known]].mean()
    assert terms["classification"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert terms["accuracy"].item() == pytest.approx(
        (logits.argmax(1) == y[known]).float().mean().item()
    )
    assert terms["loss"].item() == pytest.approx(terms["recon"].item() + 0.7 * expected.item())
    assert terms["recon"].item() == pytest.approx(F.mse_loss(m(x), x).item())
    assert m.predict(x).dtype == torch.int64 and torch.equal(m.predict(x), m.logits(x).argmax(1))


@pytest.mark.parametrize("batch_y", [torch.full((5,), -1), None])
def test_a_batch_without_labels_contributes_no_classification(batch_y):
    m = model()
    batch = {"x": torch.rand(5, 12)} | ({} if batch_y is None else {"y": batch_y})
    terms = m.loss(batch)
    assert terms["classification"].item() == 0.0 and terms["accuracy"].item() == 0.0
    assert terms["loss"].item() == terms["recon"].item()
    terms["loss"].backward()
    assert all(p.grad is None or not p.grad.any() for p in m.head.parameters())


def test_noise_corrupts_the_encoder_input_in_training_only():
    m = model(noise_std=0.5, label_weight=0.3)
    x = torch.rand(16, 12, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1] * 4 + [-1] * 8)
    m.eval()
    clean = m.loss({"x": x, "y": y})
    assert torch.equal(clean["loss"], m.loss({"x": x, "y": y})["loss"])  # nothing random
    assert clean["recon"].item() == pytest.approx(F.mse_loss(m(x), x).item())
    m.train()
    torch.manual_seed(0)
    noisy = m.loss({"x": x, "y": y})
    torch.manual_seed(0)
    x_tilde = x + 0.5 * torch.randn_like(x)  # the same draw, by hand
    z = m.encode(x_tilde)
    assert noisy["recon"].item() == pytest.approx(F.mse_loss(m.decode(z), x).item(), rel=1e-5)
    expected = F.cross_entropy(m.head(z)[:8], y[:8])
    assert noisy["classification"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert noisy["recon"].item() != clean["recon"].item()


def test_without_label_weight_the_codes_are_the_plain_autoencoders():
    X = np.random.default_rng(0).uniform(0, 1, size=(64, 12)).astype(np.float32)
    plain = Autoencoder(AutoencoderConfig(in_features=12, hidden=(16,), code_dim=3))
    labelled = model(label_weight=0.0)
    Trainer(TrainerConfig(epochs=2, batch_size=16)).fit(plain, {"x": X})
    Trainer(TrainerConfig(epochs=2, batch_size=16)).fit(labelled, with_some_labels(X))
    np.testing.assert_array_equal(
        apply_array(labelled, X, "encode"), apply_array(plain, X, "encode")
    )


@pytest.mark.slow
def test_few_labels_give_better_codes_than_the_plain_autoencoder(prepared_digits):
    train, test = prepared_digits.train, prepared_digits.test
    shape = dict(
        in_features=64,
        hidden=(256, 128),
        code_dim=32,
        output_activation="sigmoid",
        recon_loss="bce",
    )
    plain_scores, labelled_scores, head_scores = [], [], []
    for seed in range(3):
        known = prepared_digits.few_labels(10, seed)
        y = np.full(len(train), -1)
        y[known] = train.y[known]
        trainer = Trainer(TrainerConfig(epochs=30, lr=3e-3, seed=seed))
        plain = Autoencoder(AutoencoderConfig(seed=seed, **shape))
        labelled = LabelRegularizedAutoencoder(
            LabelRegularizedAutoencoderConfig(seed=seed, n_classes=10, label_weight=0.03, **shape)
        )
        trainer.fit(plain, {"x": train.X})
        trainer.fit(labelled, {"x": train.X, "y": y})
        for m, scores in ((plain, plain_scores), (labelled, labelled_scores)):
            # the probe's labelled objects are the ones the model saw (few_labels(10, seed))
            scores.append(
                few_label_probe(
                    apply_array(m, train.X, "encode"),
                    train.y,
                    apply_array(m, test.X, "encode"),
                    test.y,
                    per_class=10,
                    draws=1,
                    seed=seed,
                )[0]
            )
        head_scores.append(float((apply_array(labelled, test.X, "predict") == test.y).mean()))
    assert np.mean(labelled_scores) > np.mean(plain_scores) + 0.01
    assert np.mean(head_scores) > 0.8
