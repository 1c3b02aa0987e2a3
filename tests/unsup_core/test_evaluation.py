"""Code-quality measures: probe, sparsity, Jacobian norm, label-spreading baseline."""

import numpy as np
import pytest
import torch

from unsup_core.evaluation import (
    few_label_probe,
    label_spreading_accuracy,
    mean_jacobian_norm,
    near_zero_fraction,
)


def test_probe_is_deterministic_and_sensible(prepared_digits):
    d = prepared_digits
    first = few_label_probe(d.train.X, d.train.y, d.test.X, d.test.y, 10, 2, seed=3)
    assert first == few_label_probe(d.train.X, d.train.y, d.test.X, d.test.y, 10, 2, seed=3)
    assert 0.8 < first[0] < 0.95
    noise = np.random.default_rng(0).normal(size=d.train.X.shape)
    chance = few_label_probe(noise, d.train.y, noise[: len(d.test)], d.test.y, 10, 2)
    assert chance[0] < 0.25


def test_probe_ignores_the_global_random_state(prepared_digits):
    d = prepared_digits
    args = (d.train.X, d.train.y, d.test.X, d.test.y, 5, 2)
    np.random.seed(5)
    torch.manual_seed(123)
    first = few_label_probe(*args, seed=1)
    np.random.seed(6)
    torch.manual_seed(456)
    assert few_label_probe(*args, seed=1) == first


def test_probe_strength_and_standardisation_are_applied(prepared_digits):
    d = prepared_digits
    args = (d.train.X, d.train.y, d.test.X, d.test.y, 10, 2)
    plain = few_label_probe(*args, standardize=False)
    assert few_label_probe(*args, standardize=False, C=1.0, max_iter=2000) == plain
    assert few_label_probe(*args, standardize=False, C=1e-4)[0] < plain[0] - 0.1  # all shrunk
    assert few_label_probe(*args) != plain  # the default still standardises
    with pytest.raises(ValueError, match=r"C=0.0 must be > 0"):
        few_label_probe(*args, C=0.0)


def test_label_spreading_uses_the_unlabelled_structure(prepared_digits):
    d = prepared_digits
    spreading = label_spreading_accuracy(d.train.X, d.train.y, d.test.X, d.test.y, 10, 2)
    probe = few_label_probe(d.train.X, d.train.y, d.test.X, d.test.y, 10, 2, standardize=False)
    assert spreading[0] > probe[0] + 0.03


def test_near_zero_fraction_ignores_a_uniform_rescaling():
    codes = np.array([[0.0, 1.0], [0.01, 2.0], [1.0, 0.05], [0.5, 3.0]])
    assert near_zero_fraction(codes) == pytest.approx(3 / 8)  # 0, 0.01 (<= 0.05), 0.05 (<= 0.15)
    assert near_zero_fraction(codes * 1e-3) == near_zero_fraction(codes)


def test_jacobian_norm_of_a_linear_map_is_its_frobenius_norm():
    A = torch.randn(3, 5)
    x = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
    assert mean_jacobian_norm(lambda z: z @ A.T, x) == pytest.approx(float((A**2).sum()), rel=1e-5)
