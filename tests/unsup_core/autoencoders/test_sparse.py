"""The sparse autoencoder: configuration, penalties against hand computations, sparse digit
codes."""

import math

import numpy as np
import pytest
import torch

from unsup_core.arrays import apply_array
from unsup_core.autoencoders import Autoencoder, AutoencoderConfig
from unsup_core.autoencoders.sparse import SparseAutoencoder, SparseAutoencoderConfig, kl_sparsity
from unsup_core.evaluation import near_zero_fraction
from unsup_core.training import Trainer, TrainerConfig


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weight_norm": 3}, r"weight_norm=3 is not one of \[1, 2\]"),
        ({"sparsity_target": 1.0}, r"sparsity_target=1.0 must lie in \(0, 1\)"),
        ({"code_l1": -0.1}, "code_l1=-0.1 must be >= 0"),
        ({"kl_sparsity": 0.1}, "kl_sparsity=0.1 > 0 needs code_activation='sigmoid'"),
    ],
)
def test_sparse_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SparseAutoencoderConfig(in_features=12, **kwargs)


def tiny(**kwargs) -> SparseAutoencoder:
    """3 -> 2 -> 3 with known weights and (large) biases that the weight penalty must skip."""
    m = SparseAutoencoder(SparseAutoencoderConfig(in_features=3, hidden=(), code_dim=2, **kwargs))
    with torch.no_grad():
        m.encoder[0].weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]))
        m.decoder[0].weight.copy_(torch.tensor([[2.0, -1.0], [0.5, 0.0], [-4.0, 1.0]]))
        for layer in (m.encoder[0], m.decoder[0]):
            layer.bias.fill_(10.0)
    return m


@pytest.mark.parametrize(
    "p, expected",
    [
        (1, (1 + 2 + 0.5 + 0 + 3 + 1) + (2 + 1 + 0.5 + 0 + 4 + 1)),
        (2, math.sqrt(1 + 4 + 0.25 + 0 + 9 + 1) + math.sqrt(4 + 1 + 0.25 + 0 + 16 + 1)),
    ],
)
def test_weight_penalty_is_the_norm_of_the_weights_only(p, expected):
    m = tiny(weight_penalty=0.5, weight_norm=p)
    x = torch.rand(4, 3)
    terms = m.loss({"x": x})
    assert terms["weight_penalty"].item() == pytest.approx(expected, rel=1e-6)
    assert terms["loss"].item() == pytest.approx(terms["recon"].item() + 0.5 * expected, rel=1e-6)


def test_code_l1_is_the_mean_over_the_batch_of_the_summed_absolute_codes():
    m = tiny(code_l1=0.1)
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    # codes: W x + 10 = [11, 10] and [-2 + 1 + 10, 3 - 2 + 10] = [9, 11]
    assert m.loss({"x": x})["code_l1"].item() == pytest.approx((11 + 10 + 9 + 11) / 2)


def test_kl_term_equals_a_hand_computation():
    z = torch.tensor([[0.1, 0.5], [0.3, 0.7]])  # rho = (0.2, 0.6)
    kl = sum(0.05 * math.log(0.05 / r) + 0.95 * math.log(0.95 / (1 - r)) for r in (0.2, 0.6))
    assert kl_sparsity(z, 0.05).item() == pytest.approx(kl, rel=1e-6)
    assert kl_sparsity(torch.full((3, 4), 0.05), 0.05).item() == pytest.approx(0.0, abs=1e-7)

    m = SparseAutoencoder(
        SparseAutoencoderConfig(
            in_features=6, hidden=(5,), code_dim=4, code_activation="sigmoid", kl_sparsity=2.0
        )
    )
    x = torch.rand(7, 6)
    rho = m.encode(x).detach().numpy().astype(np.float64).mean(axis=0)
    naive = np.sum(0.05 * np.log(0.05 / rho) + 0.95 * np.log(0.95 / (1 - rho)))
    terms = m.loss({"x": x})
    assert terms["kl_sparsity"].item() == pytest.approx(naive, rel=1e-5)
    assert terms["loss"].item() == pytest.approx(terms["recon"].item() + 2.0 * naive, rel=1e-5)


def test_only_weighted_penalties_are_reported():
    m = SparseAutoencoder(
        SparseAutoencoderConfig(in_features=4, hidden=(), code_dim=2, code_l1=0.1)
    )
    assert set(m.loss({"x": torch.rand(3, 4)})) == {"loss", "recon", "code_l1"}
    plain = SparseAutoencoder(SparseAutoencoderConfig(in_features=4, hidden=(), code_dim=2))
    terms = plain.loss({"x": torch.rand(3, 4)})
    assert set(terms) == {"loss", "recon"} and torch.equal(terms["loss"], terms["recon"])


def _train(model, X):
    """``model`` trained in place on X for 150 epochs (Adam, lr 3e-3); returns it."""
    Trainer(TrainerConfig(epochs=150, lr=3e-3, batch_size=64)).fit(model, {"x": X})
    return model


@pytest.mark.slow
@pytest.mark.parametrize(
    "code_activation, penalty",
    [
        ("relu", {"code_l1": 3e-3}),
        ("sigmoid", {"kl_sparsity": 3e-3, "sparsity_target": 0.05}),
    ],
    ids=["l1_codes", "kl"],
)
def test_penalised_codes_are_sparser_at_similar_reconstruction(
    prepared_digits, code_activation, penalty
):
    """Against the plain 64-32-64 autoencoder with the same code activation; the sparse codes
    are overcomplete (128 units), as in sparse coding."""
    X, X_test = prepared_digits.train.X, prepared_digits.test.X
    plain = _train(
        Autoencoder(
            AutoencoderConfig(
                in_features=64, hidden=(), code_dim=32, code_activation=code_activation
            )
        ),
        X,
    )
    sparse = _train(
        SparseAutoencoder(
            SparseAutoencoderConfig(
                in_features=64, hidden=(), code_dim=128, code_activation=code_activation, **penalty
            )
        ),
        X,
    )

    def test_mse(m):
        return ((apply_array(m, X_test) - X_test) ** 2).mean()

    assert test_mse(sparse) < 1.5 * test_mse(plain)
    codes = apply_array(sparse, X, "encode")
    assert near_zero_fraction(codes) > near_zero_fraction(apply_array(plain, X, "encode")) + 0.2
    if "kl_sparsity" in penalty:
        assert abs(codes.mean() - penalty["sparsity_target"]) < 0.02
