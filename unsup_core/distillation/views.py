"""A convolutional teacher and soft targets on augmented views of the training images.

Distillation transfers the teacher's function only where the student sees it (Hinton et al.
2015): on the training images alone a small student imitates a few thousand points of it. Fresh
random views of the images (shifts, rotations, scaling, noise, erasing; the contrastive
encoder's :func:`~unsup_core.selfsupervised.augment.augment_images`) labelled by the teacher's
softened outputs give it a new sample of that function at every step, the "transfer set" of
Hinton et al. grown without new data. In learning using privileged information (Vapnik &
Vashist 2009; Lopez-Paz et al. 2016) the teacher sees the augmented full image x* and the
student its degraded view x (``student_view``, e.g. :func:`pool_images`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..selfsupervised.augment import AugmentConfig, augment_images
from ..selfsupervised.encoders import ConvEncoder, channel_first
from ..training import TrainerConfig, seeded
from ..transfer.classifier import EncoderClassifier, fit_classifier


def conv_teacher(
    image_shape: Sequence[int],
    n_classes: int,
    channels: Sequence[int] = (32, 64),
    width: int = 128,
    seed: int = 0,
) -> EncoderClassifier:
    """A small CNN classifier of flattened images: the self-supervised
    :class:`~unsup_core.selfsupervised.encoders.ConvEncoder` (3x3 convolutions with
    ``channels`` filters, a 2x2 max pool, a ReLU layer of ``width``) with a linear head,
    (B, C*H*W) -> (B, n_classes); initialised with ``seed``."""
    if not channels or any(int(c) < 1 for c in channels) or width < 1:
        raise ValueError(f"channels={tuple(channels)} and width={width} must be >= 1 (non-empty)")
    with seeded(seed):
        encoder = ConvEncoder(image_shape, tuple(int(c) for c in channels), width)
    return EncoderClassifier(encoder, n_classes, seed=seed)


def fit_conv_teacher(
    X: np.ndarray,
    y: np.ndarray,
    image_shape: Sequence[int],
    trainer: TrainerConfig,
    augment: AugmentConfig | None = None,
    channels: Sequence[int] = (32, 64),
    width: int = 128,
    n_classes: int | None = None,
) -> EncoderClassifier:
    """:func:`conv_teacher` (seed ``trainer.seed``) trained on (X, y) with cross-entropy, on a
    fresh augmented view of every image of every batch when ``augment`` is given. X (n, C*H*W)
    flattened images, y (n,) int; ``n_classes`` defaults to max(y) + 1."""
    y = np.asarray(y)
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    model = conv_teacher(image_shape, n_classes, channels, width, trainer.seed)
    return fit_classifier(
        model.encoder,
        "scratch",
        np.asarray(X, dtype=np.float32),
        y,
        n_classes,
        trainer,
        image_shape=tuple(image_shape),
        augment=augment,
        copy_encoder=False,
    )


def pool_images(x: Tensor, image_shape: Sequence[int], grid: int = 4) -> Tensor:
    """Average pooling of flattened images down to a ``grid`` x ``grid`` image, (B, C*H*W) ->
    (B, C*grid*grid); the torch twin of :func:`~unsup_core.distillation.privileged.degrade`
    (``"pool4x4"``) for views made during training. Sides must be multiples of ``grid``."""
    c, h, w = channel_first(image_shape)
    if h % grid or w % grid:
        raise ValueError(f"image_shape={tuple(image_shape)}: sides must be multiples of {grid}")
    images = x.reshape(x.shape[0], c, h, w)
    return F.avg_pool2d(images, (h // grid, w // grid)).flatten(1)


class AugmentedTargets(nn.Module):
    """Fresh augmented views of a batch of images and a frozen teacher's logits on them.

    ``views(images)`` with images (B, C*H*W) flattened returns (x, t): x (n_views * B, d) the
    student's inputs ``student_view(v)`` (v itself by default) and t (n_views * B, K) the
    teacher's logits on v, computed without gradients. The teacher is frozen here
    (``requires_grad`` False) and stays in eval mode whatever ``train()`` is called with. Draws
    come from torch's global generator, which the shared Trainer seeds.

    Parameters
    ----------
    teacher : the trained teacher a (with ``logits`` or ``forward``), on full images.
    image_shape : (H, W) or (C, H, W) of the flattened images.
    augment : the random views (:class:`~unsup_core.selfsupervised.augment.AugmentConfig`).
    n_views : views per image and step, >= 1.
    student_view : maps a view (B, C*H*W) to the student's input (privileged information:
        the degraded image, e.g. :func:`pool_images`); ``None``: the view itself.
    """

    def __init__(
        self,
        teacher: nn.Module,
        image_shape: Sequence[int],
        augment: AugmentConfig | None = None,
        n_views: int = 1,
        student_view: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(n_views, int) or n_views < 1:
            raise ValueError(f"n_views={n_views!r} must be an int >= 1")
        augment = AugmentConfig() if augment is None else augment
        if not isinstance(augment, AugmentConfig):
            raise TypeError(f"augment must be an AugmentConfig, got {type(augment).__name__}")
        self.image_shape = channel_first(image_shape)
        self.augment, self.n_views, self.student_view = augment, n_views, student_view
        self.teacher = teacher
        teacher.requires_grad_(False)
        teacher.eval()

    def train(self, mode: bool = True) -> AugmentedTargets:
        super().train(mode)
        self.teacher.eval()  # the teacher is fixed: no dropout, no batch-norm updates
        return self

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        c, h, w = self.image_shape
        if images.ndim != 2 or images.shape[1] != c * h * w:
            raise ValueError(
                f"images have shape {tuple(images.shape)}; expected (B, {c * h * w}) for "
                f"image_shape={self.image_shape}"
            )
        stacked = images.repeat(self.n_views, 1).reshape(-1, c, h, w)
        views = augment_images(stacked, self.augment).flatten(1)
        with torch.no_grad():
            teacher = self.teacher
            t = teacher.logits(views) if hasattr(teacher, "logits") else teacher(views)
        x = views if self.student_view is None else self.student_view(views)
        return x, t

    def extend(
        self, images: Tensor, x: Tensor, teacher_logits: Tensor, y: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """A training batch (x, teacher_logits, y) with fresh views of ``images`` appended as
        unlabelled members (y = -1) whose targets are the teacher's logits on them."""
        x_views, t_views = self(images)
        unlabelled = torch.full(x_views.shape[:1], -1, dtype=torch.long, device=y.device)
        return (
            torch.cat([x, x_views]),
            torch.cat([teacher_logits, t_views]),
            torch.cat([y, unlabelled]),
        )
