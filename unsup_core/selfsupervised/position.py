"""Relative patch position as a pretext task (Doersch, Gupta & Efros 2015) and the whole-image
encoder it yields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..autoencoders.layers import Activation, check_activation, mlp
from ..training.runtime import eval_generator, seeded
from ..validation import check_choice, choices, data_field, require_data
from .encoders import ENCODERS, Encoder, build_encoder
from .patches import (
    N_POSITIONS,
    PatchGrid,
    check_patch_settings,
    dense_patches,
    grid_cells,
    sample_patch_pairs,
)

ImageCode = Literal["grid", "dense"]
IMAGE_CODES = choices(ImageCode)


def _check_widths(name: str, widths: tuple[int, ...], allow_empty: bool = True) -> None:
    if (not widths and not allow_empty) or any(w < 1 for w in widths):
        raise ValueError(
            f"{name}={widths}: every width must be >= 1"
            + ("" if allow_empty else " and at least one is needed")
        )


@dataclass(frozen=True)
class PatchPositionConfig:
    """Patch encoder (``encoder="mlp"`` with widths ``hidden`` or ``"cnn"`` with filters
    ``conv_channels``) to ``embed_dim``; a head ``2 * embed_dim -> *head_hidden -> 8``. The
    image shape, patches, gap, jitter and upsampling make its :attr:`grid` (a :class:`PatchGrid`).

    Parameters
    ----------
    image_shape : (H, W) or (C, H, W) of the flattened images (set from the data).
    patch_size : side p of the square patches (2x2 with 1-pixel gaps fill 8x8 digits exactly).
    gap : pixels between neighbouring patches of the 3x3 grid.
    jitter : random shift of every patch, up to +-jitter pixels per axis (< gap / 2).
    upsample : nearest-neighbour upsampling of the images before cutting patches.
    encoder : the patch encoder, "mlp" or "cnn".
    hidden : widths of the MLP patch encoder.
    conv_channels : filters of the CNN patch encoder.
    embed_dim : width of a patch's embedding.
    head_hidden : hidden widths of the position head.
    activation : activation of encoder and head.
    pairs_per_image : distinct neighbours (1..8) of every image per step.
    image_code : how :attr:`encoder` codes a whole image: "grid" embeds the 9 grid cells,
        "dense" embeds every patch (stride 1) and average-pools over 3x3 regions; either gives
        9 * embed_dim features (on digits "dense" probes about 12 points better).
    seed : seed of the initialisation (and of the evaluation pairs).
    """

    image_shape: tuple[int, ...] | None = data_field()
    patch_size: int = 2
    gap: int = 1
    jitter: int = 0
    upsample: int = 1
    encoder: Encoder = "mlp"
    hidden: tuple[int, ...] = (64,)
    conv_channels: tuple[int, ...] = (16, 32)
    embed_dim: int = 32
    head_hidden: tuple[int, ...] = (64,)
    activation: Activation = "relu"
    pairs_per_image: int = 8
    image_code: ImageCode = "dense"
    seed: int = 0

    def __post_init__(self) -> None:
        check_patch_settings(self.patch_size, self.gap, self.jitter, self.upsample)
        if self.image_shape is not None:
            object.__setattr__(self, "image_shape", self.grid.image_shape)
        for name in ("hidden", "conv_channels", "head_hidden"):
            object.__setattr__(self, name, tuple(int(w) for w in getattr(self, name)))
        check_choice("encoder", self.encoder, ENCODERS)
        check_activation("activation", self.activation)
        check_choice("image_code", self.image_code, IMAGE_CODES)
        _check_widths("hidden", self.hidden)
        _check_widths("conv_channels", self.conv_channels, allow_empty=False)
        _check_widths("head_hidden", self.head_hidden)
        if self.embed_dim < 1:
            raise ValueError(f"embed_dim={self.embed_dim} must be >= 1")
        if not 1 <= self.pairs_per_image <= N_POSITIONS:
            raise ValueError(
                f"pairs_per_image={self.pairs_per_image} must lie in [1, {N_POSITIONS}]"
            )

    @property
    def grid(self) -> PatchGrid:
        """The 3x3 patch grid on images of ``image_shape`` (which must be set)."""
        require_data(self, "PatchPositionConfig.grid")
        return PatchGrid(self.image_shape, self.patch_size, self.gap, self.jitter, self.upsample)


class PatchImageEncoder(nn.Module):
    """A fixed-length code of a whole image from a patch encoder f (shared, not copied).

    ``mode="grid"``: z = [f(cell_1), ..., f(cell_9)], the 9 unjittered grid cells row by row;
    pixels in the gaps are not seen. ``mode="dense"``: f at every patch position (stride 1, like
    a convolution), its embeddings average-pooled over a 3x3 partition of the positions, so every
    pixel contributes. Input (B, n_features) flattened images, output (B, out_features) with
    out_features = 9 * f.out_features.
    """

    def __init__(self, patch_encoder: nn.Module, grid: PatchGrid, mode: str = "grid") -> None:
        super().__init__()
        check_choice("mode", mode, IMAGE_CODES)
        self.patch_encoder, self.grid, self.mode = patch_encoder, grid, mode
        self.in_features = grid.n_features
        self.out_features = 9 * patch_encoder.out_features

    def forward(self, x: Tensor) -> Tensor:
        images = self.grid.to_images(x)
        n_images = images.shape[0]
        if self.mode == "grid":
            cells = grid_cells(images, self.grid)  # (B, 9, C, p, p)
            return self.patch_encoder(cells.flatten(2).flatten(0, 1)).reshape(n_images, -1)
        columns = dense_patches(images, self.grid.patch_size)  # (B, C*p*p, h, w)
        _, features, height, width = columns.shape
        embedded = self.patch_encoder(columns.permute(0, 2, 3, 1).reshape(-1, features))
        embedded = embedded.reshape(n_images, height, width, -1).permute(0, 3, 1, 2)
        return F.adaptive_avg_pool2d(embedded, 3).flatten(1)  # (B, e * 9)


class PatchPositionModel(nn.Module):
    """Context prediction (Doersch, Gupta & Efros 2015, "Unsupervised visual representation
    learning by context prediction"): a shared patch encoder f embeds the centre patch P_c and a
    neighbour P_k of one image, and a head h classifies the neighbour's position,

    L = -1/N sum_n log softmax(h([f(P_c,n), f(P_k,n)]))_{k_n},  k_n in {0..7} (chance 1/8),

    with pairs drawn afresh from every batch (torch's global RNG in training, which the Trainer
    seeds; a fixed generator seeded with ``config.seed`` in eval mode, so validation scores the
    same pairs every epoch). No labels are used.

    Batches: ``{"x": (B, n_features)}`` flattened images of ``config.grid.image_shape``. Terms:
    ``loss`` = ``position_ce`` and ``accuracy`` (share of positions predicted right, not
    differentiated). :attr:`encoder` (a :class:`PatchImageEncoder`) codes whole images
    (B, n_features) -> (B, 9 * embed_dim) for downstream tasks.
    """

    def __init__(self, config: PatchPositionConfig) -> None:
        super().__init__()
        require_data(config, type(self).__name__)
        self.config = config
        grid = config.grid
        patch_shape = (grid.shape[0], grid.patch_size, grid.patch_size)
        with seeded(config.seed):
            patch_encoder = build_encoder(
                config.encoder,
                patch_shape,
                config.hidden,
                config.conv_channels,
                config.embed_dim,
                config.activation,
            )
            self.encoder = PatchImageEncoder(patch_encoder, grid, config.image_code)
            self.head = mlp(
                [2 * config.embed_dim, *config.head_hidden, N_POSITIONS],
                config.activation,
                "identity",
            )

    @property
    def patch_encoder(self) -> nn.Module:
        """f: flattened patches (N, C * p^2) -> (N, embed_dim)."""
        return self.encoder.patch_encoder

    def image_encoder(self, mode: str | None = None) -> PatchImageEncoder:
        """The whole-image encoder (``mode`` None: ``config.image_code``); shares f's weights."""
        if mode is None or mode == self.encoder.mode:
            return self.encoder
        return PatchImageEncoder(self.patch_encoder, self.config.grid, mode)

    @property
    def out_features(self) -> int:
        """Width of :meth:`encode`'s codes (so the model itself can be transferred)."""
        return self.encoder.out_features

    def encode(self, x: Tensor) -> Tensor:
        """(B, n_features) -> (B, 9 * embed_dim)."""
        return self.encoder(x)

    def forward(self, centre: Tensor, neighbour: Tensor) -> Tensor:
        """Position logits (N, 8) of patch pairs, each (N, C, p, p) or flattened (N, C * p^2)."""
        f = self.patch_encoder
        return self.head(torch.cat([f(centre.flatten(1)), f(neighbour.flatten(1))], dim=1))

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x = batch["x"]
        generator = eval_generator(self, self.config.seed, x.device)
        pairs = sample_patch_pairs(
            self.config.grid.to_images(x), self.config.grid, self.config.pairs_per_image, generator
        )
        logits = self(pairs.centre, pairs.neighbour)
        ce = F.cross_entropy(logits, pairs.label)
        accuracy = (logits.detach().argmax(dim=1) == pairs.label).float().mean()
        return {"loss": ce, "position_ce": ce, "accuracy": accuracy}
