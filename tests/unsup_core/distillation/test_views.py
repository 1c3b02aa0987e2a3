"""The CNN teacher and soft targets on augmented views (plain and privileged distillation)."""

import numpy as np
import pytest
import torch
from torch import nn

from unsup_core.arrays import apply_array
from unsup_core.distillation import (
    AugmentedTargets,
    DistillationConfig,
    DistillationStudent,
    GeneralizedDistillationStudent,
    MLPClassifier,
    MLPClassifierConfig,
    conv_teacher,
    degrade,
    distillation_data,
    fit_conv_teacher,
    generalized_distillation_loss,
    knowledge_distillation_loss,
    pool_images,
    privileged_data,
)
from unsup_core.selfsupervised.augment import NO_AUGMENT, AugmentConfig
from unsup_core.training import Trainer, TrainerConfig

IDENTITY = NO_AUGMENT


def bars(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """8x8 images of one horizontal (class 0) or vertical (class 1) bar at a random place,
    flattened: X (n, 64) in [0, 1], y (n,)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = np.zeros((n, 8, 8), dtype=np.float32)
    for i, (label, where) in enumerate(zip(y, rng.integers(1, 7, n))):
        if label == 0:
            X[i, where, 1:7] = 1.0
        else:
            X[i, 1:7, where] = 1.0
    return X.reshape(n, 64), y


def student(seed: int = 0) -> MLPClassifier:
    return MLPClassifier(MLPClassifierConfig(64, (8,), 2, seed=seed))


def test_conv_teacher_maps_flat_images_to_logits_and_checks_widths():
    teacher = conv_teacher((8, 8), 3, channels=(4, 8), width=16)
    assert teacher(torch.rand(5, 64)).shape == (5, 3)
    with pytest.raises(ValueError, match=r"channels=\(\) and width=16"):
        conv_teacher((8, 8), 3, channels=(), width=16)


def test_fit_conv_teacher_learns_bars_with_augmentation():
    X, y = bars()
    trainer = TrainerConfig(epochs=15, batch_size=32, lr=1e-2, seed=0)
    teacher = fit_conv_teacher(X, y, (8, 8), trainer, AugmentConfig(), channels=(4,), width=16)
    X_test, y_test = bars(60, seed=1)
    assert np.mean(apply_array(teacher, X_test, "predict") == y_test) > 0.9


def test_pool_images_matches_degrade():
    X = np.random.default_rng(0).random((7, 64)).astype(np.float32)
    pooled = pool_images(torch.from_numpy(X), (8, 8)).numpy()
    np.testing.assert_allclose(pooled, degrade(X, (8, 8)), rtol=1e-6)
    with pytest.raises(ValueError, match="multiples of 4"):
        pool_images(torch.rand(2, 30), (5, 6))


def test_identity_views_repeat_the_images_with_the_teachers_logits():
    teacher = conv_teacher((8, 8), 2, channels=(4,), width=8)
    images = torch.rand(6, 64)
    x, t = AugmentedTargets(teacher, (8, 8), IDENTITY, n_views=3)(images)
    assert x.shape == (18, 64) and t.shape == (18, 2)
    torch.testing.assert_close(x, images.repeat(3, 1))
    torch.testing.assert_close(t, teacher(images).detach().repeat(3, 1))
    assert not t.requires_grad


def test_views_pass_through_student_view_and_keep_the_teacher_frozen():
    teacher = conv_teacher((8, 8), 2, channels=(4,), width=8)
    views = AugmentedTargets(
        teacher, (8, 8), IDENTITY, student_view=lambda v: pool_images(v, (8, 8))
    )
    images = torch.rand(4, 64)
    x, _ = views(images)
    torch.testing.assert_close(x, pool_images(images, (8, 8)))
    views.train()
    assert not teacher.training
    assert not any(p.requires_grad for p in teacher.parameters())


def test_augmented_views_differ_from_the_images():
    teacher = conv_teacher((8, 8), 2, channels=(4,), width=8)
    images, _ = bars(8)
    x, _ = AugmentedTargets(teacher, (8, 8), AugmentConfig(max_shift=2.0))(torch.from_numpy(images))
    assert not torch.allclose(x, torch.from_numpy(images))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n_views=0), ValueError, r"n_views=0 must be an int >= 1"),
        (dict(augment="weak"), TypeError, "augment must be an AugmentConfig, got str"),
        (dict(image_shape=(8, 8, 8, 8)), ValueError, r"image_shape=\(8, 8, 8, 8\)"),
    ],
)
def test_augmented_targets_checks_its_arguments(kwargs, error, match):
    arguments = dict(teacher=nn.Linear(64, 2), image_shape=(8, 8)) | kwargs
    with pytest.raises(error, match=match):
        AugmentedTargets(**arguments)


def test_views_need_flattened_images_of_the_given_shape():
    views = AugmentedTargets(nn.Linear(64, 2), (8, 8), IDENTITY)
    with pytest.raises(ValueError, match=r"expected \(B, 64\)"):
        views(torch.rand(3, 63))


def test_kd_loss_with_identity_views_is_the_loss_on_the_batch_and_unlabelled_copies():
    X, y = bars(10)
    teacher = conv_teacher((8, 8), 2, channels=(4,), width=8)
    data = {k: torch.from_numpy(v) for k, v in distillation_data(teacher, X, y, [0, 1]).items()}
    config = DistillationConfig(3.0, 0.4)
    model = DistillationStudent(
        student(), config, views=AugmentedTargets(teacher, (8, 8), IDENTITY)
    )
    s = model.logits(data["x"])
    unlabelled = torch.full_like(data["y"], -1)
    naive = knowledge_distillation_loss(
        torch.cat([s, s]),
        torch.cat([data["teacher_logits"]] * 2),
        torch.cat([data["y"], unlabelled]),
        3.0,
        0.4,
    )
    torch.testing.assert_close(model.train().loss(data)["loss"], naive["loss"])
    plain = knowledge_distillation_loss(s, data["teacher_logits"], data["y"], 3.0, 0.4)
    torch.testing.assert_close(model.eval().loss(data)["loss"], plain["loss"])


def test_views_add_imitation_targets_and_seeded_fits_repeat():
    X, y = bars()
    trainer = TrainerConfig(epochs=2, batch_size=32, lr=1e-2, seed=0)
    teacher = fit_conv_teacher(X, y, (8, 8), trainer, channels=(4,), width=8)
    frozen = [p.clone() for p in teacher.parameters()]
    data = distillation_data(teacher, X, y, [0, 1])

    def fit(views: bool) -> MLPClassifier:
        net = student()
        augment = AugmentedTargets(teacher, (8, 8), AugmentConfig()) if views else None
        Trainer(trainer).fit(DistillationStudent(net, views=augment), data)
        return net

    once, twice, without = fit(True), fit(True), fit(False)
    for a, b in zip(once.parameters(), twice.parameters()):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(once.net[0].weight, without.net[0].weight)
    for before, after in zip(frozen, teacher.parameters()):
        torch.testing.assert_close(before, after)


def test_distillation_views_reject_regression_and_other_objects():
    views = AugmentedTargets(nn.Linear(64, 2), (8, 8), IDENTITY)
    with pytest.raises(ValueError, match="views need task='classification'"):
        DistillationStudent(student(), DistillationConfig(task="regression"), views=views)
    with pytest.raises(TypeError, match="views must be an AugmentedTargets, got AugmentConfig"):
        DistillationStudent(student(), views=IDENTITY)
    with pytest.raises(TypeError, match="positional"):  # views passed where the teacher goes
        DistillationStudent(student(), DistillationConfig(), views)


def test_privileged_views_imitate_the_teacher_on_the_full_view():
    X, y = bars(10)
    teacher = conv_teacher((8, 8), 2, channels=(4,), width=8)
    x = degrade(X, (8, 8))
    data = privileged_data(teacher, x, X, y, [0, 1], keep_privileged=True)
    np.testing.assert_array_equal(data["x_star"], X)
    assert "x_star" not in privileged_data(teacher, x, X, y, [0, 1])
    batch = {k: torch.from_numpy(v) for k, v in data.items()}
    views = AugmentedTargets(
        teacher, (8, 8), IDENTITY, student_view=lambda v: pool_images(v, (8, 8))
    )
    net = MLPClassifier(MLPClassifierConfig(16, (8,), 2))
    model = GeneralizedDistillationStudent(net, 2.0, 5.0, views)
    s = net(batch["x"])
    naive = generalized_distillation_loss(
        torch.cat([s, net(pool_images(batch["x_star"], (8, 8)))]),
        torch.cat([batch["teacher_logits"], teacher(batch["x_star"]).detach()]),
        torch.cat([batch["y"], torch.full_like(batch["y"], -1)]),
        2.0,
        5.0,
    )
    torch.testing.assert_close(model.train().loss(batch)["loss"], naive["loss"])
    without_star = {k: v for k, v in batch.items() if k != "x_star"}
    with pytest.raises(ValueError, match=r"needs batch\['x_star'\]"):
        model.loss(without_star)
    model.eval().loss(without_star)  # evaluation uses the batch as given
