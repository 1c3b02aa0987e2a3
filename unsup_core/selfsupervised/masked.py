"""Masked-feature reconstruction: a pretext task for any table, no image structure needed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from ..autoencoders.layers import Activation, check_activation, mlp
from ..training.runtime import eval_generator, seeded
from ..validation import check_choice, choices, data_field, require_data
from .encoders import MLPEncoder

MaskToken = Literal["zero", "learned"]
MASK_TOKENS = choices(MaskToken)


def sample_feature_mask(
    shape: torch.Size | tuple[int, ...],
    mask_prob: float,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Boolean mask (B, d): every entry independently True (masked) with probability p."""
    return torch.rand(shape, generator=generator, device=device) < mask_prob


def masked_mse(x_hat: Tensor, x: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over masked entries only,

    sum_ij m_ij (x^_ij - x_ij)^2 / sum_ij m_ij  (0 when nothing is masked);

    x_hat, x (B, d) float, mask (B, d) bool or 0/1 -> scalar.
    """
    weight = mask.to(x.dtype)
    return (weight * (x_hat - x) ** 2).sum() / weight.sum().clamp_min(1.0)


@dataclass(frozen=True)
class MaskedFeatureConfig:
    """Encoder ``in_features -> *hidden -> code_dim``, decoder ``code_dim -> *decoder_hidden ->
    in_features``; each feature masked with probability ``mask_prob`` and replaced by a token.

    Parameters
    ----------
    in_features : input width (set from the data).
    hidden : widths of the encoder's hidden layers.
    code_dim : width of the code.
    decoder_hidden : widths of the decoder's hidden layers.
    mask_prob : probability in (0, 1) that a feature is masked.
    mask_token : what a masked feature becomes: "zero" or a "learned" per-feature value.
    activation : activation of encoder and decoder.
    seed : seed of the initialisation (and of the evaluation masks).
    """

    in_features: int | None = data_field()
    hidden: tuple[int, ...] = (128,)
    code_dim: int = 32
    decoder_hidden: tuple[int, ...] = (128,)
    mask_prob: float = 0.3
    mask_token: MaskToken = "learned"
    activation: Activation = "relu"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("hidden", "decoder_hidden"):
            object.__setattr__(self, name, tuple(int(w) for w in getattr(self, name)))
            if any(w < 1 for w in getattr(self, name)):
                raise ValueError(f"{name}={getattr(self, name)}: every width must be >= 1")
        if self.in_features is not None and self.in_features < 1:
            raise ValueError(f"in_features={self.in_features} must be >= 1")
        if self.code_dim < 1:
            raise ValueError(f"code_dim={self.code_dim} must be >= 1")
        if not 0 < self.mask_prob < 1:
            raise ValueError(f"mask_prob={self.mask_prob} must lie in (0, 1)")
        check_choice("mask_token", self.mask_token, MASK_TOKENS)
        check_activation("activation", self.activation)


class MaskedFeatureModel(nn.Module):
    """Masked-feature modelling for tabular data (as in the mask-and-reconstruct pretext of VIME,
    Yoon et al. 2020, and masked autoencoding, He et al. 2022; a self-supervised task in the
    sense of Doersch, Gupta & Efros 2015 that needs no image): with a random mask m (B, d),

    x~ = (1 - m) * x + m * t,   L = masked_mse(g(f(x~)), x, m),

    t = 0 or a learned token per feature; only masked entries are scored (and only observed ones
    when the batch carries an ``observed`` mask). Masks come from torch's global RNG in training
    (seeded by the Trainer) and from a generator seeded with ``config.seed`` in eval mode.

    Batches: ``{"x": (B, in_features)}``, optionally ``{"observed": (B, in_features) bool}``.
    Terms: ``loss`` = ``masked_mse``. :attr:`encoder` f: (B, in_features) -> (B, code_dim)
    (attribute ``out_features``) is applied to unmasked data downstream.
    """

    def __init__(self, config: MaskedFeatureConfig) -> None:
        super().__init__()
        require_data(config, type(self).__name__)
        self.config = config
        with seeded(config.seed):
            self.encoder = MLPEncoder(
                config.in_features, config.hidden, config.code_dim, config.activation
            )
            self.decoder = mlp(
                [config.code_dim, *config.decoder_hidden, config.in_features],
                config.activation,
                "identity",
            )
            token = torch.zeros(config.in_features)
            if config.mask_token == "learned":
                self.mask_token = nn.Parameter(token)
            else:
                self.register_buffer("mask_token", token)

    @property
    def out_features(self) -> int:
        """Width of :meth:`encode`'s codes (so the model itself can be transferred)."""
        return self.encoder.out_features

    def encode(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B, code_dim)."""
        return self.encoder(x)

    def apply_mask(self, x: Tensor, mask: Tensor) -> Tensor:
        """x~: masked entries of x (B, d) replaced by the mask token (B, d)."""
        return torch.where(mask, self.mask_token.to(x.dtype).expand_as(x), x)

    def reconstruct(self, x: Tensor, mask: Tensor) -> Tensor:
        """g(f(x~)) (B, d) for a given boolean mask (B, d)."""
        return self.decoder(self.encoder(self.apply_mask(x, mask)))

    def masked_loss(self, x: Tensor, mask: Tensor, observed: Tensor | None = None) -> Tensor:
        """The masked MSE for a given mask; entries not ``observed`` are never scored."""
        scored = mask if observed is None else mask & observed.bool()
        return masked_mse(self.reconstruct(x, mask), x, scored)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x = batch["x"]
        generator = eval_generator(self, self.config.seed, x.device)
        mask = sample_feature_mask(x.shape, self.config.mask_prob, generator, x.device)
        mse = self.masked_loss(x, mask, batch.get("observed"))
        return {"loss": mse, "masked_mse": mse}
