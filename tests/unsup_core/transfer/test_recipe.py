"""The transfer experiment as one recipe: every encoder in every mode at every label budget, one
classifier per encoder and mode handed on, the same classes or a class split (with a supervised
base encoder), and seeded determinism."""

import pytest
import torch

from unsup_core.stacked import StackedAutoencoderConfig, greedy_layerwise_pretrain
from unsup_core.training import TrainerConfig
from unsup_core.transfer import (
    EncoderClassifier,
    TransferConfig,
    TransferResult,
    transfer_experiment,
)
from unsup_core.transfer.recipe import CURVE_COLUMNS
from unsup_core.validation import build_config

MODES = ("frozen", "finetune", "scratch", "pseudo_label")


def tiny(**values) -> TransferConfig:
    """Every mode, budgets of 2 labels per class and all labels, one draw, 10 steps per fit."""
    return build_config(
        TransferConfig,
        {
            "modes": MODES,
            "labels_per_class": [2, 0],
            "draws": 1,
            "model_labels_per_class": 2,
            "trainer": {"steps": 10, "batch_size": 32, "lr": 1e-2},
            "base_steps": 20,
            **values,
        },
    )


@pytest.fixture(scope="module")
def encoder(small_digits):
    """A 64 -> 16 sigmoid encoder pretrained layer-wise for two epochs."""
    encoder, _ = greedy_layerwise_pretrain(
        StackedAutoencoderConfig(in_features=64, layer_sizes=(16,), seed=1),
        small_digits.train.X,
        TrainerConfig(epochs=2, lr=1e-2),
    )
    return encoder


@pytest.fixture(scope="module")
def same_classes(small_digits, encoder) -> TransferResult:
    """The tiny transfer experiment on the digits' own classes (the encoder left as it was)."""
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    reported = []
    result = transfer_experiment(
        small_digits, {"stack": encoder}, tiny(), lambda *p: reported.append(p)
    )
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())  # copies
    # progress: one report per fit, 4 modes x 2 budgets; the handed-on classifiers (budget 2,
    # draw 0) are the curve's own fits, not trained twice
    assert reported == [(done, 8, "fits") for done in range(1, 9)]
    return result


def test_the_curve_has_every_mode_and_budget(same_classes):
    curve = same_classes.curve
    assert curve is same_classes.tables["transfer_curve"]
    assert {(row["encoder"], row["mode"], row["labels_per_class"]) for row in curve} == {
        ("stack", mode, k) for mode in MODES for k in (2, 0)
    }
    assert all(set(row) == set(CURVE_COLUMNS) for row in curve)
    assert all(
        0 <= row["accuracy"] <= 1 and row["accuracy_std"] == 0 and row["draws"] == 1
        for row in curve
    )
    assert same_classes.encoders == ("stack",) and same_classes.labels_per_class == 2


def test_metrics_and_the_classifiers_handed_on(small_digits, encoder, same_classes):
    metrics, models = same_classes.metrics, same_classes.models
    assert set(metrics) == {f"accuracy/stack/{mode}/k{k}" for mode in MODES for k in (2, "all")} | {
        f"model/stack_{mode}/accuracy" for mode in MODES
    }
    assert all(0 <= value <= 1 for value in metrics.values())
    for row in same_classes.curve:
        budget = row["labels_per_class"] or "all"
        assert metrics[f"accuracy/stack/{row['mode']}/k{budget}"] == row["accuracy"]
    assert set(models) == {f"stack_{mode}" for mode in MODES}
    for model in models.values():
        assert isinstance(model, EncoderClassifier)
        assert model.config.n_classes == small_digits.n_classes  # set from the data
    frozen, scratch = models["stack_frozen"].encoder, models["stack_scratch"].encoder
    assert frozen.config == encoder.config
    assert all(torch.equal(a, b) for a, b in zip(frozen.parameters(), encoder.parameters()))
    assert not any(p.requires_grad for p in frozen.parameters())
    assert scratch.config == encoder.config  # the same architecture, not the pretrained weights
    assert not torch.equal(scratch.linear(1).weight, encoder.linear(1).weight)


def test_the_experiment_is_deterministic(small_digits, encoder, same_classes):
    again = transfer_experiment(small_digits, {"stack": encoder}, tiny())
    assert again.metrics == same_classes.metrics and again.curve == same_classes.curve


def test_fits_on_two_processes_give_the_same_experiment(small_digits, encoder, same_classes):
    """Each fit seeds itself, so the worker processes change nothing but the wall time."""
    parallel = transfer_experiment(small_digits, {"stack": encoder}, tiny(workers=2))
    assert parallel.metrics == same_classes.metrics and parallel.curve == same_classes.curve
    for key, model in parallel.models.items():
        for a, b in zip(model.parameters(), same_classes.models[key].parameters()):
            assert torch.equal(a, b), key


def test_a_class_split_adds_a_supervised_base_encoder(small_digits, encoder):
    config = tiny(
        modes=["frozen", "scratch"],
        labels_per_class=[2],
        task="class_split",
        target_classes=[5, 6, 7, 8, 9],
    )
    result = transfer_experiment(small_digits, {"stack": encoder}, config)
    assert result.encoders == ("stack", "supervised_base")
    assert {row["encoder"] for row in result.curve} == {"stack", "supervised_base"}
    assert set(result.models) == {
        f"{name}_{mode}" for name in ("stack", "supervised_base") for mode in ("frozen", "scratch")
    }
    assert all(model.config.n_classes == 5 for model in result.models.values())  # the target
    base = result.models["supervised_base_frozen"].encoder
    assert base.config == encoder.config  # the last encoder's architecture, trained anew
    assert not torch.equal(base.linear(1).weight, encoder.linear(1).weight)
    without = transfer_experiment(
        small_digits,
        {"stack": encoder},
        tiny(modes=["frozen"], labels_per_class=[2], task="class_split", supervised_base=False),
    )
    assert without.encoders == ("stack",)
    assert set(without.metrics) == {"accuracy/stack/frozen/k2", "model/stack_frozen/accuracy"}


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"task": "regression"},
            r"task='regression' is not one of \['same_classes', 'class_split'\]",
        ),
        ({"draws": 0}, r"draws=0 must be >= 1"),
        ({"trainer": {"steps": 10, "epochs": 5}}, r"epochs=5 and steps=10: set one budget"),
        ({"encoder_lr_scale": 0}, r"encoder_lr_scale=0 must be > 0"),
    ],
)
def test_bad_settings_raise(values, message):
    with pytest.raises(ValueError, match=message):
        tiny(**values)


def test_a_class_split_needs_classes_the_data_has(small_digits, encoder):
    with pytest.raises(ValueError, match=r"classes=\[8, 9, 10\]: need >= 2 class codes"):
        transfer_experiment(
            small_digits, {"stack": encoder}, tiny(task="class_split", target_classes=[8, 9, 10])
        )


def test_figures_of_the_result(same_classes):
    from unsup_core.plotting.figures import transfer_figures

    figures = transfer_figures(same_classes)
    assert set(figures) == {"transfer_curve_stack"} and figures["transfer_curve_stack"].axes
