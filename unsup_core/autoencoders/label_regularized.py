"""The label-regularised autoencoder: reconstruct every object, classify the labelled ones."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..training.runtime import seeded
from ..validation import data_field
from .denoising import gaussian_corruption
from .layers import mlp, reconstruction_loss
from .plain import Autoencoder, AutoencoderConfig


def labelled_cross_entropy(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy and accuracy of logits (B, K) over the objects with a known label
    (``y`` (B,) >= 0; -1 marks an unlabelled object). Both are 0 when no object is labelled."""
    known = y >= 0
    weight = known.to(logits.dtype)
    count = weight.sum().clamp_min(1.0)
    per_object = F.cross_entropy(logits, y.clamp_min(0), reduction="none")
    correct = (logits.argmax(dim=1) == y).to(logits.dtype)
    return (per_object * weight).sum() / count, (correct * weight).sum() / count


@dataclass(frozen=True)
class LabelRegularizedAutoencoderConfig(AutoencoderConfig):
    """:class:`AutoencoderConfig` plus a classification head on the codes.

    Parameters
    ----------
    n_classes : K >= 2 (set from the data).
    label_weight : lambda >= 0 of the classification term (0 leaves the codes unsupervised and
        only trains the head).
    head_hidden : widths of the head's hidden layers (empty: a linear head).
    noise_std : sigma >= 0 of the Gaussian corruption x~ = x + sigma eps fed to the encoder in
        training (with sigma > 0 the reconstruction term is the denoising one).
    """

    n_classes: int | None = data_field()
    label_weight: float = 1.0
    head_hidden: tuple[int, ...] = ()
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "head_hidden", tuple(int(h) for h in self.head_hidden))
        if self.n_classes is not None and self.n_classes < 2:
            raise ValueError(f"n_classes={self.n_classes} must be >= 2")
        if not 0 <= self.label_weight < float("inf"):
            raise ValueError(f"label_weight={self.label_weight} must be >= 0 and finite")
        if any(h < 1 for h in self.head_hidden):
            raise ValueError(f"head_hidden={self.head_hidden}: every width must be >= 1")
        if not 0 <= self.noise_std < float("inf"):
            raise ValueError(f"noise_std={self.noise_std} must be >= 0 and finite")


class LabelRegularizedAutoencoder(Autoencoder):
    """Autoencoder regularised by a classifier on its codes, for semi-supervised learning
    (Bank, Koenigstein, Giryes 2020, "Autoencoders", arXiv:2003.05991, AE for classification).
    Minimises, per batch,

        L_AE + lambda * mean_{i labelled} CE(h(f(x_i)), y_i),

    with L_AE the mean reconstruction error over all objects of the batch (labelled or not),
    f the encoder and h the head: logits (B, K) = h(z), z (B, code_dim). The mean runs over the
    k_b labelled batch members only (a batch without any contributes 0), so this is the course
    formula L_AE + lambda' sum_{labelled} CE, normalised by B, with lambda' = lambda B / k_b:
    a few labels are not drowned by the many reconstructions.

    With ``noise_std`` sigma > 0 (training mode only) the encoder sees x~ = x + sigma eps,
    eps ~ N(0, I): L_AE = mean_i L(g(f(x~_i)), x_i) is the denoising reconstruction error and
    the head classifies f(x~_i), the codes of the same corrupted copies (the noise then also
    augments the few labelled objects). In eval mode nothing is corrupted.

    Batches: ``{"x": (B, in_features), "y": (B,) int}``, y = -1 for unlabelled objects (a batch
    without "y" is all unlabelled). Terms: ``recon``, ``classification`` (the mean
    cross-entropy), ``accuracy`` (of the head on the labelled batch members; 0 if none);
    ``loss = recon + label_weight * classification``.
    """

    config: LabelRegularizedAutoencoderConfig

    def __init__(self, config: LabelRegularizedAutoencoderConfig) -> None:
        super().__init__(config)
        with seeded(config.seed):
            self.head = mlp(
                [config.code_dim, *config.head_hidden, config.n_classes],
                config.activation,
                "identity",
            )

    def logits(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B, n_classes) class scores of the head on the codes."""
        return self.head(self.encode(x))

    def predict(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B,) predicted class indices (int64)."""
        return self.logits(x).argmax(dim=1)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x = batch["x"]
        noisy = self.training and self.config.noise_std > 0
        z = self.encode(gaussian_corruption(x, self.config.noise_std) if noisy else x)
        recon = reconstruction_loss(
            self.decode(z), x, self.config.recon_loss, batch.get("observed")
        )
        y = batch.get("y")
        if y is None:
            y = torch.full((x.shape[0],), -1, dtype=torch.long, device=x.device)
        classification, accuracy = labelled_cross_entropy(self.head(z), y.long())
        return {
            "loss": recon + self.config.label_weight * classification,
            "recon": recon,
            "classification": classification,
            "accuracy": accuracy.detach(),
        }
