"""The relational autoencoder: configuration errors, the penalty against a naive double loop over
pairs, and better reconstructed strong relations than the plain autoencoder on digits."""

import numpy as np
import pytest
import torch

from unsup_core.arrays import apply_array
from unsup_core.autoencoders.plain import Autoencoder, AutoencoderConfig
from unsup_core.autoencoders.relational import (
    RelationalAutoencoder,
    RelationalAutoencoderConfig,
    relational_loss,
)
from unsup_core.training import Trainer, TrainerConfig


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"relational_weight": -1.0}, r"relational_weight=-1.0 must be >= 0"),
        ({"relation_threshold": float("nan")}, r"relation_threshold=nan must be finite"),
        ({"similarity": "l2"}, r"similarity='l2' is not one of \['dot', 'mean_dot', 'cosine'\]"),
        ({"code_dim": 0}, r"code_dim=0 must be >= 1"),
    ],
)
def test_relational_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RelationalAutoencoderConfig(in_features=12, **kwargs)


def naive_relational(
    x_hat: np.ndarray, x: np.ndarray, s0: float, similarity: str
) -> tuple[float, int]:
    """Mean over pairs i < j of (sigma(s^_ij) - sigma(s_ij))^2, and how many true relations are
    weak (s_ij <= s0, so sigma(s_ij) = 0)."""

    def s(a, b):
        if similarity == "cosine":
            return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        return float(a @ b) / (len(a) if similarity == "mean_dot" else 1)

    total, pairs, ignored = 0.0, 0, 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            true, rebuilt = s(x[i], x[j]), s(x_hat[i], x_hat[j])
            total += (max(rebuilt - s0, 0.0) - max(true - s0, 0.0)) ** 2
            pairs += 1
            ignored += true <= s0
    return total / pairs, ignored


@pytest.mark.parametrize(
    "similarity, s0", [("dot", 0.0), ("dot", 2.5), ("mean_dot", 0.2), ("cosine", 0.7)]
)
def test_relational_term_equals_a_double_loop_over_pairs(similarity, s0):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(9, 10)).astype(np.float32)
    model = RelationalAutoencoder(
        RelationalAutoencoderConfig(
            in_features=10,
            hidden=(8,),
            code_dim=3,
            relational_weight=0.5,
            relation_threshold=s0,
            similarity=similarity,
        )
    )
    terms = model.loss({"x": torch.as_tensor(x)})
    x_hat = model(torch.as_tensor(x)).detach().numpy().astype(np.float64)
    expected, ignored = naive_relational(x_hat, x.astype(np.float64), s0, similarity)
    assert terms["relational"].item() == pytest.approx(expected, rel=1e-4, abs=1e-7)
    assert terms["loss"].item() == pytest.approx(terms["recon"].item() + 0.5 * expected, rel=1e-4)
    if s0 > 0:
        assert ignored > 0  # the threshold really cuts some relations


def test_a_single_object_has_no_pairs():
    x, x_hat = torch.rand(1, 5), torch.rand(1, 5, requires_grad=True)
    value = relational_loss(x_hat, x, 0.0, "dot")
    assert value.item() == 0.0 and value.requires_grad


def strong_relation_error(model, X: np.ndarray, s0: float) -> float:
    """Mean squared error of the reconstructed dot products over the pairs with x_i.x_j > s0."""
    R = apply_array(model, X)
    upper = np.triu_indices(len(X), 1)
    true, rebuilt = (X @ X.T)[upper], (R @ R.T)[upper]
    kept = true > s0
    return float(((rebuilt - true)[kept] ** 2).mean())


def test_reconstructs_strong_relations_better_than_the_plain_autoencoder(prepared_digits):
    X, X_test = prepared_digits.train.X, prepared_digits.test.X
    s0 = float(np.median((X @ X.T)[np.triu_indices(len(X), 1)]))  # ignore the weaker half
    plain_errors, relational_errors = [], []
    for seed in range(3):
        shape = dict(in_features=64, hidden=(64,), code_dim=8, seed=seed)
        trainer = Trainer(TrainerConfig(epochs=20, lr=1e-3, seed=seed))
        plain = Autoencoder(AutoencoderConfig(**shape))
        relational = RelationalAutoencoder(
            RelationalAutoencoderConfig(relational_weight=0.003, relation_threshold=s0, **shape)
        )
        trainer.fit(plain, {"x": X})
        trainer.fit(relational, {"x": X})
        plain_errors.append(strong_relation_error(plain, X_test, s0))
        relational_errors.append(strong_relation_error(relational, X_test, s0))
    assert np.mean(relational_errors) < 0.9 * np.mean(plain_errors)
