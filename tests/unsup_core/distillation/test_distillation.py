"""Distillation (Hinton et al. 2015), surrogates and LUPI / generalized distillation."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unsup_core.arrays import apply_array, count_parameters
from unsup_core.distillation import (
    DistillationConfig,
    DistillationStudent,
    GeneralizedDistillationStudent,
    JointPrivilegedConfig,
    JointPrivilegedModel,
    MLPClassifier,
    MLPClassifierConfig,
    agreement,
    classifier_from_encoder,
    degrade,
    distillation_data,
    encoder_layers,
    generalized_distillation_loss,
    inference_seconds_per_1000,
    joint_privileged_data,
    knowledge_distillation_loss,
    mixup_inputs,
    noise_copies,
    privileged_data,
    regression_distillation_loss,
    soft_kl,
    split_privileged,
    surrogate_data,
    teacher_targets,
)
from unsup_core.training import Trainer, TrainerConfig


def _logits(seed=0, n=12, k=5):
    """Student logits (n, k), teacher logits (n, k) and labels (n,) drawn with ``seed``."""
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, k, generator=g) * 2,
        torch.randn(n, k, generator=g) * 2,
        torch.randint(0, k, (n,), generator=g),
    )


def _accuracy(model, X, y):
    """Share of X whose predicted class is y."""
    return float((apply_array(model, X, "predict") == y).mean())


def _epochs(n, steps, batch_size=32):
    """Epochs over n objects that take about ``steps`` optimiser steps."""
    return max(1, round(steps * batch_size / n))


# --- losses -----------------------------------------------------------------------------------


def test_kd_loss_at_t1_alpha1_is_plain_cross_entropy():
    s, t, y = _logits()
    terms = knowledge_distillation_loss(s, t, y, temperature=1.0, alpha=1.0)
    assert torch.allclose(terms["loss"], F.cross_entropy(s, y), atol=1e-6)


def test_soft_kl_matches_a_naive_sum():
    s, t, _ = _logits(1)
    T = 3.0
    q, p = torch.softmax(t / T, 1).numpy(), torch.softmax(s / T, 1).numpy()
    naive = np.mean(
        [
            sum(q[i, k] * np.log(q[i, k] / p[i, k]) for k in range(q.shape[1]))
            for i in range(q.shape[0])
        ]
    )
    assert soft_kl(s, t, T).item() == pytest.approx(naive, rel=1e-5)
    assert soft_kl(t, t, T).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("T", [1.0, 2.0, 5.0, 20.0])
def test_kd_gradient_is_the_documented_formula(T):
    s, t, y = _logits(2)
    alpha = 0.3
    s = s.clone().requires_grad_(True)
    knowledge_distillation_loss(s, t, y, T, alpha)["loss"].backward()
    B = s.shape[0]
    soft = (1 - alpha) * T * (torch.softmax(s / T, 1) - torch.softmax(t / T, 1))
    hard = alpha * (torch.softmax(s, 1) - F.one_hot(y, 5))
    assert torch.allclose(s.grad, (soft + hard).detach() / B, atol=1e-6)


def test_t_squared_keeps_the_soft_gradient_magnitude_roughly_constant():
    s, t, _ = _logits(3)
    y = torch.full((s.shape[0],), -1)
    norms = []
    for T in (5.0, 10.0, 20.0, 40.0):
        s_ = s.clone().requires_grad_(True)
        knowledge_distillation_loss(s_, t, y, T, alpha=0.0)["loss"].backward()
        norms.append(s_.grad.norm().item())
    assert max(norms) / min(norms) < 1.3  # without T^2 it would shrink 64-fold


def test_unlabelled_objects_contribute_only_the_imitation_term():
    s, t, y = _logits(4)
    y[6:] = -1
    s = s.clone().requires_grad_(True)
    terms = knowledge_distillation_loss(s, t, y, 4.0, 0.5)
    assert terms["hard_ce"].item() == pytest.approx(F.cross_entropy(s[:6], y[:6]).item(), rel=1e-5)
    hard_grad = torch.autograd.grad(terms["hard_ce"], s, retain_graph=True)[0]
    assert torch.all(hard_grad[6:] == 0) and torch.any(hard_grad[:6] != 0)
    # with no label in the batch only the imitation term is left: (1 - alpha) T^2 KL
    all_unlabelled = knowledge_distillation_loss(s, t, torch.full_like(y, -1), 4.0, 0.5)
    assert all_unlabelled["hard_ce"].item() == 0.0
    assert all_unlabelled["loss"].item() == pytest.approx(
        0.5 * 16 * terms["soft_kl"].item(), rel=1e-5
    )


def test_regression_distillation_and_generalized_loss():
    s, t = torch.randn(6, 1), torch.randn(6, 1)
    y = torch.tensor([[1.0], [float("nan")], [0.0], [float("nan")], [2.0], [1.0]])
    terms = regression_distillation_loss(s, t, y, alpha=0.25)
    known = ~torch.isnan(y)
    assert terms["hard_mse"].item() == pytest.approx(
        ((s[known] - y[known]) ** 2).mean().item(), rel=1e-5
    )
    assert terms["loss"].item() == pytest.approx(
        0.25 * terms["hard_mse"].item() + 0.75 * ((s - t) ** 2).mean().item(), rel=1e-5
    )
    a, b, c = _logits(5)
    g = generalized_distillation_loss(a, b, c, temperature=2.0, mu=3.0)
    q = torch.softmax(b / 2, 1)
    kl = (q * (q.log() - torch.log_softmax(a, 1))).sum(1).mean()
    assert g["loss"].item() == pytest.approx(F.cross_entropy(a, c).item() + 3 * kl.item(), rel=1e-5)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: DistillationConfig(temperature=0.0), "temperature=0.0"),
        (lambda: DistillationConfig(temperature=-2), "temperature=-2"),
        (lambda: DistillationConfig(alpha=1.5), "alpha=1.5"),
        (lambda: DistillationConfig(alpha=-0.1), r"alpha=-0.1"),
        (lambda: DistillationConfig(task="ranking"), "task='ranking'"),
        (lambda: GeneralizedDistillationStudent(torch.nn.Linear(2, 2), mu=-1.0), "mu=-1.0"),
        (lambda: JointPrivilegedConfig(4, 8, mu=-0.5), "mu=-0.5"),
        (lambda: JointPrivilegedConfig(4, 8, temperature=0), "temperature=0"),
        (lambda: MLPClassifierConfig(64, (16,), n_classes=1), "n_classes=1"),
        (lambda: MLPClassifierConfig(64, dropout=1.0), "dropout=1.0"),
        (lambda: split_privileged(np.zeros((2, 3)), ["a", "b", "c"], ["b", "zz"]), r"\['zz'\]"),
        (lambda: degrade(np.zeros((2, 64)), (8, 8), mode="blur"), "mode='blur'"),
    ],
)
def test_bad_configs_raise_errors_naming_the_value(build, match):
    with pytest.raises(ValueError, match=match):
        build()


# --- models -----------------------------------------------------------------------------------


def test_seeded_training_with_dropout_is_identical(prepared_digits):
    """Dropout draws come from the Trainer's seeded generator: two fits of one seed agree."""
    X, y = prepared_digits.train.X[:200], prepared_digits.train.y[:200]

    def fit(seed: int) -> dict[str, torch.Tensor]:
        model = MLPClassifier(MLPClassifierConfig(64, (32,), 10, dropout=0.1, seed=3))
        Trainer(TrainerConfig(epochs=2, batch_size=32, lr=1e-2, seed=seed)).fit(
            model, {"x": X, "y": y}
        )
        return model.state_dict()

    first, second, other = fit(0), fit(0), fit(1)
    assert all(torch.equal(first[k], v) for k, v in second.items())
    assert any(not torch.equal(first[k], v) for k, v in other.items())


def test_classifier_from_encoder_starts_from_the_encoders_layers(prepared_digits):
    from unsup_core.stacked import StackedAutoencoderConfig, StackedEncoder

    encoder = StackedEncoder(StackedAutoencoderConfig(64, (24, 12, 8), activation="tanh", seed=3))
    assert [(layer.out_features, act) for layer, act in encoder_layers(encoder)] == [
        (24, "tanh"),
        (12, "tanh"),
        (8, "tanh"),
    ]
    before = copy.deepcopy(encoder.state_dict())
    x = torch.as_tensor(prepared_digits.train.X[:32])
    full = classifier_from_encoder(encoder, 10, seed=1)
    assert full.config.hidden == (24, 12, 8) and full.config.activation == "tanh"
    torch.testing.assert_close(full.net[:-1](x), encoder.encode(x))  # same hidden codes
    first = classifier_from_encoder(encoder, 10, depth=1)
    assert first.config.hidden == (24,)
    torch.testing.assert_close(first.net[:2](x), encoder.layers[:2](x))
    y = prepared_digits.train.y[:32]
    Trainer(TrainerConfig(epochs=3, batch_size=8, lr=1e-2)).fit(full, {"x": x.numpy(), "y": y})
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())  # a copy
    assert not torch.equal(full.net[0].weight, encoder.linear(1).weight)  # trained afterwards
    with pytest.raises(ValueError, match=r"depth=4 must lie in \[1, 3\]"):
        classifier_from_encoder(encoder, 10, depth=4)
    mixed = torch.nn.Sequential(
        torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2), torch.nn.Sigmoid()
    )
    with pytest.raises(ValueError, match=r"mix activations \['relu', 'sigmoid'\]"):
        classifier_from_encoder(mixed, 2)
    with pytest.raises(TypeError, match="cannot read layer"):
        encoder_layers(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)))


def test_teacher_stays_frozen_while_the_student_trains(prepared_digits):
    X, y = prepared_digits.train.X[:256], prepared_digits.train.y[:256]
    teacher = MLPClassifier(MLPClassifierConfig(64, (32,), 10, dropout=0.5, seed=1))
    before = copy.deepcopy(teacher.state_dict())
    model = DistillationStudent(
        MLPClassifier(MLPClassifierConfig(64, (16,), 10)),
        DistillationConfig(4.0, 0.5),
        teacher=teacher,
    )
    student_before = copy.deepcopy(model.student.state_dict())
    Trainer(TrainerConfig(epochs=2, batch_size=32, lr=1e-2)).fit(model, {"x": X, "y": y})
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    assert all(not p.requires_grad for p in teacher.parameters())
    assert not teacher.training and model.train().teacher.training is False
    assert any(not torch.equal(student_before[k], v) for k, v in model.student.state_dict().items())
    assert count_parameters(model, trainable_only=True) == count_parameters(model.student)


def test_precomputed_teacher_logits_give_the_same_loss_as_a_live_teacher(prepared_digits):
    X, y = prepared_digits.train.X[:64], prepared_digits.train.y[:64]
    teacher = MLPClassifier(MLPClassifierConfig(64, (32,), 10, seed=1))
    student = MLPClassifier(MLPClassifierConfig(64, (16,), 10))
    data = distillation_data(teacher, X, y, labelled=np.arange(10))
    assert (data["y"][10:] == -1).all() and (data["y"][:10] == y[:10]).all()
    batch = {k: torch.as_tensor(v) for k, v in data.items()}
    live = DistillationStudent(student, teacher=teacher).loss({"x": batch["x"], "y": batch["y"]})
    cached = DistillationStudent(student).loss(batch)
    assert {"loss", "hard_ce", "soft_kl", "accuracy"} <= set(cached)
    assert torch.allclose(live["loss"], cached["loss"])


def test_extra_inputs_are_appended_unlabelled_with_the_teachers_targets(prepared_digits):
    X, y = prepared_digits.train.X[:40], prepared_digits.train.y[:40]
    teacher = MLPClassifier(MLPClassifierConfig(64, (32,), 10, seed=1))
    mixed = mixup_inputs(X, 25, seed=3)
    plain = distillation_data(teacher, X, y, labelled=np.arange(5))
    data = distillation_data(teacher, X, y, labelled=np.arange(5), extra_inputs=mixed)
    assert data["x"].shape == (65, 64) and np.array_equal(data["x"][40:], mixed)
    assert np.array_equal(data["y"][:40], plain["y"]) and (data["y"][40:] == -1).all()
    np.testing.assert_allclose(
        data["teacher_logits"][40:], teacher_targets(teacher, mixed), atol=1e-6
    )
    with pytest.raises(ValueError, match=r"extra_inputs have shape \(25, 10\); expected \(m, 64\)"):
        distillation_data(teacher, X, extra_inputs=mixed[:, :10])


def test_surrogate_inputs_and_measures(prepared_digits):
    X = prepared_digits.train.X[:50]
    noisy = noise_copies(X, 3, std=0.1, seed=0, clip=(0, 1))
    assert noisy.shape == (150, 64) and noisy.min() >= 0 and noisy.max() <= 1
    assert np.array_equal(noisy, noise_copies(X, 3, std=0.1, seed=0, clip=(0, 1)))
    mixed = mixup_inputs(X, 80, seed=1)
    assert mixed.shape == (80, 64)
    teacher = MLPClassifier(MLPClassifierConfig(64, (32,), 10))
    data = surrogate_data(teacher, X, noisy, mixed, np.random.default_rng(0).random((7, 64)))
    assert data["x"].shape == (287, 64) and (data["y"] == -1).all()
    assert np.allclose(data["teacher_logits"][:50], teacher_targets(teacher, X), atol=1e-6)
    assert agreement([1, 2, 3, 4], np.array([1, 2, 0, 4])) == 0.75
    assert (
        count_parameters(MLPClassifier(MLPClassifierConfig(64, (16,), 10)))
        == 64 * 16 + 16 + 16 * 10 + 10
    )
    assert inference_seconds_per_1000(teacher, X, repeats=3) > 0


# --- privileged information -------------------------------------------------------------------


def test_degrade_and_split_privileged():
    X = np.arange(2 * 64, dtype=np.float32).reshape(2, 64)
    pooled = degrade(X, (8, 8), "pool4x4")
    assert pooled.shape == (2, 16)
    assert pooled[0, 0] == pytest.approx(np.mean([0, 1, 8, 9]))
    assert pooled[0, 5] == pytest.approx(np.mean([18, 19, 26, 27]))
    subset = degrade(X, (8, 8), "pixel_subset", n_pixels=10, seed=2)
    assert subset.shape == (2, 10)
    assert np.array_equal(subset, degrade(X, (8, 8), "pixel_subset", 10, 2))
    x, x_star = split_privileged(X[:, :4], ["a", "b", "c", "d"], ["d", "b"])
    assert np.array_equal(x, X[:, [0, 2]]) and np.array_equal(x_star, X[:, [3, 1]])


def test_privileged_features_never_reach_the_student_at_prediction_time(prepared_digits):
    X_star = prepared_digits.train.X[:128]
    X = degrade(X_star, prepared_digits.image_shape)
    y = prepared_digits.train.y[:128]
    joint = JointPrivilegedModel(JointPrivilegedConfig(16, 64, 10, (16,), (32,), seed=0))
    history = Trainer(TrainerConfig(epochs=2, batch_size=32, lr=1e-2)).fit(
        joint, {"x": X, "x_star": X_star, "y": y}
    )
    assert {"train/student_ce", "train/teacher_ce", "train/coupling"} <= set(history.final)
    with pytest.raises(RuntimeError):  # a 64-feature x* does not fit the 16-feature student
        joint.predict(torch.as_tensor(X_star))
    seen = []
    hook = joint.teacher.register_forward_hook(lambda *args: seen.append(1))
    prediction = joint.predict(torch.as_tensor(X))
    hook.remove()
    assert prediction.shape == (128,) and not seen  # the x*-teacher is not run to predict
    teacher = MLPClassifier(MLPClassifierConfig(64, (32,), 10))
    student = GeneralizedDistillationStudent(MLPClassifier(MLPClassifierConfig(16, (16,), 10)))
    data = privileged_data(teacher, X, X_star, y)
    assert set(data) == {"x", "y", "teacher_logits"} and data["x"].shape[1] == 16
    Trainer(TrainerConfig(epochs=1, batch_size=32)).fit(student, data)
    assert student.predict(torch.as_tensor(X)).shape == (128,)


# --- end to end on digits (a few seconds each) ------------------------------------------------


@pytest.mark.slow
def test_distilled_student_beats_the_student_trained_on_few_labels(prepared_digits):
    d = prepared_digits
    Xtr, ytr, Xte, yte = d.train.X, d.train.y, d.test.X, d.test.y
    teacher = MLPClassifier(MLPClassifierConfig(64, (128,), 10))
    Trainer(TrainerConfig(epochs=40, batch_size=64)).fit(teacher, {"x": Xtr, "y": ytr})
    alone, distilled = [], []
    for seed in range(2):
        labelled = d.few_labels(10, seed)
        steps = 1500
        model = MLPClassifier(MLPClassifierConfig(64, (16,), 10, seed=seed))
        Trainer(
            TrainerConfig(epochs=_epochs(len(labelled), steps), batch_size=32, lr=3e-3, seed=seed)
        ).fit(model, {"x": Xtr[labelled], "y": ytr[labelled]})
        alone.append(_accuracy(model, Xte, yte))
        student = DistillationStudent(
            MLPClassifier(MLPClassifierConfig(64, (16,), 10, seed=seed)),
            DistillationConfig(temperature=4.0, alpha=0.5),
        )
        Trainer(
            TrainerConfig(epochs=_epochs(len(Xtr), steps), batch_size=32, lr=3e-3, seed=seed)
        ).fit(student, distillation_data(teacher, Xtr, ytr, labelled))
        distilled.append(_accuracy(student, Xte, yte))
    assert np.mean(distilled) > np.mean(alone) + 0.02, (alone, distilled)


@pytest.mark.slow
def test_generalized_distillation_beats_the_student_alone_on_pooled_digits(prepared_digits):
    d = prepared_digits
    X_star, ytr = d.train.X, d.train.y
    X, Xte = degrade(X_star, d.image_shape), degrade(d.test.X, d.image_shape)
    alone, distilled = [], []
    steps = 1500
    for seed in range(3):
        labelled = d.few_labels(20, seed)
        cfg = TrainerConfig(epochs=_epochs(len(labelled), steps), batch_size=32, lr=3e-3, seed=seed)
        # the teacher sees x*, with the same labels
        teacher = MLPClassifier(MLPClassifierConfig(64, (128,), 10, seed=seed))
        Trainer(cfg).fit(teacher, {"x": X_star[labelled], "y": ytr[labelled]})
        model = MLPClassifier(MLPClassifierConfig(16, (32,), 10, seed=seed))
        Trainer(cfg).fit(model, {"x": X[labelled], "y": ytr[labelled]})
        alone.append(_accuracy(model, Xte, d.test.y))
        student = GeneralizedDistillationStudent(
            MLPClassifier(MLPClassifierConfig(16, (32,), 10, seed=seed)), temperature=2.0, mu=10.0
        )
        Trainer(
            TrainerConfig(epochs=_epochs(len(X), steps), batch_size=32, lr=3e-3, seed=seed)
        ).fit(student, privileged_data(teacher, X, X_star, ytr, labelled))
        distilled.append(_accuracy(student, Xte, d.test.y))
    assert np.mean(distilled) > np.mean(alone), (alone, distilled)


def test_joint_privileged_data_labels_only_the_given_rows():
    X, X_star, y = np.zeros((6, 2)), np.ones((6, 5)), np.arange(6)
    data = joint_privileged_data(X, X_star, y, labelled=np.array([1, 4]))
    assert data["y"].tolist() == [-1, 1, -1, -1, 4, -1] and data["x_star"].shape == (6, 5)
    assert joint_privileged_data(X, X_star, y)["y"].tolist() == list(range(6))
    with pytest.raises(ValueError, match="X has 6 rows, X_star 5"):
        joint_privileged_data(X, X_star[:5], y)


def test_the_student_starts_from_the_encoder_only_where_it_fits(prepared_digits):
    from unsup_core.distillation.recipes import StudentConfig, student_maker
    from unsup_core.stacked import StackedAutoencoderConfig, StackedEncoder

    encoder = StackedEncoder(StackedAutoencoderConfig(64, (24, 12), seed=2))
    make, start = student_maker(StudentConfig(init_layers=2), prepared_digits, encoder)
    student = make()
    assert start == "encoder" and student.config.hidden == (24, 12)
    assert torch.equal(student.net[2].weight, encoder.linear(2).weight)
    make, start = student_maker(StudentConfig(init_layers=3), prepared_digits, encoder)
    assert start.startswith("scratch (encoder takes 64 features in 2 layers)")
    assert make().config.hidden == (16,)
    other = StackedEncoder(StackedAutoencoderConfig(128, (24,)))  # e.g. stacked on other codes
    assert student_maker(StudentConfig(), prepared_digits, other)[1].startswith("scratch (")
    cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3))
    assert "cannot read layer" in student_maker(StudentConfig(), prepared_digits, cnn)[1]
    make, start = student_maker(StudentConfig(init_from="scratch"), prepared_digits, encoder)
    assert start == "scratch" and make().config.hidden == (16,)
    make, start = student_maker(StudentConfig(), prepared_digits, None)
    assert start == "scratch"
    assert (make().config.in_features, make().config.n_classes) == (64, 10)  # from the data


def test_the_classifier_encodes_to_its_last_hidden_layer():
    from unsup_core.arrays import encoder_codes

    model = MLPClassifier(MLPClassifierConfig(in_features=6, hidden=(5, 3), n_classes=2))
    X = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    codes = encoder_codes(model, X)
    assert codes.shape == (4, 3)
    logits = model.net[-1](torch.as_tensor(codes)).detach().numpy()
    np.testing.assert_allclose(logits, apply_array(model, X), rtol=1e-5, atol=1e-6)
