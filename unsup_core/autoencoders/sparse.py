"""The sparse autoencoder: weight penalty, L1 on codes, KL sparsity of mean activations."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .layers import reconstruction_loss
from .plain import Autoencoder, AutoencoderConfig


def weight_norm(module: nn.Module, p: int) -> Tensor:
    """||W||_p of all weight matrices of the ``nn.Linear`` layers of ``module`` taken as one
    vector (biases excluded): sum |w| for p = 1, sqrt(sum w^2) for p = 2."""
    weights = torch.cat(
        [layer.weight.reshape(-1) for layer in module.modules() if isinstance(layer, nn.Linear)]
    )
    return weights.abs().sum() if p == 1 else weights.pow(2).sum().sqrt()


def code_l1(z: Tensor) -> Tensor:
    """1/B sum_i sum_j |z_ij| for codes z of shape (B, code_dim)."""
    return z.abs().sum(dim=1).mean()


def kl_sparsity(z: Tensor, target: float, clamp: float = 1e-6) -> Tensor:
    """sum_j KL(eps || rho_j) with rho_j = 1/B sum_i z_ij the mean activation of unit j over the
    batch (z of shape (B, code_dim), entries in [0, 1]) and
    KL(eps || r) = eps log(eps / r) + (1 - eps) log((1 - eps) / (1 - r)).
    rho is clamped to [clamp, 1 - clamp] so that a dead or saturated unit gives a finite value."""
    rho = z.mean(dim=0).clamp(clamp, 1 - clamp)
    eps = target
    return (eps * torch.log(eps / rho) + (1 - eps) * torch.log((1 - eps) / (1 - rho))).sum()


@dataclass(frozen=True)
class SparseAutoencoderConfig(AutoencoderConfig):
    """Penalty weights (each 0 by default, so any combination can be chosen).

    Parameters
    ----------
    weight_penalty : lambda_w on ||alpha||_p + ||beta||_p of the weight matrices.
    weight_norm : p, 1 or 2.
    code_l1 : lambda_c on the L1 norm of the codes.
    kl_sparsity : lambda_kl on the KL divergence of the mean code activations from
        ``sparsity_target`` (needs code_activation "sigmoid": codes in [0, 1]).
    sparsity_target : eps in (0, 1), the target mean activation.
    """

    weight_penalty: float = 0.0
    weight_norm: int = 1
    code_l1: float = 0.0
    kl_sparsity: float = 0.0
    sparsity_target: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("weight_penalty", "code_l1", "kl_sparsity"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 0")
        if self.weight_norm not in (1, 2):
            raise ValueError(f"weight_norm={self.weight_norm!r} is not one of [1, 2]")
        if not 0 < self.sparsity_target < 1:
            raise ValueError(f"sparsity_target={self.sparsity_target} must lie in (0, 1)")
        if self.kl_sparsity > 0 and self.code_activation != "sigmoid":
            raise ValueError(
                f"kl_sparsity={self.kl_sparsity} > 0 needs code_activation='sigmoid' "
                f"(codes in [0, 1]), got code_activation={self.code_activation!r}"
            )


class SparseAutoencoder(Autoencoder):
    """Sparse autoencoder; minimises

    L = L_AE + lambda_w (||alpha||_p + ||beta||_p) + lambda_c 1/B sum_i sum_j |f_j(x_i)|
        + lambda_kl sum_j KL(eps || rho_j),  rho_j = 1/B sum_i f_j(x_i),

    alpha, beta the encoder and decoder weight matrices (no biases), B the batch size
    (Ng 2011, "Sparse autoencoder", CS294A notes; Arpit et al. 2015, "Why regularized
    auto-encoders learn sparse representation?"). ``loss`` returns the unweighted penalties as
    ``weight_penalty``, ``code_l1`` and ``kl_sparsity`` (only those with a weight > 0) next to
    ``recon``; ``loss`` is the weighted total. rho is a minibatch estimate.

    Batches: ``{"x": (B, in_features)}`` and optionally ``{"observed": (B, in_features) bool}``.
    """

    config: SparseAutoencoderConfig

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        cfg = self.config
        x = batch["x"]
        z = self.encode(x)
        recon = reconstruction_loss(self.decode(z), x, cfg.recon_loss, batch.get("observed"))
        terms = {"recon": recon}
        total = recon
        if cfg.weight_penalty > 0:
            terms["weight_penalty"] = weight_norm(self.encoder, cfg.weight_norm) + weight_norm(
                self.decoder, cfg.weight_norm
            )
            total = total + cfg.weight_penalty * terms["weight_penalty"]
        if cfg.code_l1 > 0:
            terms["code_l1"] = code_l1(z)
            total = total + cfg.code_l1 * terms["code_l1"]
        if cfg.kl_sparsity > 0:
            terms["kl_sparsity"] = kl_sparsity(z, cfg.sparsity_target)
            total = total + cfg.kl_sparsity * terms["kl_sparsity"]
        return {"loss": total, **terms}
