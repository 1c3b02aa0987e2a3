"""Contrastive learning of image codes from augmented views (SimCLR, Chen et al. 2020)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..autoencoders.layers import Activation, check_activation, mlp
from ..training.runtime import eval_generator, seeded
from ..validation import check_choice, data_field, require_data
from .augment import AugmentConfig, augment_images
from .encoders import ENCODERS, Encoder, build_encoder, channel_first


def nt_xent(z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """Normalised temperature-scaled cross entropy (Chen et al. 2020, "A simple framework for
    contrastive learning of visual representations", eq. 1).

    With u_1..u_2B the rows of [z1; z2] scaled to unit length, s_ik = u_i . u_k / tau and
    j(i) = i + B mod 2B the other view of the same image,

    L = 1/(2B) sum_i -log( exp(s_ij(i)) / sum_{k != i} exp(s_ik) ).

    z1, z2 (B, k), the projections of two views of the same B images -> scalar.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(
            f"z1 and z2 must both be (B, k), got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    n = z1.shape[0]
    u = F.normalize(torch.cat([z1, z2]), dim=1)
    similarity = u @ u.T / temperature
    self_pairs = torch.eye(2 * n, dtype=torch.bool, device=u.device)
    similarity = similarity.masked_fill(self_pairs, float("-inf"))
    positives = (torch.arange(2 * n, device=u.device) + n) % (2 * n)
    return F.cross_entropy(similarity, positives)


class NTXentLoss(nn.Module):
    """:func:`nt_xent` with a fixed temperature tau > 0."""

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature={temperature} must be > 0")
        self.temperature = temperature

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return nt_xent(z1, z2, self.temperature)


@dataclass(frozen=True)
class ContrastiveConfig:
    """Encoder of flattened images to ``code_dim``; projection head ``code_dim ->
    *projection_hidden -> projection_dim``; NT-Xent at ``temperature`` between two views.

    Parameters
    ----------
    image_shape : (H, W) or (C, H, W) of the flattened images (set from the data).
    encoder : "mlp" (widths ``hidden``) or "cnn" (filters ``conv_channels``).
    hidden : widths of the MLP encoder.
    conv_channels : filters of the CNN encoder's layers.
    code_dim : width of the codes used downstream.
    projection_hidden : hidden widths of the projection head (discarded after training).
    projection_dim : width of the projections the loss compares.
    temperature : NT-Xent temperature tau > 0.
    augment : how the two random views of an image are drawn.
    activation : activation of encoder and projection head.
    seed : seed of the initialisation (and of the evaluation views).
    """

    image_shape: tuple[int, ...] | None = data_field()
    encoder: Encoder = "cnn"
    hidden: tuple[int, ...] = (256,)
    conv_channels: tuple[int, ...] = (32, 64)
    code_dim: int = 128
    projection_hidden: tuple[int, ...] = (128,)
    projection_dim: int = 64
    temperature: float = 0.5
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    activation: Activation = "relu"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.image_shape is not None:
            channel_first(self.image_shape)  # (H, W) or (C, H, W) of positive ints
            object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        if not isinstance(self.augment, AugmentConfig):
            raise TypeError(f"augment must be an AugmentConfig, got {type(self.augment).__name__}")
        for name in ("hidden", "conv_channels", "projection_hidden"):
            object.__setattr__(self, name, tuple(int(w) for w in getattr(self, name)))
            if any(w < 1 for w in getattr(self, name)):
                raise ValueError(f"{name}={getattr(self, name)}: every width must be >= 1")
        if not self.conv_channels:
            raise ValueError("conv_channels=(): the cnn encoder needs at least one layer")
        check_choice("encoder", self.encoder, ENCODERS)
        check_activation("activation", self.activation)
        for name in ("code_dim", "projection_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if not self.temperature > 0:
            raise ValueError(f"temperature={self.temperature} must be > 0")


class ContrastiveModel(nn.Module):
    """SimCLR (Chen et al. 2020) on small images: two random views x', x'' of every image
    (:func:`augment_images`), codes h = f(x) from :attr:`encoder`, projections z = g(h), and

    L = nt_xent(g(f(x')), g(f(x'')), tau),

    so that codes of views of one image agree and differ from those of the other images in the
    batch; a pretext of the kind Doersch, Gupta & Efros (2015) introduced, without labels. Views
    come from torch's global RNG in training (seeded by the Trainer) and from a generator seeded
    with ``config.seed`` in eval mode. Larger batches give more negatives.

    Batches: ``{"x": (B, n_features)}`` flattened images. Terms: ``loss`` = ``nt_xent``.
    :attr:`encoder` f: (B, n_features) -> (B, code_dim) (``out_features``) is used downstream;
    the projection head g is discarded.
    """

    def __init__(self, config: ContrastiveConfig) -> None:
        super().__init__()
        require_data(config, type(self).__name__)
        self.config = config
        with seeded(config.seed):
            self.encoder = build_encoder(
                config.encoder,
                config.image_shape,
                config.hidden,
                config.conv_channels,
                config.code_dim,
                config.activation,
            )
            self.projection = mlp(
                [config.code_dim, *config.projection_hidden, config.projection_dim],
                config.activation,
                "identity",
            )

    @property
    def out_features(self) -> int:
        """Width of :meth:`encode`'s codes (so the model itself can be transferred)."""
        return self.encoder.out_features

    def encode(self, x: Tensor) -> Tensor:
        """(B, n_features) -> (B, code_dim)."""
        return self.encoder(x)

    def views(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Two augmented views (B, n_features) each of flattened images x (B, n_features)."""
        images = x.reshape(x.shape[0], *channel_first(self.config.image_shape))
        first = augment_images(images, self.config.augment, generator)
        second = augment_images(images, self.config.augment, generator)
        return first.flatten(1), second.flatten(1)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x = batch["x"]
        first, second = self.views(x, eval_generator(self, self.config.seed, x.device))
        z = self.projection(self.encoder(torch.cat([first, second])))
        loss = nt_xent(z[: x.shape[0]], z[x.shape[0] :], self.config.temperature)
        return {"loss": loss, "nt_xent": loss}
