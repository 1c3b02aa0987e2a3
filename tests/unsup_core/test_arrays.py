"""Networks on numpy arrays: outputs in batches, codes, accuracy, parameter counts, and fresh
untrained copies (also of networks made of parts)."""

import numpy as np
import torch
from torch import nn

from unsup_core.arrays import accuracy, apply_array, count_parameters, encoder_codes, untrained_like
from unsup_core.autoencoders import Autoencoder, AutoencoderConfig
from unsup_core.selfsupervised import MaskedFeatureConfig, MaskedFeatureModel
from unsup_core.serialization import describe
from unsup_core.stacked import StackedAutoencoderConfig, StackedEncoder, StackedOnEncoder
from unsup_core.training import seeded
from unsup_core.transfer import EncoderClassifier


def scramble(model: nn.Module, seed: int = 0) -> nn.Module:
    """Overwrite every parameter of ``model`` with seeded N(0, 1) draws (a stand-in for
    training: the weights differ from any fresh build); returns the model."""
    with seeded(seed), torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_()
    return model


def stack_on_base() -> StackedOnEncoder:
    """A 6-wide stacked encoder on a 12 -> 8 -> 6 masked-feature base, weights scrambled."""
    base = MaskedFeatureModel(MaskedFeatureConfig(in_features=12, hidden=(8,), code_dim=6, seed=1))
    stacked = StackedEncoder(StackedAutoencoderConfig(in_features=6, layer_sizes=(5, 3), seed=2))
    return scramble(StackedOnEncoder(base, stacked))


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """Whether two networks of one architecture hold identical weights."""
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_apply_array_runs_in_batches_in_eval_mode_and_restores_the_mode():
    model = Autoencoder(AutoencoderConfig(in_features=5, hidden=(4,), code_dim=2))
    X = np.random.default_rng(0).normal(size=(11, 5)).astype(np.float32)
    model.train()
    whole = apply_array(model, X)
    assert isinstance(whole, np.ndarray) and whole.shape == (11, 5) and model.training
    np.testing.assert_allclose(apply_array(model, X, batch_size=3), whole, rtol=1e-6, atol=1e-7)
    with torch.no_grad():
        np.testing.assert_array_equal(
            apply_array(model, X, "encode"), model.encode(torch.as_tensor(X)).numpy()
        )

    class ModeProbe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(1))

        def forward(self, x):
            return torch.full((len(x), 1), float(self.training)) * self.weight

    assert (apply_array(ModeProbe().train(), X) == 0).all()  # eval mode inside


def test_codes_accuracy_and_parameter_counts():
    X = np.random.default_rng(1).normal(size=(20, 12)).astype(np.float32)
    encoder = StackedEncoder(StackedAutoencoderConfig(in_features=12, layer_sizes=(4,)))
    classifier = EncoderClassifier(encoder, n_classes=3)
    np.testing.assert_array_equal(encoder_codes(classifier, X), apply_array(encoder, X))
    linear = nn.Linear(12, 2)  # no encode: its forward gives the codes
    np.testing.assert_array_equal(encoder_codes(linear, X), apply_array(linear, X))
    y = apply_array(classifier, X, "predict")
    assert accuracy(classifier, X, y) == 1.0
    assert accuracy(classifier, X, (y + 1) % 3) == 0.0
    assert count_parameters(classifier) == 12 * 4 + 4 + 4 * 3 + 3
    classifier.freeze(True)
    assert count_parameters(classifier, trainable_only=True) == 4 * 3 + 3


def test_untrained_like_rebuilds_a_network_from_its_config():
    model = scramble(Autoencoder(AutoencoderConfig(in_features=6, hidden=(4,), code_dim=2, seed=3)))
    fresh = untrained_like(model)
    assert type(fresh) is Autoencoder and fresh.config == model.config
    assert same_weights(fresh, Autoencoder(model.config))  # the config's own initialisation
    assert not same_weights(fresh, model)


def test_untrained_like_a_stack_on_a_base_encoder():
    model = stack_on_base()
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    fresh = untrained_like(model)
    assert type(fresh) is StackedOnEncoder and describe(fresh) == describe(model)
    assert fresh.base is not model.base and fresh.stacked is not model.stacked
    assert same_weights(fresh.base, MaskedFeatureModel(model.base.config))
    assert same_weights(fresh.stacked, StackedEncoder(model.stacked.config))
    assert not same_weights(fresh, model)
    assert all(torch.equal(trained[k], v) for k, v in model.state_dict().items())  # untouched
    x = torch.rand(4, 12)
    assert fresh.encode(x).shape == model.encode(x).shape == (4, 3)


def test_untrained_like_a_classifier_on_a_composite_encoder():
    model = EncoderClassifier(stack_on_base(), n_classes=4, freeze_encoder=True, seed=5)
    scramble(model.head, seed=1)
    fresh = untrained_like(model)
    assert type(fresh) is EncoderClassifier and describe(fresh) == describe(model)
    assert fresh.config == model.config and fresh.config.freeze_encoder
    assert not any(p.requires_grad for p in fresh.encoder.parameters())
    assert same_weights(fresh.encoder.base, MaskedFeatureModel(model.encoder.base.config))
    assert not same_weights(fresh.head, model.head)
    with seeded(5):  # the head is initialised from its own seed
        expected = nn.Linear(3, 4)
    assert same_weights(fresh.head, expected)
    assert fresh.logits(torch.rand(2, 12)).shape == (2, 4)


def test_untrained_like_refuses_a_module_without_a_config():
    import pytest
    from torch import nn

    from unsup_core.arrays import untrained_like

    with pytest.raises(TypeError, match="Linear has no config to rebuild it from"):
        untrained_like(nn.Linear(2, 2))
