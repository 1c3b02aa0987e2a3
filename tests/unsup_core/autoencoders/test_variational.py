"""The variational autoencoder: configuration errors, the closed-form KL against Monte Carlo, the
ELBO against an independent computation, training, sampling, interpolation and units in use."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from unsup_core.autoencoders.variational import (
    VariationalAutoencoder,
    VariationalAutoencoderConfig,
    gaussian_kl,
)
from unsup_core.training import Trainer, TrainerConfig, evaluate


def vae(**kwargs) -> VariationalAutoencoder:
    """A 64 -> 64 -> 8 Bernoulli VAE; ``kwargs`` override its config."""
    return VariationalAutoencoder(
        VariationalAutoencoderConfig(
            **{"in_features": 64, "hidden": (64,), "code_dim": 8, **kwargs}
        )
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"likelihood": "poisson"},
            r"likelihood='poisson' is not one of \['bernoulli', 'gaussian'\]",
        ),
        (
            {"decoder_variance": "free"},
            r"decoder_variance='free' is not one of \['fixed', 'learned'\]",
        ),
        ({"decoder_std": 0.0}, r"decoder_std=0.0 must be > 0 and finite"),
        ({"prior_std": -1.0}, r"prior_std=-1.0 must be > 0 and finite"),
        ({"code_activation": "tanh"}, r"code_activation='tanh' is not one of \['identity'\]"),
        (
            {"output_activation": "sigmoid"},
            r"output_activation='sigmoid' is not one of \['identity'\]",
        ),
    ],
)
def test_variational_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VariationalAutoencoderConfig(in_features=12, **kwargs)


@pytest.mark.parametrize("prior_std", [1.0, 2.0])
def test_closed_form_kl_equals_a_monte_carlo_estimate(prior_std):
    g = torch.Generator().manual_seed(0)
    mu, log_var = (
        torch.randn(3, 4, generator=g, dtype=torch.float64),
        torch.randn(3, 4, generator=g, dtype=torch.float64),
    )
    q, p = Normal(mu, torch.exp(0.5 * log_var)), Normal(0.0, prior_std)
    z = mu + torch.exp(0.5 * log_var) * torch.randn(200_000, 3, 4, generator=g, dtype=torch.float64)
    log_ratio = q.log_prob(z) - p.log_prob(z)
    estimate, stderr = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(z.shape[0])
    closed = gaussian_kl(mu, log_var, prior_std)
    assert (closed >= 0).all()
    assert ((estimate - closed).abs() <= 5 * stderr + 1e-4).all()


@pytest.mark.parametrize(
    "likelihood, variance", [("bernoulli", "fixed"), ("gaussian", "fixed"), ("gaussian", "learned")]
)
def test_elbo_and_loss_terms_match_an_independent_computation(likelihood, variance):
    model = vae(likelihood=likelihood, decoder_variance=variance, decoder_std=0.3)
    x = torch.rand(6, 64, generator=torch.Generator().manual_seed(1))
    elbo = model.elbo(x, samples=1, generator=torch.Generator().manual_seed(2))
    eps = torch.randn(6, 8, generator=torch.Generator().manual_seed(2))  # the same draw
    with torch.no_grad():
        mu, log_var = model.posterior(x)
        out = model.decoder(mu + torch.exp(0.5 * log_var) * eps).double()
        xd = x.double()
        if likelihood == "bernoulli":
            p = torch.sigmoid(out)
            nll = -(xd * p.log() + (1 - xd) * (1 - p).log()).sum(1)
        else:
            log_pdf = Normal(out, torch.full_like(out, 0.3)).log_prob(xd)
            nll = -log_pdf.sum(1)
        var = log_var.double().exp()
        kl = 0.5 * (var + mu.double() ** 2 - 1 - var.log()).sum(1)
    assert elbo == pytest.approx(-(nll + kl).mean().item(), rel=1e-5)
    g, h = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    singles = [model.elbo(x, generator=h) for _ in range(3)]
    assert model.elbo(x, samples=3, generator=g) == pytest.approx(np.mean(singles), rel=1e-5)
    assert len(set(singles)) == 3  # one-sample estimates differ: the ELBO is stochastic
    terms = model.loss({"x": x})
    assert terms["loss"].item() == pytest.approx(terms["nll"].item() + terms["kl"].item())
    assert terms["elbo"].item() == pytest.approx(-terms["loss"].item())
    assert terms["kl"].item() == pytest.approx(kl.mean().item(), rel=1e-5)  # KL needs no sample


def test_training_improves_the_elbo_and_uses_some_units(prepared_digits):
    X, X_val = prepared_digits.train.X, prepared_digits.val.X
    model = vae(code_dim=8)
    before = model.elbo(X_val, samples=5, generator=torch.Generator().manual_seed(0))
    history = Trainer(TrainerConfig(epochs=15, lr=3e-3)).fit(model, {"x": X}, {"x": X_val})
    after = model.elbo(X_val, samples=5, generator=torch.Generator().manual_seed(0))
    assert after > before + 10  # nats per image: ~-45 untrained
    elbo = history.series("train/elbo")
    assert elbo[-1] > elbo[0] and history.series("val/elbo")[-1] > history.series("val/elbo")[0]

    kl = model.kl_per_unit(X_val)
    assert kl.shape == (8,) and (kl >= 0).all()
    used = model.active_units(X_val)
    assert used == int((kl > 0.01).sum()) and 1 <= used <= 8
    # a unit whose mean and variance ignore x sits on the prior: it is not in use
    unit = int(np.argmax(kl))
    with torch.no_grad():
        for layer in (model.encoder[-2], model.log_var_head):
            layer.weight[unit] = 0.0
            layer.bias[unit] = 0.0
    assert model.kl_per_unit(X_val)[unit] == 0.0 and model.active_units(X_val) == used - 1


def test_samples_have_the_data_shape_and_range():
    model = vae()
    samples = model.sample(50, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (50, 64) and (samples >= 0).all() and (samples <= 1).all()
    again = model.sample(50, generator=torch.Generator().manual_seed(0))
    other = model.sample(50, generator=torch.Generator().manual_seed(1))
    assert torch.equal(samples, again) and not torch.equal(samples, other)


def test_interpolation_ends_decode_the_codes_of_the_ends():
    model = vae().eval()
    x_a, x_b = torch.rand(2, 64, generator=torch.Generator().manual_seed(3))
    path = model.interpolate(x_a, x_b, steps=5)
    with torch.no_grad():
        z_a, z_b = model.encode(x_a[None]), model.encode(x_b[None])
        torch.testing.assert_close(path[0], model.decode(z_a)[0])
        torch.testing.assert_close(path[-1], model.decode(z_b)[0])
        torch.testing.assert_close(path[2], model.decode((z_a + z_b) / 2)[0])
    assert path.shape == (5, 64)
    with pytest.raises(ValueError, match="steps=1 must be >= 2"):
        model.interpolate(x_a, x_b, steps=1)


def test_forward_samples_in_training_and_uses_the_mean_in_eval():
    model = vae()
    x = torch.rand(4, 64)
    assert not torch.equal(model(x), model(x))
    model.eval()
    torch.testing.assert_close(model(x), model.decode(model.encode(x)))
    torch.testing.assert_close(model(x), model(x))


def test_same_seed_same_training():
    X = np.random.default_rng(0).uniform(0, 1, size=(128, 64)).astype(np.float32)
    models = [vae(seed=1), vae(seed=1)]
    for model in models:
        Trainer(TrainerConfig(epochs=2, seed=5)).fit(model, {"x": X})
    for a, b in zip(*(m.state_dict().values() for m in models)):
        assert torch.equal(a, b)


def test_test_elbo_ignores_the_global_random_state():
    model = vae(seed=3).eval()
    x = torch.rand(40, 64, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(123)
    first_loss, first_elbo = evaluate(model, {"x": x}), model.elbo(x, samples=2)
    torch.manual_seed(456)
    torch.randn(10)
    second_loss, second_elbo = evaluate(model, {"x": x}), model.elbo(x, samples=2)
    assert first_loss == second_loss and first_elbo == second_elbo
    # the default draws are those of a generator seeded with config.seed: one sample of them is
    # the eval-mode loss, and another config seed draws others
    assert model.elbo(x) == pytest.approx(-first_loss["loss"], rel=1e-6)
    assert first_elbo == model.elbo(x, samples=2, generator=torch.Generator().manual_seed(3))
    other = vae(seed=4).eval()
    other.load_state_dict(model.state_dict())
    assert other.elbo(x, samples=2) != first_elbo
