"""The contractive autoencoder: penalise the encoder's Jacobian."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn
from torch.func import jacrev, vmap

from .layers import reconstruction_loss
from .plain import Autoencoder, AutoencoderConfig


def sigmoid_jacobian_norm(z: Tensor, weight: Tensor) -> Tensor:
    """Closed form of ||J_f(x)||_F^2 for f(x) = sigmoid(A x + a):
    sum_d z_d^2 (1 - z_d)^2 sum_j A_dj^2.

    z: codes (B, code_dim); weight: A (code_dim, in_features). Returns (B,).
    """
    return ((z * (1 - z)) ** 2) @ (weight**2).sum(dim=1)


def jacobian_norm(encode: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """||J_f(x_i)||_F^2 = sum_dj (d f_d / d x_j)^2 of any encoder, exactly, by reverse-mode
    autograd (``torch.func.jacrev`` under ``vmap``); differentiable w.r.t. the encoder's
    parameters. x: (B, in_features). Returns (B,)."""
    jacobians = vmap(jacrev(lambda row: encode(row[None])[0]))(x)  # (B, code_dim, in_features)
    return (jacobians**2).sum(dim=(1, 2))


@dataclass(frozen=True)
class ContractiveAutoencoderConfig(AutoencoderConfig):
    """The contractive penalty.

    Parameters
    ----------
    contractive_weight : lambda >= 0 on the mean squared Frobenius norm of the encoder's
        Jacobian (0 is the plain autoencoder).
    """

    contractive_weight: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.contractive_weight >= 0:
            raise ValueError(f"contractive_weight={self.contractive_weight} must be >= 0")


class ContractiveAutoencoder(Autoencoder):
    """Contractive autoencoder (Rifai et al. 2011, "Contractive auto-encoders: explicit
    invariance during feature extraction"); minimises

    L = L_AE + lambda 1/B sum_i ||J_f(x_i)||_F^2,  J_f(x) = d f(x) / d x  (code_dim, in_features).

    With a one-layer sigmoid encoder (``hidden=()``, ``code_activation="sigmoid"``) the penalty
    uses the closed form sum_d z_d^2 (1 - z_d)^2 sum_j A_dj^2; any other encoder gets the exact
    Jacobian from ``torch.func`` (a vectorised backward pass per code unit, so the cost grows
    with ``code_dim``). ``torch.func`` transforms work under ``torch.no_grad``, so evaluation
    needs no ``loss_requires_grad``. The unweighted penalty is returned as ``contractive``.

    Batches: ``{"x": (B, in_features)}`` and optionally ``{"observed": (B, in_features) bool}``.
    """

    config: ContractiveAutoencoderConfig

    @property
    def closed_form(self) -> bool:
        """True when the penalty uses the sigmoid closed form instead of autograd."""
        return not self.config.hidden and self.config.code_activation == "sigmoid"

    def contractive_penalty(self, x: Tensor, z: Tensor | None = None) -> Tensor:
        """1/B sum_i ||J_f(x_i)||_F^2 for x (B, in_features); ``z = f(x)`` may be passed to
        save a forward pass on the closed-form path."""
        if self.closed_form:
            linear: nn.Linear = self.encoder[0]
            z = self.encode(x) if z is None else z
            return sigmoid_jacobian_norm(z, linear.weight).mean()
        return jacobian_norm(self.encode, x).mean()

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x = batch["x"]
        z = self.encode(x)
        recon = reconstruction_loss(
            self.decode(z), x, self.config.recon_loss, batch.get("observed")
        )
        contractive = self.contractive_penalty(x, z)
        return {
            "loss": recon + self.config.contractive_weight * contractive,
            "recon": recon,
            "contractive": contractive,
        }
