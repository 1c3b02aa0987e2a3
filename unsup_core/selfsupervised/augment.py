"""Small random image augmentations, vectorised over the batch (two views per image feed the
contrastive pretext, Chen et al. 2020)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..validation import check_choice, choices

Padding = Literal["zeros", "border"]
PADDINGS = choices(Padding)


@dataclass(frozen=True)
class AugmentConfig:
    """A random affine map, Gaussian pixel noise and random erasing of each image. Defaults
    suit 8x8 digits scaled to [0, 1].

    Parameters
    ----------
    max_shift : shift up to +-max_shift pixels per axis.
    max_rotation : rotation up to +-max_rotation degrees.
    min_scale : smallest scale factor.
    max_scale : largest scale factor.
    noise_std : standard deviation of the Gaussian pixel noise.
    erase_prob : probability of setting a random rectangle to 0 (random erasing).
    erase_size : largest side of the erased rectangle.
    padding : pixels from outside the image: "zeros" or the "border" value.
    """

    max_shift: float = 1.0
    max_rotation: float = 10.0
    min_scale: float = 0.9
    max_scale: float = 1.1
    noise_std: float = 0.05
    erase_prob: float = 0.25
    erase_size: int = 3
    padding: Padding = "zeros"

    def __post_init__(self) -> None:
        check_choice("padding", self.padding, PADDINGS)
        if self.max_shift < 0:
            raise ValueError(f"max_shift={self.max_shift} must be >= 0")
        if not 0 <= self.max_rotation <= 180:
            raise ValueError(f"max_rotation={self.max_rotation} must lie in [0, 180] degrees")
        if not 0 < self.min_scale <= self.max_scale:
            raise ValueError(
                f"min_scale={self.min_scale}, max_scale={self.max_scale}: need "
                "0 < min_scale <= max_scale"
            )
        if self.noise_std < 0:
            raise ValueError(f"noise_std={self.noise_std} must be >= 0")
        if not 0 <= self.erase_prob <= 1:
            raise ValueError(f"erase_prob={self.erase_prob} must lie in [0, 1]")
        if self.erase_size < 1:
            raise ValueError(f"erase_size={self.erase_size} must be >= 1")


NO_AUGMENT = AugmentConfig(
    max_shift=0.0, max_rotation=0.0, min_scale=1.0, max_scale=1.0, noise_std=0.0, erase_prob=0.0
)  # the identity view: images pass unchanged (augmentation switched off where a view is asked)


def _uniform(
    n: int, low: float, high: float, like: Tensor, generator: torch.Generator | None
) -> Tensor:
    return low + (high - low) * torch.rand(
        n, generator=generator, device=like.device, dtype=like.dtype
    )


def random_affine(
    images: Tensor,
    max_shift: float,
    max_rotation: float,
    min_scale: float,
    max_scale: float,
    padding: str = "zeros",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Every image moved by its own random similarity transform (bilinear resampling).

    Shift t ~ U[-max_shift, max_shift]^2 pixels, angle a ~ U[-max_rotation, max_rotation]
    degrees, scale s ~ U[min_scale, max_scale]; the output pixel at p samples the input at
    R(a) (p - t) / s about the image centre (rotation exact in pixel units for any aspect).
    images (B, C, H, W) -> (B, C, H, W).
    """
    n, _, height, width = images.shape
    angle = _uniform(n, -max_rotation, max_rotation, images, generator) * (math.pi / 180)
    scale = _uniform(n, min_scale, max_scale, images, generator)
    shift = _uniform(2 * n, -max_shift, max_shift, images, generator).reshape(n, 2)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # normalised coordinates: one pixel is 2 / width in x and 2 / height in y
    theta = torch.stack(
        [
            torch.stack([cos, -sin * height / width, -shift[:, 0] * 2 / width], dim=1),
            torch.stack([sin * width / height, cos, -shift[:, 1] * 2 / height], dim=1),
        ],
        dim=1,
    )  # (B, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def pixel_noise(
    images: Tensor, noise_std: float, generator: torch.Generator | None = None
) -> Tensor:
    """images + sigma * eps, eps ~ N(0, I); same shape."""
    if noise_std == 0:
        return images
    return images + noise_std * torch.randn(
        images.shape, generator=generator, device=images.device, dtype=images.dtype
    )


def random_erasing(
    images: Tensor, erase_prob: float, erase_size: int, generator: torch.Generator | None = None
) -> Tensor:
    """Random erasing (Zhong et al. 2020): with probability ``erase_prob`` per image, a rectangle
    of uniform random sides in 1..``erase_size`` at a uniform random place (inside the image)
    set to 0 in every channel. images (B, C, H, W) -> (B, C, H, W)."""
    n, _, height, width = images.shape
    device = images.device
    heights = torch.randint(
        1, min(erase_size, height) + 1, (n,), generator=generator, device=device
    )
    widths = torch.randint(1, min(erase_size, width) + 1, (n,), generator=generator, device=device)
    place = torch.rand(n, 2, generator=generator, device=device)
    top = (place[:, 0] * (height - heights + 1)).long()
    left = (place[:, 1] * (width - widths + 1)).long()
    erase = torch.rand(n, generator=generator, device=device) < erase_prob
    rows = torch.arange(height, device=device)[None, :]
    cols = torch.arange(width, device=device)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < (top + heights)[:, None])  # (B, H)
    in_cols = (cols >= left[:, None]) & (cols < (left + widths)[:, None])  # (B, W)
    hole = in_rows[:, :, None] & in_cols[:, None, :] & erase[:, None, None]  # (B, H, W)
    return images.masked_fill(hole[:, None], 0.0)


def augment_images(
    images: Tensor, config: AugmentConfig, generator: torch.Generator | None = None
) -> Tensor:
    """One random view of every image: affine map, pixel noise, random erasing, then clamped to
    each image's own [min, max] so values stay in the input's range.
    images (B, C, H, W) -> (B, C, H, W)."""
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    high = images.amax(dim=(1, 2, 3), keepdim=True)
    view = random_affine(
        images,
        config.max_shift,
        config.max_rotation,
        config.min_scale,
        config.max_scale,
        config.padding,
        generator,
    )
    view = pixel_noise(view, config.noise_std, generator)
    view = random_erasing(view, config.erase_prob, config.erase_size, generator)
    return torch.maximum(torch.minimum(view, high), low)
