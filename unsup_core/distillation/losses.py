"""Distillation losses as public pure functions (Hinton, Vinyals, Dean 2015, "Distilling the
knowledge in a neural network"; Lopez-Paz, Bottou, Schoelkopf, Vapnik 2016, "Unifying
distillation and privileged information")."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..autoencoders.label_regularized import labelled_cross_entropy

KD_TEMPERATURE = 4.0  # Hinton et al.'s soft-target temperature, the default of every KD knob
LUPI_TEMPERATURE = 2.0  # generalized distillation's temperature (chosen on validation, digits)
LUPI_MU = 1.0  # imitation weight mu of generalized distillation when none is chosen


def check_temperature(temperature: float, name: str = "temperature") -> float:
    """Return ``temperature`` as a float, or raise ``ValueError`` unless it is finite and > 0."""
    if not (
        isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0
    ):
        raise ValueError(f"{name}={temperature!r} must be a finite number > 0")
    return float(temperature)


def check_alpha(alpha: float) -> float:
    """Return ``alpha`` as a float, or raise ``ValueError`` unless 0 <= alpha <= 1."""
    if not (isinstance(alpha, (int, float)) and 0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha={alpha!r} must lie in [0, 1]")
    return float(alpha)


def check_mu(mu: float) -> float:
    """Return ``mu`` as a float, or raise ``ValueError`` unless it is finite and >= 0."""
    if not (isinstance(mu, (int, float)) and math.isfinite(mu) and mu >= 0):
        raise ValueError(f"mu={mu!r} must be a finite number >= 0")
    return float(mu)


def soft_targets(teacher_logits: Tensor, temperature: float = 1.0) -> Tensor:
    """q = softmax(t / T): the teacher's softened class probabilities, (B, K) -> (B, K).

    A higher T spreads mass over the wrong classes ("dark knowledge": which 2s look like 7s)."""
    return F.softmax(teacher_logits / check_temperature(temperature), dim=1)


def hard_cross_entropy(student_logits: Tensor, y: Tensor) -> Tensor:
    """Mean CE(softmax(s), y) over the labelled objects (y >= 0; y = -1 is ignored; 0 when
    none is labelled). ``student_logits`` (B, K), ``y`` (B,) int."""
    return labelled_cross_entropy(student_logits, y.long())[0]


def soft_kl(
    student_logits: Tensor,
    teacher_logits: Tensor,
    temperature: float = 1.0,
    student_temperature: float | None = None,
    reduction: str = "mean",
) -> Tensor:
    """KL(q || p) = sum_k q_k (log q_k - log p_k) with q = softmax(t / T) and
    p = softmax(s / T_s), ``T_s = T`` by default (Hinton) or 1 (Lopez-Paz et al.'s
    generalized distillation, where only the teacher is softened).

    No T^2 factor here: :func:`knowledge_distillation_loss` applies it. Differs from the soft
    cross-entropy -sum q log p by the entropy of q only, so the gradients are the same.
    Shapes: logits (B, K); ``reduction="mean"`` -> scalar, ``"none"`` -> (B,)."""
    T = check_temperature(temperature)
    T_s = (
        T
        if student_temperature is None
        else check_temperature(student_temperature, "student_temperature")
    )
    log_q = F.log_softmax(teacher_logits.detach() / T, dim=1)
    log_p = F.log_softmax(student_logits / T_s, dim=1)
    per_object = (log_q.exp() * (log_q - log_p)).sum(dim=1)
    if reduction == "none":
        return per_object
    if reduction != "mean":
        raise ValueError(f"reduction={reduction!r} is not one of ['mean', 'none']")
    return per_object.mean()


def knowledge_distillation_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    y: Tensor,
    temperature: float = KD_TEMPERATURE,
    alpha: float = 0.5,
) -> dict[str, Tensor]:
    """Hinton et al. (2015) knowledge distillation for classification:

        L = alpha * CE(s, y) + (1 - alpha) * T^2 * KL(softmax(t / T) || softmax(s / T))

    ``alpha`` weights the hard term (the true labels), ``1 - alpha`` the imitation of the
    teacher. CE is the mean over the labelled objects of the batch (y >= 0) and KL the mean over
    *all* objects, so an unlabelled object (y = -1) contributes only the imitation term: the
    student learns the teacher's soft targets on every input and the labels where known.
    At T = 1 and alpha = 1 the loss is plain cross-entropy.

    Why T^2: d KL / d s_k = (p_k - q_k) / T, so the soft term's gradient per object is
    (1 - alpha) * T * (softmax(s/T) - softmax(t/T)); for large T, p - q ~ (s - t) / (K T), and
    T^2 keeps the gradient magnitude roughly independent of T (Hinton et al., sec. 2).

    Shapes: logits (B, K), ``y`` (B,) int. Returns ``loss``, ``hard_ce``, ``soft_kl`` (the
    unscaled KL), all scalars. The teacher's logits are detached.
    """
    T, a = check_temperature(temperature), check_alpha(alpha)
    hard = hard_cross_entropy(student_logits, y)
    soft = soft_kl(student_logits, teacher_logits, T)
    return {"loss": a * hard + (1.0 - a) * T * T * soft, "hard_ce": hard, "soft_kl": soft}


def regression_distillation_loss(
    student_out: Tensor, teacher_out: Tensor, y: Tensor, alpha: float = 0.5
) -> dict[str, Tensor]:
    """Distillation of a regressor: L = alpha * mean_known (b(x) - y)^2 + (1 - alpha) *
    mean_all (b(x) - a(x))^2, the squared error to the labels where known (y finite; NaN
    marks an unknown target) and to the teacher's output a(x) everywhere.

    Shapes: (B,) or (B, D) for all three. Returns ``loss``, ``hard_mse``, ``soft_mse``."""
    a = check_alpha(alpha)
    teacher_out = teacher_out.detach().reshape(student_out.shape)
    y = y.reshape(student_out.shape).to(student_out.dtype)
    known = torch.isfinite(y)
    diff = torch.where(known, student_out - torch.nan_to_num(y), torch.zeros_like(student_out))
    hard = (diff**2).sum() / known.sum().clamp_min(1)
    soft = ((student_out - teacher_out) ** 2).mean()
    return {"loss": a * hard + (1.0 - a) * soft, "hard_mse": hard, "soft_mse": soft}


def generalized_distillation_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    y: Tensor,
    temperature: float = LUPI_TEMPERATURE,
    mu: float = LUPI_MU,
) -> dict[str, Tensor]:
    """Generalized distillation (Lopez-Paz et al. 2016) in the LUPI form of Vapnik & Vashist
    (2009): sum_i L(a(x_i, w), y_i) + mu * sum_i L(a(x_i, w), a(x*_i, w*)), here

        L = CE_labelled(softmax(s), y) + mu * KL(softmax(t / T) || softmax(s))

    where t = a(x*, w*) are the teacher's logits on the privileged view x*, softened with T
    as in Lopez-Paz et al. (the student itself is not softened), and s = a(x, w). Unlabelled
    objects contribute only the imitation term. (Lopez-Paz et al. write (1 - lambda) and
    lambda; mu = lambda / (1 - lambda) gives the same minimiser.)

    Shapes: logits (B, K), y (B,). Returns ``loss``, ``hard_ce``, ``imitation``."""
    T, m = check_temperature(temperature), check_mu(mu)
    hard = hard_cross_entropy(student_logits, y)
    imitation = soft_kl(student_logits, teacher_logits, T, student_temperature=1.0)
    return {"loss": hard + m * imitation, "hard_ce": hard, "imitation": imitation}
