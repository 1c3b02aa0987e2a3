"""FixMatch: consistency regularisation with confident pseudo-labels (Sohn et al. 2020, "FixMatch:
simplifying semi-supervised learning with consistency and confidence"), on a pretrained encoder.

A classifier g'(f(x)) (an :class:`~unsup_core.transfer.classifier.EncoderClassifier`: the
encoder plus a linear head) sees, at every step, B_l labelled images x_i with labels y_i and B_u
unlabelled images u_j. With a weak view a(.) (a small random shift) and a strong view A(.) (a
larger random affine map, pixel noise, random erasing) of :func:`augment_images`:

    p_j = softmax(g'(f(a(u_j))))            (no gradient through p_j)
    m_j = 1[max_c p_j(c) >= tau],  y^_j = argmax_c p_j(c)
    L = 1/B_l sum_i CE(g'(f(a(x_i))), y_i) + lambda_u 1/B_u sum_j m_j CE(g'(f(A(u_j))), y^_j)

so a confident prediction on a weakly perturbed image becomes the hard target of a strongly
perturbed one. With distribution alignment (Berthelot et al. 2020, ReMixMatch) p_j is first
replaced by normalize(p_j * pi / p~), pi the class shares of the labelled set and p~ a running
mean of p over the recent unlabelled batches, so that the pseudo-labels do not drift towards
the classes the model already favours. The unlabelled term is averaged over the whole
unlabelled batch (confident or not), as in the paper. Images only: the views need the
data's ``image_shape``.

The shared :class:`~unsup_core.training.Trainer` drives :class:`FixMatch`: its batches are
unlabelled images ``{"x": (B_u, n_features)}`` cut from every training image (the labelled ones
included, as in the paper), and the model draws its labelled batch of B_l objects itself from
the labelled set it holds (non-persistent buffers), with the global generator the Trainer seeds.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..applicability import labels, requires
from ..data.prepare import PreparedData
from ..selfsupervised.augment import AugmentConfig, augment_images
from ..selfsupervised.encoders import channel_first
from ..training import Trainer, TrainerConfig
from ..training.callbacks import Callback, TrainingHistory, WeightAverage
from ..training.runtime import eval_generator
from .classifier import EncoderClassifier

WEAK_AUGMENT = AugmentConfig(
    max_shift=1.0, max_rotation=0.0, min_scale=1.0, max_scale=1.0, noise_std=0.0, erase_prob=0.0
)
STRONG_AUGMENT = AugmentConfig(
    max_shift=1.5,
    max_rotation=20.0,
    min_scale=0.85,
    max_scale=1.15,
    noise_std=0.1,
    erase_prob=0.5,
    erase_size=3,
)


@dataclass(frozen=True)
class FixMatchConfig:
    """FixMatch settings (the loss is stated in the module docstring).

    Parameters
    ----------
    threshold : tau in (0, 1]: an unlabelled image gets its weak view's argmax as the target
        of its strong view when max_c p(c) >= tau.
    unlabelled_weight : lambda_u >= 0 of the unlabelled term (0: labels only, same steps).
    labelled_batch_size : B_l labelled objects per step (every labelled object when there are
        no more than B_l, else a random subset without replacement); the unlabelled batch B_u
        is ``trainer.batch_size``.
    weak : the weak view a(.) (of labelled and unlabelled images).
    strong : the strong view A(.) (of unlabelled images).
    encoder_lr_scale : the encoder's learning rate as a share of the head's (0: head only).
    ema_decay : the classifier returned holds the exponential moving average of the weights
        over the steps with this decay (the paper evaluates such an average; None: the last
        weights).
    alignment_momentum : distribution alignment: p~ <- m p~ + (1 - m) mean_j p_j with this
        m in (0, 1) at every training step (0.99: about the last 100 batches); None: off.
    trainer : steps, unlabelled batch size, learning rate and seed (also the head's seed).
    """

    threshold: float = 0.95
    unlabelled_weight: float = 1.0
    labelled_batch_size: int = 32
    weak: AugmentConfig = WEAK_AUGMENT
    strong: AugmentConfig = STRONG_AUGMENT
    encoder_lr_scale: float = 0.1
    ema_decay: float | None = None
    alignment_momentum: float | None = None
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(steps=500, batch_size=128, lr=3e-3)
    )

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold={self.threshold} must lie in (0, 1]")
        if not self.unlabelled_weight >= 0:
            raise ValueError(f"unlabelled_weight={self.unlabelled_weight} must be >= 0")
        if isinstance(self.labelled_batch_size, bool) or self.labelled_batch_size < 1:
            raise ValueError(f"labelled_batch_size={self.labelled_batch_size!r} must be >= 1")
        if not self.encoder_lr_scale >= 0:
            raise ValueError(f"encoder_lr_scale={self.encoder_lr_scale} must be >= 0")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ValueError(f"ema_decay={self.ema_decay} must lie in (0, 1) or be None")
        if self.alignment_momentum is not None and not 0 < self.alignment_momentum < 1:
            raise ValueError(
                f"alignment_momentum={self.alignment_momentum} must lie in (0, 1) or be None"
            )
        for name, value, kind in (
            ("weak", self.weak, AugmentConfig),
            ("strong", self.strong, AugmentConfig),
            ("trainer", self.trainer, TrainerConfig),
        ):
            if not isinstance(value, kind):
                raise TypeError(
                    f"{name} must be of type {kind.__name__}, got {type(value).__name__}"
                )


def align_distribution(probabilities: Tensor, alignment: Tensor) -> Tensor:
    """normalize(p_j * a) row by row: probabilities (B, K) reweighted by the factors a (K,)
    (distribution alignment uses a = pi / p~)."""
    weighted = probabilities * alignment
    return weighted / weighted.sum(dim=1, keepdim=True)


def confident_pseudo_labels(
    logits_weak: Tensor, threshold: float, alignment: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """The mask m_j = 1[max_c p_j(c) >= threshold] (B,) float and the hard labels
    argmax_c p_j(c) (B,) int64, p_j = softmax(l_j) of weak-view logits (B, K), reweighted by
    :func:`align_distribution` when ``alignment`` (K,) is given; no gradient flows through
    either."""
    probabilities = torch.softmax(logits_weak.detach(), dim=1)
    if alignment is not None:
        probabilities = align_distribution(probabilities, alignment)
    confidence, pseudo = probabilities.max(dim=1)
    return (confidence >= threshold).to(logits_weak.dtype), pseudo


def fixmatch_terms(
    logits_labelled: Tensor,
    y_labelled: Tensor,
    logits_weak: Tensor,
    logits_strong: Tensor,
    threshold: float,
    unlabelled_weight: float,
    alignment: Tensor | None = None,
) -> dict[str, Tensor]:
    """The FixMatch loss of one step from logits: labelled (B_l, K) with y (B_l,), the weak and
    strong views of the unlabelled batch (B_u, K) each (``alignment``: the distribution
    alignment factors of :func:`confident_pseudo_labels`). Terms: ``loss`` = ``labelled`` +
    unlabelled_weight * ``unlabelled``; ``labelled`` mean CE; ``unlabelled`` mean over B_u of
    m_j CE(strong_j, y^_j); ``mask_rate`` mean m_j; ``accuracy`` of the labelled batch."""
    labelled = F.cross_entropy(logits_labelled, y_labelled)
    mask, pseudo = confident_pseudo_labels(logits_weak, threshold, alignment)
    per_object = F.cross_entropy(logits_strong, pseudo, reduction="none")
    unlabelled = (per_object * mask).mean()
    accuracy = (logits_labelled.argmax(dim=1) == y_labelled).to(logits_labelled.dtype).mean()
    return {
        "loss": labelled + unlabelled_weight * unlabelled,
        "labelled": labelled,
        "unlabelled": unlabelled,
        "mask_rate": mask.mean(),
        "accuracy": accuracy.detach(),
    }


class FixMatch(nn.Module):
    """Trains ``classifier`` with the FixMatch loss. Batches: ``{"x": (B_u, n_features)}``
    unlabelled flattened images of ``image_shape``; the labelled set X_labelled (k, n_features),
    y_labelled (k,) is held here (non-persistent buffers, never saved) and B_l of it drawn per
    step. Terms: those of :func:`fixmatch_terms`. Views come from torch's global generator in
    training (seeded by the Trainer) and from one seeded with ``seed`` in eval mode."""

    def __init__(
        self,
        classifier: EncoderClassifier,
        X_labelled: Tensor | np.ndarray,
        y_labelled: Tensor | np.ndarray,
        image_shape: Sequence[int],
        config: FixMatchConfig | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.config = config or FixMatchConfig()
        self.classifier = classifier
        self.image_shape = channel_first(image_shape)
        self.seed = int(seed)
        X = torch.as_tensor(np.asarray(X_labelled), dtype=torch.float32)
        y = torch.as_tensor(np.asarray(y_labelled), dtype=torch.int64)
        width = int(np.prod(self.image_shape))
        if X.ndim != 2 or X.shape[1] != width:
            raise ValueError(
                f"X_labelled has shape {tuple(X.shape)}; expected (k, {width}) for "
                f"image_shape={tuple(image_shape)}"
            )
        if y.shape != (X.shape[0],) or len(y) == 0:
            raise ValueError(
                f"y_labelled has shape {tuple(y.shape)} for {X.shape[0]} labelled rows"
            )
        n_classes = classifier.config.n_classes
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"y_labelled must hold class codes in [0, {n_classes})")
        self.register_buffer("x_labelled", X, persistent=False)
        self.register_buffer("y_labelled", y, persistent=False)
        shares = torch.bincount(y, minlength=n_classes).to(torch.float32) / len(y)
        self.register_buffer("labelled_shares", shares, persistent=False)  # pi
        uniform = torch.full((n_classes,), 1.0 / n_classes)
        self.register_buffer("predicted_shares", uniform, persistent=False)  # p~

    def alignment(self, logits_weak: Tensor) -> Tensor | None:
        """The factors pi / p~ of distribution alignment (None when it is off); in training,
        p~ first moves towards this batch's mean weak-view prediction."""
        momentum = self.config.alignment_momentum
        if momentum is None:
            return None
        if self.training:
            batch = torch.softmax(logits_weak.detach(), dim=1).mean(dim=0)
            self.predicted_shares.mul_(momentum).add_(batch, alpha=1.0 - momentum)
        return self.labelled_shares / self.predicted_shares.clamp_min(1e-6)

    def view(self, x: Tensor, augment: AugmentConfig, generator: torch.Generator | None) -> Tensor:
        """A random view (B, n_features) of flattened images x (B, n_features)."""
        images = x.reshape(x.shape[0], *self.image_shape)
        return augment_images(images, augment, generator).flatten(1)

    def labelled_batch(self, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """B_l labelled objects: all of them (in random order) when k <= B_l, else a random
        subset without replacement."""
        k = self.x_labelled.shape[0]
        order = torch.randperm(k, generator=generator, device=self.x_labelled.device)
        index = order[: self.config.labelled_batch_size]
        return self.x_labelled[index], self.y_labelled[index]

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        if "x" not in batch:
            raise ValueError("FixMatch.loss needs batch['x'] (B_u, n_features) unlabelled images")
        unlabelled = batch["x"]
        generator = eval_generator(self, self.seed, unlabelled.device)
        x, y = self.labelled_batch(generator)
        cfg = self.config
        views = torch.cat(
            [
                self.view(x, cfg.weak, generator),
                self.view(unlabelled, cfg.weak, generator),
                self.view(unlabelled, cfg.strong, generator),
            ]
        )
        logits = self.classifier.logits(views)  # one pass: the encoder has no batch statistics
        k, u = x.shape[0], unlabelled.shape[0]
        weak = logits[k : k + u]
        return fixmatch_terms(
            logits[:k],
            y,
            weak,
            logits[k + u :],
            cfg.threshold,
            cfg.unlabelled_weight,
            self.alignment(weak),
        )


def images(data: PreparedData) -> str | None:
    """The method works on images (the data has an ``image_shape``)."""
    if data.image_shape is not None:
        return None
    return "needs images (an image_shape); the data is a table, which has no augmented views"


@requires(labels, images)
def fixmatch_fit(
    encoder: nn.Module,
    data: PreparedData,
    labelled_indices: np.ndarray | Sequence[int],
    config: FixMatchConfig | None = None,
    callbacks: Sequence[Callback] = (),
) -> tuple[EncoderClassifier, TrainingHistory]:
    """A classifier (a copy of ``encoder`` plus a fresh linear head) trained with FixMatch on
    the training images of ``data``: the rows ``labelled_indices`` of ``data.train`` with their
    labels, every training image (features only) as the unlabelled stream. No other label, and
    nothing of the validation or test splits, is read. Returns the classifier and the
    training history (terms ``loss``, ``labelled``, ``unlabelled``, ``mask_rate``,
    ``accuracy``). With ``config.ema_decay`` the classifier holds the averaged weights."""
    config = config or FixMatchConfig()
    for requirement in (labels, images):
        reason = requirement(data)
        if reason is not None:
            raise ValueError(f"fixmatch_fit does not apply to {data.source}: {reason}")
    index = np.asarray(labelled_indices, dtype=np.int64)
    n = len(data.train)
    if index.ndim != 1 or len(index) == 0:
        raise ValueError(f"labelled_indices must be a non-empty 1-D index, got shape {index.shape}")
    if index.min() < 0 or index.max() >= n or len(np.unique(index)) != len(index):
        raise ValueError(f"labelled_indices must be distinct rows of the training split [0, {n})")
    trainer = config.trainer
    classifier = EncoderClassifier(copy.deepcopy(encoder), data.n_classes, seed=trainer.seed)
    model = FixMatch(
        classifier,
        data.train.X[index],
        data.train.y[index],
        data.image_shape,
        config,
        seed=trainer.seed,
    )
    groups = classifier.param_groups(trainer.lr, trainer.lr * config.encoder_lr_scale)
    average = [WeightAverage(config.ema_decay)] if config.ema_decay is not None else []
    history = Trainer(trainer, [*callbacks, *average]).fit(
        model, {"x": data.train.X}, param_groups=groups
    )
    for callback in average:
        callback.copy_to(model)
    classifier.eval()
    return classifier, history
