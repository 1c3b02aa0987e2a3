"""The relational autoencoder: reconstruct the objects and the strong relations between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..validation import check_choice, choices
from .layers import reconstruction_loss
from .plain import Autoencoder, AutoencoderConfig

Similarity = Literal["dot", "mean_dot", "cosine"]
SIMILARITIES = choices(Similarity)


def pairwise_similarity(x: Tensor, kind: str = "dot") -> Tensor:
    """(B, n) -> (B, B) similarities s_ij of the rows: ``dot`` x_i^T x_j, ``mean_dot``
    x_i^T x_j / n (independent of the number of features), ``cosine`` x_i^T x_j /
    (||x_i|| ||x_j||) (a zero row has similarity 0 to everything)."""
    if kind == "dot":
        return x @ x.T
    if kind == "mean_dot":
        return x @ x.T / x.shape[1]
    if kind == "cosine":
        unit = F.normalize(x, dim=1, eps=1e-8)
        return unit @ unit.T
    raise ValueError(f"similarity={kind!r} is not one of {list(SIMILARITIES)}")


def relational_loss(
    x_hat: Tensor, x: Tensor, threshold: float = 0.0, similarity: str = "dot"
) -> Tensor:
    """Mean over the pairs i < j of the batch of (sigma(s^_ij) - sigma(s_ij))^2, where s and s^
    are :func:`pairwise_similarity` of x (B, n) and of x^ (B, n), and sigma(s) = (s - s0)_+
    with s0 = ``threshold``: relations weaker than s0 are ignored. A batch of fewer than two
    objects has no pairs and gives 0."""
    b = x.shape[0]
    if b < 2:
        return x_hat.sum() * 0.0  # keeps the graph (and the device, dtype)
    rows, cols = torch.triu_indices(b, b, offset=1, device=x.device)
    kept = torch.relu(pairwise_similarity(x, similarity)[rows, cols] - threshold)
    rebuilt = torch.relu(pairwise_similarity(x_hat, similarity)[rows, cols] - threshold)
    return ((rebuilt - kept) ** 2).mean()


@dataclass(frozen=True)
class RelationalAutoencoderConfig(AutoencoderConfig):
    """:class:`AutoencoderConfig` plus the relational penalty. The raw inner product grows
    with the number of features and their scale: on 64 features in [0, 1] it is of order 10, so
    lambda ~ 1e-3..1e-2 (default 0.003) balances the mean squared reconstruction.

    Parameters
    ----------
    relational_weight : lambda >= 0 (0 gives the plain autoencoder).
    relation_threshold : s0, the similarity below which a relation is ignored (0 keeps every
        positive relation).
    similarity : how s_ij is measured: "dot" (the raw inner product of the paper), "mean_dot"
        (divided by the number of features) or "cosine" (in [-1, 1], comparable across data).
    """

    relational_weight: float = 0.003
    relation_threshold: float = 0.0
    similarity: Similarity = "dot"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.relational_weight >= 0:
            raise ValueError(f"relational_weight={self.relational_weight} must be >= 0")
        if not -float("inf") < self.relation_threshold < float("inf"):
            raise ValueError(f"relation_threshold={self.relation_threshold} must be finite")
        check_choice("similarity", self.similarity, SIMILARITIES)


class RelationalAutoencoder(Autoencoder):
    """Relational autoencoder (Meng, Catchpoole, Skillicorn, Kennedy 2018, "Relational
    autoencoder for feature extraction", IJCNN). Minimises, per batch of B objects,

        L_AE + lambda * mean_{i<j} (sigma(s(x^_i, x^_j)) - sigma(s(x_i, x_j)))^2,
        sigma(s) = (s - s0)_+,

    with L_AE the mean reconstruction error of :class:`Autoencoder` (over observed entries when
    the batch has a mask; the relations use the full, imputed rows). The pairs are those within a
    minibatch, so the penalty is an unbiased estimate of the mean over all pairs of the data.

    Batches: ``{"x": (B, in_features)}``, optionally ``{"observed": (B, in_features) bool}``.
    Terms: ``recon``, ``relational``; ``loss = recon + relational_weight * relational``.
    """

    config: RelationalAutoencoderConfig

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        cfg = self.config
        x = batch["x"]
        x_hat = self(x)
        recon = reconstruction_loss(x_hat, x, cfg.recon_loss, batch.get("observed"))
        relational = relational_loss(x_hat, x, cfg.relation_threshold, cfg.similarity)
        return {
            "loss": recon + cfg.relational_weight * relational,
            "recon": recon,
            "relational": relational,
        }
