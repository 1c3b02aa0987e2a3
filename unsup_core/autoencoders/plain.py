"""The plain (undercomplete, deterministic) autoencoder."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..training.runtime import seeded
from ..validation import check_choice, data_field, require_data
from .layers import RECON_LOSSES, Activation, ReconLoss, check_activation, mlp, reconstruction_loss


@dataclass(frozen=True)
class AutoencoderConfig:
    """Encoder ``in_features -> *hidden -> code_dim``; decoder the mirror image.

    Parameters
    ----------
    in_features : input width n (set from the data by recipes).
    hidden : widths of the encoder's hidden layers (the decoder mirrors them).
    code_dim : width of the code z.
    activation : activation between hidden layers.
    code_activation : activation of the code layer.
    output_activation : activation of the reconstruction (e.g. sigmoid for data in [0, 1]).
    recon_loss : reconstruction error L: "mse", "l1" or "bce".
    seed : seed of the weight initialisation.
    """

    in_features: int | None = data_field()
    hidden: tuple[int, ...] = (128,)
    code_dim: int = 16
    activation: Activation = "relu"
    code_activation: Activation = "identity"
    output_activation: Activation = "identity"
    recon_loss: ReconLoss = "mse"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.in_features is not None and self.in_features < 1:
            raise ValueError(f"in_features={self.in_features} must be >= 1")
        if self.code_dim < 1:
            raise ValueError(f"code_dim={self.code_dim} must be >= 1")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden={self.hidden}: every width must be >= 1")
        for name in ("activation", "code_activation", "output_activation"):
            check_activation(name, getattr(self, name))
        check_choice("recon_loss", self.recon_loss, RECON_LOSSES)


class EncoderDecoder(nn.Module):
    """Shared behaviour of reconstruction models with ``self.encoder``, ``self.decoder`` and a
    ``config.recon_loss``: x^ = g(f(x)); ``loss`` is the mean reconstruction error L(x^, x),
    over observed entries when the batch has an ``"observed"`` mask."""

    encoder: nn.Module
    decoder: nn.Module

    def encode(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B, code width)."""
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """(B, code width) -> (B, in_features)."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x = batch["x"]
        recon = reconstruction_loss(self(x), x, self.config.recon_loss, batch.get("observed"))
        return {"loss": recon, "recon": recon}


class Autoencoder(EncoderDecoder):
    """x^ = g(f(x)) with MLP encoder f and decoder g; minimises the mean reconstruction error
    L(x^, x) (squared error by default), over observed entries when the batch has a mask.

    Batches: ``{"x": (B, in_features)}`` and optionally ``{"observed": (B, in_features) bool}``.
    """

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        require_data(config, type(self).__name__)
        self.config = config
        sizes = [config.in_features, *config.hidden, config.code_dim]
        with seeded(config.seed):
            self.encoder = mlp(sizes, config.activation, config.code_activation)
            self.decoder = mlp(sizes[::-1], config.activation, config.output_activation)
