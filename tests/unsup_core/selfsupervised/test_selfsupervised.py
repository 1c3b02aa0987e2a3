"""Self-supervised pretexts: patch grid and labels, masked features, NT-Xent and augmentations,
fixed draws in eval mode, training on digits and seeded determinism (the shared model contract is
in ``tests/unsup_core/test_model_contract.py``)."""

import math

import numpy as np
import pytest
import torch

from unsup_core.selfsupervised import (
    AugmentConfig,
    ContrastiveConfig,
    ContrastiveModel,
    MaskedFeatureConfig,
    MaskedFeatureModel,
    NTXentLoss,
    PatchGrid,
    PatchPositionConfig,
    PatchPositionModel,
    PretextTrainingConfig,
    augment_images,
    grid_cells,
    masked_mse,
    nt_xent,
    random_affine,
    random_erasing,
    sample_feature_mask,
    sample_patch_pairs,
)
from unsup_core.selfsupervised.patches import dense_patches
from unsup_core.training import Trainer, TrainerConfig, evaluate, seeded

# label k -> (cell row, cell column) of the 3x3 grid, written out independently of the code
EXPECTED_CELL = {
    0: (0, 0),
    1: (0, 1),
    2: (0, 2),
    3: (1, 0),
    4: (1, 2),
    5: (2, 0),
    6: (2, 1),
    7: (2, 2),
}


def cell_image(height: int, width: int, patch: int, gap: int, top: int, left: int) -> np.ndarray:
    """A (height, width) image whose grid cell (i, j) (``patch`` pixels square, ``gap`` apart,
    the first at (``top``, ``left``)) holds 1 + 3 i + j; gaps and margins hold 0."""
    image = np.zeros((height, width), dtype=np.float32)
    step = patch + gap
    for i in range(3):
        for j in range(3):
            r, c = top + i * step, left + j * step
            image[r : r + patch, c : c + patch] = 1 + 3 * i + j
    return image


# (image_shape, grid, cell layout at the *input* resolution: patch, gap, top, left)
LAYOUTS = [
    pytest.param((8, 8), dict(patch_size=2, gap=1), (2, 1, 0, 0), id="native-8x8"),
    pytest.param(
        (8, 8),
        dict(patch_size=6, gap=3, jitter=1, upsample=3),
        (2, 1, 0, 0),
        id="upsampled-24x24-jitter",
    ),
    pytest.param((2, 9, 11), dict(patch_size=2, gap=1), (2, 1, 0, 1), id="2-channels-margin"),
    pytest.param((12, 12), dict(patch_size=2, gap=2, jitter=0), (2, 2, 1, 1), id="margin"),
]


@pytest.mark.parametrize("image_shape, grid_kwargs, layout", LAYOUTS)
def test_pretext_label_k_cuts_the_neighbour_at_grid_position_k(image_shape, grid_kwargs, layout):
    grid = PatchGrid(image_shape, **grid_kwargs)
    plane = cell_image(image_shape[-2], image_shape[-1], *layout)
    channels = 1 if len(image_shape) == 2 else image_shape[0]
    planes = [plane * 10**ch for ch in range(channels)]
    one = np.stack(planes).reshape(1, -1)
    x = torch.as_tensor(np.concatenate([one, 11 * one]))  # image 1: values 11..99, no overlap
    pairs = sample_patch_pairs(
        grid.to_images(x.repeat(20, 1)),
        grid,
        pairs_per_image=8,
        generator=torch.Generator().manual_seed(0),
    )
    p, jitter = grid.patch_size, grid.jitter
    assert pairs.centre.shape == pairs.neighbour.shape == (320, grid.shape[0], p, p)
    assert sorted(pairs.label[:8].tolist()) == list(range(8))  # 8 distinct positions per image
    saw_jitter = False
    for centre, neighbour, label, image in zip(
        pairs.centre, pairs.neighbour, pairs.label, pairs.image_index
    ):
        scale = 11 if int(image) % 2 else 1
        i, j = EXPECTED_CELL[int(label)]
        for patch, value in ((centre, 5), (neighbour, 1 + 3 * i + j)):
            first = patch[0]  # channel 0; other channels are scaled copies
            inside = first != 0
            assert set(first[inside].tolist()) == {value * scale}
            # at most `jitter` rows/columns of the patch fall into the gap
            assert inside.sum() >= (p - jitter) ** 2
            saw_jitter |= bool((~inside).any())
            for ch in range(1, grid.shape[0]):
                torch.testing.assert_close(patch[ch], first * 10**ch, check_dtype=False)
    assert saw_jitter == (jitter > 0)


def test_grid_cells_and_dense_patches_against_direct_slicing():
    grid = PatchGrid((12, 12), patch_size=2, gap=2)
    images = torch.as_tensor(cell_image(12, 12, 2, 2, 1, 1))[None, None]
    cells = grid_cells(images, grid)
    assert cells.shape == (1, 9, 1, 2, 2)
    assert cells[0, :, 0].flatten(1).tolist() == [[v] * 4 for v in range(1, 10)]
    x = torch.randn(2, 3, 5, 6)
    dense = dense_patches(x, 3)
    assert dense.shape == (2, 27, 3, 4)
    for r in range(3):
        for c in range(4):
            torch.testing.assert_close(dense[:, :, r, c], x[:, :, r : r + 3, c : c + 3].flatten(1))


def test_upsampling_repeats_pixels():
    grid = PatchGrid((2, 3), patch_size=1, gap=0, upsample=3)
    x = torch.arange(6.0)[None]
    images = grid.to_images(x)
    assert images.shape == (1, 1, 6, 9)
    assert images[0, 0, :, ::3].tolist() == [[0, 1, 2]] * 3 + [[3, 4, 5]] * 3
    with pytest.raises(ValueError, match=r"expected flattened images of shape \(B, 6\)"):
        grid.to_images(torch.zeros(1, 7))


@pytest.mark.parametrize(
    "make, error, message",
    [
        (
            lambda: PatchGrid((8, 8), 4, 1),
            ValueError,
            "3x3 patches of 4 with gap 1 need 14 pixels, image has 8",
        ),
        (
            lambda: PatchGrid((8, 8), 6, 3, 1, 2),
            ValueError,
            r"need 24 pixels, image has 16 \(height of image_shape \(8, 8\) upsampled x2\)",
        ),
        (lambda: PatchGrid((8, 8), 2, -1), ValueError, "gap=-1 must be an int >= 0"),
        (lambda: PatchGrid((8, 8), 0), ValueError, "patch_size=0 must be an int >= 1"),
        (
            lambda: PatchGrid((8, 8), 6, 3, 2, 3),
            ValueError,
            "jitter=2 with gap=3: neighbouring patches",
        ),
        (lambda: PatchGrid((64,), 2), ValueError, r"image_shape=\(64,\) must be \(height, width\)"),
        (
            lambda: PatchPositionConfig((8, 8), encoder="rnn"),
            ValueError,
            r"encoder='rnn' is not one of \['mlp', 'cnn'\]",
        ),
        (
            lambda: PatchPositionConfig((8, 8), pairs_per_image=9),
            ValueError,
            r"pairs_per_image=9 must lie in \[1, 8\]",
        ),
        (
            lambda: PatchPositionConfig((8, 8), image_code="cells"),
            ValueError,
            "image_code='cells' is not one of",
        ),
        (
            lambda: PatchPositionConfig((8, 8), patch_size=4),
            ValueError,  # the grid is checked too
            "3x3 patches of 4 with gap 1 need 14 pixels, image has 8",
        ),
        (
            lambda: PatchPositionConfig((8, 8), patch_size=6, gap=3, jitter=2, upsample=3),
            ValueError,
            "jitter=2 with gap=3: neighbouring patches",
        ),
        (lambda: PatchPositionConfig(patch_size=0), ValueError, "patch_size=0 must be an int >= 1"),
        (
            lambda: PatchPositionConfig().grid,
            ValueError,
            r"PatchPositionConfig.grid: image_shape=None: these come from the data",
        ),
        (
            lambda: MaskedFeatureConfig(64, mask_prob=1.0),
            ValueError,
            r"mask_prob=1.0 must lie in \(0, 1\)",
        ),
        (
            lambda: MaskedFeatureConfig(64, mask_token="noise"),
            ValueError,
            "mask_token='noise' is not one of",
        ),
        (
            lambda: ContrastiveConfig((8, 8), temperature=0.0),
            ValueError,
            "temperature=0.0 must be > 0",
        ),
        (
            lambda: AugmentConfig(min_scale=1.2, max_scale=1.1),
            ValueError,
            "need 0 < min_scale <= max_scale",
        ),
        (lambda: AugmentConfig(erase_prob=2.0), ValueError, r"erase_prob=2.0 must lie in \[0, 1\]"),
        (lambda: AugmentConfig(padding="reflect"), ValueError, "padding='reflect' is not one of"),
        (
            lambda: PretextTrainingConfig(pretext="jigsaw"),
            ValueError,
            r"pretext='jigsaw' is not one of "
            r"\['contrastive', 'patch_position', 'masked_features'\]",
        ),
    ],
)
def test_bad_configs_raise_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_the_patch_grid_of_a_config_is_made_of_its_fields():
    config = PatchPositionConfig(image_shape=[8, 8], patch_size=6, gap=3, jitter=1, upsample=3)
    assert config.image_shape == (8, 8)
    assert config.grid == PatchGrid((8, 8), 6, 3, jitter=1, upsample=3)
    assert PatchPositionConfig((8, 8)).grid == PatchGrid((8, 8), patch_size=2, gap=1)


PRETEXT_MODELS = {
    "patch_position": lambda: PatchPositionModel(
        PatchPositionConfig((8, 8), hidden=(16,), embed_dim=4, head_hidden=(16,))
    ),
    "patch_position_jitter": lambda: PatchPositionModel(
        PatchPositionConfig(
            (8, 8), patch_size=6, gap=3, jitter=1, upsample=3, hidden=(16,), embed_dim=4
        )
    ),
    "masked_features": lambda: MaskedFeatureModel(
        MaskedFeatureConfig(64, hidden=(16,), code_dim=4)
    ),
    "contrastive": lambda: ContrastiveModel(
        ContrastiveConfig((8, 8), encoder="mlp", hidden=(16,), code_dim=4, projection_dim=4)
    ),
}


@pytest.mark.parametrize("name", list(PRETEXT_MODELS))
def test_eval_mode_scores_one_fixed_draw_and_training_fresh_ones(name, prepared_digits):
    """Validation compares like with like: pairs, masks and views are drawn with the config's
    seed in eval mode, from torch's global generator (seeded by the Trainer) in training."""
    model = PRETEXT_MODELS[name]()
    x = torch.as_tensor(prepared_digits.train.X[:16])
    model.eval()
    assert model.loss({"x": x})["loss"].item() == model.loss({"x": x})["loss"].item()
    model.train()
    with seeded(0):  # the global generator's state is restored after the block
        first = model.loss({"x": x})["loss"].item()
        assert model.loss({"x": x})["loss"].item() != first
    with seeded(0):
        assert model.loss({"x": x})["loss"].item() == first


@pytest.mark.parametrize(
    "grid, min_accuracy",
    [
        ({}, 0.35),
        ({"patch_size": 6, "gap": 3, "jitter": 1, "upsample": 3}, 0.35),
    ],
    ids=["native", "upsampled"],
)
def test_patch_position_pretext_beats_chance_on_digits(grid, min_accuracy, prepared_digits):
    model = PatchPositionModel(PatchPositionConfig((8, 8), hidden=(32,), embed_dim=16, **grid))
    test = {"x": prepared_digits.test.X}
    assert evaluate(model, test)["accuracy"] < 0.25  # chance is 1/8
    Trainer(TrainerConfig(epochs=15, lr=3e-3)).fit(model, {"x": prepared_digits.train.X})
    assert evaluate(model, test)["accuracy"] > min_accuracy


def test_masked_mse_scores_masked_entries_only():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    x_hat = torch.tensor([[1.5, 0.0, 3.0], [4.0, 9.0, 7.0]])
    mask = torch.tensor([[True, False, True], [False, False, True]])
    # masked errors: 0.5^2, 0^2, 1^2 over 3 masked entries
    assert masked_mse(x_hat, x, mask).item() == pytest.approx((0.25 + 0 + 1) / 3)
    assert masked_mse(x_hat, x, torch.zeros_like(mask)).item() == 0.0


def test_masked_feature_loss_by_hand_and_observed_entries():
    model = MaskedFeatureModel(MaskedFeatureConfig(5, hidden=(8,), code_dim=2))
    with torch.no_grad():
        model.mask_token.copy_(torch.arange(5.0) + 10)
    x = torch.rand(4, 5)
    mask = torch.rand(4, 5) < 0.5
    mask[0, 0] = True
    x_tilde = model.apply_mask(x, mask)
    torch.testing.assert_close(x_tilde[mask], (torch.arange(5.0) + 10).expand(4, 5)[mask])
    torch.testing.assert_close(x_tilde[~mask], x[~mask])
    x_hat = model.decoder(model.encoder(x_tilde))
    expected = ((x_hat - x) ** 2)[mask].mean()
    torch.testing.assert_close(model.masked_loss(x, mask), expected)
    observed = torch.ones(4, 5, dtype=torch.bool)
    observed[0, 0] = False
    torch.testing.assert_close(
        model.masked_loss(x, mask, observed), ((x_hat - x) ** 2)[mask & observed].mean()
    )
    draws = sample_feature_mask((2000, 5), 0.3, torch.Generator().manual_seed(0))
    assert abs(draws.float().mean().item() - 0.3) < 0.01


def test_masked_feature_model_loss_falls_on_digits(prepared_digits):
    model = MaskedFeatureModel(
        MaskedFeatureConfig(64, hidden=(64,), code_dim=16, decoder_hidden=(64,))
    )
    val = {"x": prepared_digits.val.X}
    start = evaluate(model, val)["masked_mse"]
    Trainer(TrainerConfig(epochs=10, lr=3e-3)).fit(model, {"x": prepared_digits.train.X})
    assert evaluate(model, val)["masked_mse"] < 0.5 * start


def naive_nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> float:
    """Chen et al. (2020), eq. 1, one anchor at a time in plain Python."""
    rows = torch.cat([z1, z2]).tolist()
    z = [[c / math.sqrt(sum(c * c for c in v)) for c in v] for v in rows]
    n = len(z) // 2
    sim = lambda a, b: sum(p * q for p, q in zip(z[a], z[b])) / temperature  # noqa: E731
    total = 0.0
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        denominator = sum(math.exp(sim(i, k)) for k in range(2 * n) if k != i)
        total += -math.log(math.exp(sim(i, positive)) / denominator)
    return total / (2 * n)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_nt_xent_equals_a_naive_implementation(temperature):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    value = nt_xent(z1, z2, temperature).item()
    assert value == pytest.approx(naive_nt_xent(z1, z2, temperature), rel=1e-5)
    assert NTXentLoss(temperature)(3 * z1, z2).item() == pytest.approx(value, rel=1e-5)
    # identical views score lower than unrelated ones
    assert nt_xent(z1, z1, temperature).item() < value


def test_augmentations_keep_shapes_and_ranges(prepared_digits):
    images = torch.as_tensor(prepared_digits.train.X[:64]).reshape(64, 1, 8, 8)
    g = torch.Generator().manual_seed(0)
    views = augment_images(images, AugmentConfig(), g)
    assert views.shape == images.shape and not torch.equal(views, images)
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    high = images.amax(dim=(1, 2, 3), keepdim=True)
    assert bool(((views >= low) & (views <= high)).all())
    again = augment_images(images, AugmentConfig(), torch.Generator().manual_seed(0))
    torch.testing.assert_close(again, views)  # one seed, one draw

    still = random_affine(images, 0.0, 0.0, 1.0, 1.0, generator=g)
    torch.testing.assert_close(still, images, atol=1e-5, rtol=0)  # the identity map
    blob = torch.zeros(200, 1, 9, 9)
    blob[:, :, 4, 4] = 1.0
    moved = random_affine(blob, 1.0, 0.0, 1.0, 1.0, generator=g)
    grid = torch.arange(9.0)
    centre_row = (moved[:, 0].sum(2) * grid).sum(1) / moved[:, 0].sum((1, 2))
    assert (centre_row - 4).abs().max() <= 1.0 + 1e-5 and (centre_row - 4).abs().max() > 0.5

    erased = random_erasing(torch.ones(300, 2, 8, 8), 1.0, 3, g)
    holes = erased[:, 0] == 0
    sizes = holes.sum((1, 2))
    assert sizes.min() >= 1 and sizes.max() <= 9 and (sizes > 1).any()
    rows, cols = holes.any(2).sum(1), holes.any(1).sum(1)
    assert torch.equal(rows * cols, sizes)  # a filled rectangle
    assert torch.equal(erased[:, 1] == 0, holes)  # every channel
    assert not (random_erasing(torch.ones(50, 1, 8, 8), 0.0, 3, g) == 0).any()


def test_contrastive_model_loss_falls_on_digits(prepared_digits):
    model = ContrastiveModel(
        ContrastiveConfig((8, 8), encoder="mlp", hidden=(64,), code_dim=32, projection_dim=16)
    )
    val = {"x": prepared_digits.val.X}
    start = evaluate(model, val)["nt_xent"]
    trainer = Trainer(TrainerConfig(epochs=8, batch_size=128, lr=3e-3))
    trainer.fit(model, {"x": prepared_digits.train.X})
    assert evaluate(model, val)["nt_xent"] < start - 0.5


def test_seeded_training_is_identical_and_the_seed_matters(prepared_digits):
    data = {"x": prepared_digits.train.X[:256]}

    def trained(seed: int, trainer_seed: int = 0) -> PatchPositionModel:
        model = PatchPositionModel(
            PatchPositionConfig(
                (8, 8),
                patch_size=6,
                gap=3,
                jitter=1,
                upsample=3,
                hidden=(16,),
                embed_dim=8,
                seed=seed,
            )
        )
        Trainer(TrainerConfig(epochs=2, seed=trainer_seed)).fit(model, data)
        return model

    first, second = trained(0), trained(0)
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    other_init, other_pairs = trained(1), trained(0, trainer_seed=1)
    weight = "encoder.patch_encoder.net.0.weight"
    assert not torch.equal(first.state_dict()[weight], other_init.state_dict()[weight])
    assert not torch.equal(first.state_dict()[weight], other_pairs.state_dict()[weight])
