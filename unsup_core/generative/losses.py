"""The GAN objectives of Goodfellow et al. 2014, from D's logits, as public pure functions.

With D(x) = sigmoid(l(x)): ln D(x) = -softplus(-l(x)) and ln(1 - D(x)) = -softplus(l(x)), which
stay finite for any logit. Batch sums are replaced by batch means (the same optimum).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..validation import check_choice
from .config import GENERATOR_LOSSES


def discriminator_loss(
    real_logits: Tensor, fake_logits: Tensor, label_smoothing: float = 0.0
) -> Tensor:
    """D's loss: the negative of its objective, averaged over the batch,

        -1/B sum_i [ln D(x_i) + ln(1 - D(G(z_i)))],

    which D minimises (it maximises sum ln D(x_i) + ln(1 - D(G(z_i)))). With one-sided label
    smoothing s the real term becomes the cross-entropy to the target 1 - s:
    -[(1 - s) ln D(x_i) + s ln(1 - D(x_i))]. ``real_logits`` (B,), ``fake_logits`` (B',).
    """
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing={label_smoothing} must lie in [0, 0.5)")
    real = (1.0 - label_smoothing) * F.softplus(-real_logits) + label_smoothing * F.softplus(
        real_logits
    )
    return real.mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: Tensor, kind: str = "non_saturating") -> Tensor:
    """G's loss on D's logits of its samples G(z_i), (B,) -> scalar, minimised by G.

    ``minimax`` (the original game): 1/B sum_i ln(1 - D(G(z_i))), whose gradient vanishes when
    D rejects the samples confidently (early in training). ``non_saturating`` (the paper's
    practical variant): -1/B sum_i ln D(G(z_i)), the same fixed point with strong gradients
    where G is poor.
    """
    check_choice("generator_loss", kind, GENERATOR_LOSSES)
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    return F.softplus(-fake_logits).mean()


def discriminator_accuracy(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """Share of real objects with D(x) > 1/2 and of fakes with D(G(z)) < 1/2 (both scalars)."""
    return (real_logits > 0).float().mean(), (fake_logits < 0).float().mean()
