"""The denoising autoencoder: configuration errors, corruption only in training, seeded
corruptions, and denoising on digits."""

import pytest
import torch

from unsup_core.arrays import apply_array
from unsup_core.autoencoders import Autoencoder, AutoencoderConfig
from unsup_core.autoencoders.denoising import DenoisingAutoencoder, DenoisingAutoencoderConfig
from unsup_core.training import Trainer, TrainerConfig


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"noise_std": -1.0}, "noise_std=-1.0 must be > 0"),
        ({"mask_prob": 1.0}, r"mask_prob=1.0 must lie in \(0, 1\)"),
        ({"corruption": "salt"}, r"corruption='salt' is not one of \['gaussian', 'masking'\]"),
    ],
)
def test_denoising_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DenoisingAutoencoderConfig(in_features=12, **kwargs)


def dae(**kwargs) -> DenoisingAutoencoder:
    """An 8 -> 16 -> 3 denoising autoencoder; ``kwargs`` override its config."""
    return DenoisingAutoencoder(
        DenoisingAutoencoderConfig(in_features=8, hidden=(16,), code_dim=3, **kwargs)
    )


@pytest.mark.parametrize("corruption", ["gaussian", "masking"])
def test_corruption_only_in_training_mode_and_loss_against_the_clean_input(corruption):
    m = dae(corruption=corruption)
    x = torch.rand(16, 8)
    m.train()
    torch.manual_seed(1)
    noisy_loss = m.loss({"x": x})["recon"]
    torch.manual_seed(1)
    x_tilde = m.corrupt(x)
    assert not torch.equal(x_tilde, x)
    assert noisy_loss.item() == pytest.approx(((m(x_tilde) - x) ** 2).mean().item(), rel=1e-6)
    assert m.loss({"x": x})["recon"].item() != noisy_loss.item()  # a fresh draw every step

    m.eval()
    clean = ((m(x) - x) ** 2).mean().item()
    assert m.loss({"x": x})["recon"].item() == pytest.approx(clean, rel=1e-6)
    assert m.loss({"x": x})["recon"].item() == m.loss({"x": x})["recon"].item()


def test_masking_zeroes_about_p0_of_the_entries_and_gaussian_has_std_sigma():
    x = torch.rand(500, 64) + 0.5  # no zeros before corruption
    torch.manual_seed(0)
    masked = dae(corruption="masking", mask_prob=0.3).corrupt(x)
    zeroed = masked == 0
    assert abs(zeroed.float().mean().item() - 0.3) < 0.01
    torch.testing.assert_close(masked[~zeroed], x[~zeroed])  # the rest untouched
    noise = dae(corruption="gaussian", noise_std=0.2).corrupt(x) - x
    assert abs(noise.mean().item()) < 0.005 and abs(noise.std().item() - 0.2) < 0.005


def test_same_seed_same_corruptions_and_weights():
    X = torch.rand(64, 8).numpy()

    def fit(seed):
        m = dae(corruption="masking")
        Trainer(TrainerConfig(epochs=2, batch_size=16, seed=seed)).fit(m, {"x": X})
        return m.encoder[0].weight

    assert torch.equal(fit(0), fit(0)) and not torch.equal(fit(0), fit(1))


@pytest.mark.parametrize(
    "corruption, corrupt",
    [
        ("gaussian", lambda X, g: X + 0.3 * torch.randn(X.shape, generator=g)),
        ("masking", lambda X, g: X * (torch.rand(X.shape, generator=g) >= 0.3)),
    ],
    ids=["gaussian", "masking"],
)
def test_denoises_corrupted_digits_better_than_the_plain_autoencoder(
    prepared_digits, corruption, corrupt
):
    X, X_test = prepared_digits.train.X, prepared_digits.test.X
    arch = dict(in_features=64, hidden=(64,), code_dim=16)
    plain = Autoencoder(AutoencoderConfig(**arch))
    denoising = DenoisingAutoencoder(
        DenoisingAutoencoderConfig(**arch, corruption=corruption, noise_std=0.3, mask_prob=0.3)
    )
    for m in (plain, denoising):
        Trainer(TrainerConfig(epochs=30, lr=3e-3)).fit(m, {"x": X})
    noisy = corrupt(torch.as_tensor(X_test), torch.Generator().manual_seed(0)).numpy()

    def error(m):
        return float(((apply_array(m, noisy) - X_test) ** 2).mean())

    assert error(denoising) < 0.85 * error(plain)
