"""Typed configurations of the GAN's two networks and of its adversarial trainer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..autoencoders.layers import Activation, check_activation
from ..sizing import auto_batch_size
from ..training.config import resolve_device
from ..validation import check_choice, choices, data_field

NetworkKind = Literal["mlp", "conv"]
GeneratorLoss = Literal["non_saturating", "minimax"]
GanLrSchedule = Literal["constant", "linear"]
NETWORK_KINDS, GENERATOR_LOSSES = choices(NetworkKind), choices(GeneratorLoss)
LR_SCHEDULES = choices(GanLrSchedule)


def _widths(name: str, value: object) -> tuple[int, ...]:
    if isinstance(value, (int, str)):
        raise TypeError(f"{name}={value!r} must be a sequence of widths, e.g. (128, 256)")
    widths = tuple(int(h) for h in value)  # type: ignore[union-attr]
    if any(h < 1 for h in widths):
        raise ValueError(f"{name}={widths}: every width must be >= 1")
    return widths


def _check_image(
    kind: str,
    image_shape: tuple[int, ...] | None,
    features: int | None,
    features_name: str,
    scale: int = 4,
) -> tuple[int, ...] | None:
    """The image shape as a tuple; a conv network needs (h, w) or (c, h, w), h and w divisible
    by ``scale``, holding ``features`` values (not checked until the data sets ``features``)."""
    if features is None:
        return None if image_shape is None else tuple(int(s) for s in image_shape)
    if image_shape is None:
        if kind == "conv":
            raise ValueError(
                "kind='conv' needs image_shape=(height, width) or (channels, height, "
                "width); use kind='mlp' for tabular data"
            )
        return None
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or math.prod(shape) != features:
        raise ValueError(
            f"image_shape={shape} must be (h, w) or (c, h, w) holding "
            f"{features_name}={features} values"
        )
    if kind == "conv" and (shape[-1] % scale or shape[-2] % scale):
        raise ValueError(
            f"image_shape={shape}: kind='conv' needs height and width divisible by {scale}"
        )
    return shape


@dataclass(frozen=True)
class GeneratorConfig:
    """G(z, alpha): noise z ~ N(0, I) -> an object of ``out_features`` values in (0, 1)
    (sigmoid output: the prepared data is min-max scaled to [0, 1]).

    ``kind="conv"`` (DCGAN's layout, Radford et al. 2016), for images whose sides are divisible
    by 2^u, u = ``upsamplings``: the last u entries of ``hidden`` are channels, the entries before
    them widths of dense layers. z -> dense layers -> a linear projection to ``hidden[-u]`` maps
    of 1/2^u of the image size -> u stride-2 transposed convolutions (kernel 4), each doubling the
    size, through the remaining channels to the image's channels. Every hidden layer (dense,
    projection, transposed convolution but the last) is followed by batch norm (if
    ``batch_norm``) and the activation. On 8x8 digits, ``hidden=(128, 64), upsamplings=1`` (z ->
    128 -> 64 maps of 4x4 -> 8x8) trained best for its CPU time (``benchmarks/generative.py``).

    Parameters
    ----------
    out_features : width of an object (set from the data).
    noise_dim : size of the noise z.
    hidden : widths of the MLP's hidden layers (conv: dense widths, then ``upsamplings``
        channel counts from the coarsest maps to the finest).
    activation : activation between layers.
    batch_norm : batch normalisation before each hidden activation.
    kind : "mlp" or "conv" (needs image data).
    upsamplings : u, the conv generator's stride-2 transposed convolutions (ignored by "mlp").
    image_shape : the data's image shape (set from the data; needed by "conv").
    seed : seed of the initialisation.
    """

    out_features: int | None = data_field()
    noise_dim: int = 32
    hidden: tuple[int, ...] = (128, 256)
    activation: Activation = "leaky_relu"
    batch_norm: bool = True
    kind: NetworkKind = "mlp"
    upsamplings: int = 2
    image_shape: tuple[int, ...] | None = data_field(required=False)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", _widths("hidden", self.hidden))
        if self.out_features is not None and self.out_features < 1:
            raise ValueError(f"out_features={self.out_features} must be >= 1")
        if self.noise_dim < 1:
            raise ValueError(f"noise_dim={self.noise_dim} must be >= 1")
        check_activation("activation", self.activation)
        check_choice("kind", self.kind, NETWORK_KINDS)
        if self.upsamplings < 1:
            raise ValueError(f"upsamplings={self.upsamplings} must be >= 1")
        if self.kind == "conv" and len(self.hidden) < self.upsamplings:
            raise ValueError(
                f"kind='conv' with upsamplings={self.upsamplings} needs hidden=(..., channels) "
                f"ending in {self.upsamplings} channel counts, got hidden={self.hidden}"
            )
        object.__setattr__(
            self,
            "image_shape",
            _check_image(
                self.kind,
                self.image_shape,
                self.out_features,
                "out_features",
                2**self.upsamplings,
            ),
        )


@dataclass(frozen=True)
class DiscriminatorConfig:
    """D(x, beta) = p(real | x): ``in_features -> *hidden -> 1`` logit. Dropout 0.3 by
    default: on a thousand digits an unregularised D memorises the training set within a few
    hundred epochs and the samples degrade (``benchmarks/generative.py``).

    Parameters
    ----------
    in_features : width of an object (set from the data).
    hidden : widths of the hidden layers (conv: channels of the two stride-2 convolutions).
    activation : activation between layers (LeakyReLU, as in most GANs).
    dropout : dropout after each hidden activation.
    minibatch_std : append the batch's mean standard deviation over the last hidden features
        as one more feature (Karras et al. 2018), which lets D see a collapsed batch.
    kind : "mlp" or "conv" (needs image data).
    image_shape : the data's image shape (set from the data; needed by "conv").
    seed : seed of the initialisation.
    """

    in_features: int | None = data_field()
    hidden: tuple[int, ...] = (256, 128)
    activation: Activation = "leaky_relu"
    dropout: float = 0.3
    minibatch_std: bool = False
    kind: NetworkKind = "mlp"
    image_shape: tuple[int, ...] | None = data_field(required=False)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", _widths("hidden", self.hidden))
        if self.in_features is not None and self.in_features < 1:
            raise ValueError(f"in_features={self.in_features} must be >= 1")
        check_activation("activation", self.activation)
        check_choice("kind", self.kind, NETWORK_KINDS)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout} must lie in [0, 1)")
        if self.kind == "conv" and not self.hidden:
            raise ValueError("kind='conv' needs hidden=(channels, ...) with at least one width")
        object.__setattr__(
            self,
            "image_shape",
            _check_image(self.kind, self.image_shape, self.in_features, "in_features"),
        )


@dataclass(frozen=True)
class AdversarialTrainerConfig:
    """How to train a GAN: alternating minibatch steps, ``d_steps`` (k) of D per step of G.
    An epoch is one pass over the real data in batches of ``batch_size`` (one D step per batch).
    With ``ema_decay`` the generator handed to ``fit`` holds the average during and after
    training, its batch-norm statistics recomputed on 8,192 samples after every
    ``recalibrate_every``-th epoch and the last (the online network's statistics do not fit the
    averaged weights; training itself never reads them, only the callbacks do). The defaults
    are the DCGAN recipe (Radford et al. 2016: Adam 2e-4, beta1 0.5); on small MLPs for digits
    lr 1e-3 with EMA and linear decay did better (``benchmarks/generative.py``).

    Parameters
    ----------
    epochs : passes over the real data.
    batch_size : real objects (and fresh samples) per D step (``None``: from the rows, by
        :func:`unsup_core.sizing.auto_batch_size`; 64 on the digits).
    d_steps : k, discriminator steps per generator step.
    generator_loss : "non_saturating" (maximise ln D(G(z))) or "minimax" (minimise
        ln(1 - D(G(z))), the original game).
    lr : Adam learning rate of G (and of D unless lr_discriminator is set).
    lr_discriminator : Adam learning rate of D (None: lr).
    beta1 : Adam's beta1 for both networks.
    beta2 : Adam's beta2 for both networks.
    label_smoothing : s, D's target for real objects is 1 - s (one-sided).
    ema_decay : exponential moving average of G's weights (e.g. 0.999; None: off).
    lr_schedule : "constant", or "linear" decay of both rates to 0 over the epochs.
    recalibrate_every : with ``ema_decay``, recompute the average's batch-norm statistics after
        every this many epochs and after the last; in the other epochs callbacks see the online
        network's statistics. Set it to the callbacks' period when they look at G only then
        (a conv generator's recalibration costs about a tenth of an epoch on the digits).
    seed : seed of the noise, the batches and dropout.
    device : torch device.
    num_threads : torch threads during fit (None leaves torch's setting).
    """

    epochs: int = 100
    batch_size: int | None = None
    d_steps: int = 1
    generator_loss: GeneratorLoss = "non_saturating"
    lr: float = 2e-4
    lr_discriminator: float | None = None
    beta1: float = 0.5
    beta2: float = 0.999
    label_smoothing: float = 0.0
    ema_decay: float | None = None
    lr_schedule: GanLrSchedule = "constant"
    recalibrate_every: int = 1
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = 1

    def batch_size_for(self, n_rows: int) -> int:
        """Real objects per D step over ``n_rows``: ``batch_size`` or the data-sized rule."""
        return self.batch_size if self.batch_size is not None else auto_batch_size(n_rows)

    def __post_init__(self) -> None:
        check_choice("generator_loss", self.generator_loss, GENERATOR_LOSSES)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        for name in (
            "epochs",
            "batch_size",
            "d_steps",
            "lr",
            "lr_discriminator",
            "recalibrate_every",
        ):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name}={value} must be > 0")
        for name in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name}={getattr(self, name)} must lie in [0, 1)")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"label_smoothing={self.label_smoothing} must lie in [0, 0.5)")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay={self.ema_decay} must lie in (0, 1) or be None")
        if self.num_threads is not None and self.num_threads < 1:
            raise ValueError(f"num_threads={self.num_threads} must be >= 1 or None")
        resolve_device(self.device)

    @property
    def discriminator_lr(self) -> float:
        """D's learning rate: ``lr_discriminator``, or ``lr`` when that is ``None``."""
        return self.lr if self.lr_discriminator is None else self.lr_discriminator
