"""The linear autoencoder: the neural generalisation of PCA."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..training.runtime import seeded
from ..validation import require_data
from .plain import Autoencoder, AutoencoderConfig


@dataclass(frozen=True)
class LinearAutoencoderConfig(AutoencoderConfig):
    """Encoder ``z = A x (+ a)``, decoder ``x^ = B z (+ b)``: one linear layer each, no
    activations, quadratic loss.

    Parameters
    ----------
    hidden : must be empty: no hidden layers.
    code_activation : must be "identity".
    output_activation : must be "identity".
    recon_loss : must be "mse": the linear autoencoder minimises the quadratic loss.
    bias : add the offsets a and b (needed unless the data are centred).
    """

    hidden: tuple[int, ...] = ()
    bias: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden:
            raise ValueError(
                f"hidden={self.hidden} must be empty: a linear autoencoder has no hidden layers"
            )
        for name in ("code_activation", "output_activation"):
            if getattr(self, name) != "identity":
                raise ValueError(
                    f"{name}={getattr(self, name)!r} must be 'identity' in a linear autoencoder"
                )
        if self.recon_loss != "mse":
            raise ValueError(
                f"recon_loss={self.recon_loss!r} must be 'mse': the linear "
                "autoencoder minimises the quadratic loss"
            )
        if self.in_features is not None and self.code_dim > self.in_features:
            raise ValueError(
                f"code_dim={self.code_dim} must be <= in_features="
                f"{self.in_features} in a linear autoencoder"
            )


class LinearAutoencoder(Autoencoder):
    """Linear autoencoder ``x^ = B (A x + a) + b``; minimises the mean squared error
    ``1/(l n) sum_i ||B A x_i + B a + b - x_i||^2`` over A (code_dim, in_features) and
    B (in_features, code_dim).

    Its minimisers span the same subspace as the top ``code_dim`` principal components
    (Baldi & Hornik 1989, "Neural networks and principal component analysis"), but A and B
    need not be orthonormal nor B = A^T, and the codes are not ordered by variance.

    Batches: ``{"x": (B, in_features)}`` and optionally ``{"observed": (B, in_features) bool}``.
    """

    def __init__(self, config: LinearAutoencoderConfig) -> None:
        nn.Module.__init__(self)  # the layers differ from the MLP that Autoencoder builds
        require_data(config, type(self).__name__)
        self.config = config
        with seeded(config.seed):
            self.encoder = nn.Sequential(
                nn.Linear(config.in_features, config.code_dim, bias=config.bias)
            )
            self.decoder = nn.Sequential(
                nn.Linear(config.code_dim, config.in_features, bias=config.bias)
            )

    @property
    def encoder_matrix(self) -> Tensor:
        """A, shape (code_dim, in_features)."""
        return self.encoder[0].weight

    @property
    def decoder_matrix(self) -> Tensor:
        """B, shape (in_features, code_dim); its column space is the learned principal
        subspace."""
        return self.decoder[0].weight
