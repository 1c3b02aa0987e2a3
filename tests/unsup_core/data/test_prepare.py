"""Preparation: stratified split by seed, scaling fitted on train only, few-label subsets."""

import numpy as np
import pytest

from unsup_core.data import (
    Dataset,
    PrepareConfig,
    few_label_indices,
    prepare,
    stratified_split,
    summarize_prepared,
)


def test_split_is_stratified_disjoint_and_complete(digits):
    train, val, test = stratified_split(
        digits.y, digits.n_samples, 0.3, 0.1, seed=0, class_names=digits.class_names
    )
    together = np.concatenate([train, val, test])
    assert len(together) == digits.n_samples == len(np.unique(together))
    for part, share in ((test, 0.3), (val, 0.1)):
        per_class = np.bincount(digits.y[part], minlength=10) / np.bincount(digits.y, minlength=10)
        assert np.all(np.abs(per_class - share) < 0.02)


def test_split_depends_on_seed_only(digits):
    a = stratified_split(digits.y, digits.n_samples, 0.3, 0.1, seed=1)
    b = stratified_split(digits.y, digits.n_samples, 0.3, 0.1, seed=1)
    c = stratified_split(digits.y, digits.n_samples, 0.3, 0.1, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[2], c[2])


def test_unlabelled_data_is_split_randomly():
    train, val, test = stratified_split(None, 100, 0.3, 0.0, seed=0)
    assert (len(train), len(val), len(test)) == (70, 0, 30)


def test_scaler_is_fitted_on_the_training_split_only(digits):
    data = prepare(digits, PrepareConfig(scaling="standard", seed=0))
    assert np.allclose(data.train.X.mean(axis=0), 0, atol=1e-5)
    assert not np.allclose(data.test.X.mean(axis=0), 0, atol=1e-3)  # test statistics differ
    raw_train = digits.X[np.isin(digits.row_ids, data.train.row_ids)]
    assert np.allclose(data.scaler.offset, raw_train.mean(axis=0), atol=1e-4)
    minmax = prepare(digits, PrepareConfig(scaling="minmax"))
    assert minmax.train.X.min() == 0 and minmax.train.X.max() == 1


def test_clip_keeps_validation_and_test_in_the_training_range(digits):
    loose = prepare(digits, PrepareConfig(scaling="minmax"))
    clipped = prepare(digits, PrepareConfig(scaling="minmax", clip=True))
    assert loose.test.X.max() > 1  # a test pixel brighter than any training one at that spot
    assert clipped.test.X.min() >= 0 and clipped.test.X.max() <= 1
    np.testing.assert_array_equal(clipped.train.X, loose.train.X)


def test_constant_feature_scales_to_zero_not_nan(digits):
    data = prepare(digits, PrepareConfig(scaling="standard"))
    assert np.isfinite(data.train.X).all()  # digits has always-zero border pixels


def test_few_label_subset_has_k_per_class(prepared_digits):
    index = prepared_digits.few_labels(10, seed=3)
    counts = np.bincount(prepared_digits.train.y[index], minlength=10)
    assert np.all(counts == 10)
    assert np.array_equal(index, prepared_digits.few_labels(10, seed=3))
    assert not np.array_equal(index, prepared_digits.few_labels(10, seed=4))


def test_few_label_k_larger_than_class_is_an_error():
    y = np.array([0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"per_class=3 is larger than class 'b', which has 2"):
        few_label_indices(y, 3, seed=0, class_names=("a", "b"))


def test_summary_reports_split_sizes(prepared_digits):
    summary = summarize_prepared(prepared_digits)
    assert sum(summary["split_sizes"].values()) == 1797
    assert sum(summary["class_counts"]["train"].values()) == summary["split_sizes"]["train"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"test_fraction": 1.2}, r"test_fraction=1.2 must lie in \[0, 1\)"),
        ({"test_fraction": 0.6, "val_fraction": 0.5}, "leaves no training data"),
        ({"scaling": "robust"}, r"scaling='robust' is not one of \['standard', 'minmax', 'none'\]"),
    ],
)
def test_bad_prepare_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PrepareConfig(**kwargs)


def test_dataset_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="X must be float32"):
        Dataset(X=np.zeros((3, 2)), feature_names=("a", "b"))
    with pytest.raises(ValueError, match="3 feature names for 2 columns"):
        Dataset(X=np.zeros((3, 2), np.float32), feature_names=("a", "b", "c"))
