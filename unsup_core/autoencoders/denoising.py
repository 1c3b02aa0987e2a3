"""The denoising autoencoder: reconstruct the clean input from a corrupted copy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ..validation import check_choice, choices
from .layers import reconstruction_loss
from .plain import Autoencoder, AutoencoderConfig

Corruption = Literal["gaussian", "masking"]
CORRUPTIONS = choices(Corruption)


def gaussian_corruption(x: Tensor, noise_std: float) -> Tensor:
    """x~ = x + sigma eps, eps ~ N(0, I); same shape as x."""
    return x + noise_std * torch.randn_like(x)


def masking_corruption(x: Tensor, mask_prob: float) -> Tensor:
    """x~ = x with each entry independently set to 0 with probability p0; same shape as x."""
    return x * (torch.rand_like(x) >= mask_prob).to(x.dtype)


@dataclass(frozen=True)
class DenoisingAutoencoderConfig(AutoencoderConfig):
    """The corruption q(x~ | x) the encoder sees in training.

    Parameters
    ----------
    corruption : "gaussian" (adds N(0, noise_std^2 I) noise) or "masking" (zeroes each entry
        with probability mask_prob).
    noise_std : sigma > 0 of the Gaussian corruption.
    mask_prob : p0 in (0, 1) of the masking corruption.
    """

    corruption: Corruption = "gaussian"
    noise_std: float = 0.3
    mask_prob: float = 0.25

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("corruption", self.corruption, CORRUPTIONS)
        if not self.noise_std > 0:
            raise ValueError(f"noise_std={self.noise_std} must be > 0")
        if not 0 < self.mask_prob < 1:
            raise ValueError(f"mask_prob={self.mask_prob} must lie in (0, 1)")


class DenoisingAutoencoder(Autoencoder):
    """Denoising autoencoder (Vincent et al. 2008, "Extracting and composing robust features
    with denoising autoencoders"); minimises

    L = 1/B sum_i L(g(f(x~_i)), x_i),  x~_i ~ q(x~ | x_i),

    the error against the *clean* input, with a fresh corruption of every object in every
    training step (torch's global RNG, which the Trainer seeds). In eval mode
    (``self.training`` False) nothing is corrupted, so validation/test losses and
    ``forward``/``encode`` measure plain reconstruction of the given input.

    Batches: ``{"x": (B, in_features)}`` and optionally ``{"observed": (B, in_features) bool}``.
    """

    config: DenoisingAutoencoderConfig

    def corrupt(self, x: Tensor) -> Tensor:
        """A corrupted copy x~ of x (B, in_features) drawn from q(x~ | x)."""
        if self.config.corruption == "gaussian":
            return gaussian_corruption(x, self.config.noise_std)
        return masking_corruption(x, self.config.mask_prob)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x = batch["x"]
        x_in = self.corrupt(x) if self.training else x
        recon = reconstruction_loss(self(x_in), x, self.config.recon_loss, batch.get("observed"))
        return {"loss": recon, "recon": recon}
