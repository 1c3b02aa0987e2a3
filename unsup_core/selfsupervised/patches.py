"""The 3x3 patch grid of the relative-position pretext and vectorised patch sampling.

Doersch, Gupta & Efros (2015), "Unsupervised visual representation learning by context
prediction": two patches of one image, the centre cell of a 3x3 grid and one of its 8
neighbours, separated by a gap (so that low-level cues such as continuing lines do not give the
answer away) and each shifted by a small random jitter; the pretext label is the neighbour's
position. Labels count the neighbours row by row, skipping the centre::

    0 1 2
    3 . 4
    5 6 7
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .encoders import channel_first

N_POSITIONS = 8
CENTRE_CELL = 4
NEIGHBOUR_CELLS = (0, 1, 2, 3, 5, 6, 7, 8)  # grid cell (row-major, 0..8) of position label k
# (row, column) of the neighbour of label k relative to the centre, in cells
NEIGHBOUR_OFFSETS = tuple((cell // 3 - 1, cell % 3 - 1) for cell in NEIGHBOUR_CELLS)


def check_patch_settings(patch_size: int, gap: int, jitter: int, upsample: int) -> None:
    """Integers in range, and a jitter that can never make two neighbouring patches touch."""
    for name, value, low in (
        ("patch_size", patch_size, 1),
        ("gap", gap, 0),
        ("jitter", jitter, 0),
        ("upsample", upsample, 1),
    ):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}={value!r} must be an int >= {low}")
    if jitter > 0 and 2 * jitter >= gap:
        raise ValueError(
            f"jitter={jitter} with gap={gap}: neighbouring patches could touch; "
            f"jitter must be 0 or < gap / 2 = {gap / 2}"
        )


@dataclass(frozen=True)
class PatchGrid:
    """A 3x3 grid of ``patch_size`` x ``patch_size`` patches with ``gap`` pixels between them,
    centred in the image (of ``image_shape`` (H, W) or (C, H, W)) after an optional integer
    nearest-neighbour ``upsample``; every patch is shifted by up to +-``jitter`` pixels per axis
    (kept inside the image).

    The grid needs 3 * patch_size + 2 * gap pixels per side; ``jitter`` must be 0 or less than
    half the gap, so that two neighbouring patches never touch. For 8x8 digits: 2x2 patches with
    1-pixel gaps fill the image exactly (no jitter); upsampled x3 to 24x24: 6x6 patches, 3-pixel
    gaps and +-1 jitter.
    """

    image_shape: tuple[int, ...]
    patch_size: int
    gap: int = 0
    jitter: int = 0
    upsample: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        channel_first(self.image_shape)
        check_patch_settings(self.patch_size, self.gap, self.jitter, self.upsample)
        for name in ("patch_size", "gap", "jitter", "upsample"):
            object.__setattr__(self, name, int(getattr(self, name)))
        need = 3 * self.patch_size + 2 * self.gap
        _, height, width = self.shape
        for axis, side in (("height", height), ("width", width)):
            if need > side:
                how = f" upsampled x{self.upsample}" if self.upsample > 1 else ""
                raise ValueError(
                    f"3x3 patches of {self.patch_size} with gap {self.gap} need "
                    f"{need} pixels, image has {side} ({axis} of image_shape "
                    f"{self.image_shape}{how})"
                )

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H * upsample, W * upsample): the images the patches are cut from."""
        c, h, w = channel_first(self.image_shape)
        return c, h * self.upsample, w * self.upsample

    @property
    def n_features(self) -> int:
        """Length of a flattened input image, prod(image_shape)."""
        c, h, w = channel_first(self.image_shape)
        return c * h * w

    @property
    def patch_features(self) -> int:
        """Length of a flattened patch, C * patch_size^2."""
        return self.shape[0] * self.patch_size**2

    def to_images(self, x: Tensor) -> Tensor:
        """Flattened images (B, n_features) -> (B, C, H * upsample, W * upsample)."""
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"expected flattened images of shape (B, {self.n_features}) for "
                f"image_shape {self.image_shape}, got {tuple(x.shape)}"
            )
        images = x.reshape(x.shape[0], *channel_first(self.image_shape))
        if self.upsample > 1:
            images = images.repeat_interleave(self.upsample, 2).repeat_interleave(self.upsample, 3)
        return images

    def cell_origins(self, device: torch.device | str = "cpu") -> Tensor:
        """Top-left (row, column) of the 9 unjittered cells, row-major: int64 (9, 2)."""
        _, height, width = self.shape
        step = self.patch_size + self.gap
        need = 3 * self.patch_size + 2 * self.gap
        top, left = (height - need) // 2, (width - need) // 2
        cells = torch.arange(9, device=device)
        return torch.stack([top + cells // 3 * step, left + cells % 3 * step], dim=1)


class PatchPairs(NamedTuple):
    """Sampled pretext examples: centre and neighbour patches (N, C, p, p), labels (N,) in 0..7,
    and the index (N,) of the source image of each pair."""

    centre: Tensor
    neighbour: Tensor
    label: Tensor
    image_index: Tensor


def extract_patches(images: Tensor, image_index: Tensor, top_left: Tensor, size: int) -> Tensor:
    """Patches ``images[image_index[n], :, r:r+size, c:c+size]`` with (r, c) = top_left[n],
    gathered by index arithmetic for all n at once.

    images (B, C, H, W); image_index (N,) int64; top_left (N, 2) int64 -> (N, C, size, size).
    """
    offsets = torch.arange(size, device=images.device)
    rows = top_left[:, 0, None] + offsets  # (N, size)
    cols = top_left[:, 1, None] + offsets
    channels = torch.arange(images.shape[1], device=images.device)
    return images[
        image_index[:, None, None, None],
        channels[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


def _jittered(origins: Tensor, grid: PatchGrid, generator: torch.Generator | None) -> Tensor:
    """origins (N, 2) plus independent uniform integer jitter in [-jitter, jitter] per axis,
    clamped so that the patch stays inside the image."""
    if grid.jitter == 0:
        return origins
    shift = torch.randint(
        -grid.jitter, grid.jitter + 1, origins.shape, generator=generator, device=origins.device
    )
    _, height, width = grid.shape
    upper = torch.tensor([height - grid.patch_size, width - grid.patch_size], device=origins.device)
    return torch.minimum((origins + shift).clamp_min(0), upper)


def sample_patch_pairs(
    images: Tensor,
    grid: PatchGrid,
    pairs_per_image: int = 1,
    generator: torch.Generator | None = None,
) -> PatchPairs:
    """Draw ``pairs_per_image`` distinct neighbour positions of every image (uniform, without
    replacement) and cut the jittered centre and neighbour patches, all images at once.

    images (B, C, H, W) at the grid's resolution (see :meth:`PatchGrid.to_images`); returns
    :class:`PatchPairs` with N = B * pairs_per_image pairs (the pairs of image b are rows
    b * pairs_per_image ...). ``generator`` None draws from torch's global RNG.
    """
    if tuple(images.shape[1:]) != grid.shape:
        raise ValueError(
            f"images of shape (B, *{grid.shape}) expected for this grid, got {tuple(images.shape)}"
        )
    if not 1 <= pairs_per_image <= N_POSITIONS:
        raise ValueError(f"pairs_per_image={pairs_per_image} must lie in [1, {N_POSITIONS}]")
    device = images.device
    n_images = images.shape[0]
    draws = torch.rand(n_images, N_POSITIONS, generator=generator, device=device)
    label = draws.argsort(dim=1)[:, :pairs_per_image].reshape(-1)
    image_index = torch.arange(n_images, device=device).repeat_interleave(pairs_per_image)
    origins = grid.cell_origins(device)
    cells = torch.tensor(NEIGHBOUR_CELLS, device=device)[label]
    centre_at = _jittered(origins[CENTRE_CELL].expand(label.shape[0], 2), grid, generator)
    neighbour_at = _jittered(origins[cells], grid, generator)
    return PatchPairs(
        extract_patches(images, image_index, centre_at, grid.patch_size),
        extract_patches(images, image_index, neighbour_at, grid.patch_size),
        label,
        image_index,
    )


def grid_cells(images: Tensor, grid: PatchGrid) -> Tensor:
    """The 9 unjittered cells of every image: (B, C, H, W) -> (B, 9, C, p, p), row-major."""
    n_images = images.shape[0]
    origins = grid.cell_origins(images.device)
    image_index = torch.arange(n_images, device=images.device).repeat_interleave(9)
    patches = extract_patches(images, image_index, origins.repeat(n_images, 1), grid.patch_size)
    return patches.reshape(n_images, 9, *patches.shape[1:])


def dense_patches(images: Tensor, size: int) -> Tensor:
    """Every size x size patch at stride 1: (B, C, H, W) -> (B, C*size^2, H-size+1, W-size+1),
    each patch flattened channel-first like ``patch.flatten()`` of a (C, size, size) patch."""
    n_images, _, height, width = images.shape
    columns = F.unfold(images, kernel_size=size)  # (B, C*size^2, L)
    return columns.reshape(n_images, columns.shape[1], height - size + 1, width - size + 1)
