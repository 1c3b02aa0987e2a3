"""Transfer to target tasks with few labels: modes, class splits, the accuracy curve."""

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from unsup_core.arrays import untrained_like
from unsup_core.stacked import StackedAutoencoderConfig, StackedEncoder, greedy_layerwise_pretrain
from unsup_core.training import TrainerConfig
from unsup_core.transfer import (
    PseudoLabelConfig,
    TransferConfig,
    class_split,
    fit_target,
    summarize_curve,
    transfer_curve,
)
from unsup_core.validation import build_config

FAST = TrainerConfig(epochs=1, batch_size=32, lr=1e-2)


def steps(n: int, **kwargs) -> TransferConfig:
    """A transfer config whose fits take n optimiser steps."""
    return TransferConfig(trainer=replace(FAST, epochs=None, steps=n), **kwargs)


@pytest.fixture(scope="module")
def pretrained(prepared_digits):
    """A 64 -> 32 -> 16 stacked encoder pretrained layer-wise on the digits."""
    config = StackedAutoencoderConfig(in_features=64, layer_sizes=(32, 16))
    encoder, _ = greedy_layerwise_pretrain(
        config, prepared_digits.train.X, TrainerConfig(epochs=15, lr=1e-2)
    )
    return encoder


def test_frozen_mode_leaves_the_encoder_unchanged_and_finetune_changes_it(
    prepared_digits, pretrained
):
    labelled = prepared_digits.few_labels(5, seed=0)
    before = copy.deepcopy(pretrained.state_dict())
    frozen, _ = fit_target(
        copy.deepcopy(pretrained), "frozen", prepared_digits, labelled, steps(20)
    )
    assert all(torch.equal(before[k], v) for k, v in frozen.encoder.state_dict().items())
    tuned, _ = fit_target(
        copy.deepcopy(pretrained), "finetune", prepared_digits, labelled, steps(20)
    )
    assert any(not torch.equal(before[k], v) for k, v in tuned.encoder.state_dict().items())
    assert all(torch.equal(before[k], v) for k, v in pretrained.state_dict().items())  # copies


def test_pretrained_encoder_beats_training_from_scratch_at_10_labels(prepared_digits, pretrained):
    config = StackedAutoencoderConfig(in_features=64, layer_sizes=(32, 16))
    labelled = prepared_digits.few_labels(10, seed=1)
    scratch = [
        fit_target(StackedEncoder(config), "scratch", prepared_digits, labelled, steps(150))[1]
    ]
    tuned = [
        fit_target(copy.deepcopy(pretrained), "finetune", prepared_digits, labelled, steps(150))[1]
    ]
    assert np.mean(tuned) > np.mean(scratch) + 0.05


def test_curve_has_every_mode_budget_and_draw(prepared_digits, pretrained):
    curve = steps(5, labels_per_class=(1, 0), draws=2)
    rows = transfer_curve(pretrained, prepared_digits, curve)
    assert len(rows) == 4 * (2 + 1)  # 4 modes x (2 draws at k=1, 1 run with all labels)
    summary = summarize_curve(rows)
    assert {(s["mode"], s["labels_per_class"]) for s in summary} == {
        (m, k) for m in ("frozen", "finetune", "scratch", "pseudo_label") for k in (1, 0)
    }
    assert all(0 <= s["accuracy"] <= 1 for s in summary)


def test_class_split_relabels_the_target_classes(prepared_digits):
    target = class_split(prepared_digits, [5, 6, 7, 8, 9])
    assert target.class_names == ("5", "6", "7", "8", "9") and target.n_classes == 5
    assert set(np.unique(target.train.y)) == set(range(5))
    kept = np.isin(prepared_digits.train.row_ids, target.train.row_ids)
    originals = prepared_digits.train.y[kept]
    assert set(np.unique(originals)) == {5, 6, 7, 8, 9}
    with pytest.raises(ValueError, match=r"classes=\[3, 12\]: need >= 2 class codes in \[0, 10\)"):
        class_split(prepared_digits, [3, 12])


def test_bad_transfer_settings(prepared_digits, pretrained):
    with pytest.raises(
        ValueError,
        match=r"mode='partial' is not one of "
        r"\['frozen', 'finetune', 'scratch', 'pseudo_label', 'fixmatch'\]",
    ):
        TransferConfig(modes=("partial",))
    with pytest.raises(ValueError, match="labels_per_class"):
        TransferConfig(labels_per_class=(-1,))
    with pytest.raises(ValueError, match="per_class=500 is larger than class"):
        prepared_digits.few_labels(500, seed=0)


def test_untrained_like_rebuilds_the_same_network_from_its_config(pretrained):
    fresh = untrained_like(pretrained)
    assert type(fresh) is type(pretrained) and fresh.config == pretrained.config
    assert [p.shape for p in fresh.parameters()] == [p.shape for p in pretrained.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(fresh.parameters(), pretrained.parameters()))


def test_supervised_base_task_trains_the_encoder_on_the_other_classes(prepared_digits):
    from unsup_core.transfer import supervised_base_encoder

    config = StackedAutoencoderConfig(in_features=64, layer_sizes=(32, 16))
    base = class_split(prepared_digits, [0, 1, 2, 3, 4])
    target = class_split(prepared_digits, [5, 6, 7, 8, 9])
    encoder = StackedEncoder(config)
    before = copy.deepcopy(encoder.state_dict())
    trained = supervised_base_encoder(encoder, base, FAST, steps=300)
    assert trained is encoder and out_of(trained) == 16
    assert any(not torch.equal(before[k], v) for k, v in trained.state_dict().items())
    head = fit_target(
        copy.deepcopy(trained), "frozen", base, base.few_labels(5, seed=0), steps(100)
    )[1]
    assert head > 0.9  # the base task is learned: its classes are separable in the codes
    assert target.n_classes == 5 and base.class_names == ("0", "1", "2", "3", "4")
    unlabelled = replace(base, train=replace(base.train, y=None))
    with pytest.raises(ValueError, match="needs a labelled base task"):
        supervised_base_encoder(StackedEncoder(config), unlabelled, FAST)


def out_of(encoder) -> int:
    """The code width of an encoder."""
    return encoder.out_features


def test_transfer_config_takes_the_pseudo_label_settings_as_a_dict():
    config = build_config(
        TransferConfig,
        {"pseudo_label": {"rounds": 2, "threshold": 0.5, "augment": {}}, "modes": ["frozen"]},
    )
    assert config.pseudo_label.rounds == 2 and config.pseudo_label.augment is not None
    assert config.modes == ("frozen",)
    assert TransferConfig().pseudo_label == PseudoLabelConfig()
    with pytest.raises(TypeError, match="pseudo_label must be a PseudoLabelConfig, got int"):
        TransferConfig(pseudo_label=3)
    with pytest.raises(ValueError, match="TransferConfig has no field 'steps'"):
        build_config(TransferConfig, {"steps": 3})
