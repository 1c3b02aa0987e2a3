"""The plain autoencoder: its reconstruction term, learning digits, seeded initialisation, the
observed-entry mask and its configuration errors (the shared contract is in
``tests/unsup_core/test_model_contract.py``)."""

import pytest
import torch

from unsup_core.autoencoders import Autoencoder, AutoencoderConfig, reconstruction_loss
from unsup_core.training import Trainer, TrainerConfig, evaluate


def model(**kwargs) -> Autoencoder:
    """An 8 -> 16 -> 3 autoencoder; ``kwargs`` override its config."""
    return Autoencoder(AutoencoderConfig(in_features=8, hidden=(16,), code_dim=3, **kwargs))


def test_recon_term_is_the_mean_squared_error():
    m = model()
    x = torch.randn(6, 8)
    assert m.loss({"x": x})["recon"].item() == pytest.approx(((m(x) - x) ** 2).mean().item())


def test_learns_digits_far_better_than_the_mean(prepared_digits):
    data = prepared_digits
    m = Autoencoder(AutoencoderConfig(in_features=64, hidden=(64,), code_dim=16))
    Trainer(TrainerConfig(epochs=15, lr=3e-3)).fit(m, {"x": data.train.X})
    mean_baseline = ((data.test.X - data.train.X.mean(axis=0)) ** 2).mean()
    assert evaluate(m, {"x": data.test.X})["recon"] < 0.4 * mean_baseline


def test_same_seed_same_initial_weights():
    a, b, c = model(seed=3), model(seed=3), model(seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.encoder[0].weight, c.encoder[0].weight)


def test_mask_restricts_the_loss_to_observed_entries():
    m = model()
    x = torch.randn(4, 8)
    observed = torch.ones(4, 8, dtype=torch.bool)
    observed[:, 0] = False
    masked = m.loss({"x": x, "observed": observed})["recon"]
    assert masked.item() == pytest.approx(((m(x) - x)[:, 1:] ** 2).mean().item(), rel=1e-6)
    assert reconstruction_loss(x, x + 1, "l1").item() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"code_dim": 0}, "code_dim=0 must be >= 1"),
        ({"activation": "swish"}, r"activation='swish' is not one of"),
        ({"recon_loss": "huber"}, r"recon_loss='huber' is not one of \['mse', 'l1', 'bce'\]"),
        ({"hidden": (8, 0)}, r"hidden=\(8, 0\): every width must be >= 1"),
    ],
)
def test_bad_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AutoencoderConfig(in_features=8, **kwargs)
