"""The contractive autoencoder: which penalty path it takes, the penalty against naive Jacobians,
its configuration errors, and contraction on digits."""

import pytest
import torch

from unsup_core.autoencoders import Autoencoder, AutoencoderConfig
from unsup_core.autoencoders.contractive import (
    ContractiveAutoencoder,
    ContractiveAutoencoderConfig,
    jacobian_norm,
)
from unsup_core.evaluation import mean_jacobian_norm
from unsup_core.training import Trainer, TrainerConfig, evaluate


def cae(hidden=(), **kwargs) -> ContractiveAutoencoder:
    """A contractive autoencoder of 12 features (3 sigmoid codes unless ``kwargs`` say else)."""
    kwargs = {"code_dim": 3, "code_activation": "sigmoid", "contractive_weight": 1e-3, **kwargs}
    return ContractiveAutoencoder(
        ContractiveAutoencoderConfig(in_features=12, hidden=hidden, **kwargs)
    )


@pytest.mark.parametrize(
    "hidden, kwargs, closed_form",
    [
        ((), {}, True),
        ((16,), {}, False),
        ((), {"code_activation": "tanh"}, False),
    ],
    ids=["one_sigmoid_layer", "hidden_layer", "tanh_codes"],
)
def test_the_closed_form_serves_one_sigmoid_layer_only(hidden, kwargs, closed_form):
    assert cae(hidden, **kwargs).closed_form is closed_form


@pytest.mark.parametrize("value", [-1.0, float("nan")])
def test_contractive_bad_config(value):
    with pytest.raises(ValueError, match=f"contractive_weight={value} must be >= 0"):
        ContractiveAutoencoderConfig(in_features=12, contractive_weight=value)


def naive_jacobian_norms(encode, x: torch.Tensor) -> torch.Tensor:
    """||J_f(x_i)||_F^2 per object by torch.autograd.functional.jacobian, one object at a time.

    Parameters
    ----------
    encode : the encoder f, (B, n) -> (B, k).
    x : (B, n) objects.

    Returns
    -------
    (B,) squared Frobenius norms, differentiable w.r.t. the encoder's parameters.
    """
    return torch.stack(
        [
            (
                torch.autograd.functional.jacobian(
                    lambda row: encode(row[None])[0], row, create_graph=True
                )
                ** 2
            ).sum()
            for row in x
        ]
    )


def test_closed_form_equals_the_autograd_jacobian_norm():
    torch.manual_seed(0)
    m = cae(code_dim=5)
    with torch.no_grad():
        m.encoder[0].weight.mul_(4)  # reach the saturated part of the sigmoid too
    x = torch.randn(32, 12)
    closed = m.contractive_penalty(x)
    with torch.no_grad():
        assert closed.item() == pytest.approx(mean_jacobian_norm(m.encode, x), rel=1e-5)
    naive = naive_jacobian_norms(m.encode, x).mean()
    assert closed.item() == pytest.approx(naive.item(), rel=1e-5)
    # and its gradient w.r.t. the weights is the gradient of the true Jacobian norm
    params = list(m.encoder.parameters())
    for a, b in zip(torch.autograd.grad(closed, params), torch.autograd.grad(naive, params)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_autograd_path_matches_a_naive_jacobian_for_a_two_layer_encoder():
    torch.manual_seed(0)
    m = cae(hidden=(7,), activation="tanh", code_dim=4)
    x = torch.randn(9, 12)
    penalty = m.contractive_penalty(x)
    naive = naive_jacobian_norms(m.encode, x)
    torch.testing.assert_close(jacobian_norm(m.encode, x), naive)
    assert penalty.item() == pytest.approx(naive.mean().item(), rel=1e-5)
    params = list(m.encoder.parameters())
    grads = zip(torch.autograd.grad(penalty, params), torch.autograd.grad(naive.mean(), params))
    for a, b in grads:
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    # evaluation runs without gradients: torch.func transforms do not need them
    values = evaluate(m, {"x": x.numpy()})
    assert values["contractive"] == pytest.approx(penalty.item(), rel=1e-5)
    assert values["loss"] == pytest.approx(values["recon"] + 1e-3 * values["contractive"], rel=1e-5)


@pytest.mark.parametrize("hidden, epochs", [((), 30), ((32,), 10)], ids=["closed_form", "autograd"])
def test_trained_cae_contracts_more_than_the_plain_autoencoder(prepared_digits, hidden, epochs):
    X, X_test = prepared_digits.train.X, prepared_digits.test.X
    arch = dict(in_features=64, hidden=hidden, code_dim=32, code_activation="sigmoid")
    plain = Autoencoder(AutoencoderConfig(**arch))
    contractive = ContractiveAutoencoder(ContractiveAutoencoderConfig(**arch))  # default weight
    for m in (plain, contractive):
        Trainer(TrainerConfig(epochs=epochs, lr=3e-3)).fit(m, {"x": X})
    with torch.no_grad():
        assert mean_jacobian_norm(contractive.encode, X_test) < 0.7 * mean_jacobian_norm(
            plain.encode, X_test
        )
