"""Checkpoints: plain data loadable with ``torch.load(weights_only=True)``, networks made of parts
rebuilt part by part, and only the classes of the table."""

import dataclasses

import pytest
import torch
from torch import nn

from unsup_core.selfsupervised import ContrastiveConfig, ContrastiveModel
from unsup_core.serialization import (
    MODEL_CLASSES,
    build_model,
    describe,
    from_checkpoint,
    load_checkpoint,
    model_classes,
    save_checkpoint,
    to_checkpoint,
)
from unsup_core.stacked import (
    DeepAutoencoder,
    StackedAutoencoderConfig,
    StackedEncoder,
    StackedOnEncoder,
)
from unsup_core.training import seeded
from unsup_core.transfer import EncoderClassifier


def scramble(model: nn.Module) -> nn.Module:
    """Overwrite every parameter with seeded N(0, 1) draws, so the weights differ from a fresh
    build of the same config; returns the model."""
    with seeded(0), torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_()
    return model


def classifier_on_a_stack() -> EncoderClassifier:
    """An EncoderClassifier on a StackedOnEncoder (a contrastive base, a 2-layer stack)."""
    base = ContrastiveModel(
        ContrastiveConfig(image_shape=(8, 8), encoder="mlp", hidden=(16,), code_dim=12, seed=1)
    )
    stacked = StackedEncoder(StackedAutoencoderConfig(in_features=12, layer_sizes=(6, 3), seed=2))
    return scramble(EncoderClassifier(StackedOnEncoder(base, stacked), n_classes=10, seed=4))


def test_a_classifier_on_a_stacked_composite_round_trips(tmp_path):
    model = classifier_on_a_stack().eval()
    path = save_checkpoint(model, tmp_path / "deep" / "classifier.pt")  # folders are made
    raw = torch.load(path, weights_only=True)  # plain data: no code runs from the file
    assert set(raw) == {"kind", "config", "children", "state_dict"}
    assert raw["kind"] == "EncoderClassifier"
    assert raw["config"] == {"n_classes": 10, "freeze_encoder": False, "seed": 4}
    encoder = raw["children"]["encoder"]
    assert (encoder["kind"], encoder["config"]) == ("StackedOnEncoder", {})
    assert {name: part["kind"] for name, part in encoder["children"].items()} == {
        "base": "ContrastiveModel",
        "stacked": "StackedEncoder",
    }
    assert encoder["children"]["stacked"]["config"]["layer_sizes"] == (6, 3)

    loaded = load_checkpoint(path).eval()
    assert type(loaded) is EncoderClassifier and describe(loaded) == describe(model)
    assert type(loaded.encoder.base) is ContrastiveModel
    assert loaded.encoder.base.config == model.encoder.base.config
    x = torch.rand(5, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
        torch.testing.assert_close(loaded.encode(x), model.encode(x), rtol=0, atol=0)


def test_networks_of_the_stack_round_trip_with_their_parts(tmp_path):
    cfg = StackedAutoencoderConfig(
        in_features=64, layer_sizes=(24, 12, 6), layer_kind="denoising", seed=3
    )
    x = torch.rand(5, 64)
    for model in (
        StackedEncoder(cfg),
        DeepAutoencoder(cfg),
        EncoderClassifier(StackedEncoder(cfg), 10, freeze_encoder=True, seed=2),
    ):
        scramble(model)
        path = save_checkpoint(model, tmp_path / f"{type(model).__name__}.pt")
        loaded = load_checkpoint(path)
        assert type(loaded) is type(model) and loaded.config == model.config
        torch.testing.assert_close(loaded(x), model(x))
    assert loaded.config.freeze_encoder  # a frozen encoder stays frozen
    assert not any(p.requires_grad for p in loaded.encoder.parameters())


def test_from_checkpoint_rebuilds_in_memory_and_build_model_gives_fresh_weights():
    model = classifier_on_a_stack()
    checkpoint = to_checkpoint(model)
    assert all(
        t.device.type == "cpu" and not t.requires_grad for t in checkpoint["state_dict"].values()
    )
    copy = from_checkpoint(checkpoint)
    assert all(torch.equal(a, b) for a, b in zip(copy.parameters(), model.parameters()))
    fresh = build_model(describe(model))
    assert describe(fresh) == describe(model)
    assert not torch.equal(fresh.head.weight, model.head.weight)


def test_only_the_classes_of_the_table_are_rebuilt():
    with pytest.raises(ValueError, match=r"model kind 'os.system' is not one of \["):
        build_model({"kind": "os.system", "config": {}})
    with pytest.raises(ValueError, match=r"model class 'Linear' is not checkpointable"):
        describe(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"AutoencoderConfig has no field 'width'"):
        build_model({"kind": "Autoencoder", "config": {"in_features": 3, "width": 2}})


@pytest.mark.parametrize("kind", sorted(MODEL_CLASSES))
def test_every_entry_of_the_table_names_a_real_class_and_config(kind):
    model_class, config_class = model_classes(kind)
    assert model_class.__name__ == kind and issubclass(model_class, nn.Module)
    pure_composition = getattr(model_class, "config", "per instance") is None  # StackedOnEncoder
    assert (config_class is None) == pure_composition
    if config_class is not None:
        assert dataclasses.is_dataclass(config_class) and config_class.__name__.endswith("Config")
