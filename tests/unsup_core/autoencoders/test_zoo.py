"""The zoo: every kind builds from one config; the overcomplete kinds; one probe for all."""

import numpy as np
import pytest

from unsup_core.autoencoders import (DenoisingAutoencoder, LabelRegularizedAutoencoder,
                                     apply_array)
from unsup_core.autoencoders.zoo import (ZOO_KINDS, ZooConfig, build_member, evaluate_member,
                                         member_data)
from unsup_core.evaluation import few_label_probe
from unsup_core.training import Trainer, TrainerConfig


def test_overcomplete_kinds_use_their_own_wide_relu_shape():
    zoo = ZooConfig(overcomplete_hidden=(24,), overcomplete_code_dim=80, noise_std=0.2,
                    overcomplete_label_weight=0.5)
    dae = build_member("denoising_overcomplete", zoo, 64, 10)
    assert isinstance(dae, DenoisingAutoencoder)
    assert (dae.config.hidden, dae.config.code_dim, dae.config.code_activation,
            dae.config.noise_std) == ((24,), 80, "relu", 0.2)
    labelled = build_member("label_regularized_overcomplete", zoo, 64, 10)
    assert isinstance(labelled, LabelRegularizedAutoencoder)
    assert (labelled.config.code_dim, labelled.config.noise_std,
            labelled.config.label_weight) == (80, 0.2, 0.5)
    assert build_member("denoising", zoo, 64, 10).config.code_dim == zoo.code_dim == 16
    with pytest.raises(ValueError, match="needs a labelled dataset"):
        build_member("label_regularized_overcomplete", zoo, 64, 1)
    with pytest.raises(ValueError, match="kind='wide'"):
        ZooConfig(kinds=("wide",))
    assert {"denoising_overcomplete", "label_regularized_overcomplete"} <= set(ZOO_KINDS)


def test_label_regularised_kinds_are_probed_with_their_own_labels_only(prepared_digits):
    data = prepared_digits
    zoo = ZooConfig(overcomplete_hidden=(16,), overcomplete_code_dim=32, probe_draws=3, seed=4)
    for kind in ("label_regularized_overcomplete", "denoising_overcomplete"):
        model = build_member(kind, zoo, data.n_features, data.n_classes)
        train, _ = member_data(kind, data, zoo)
        if kind.startswith("label"):
            seen = np.flatnonzero(train["y"] >= 0)
            assert np.array_equal(seen, data.few_labels(zoo.labels_per_class, zoo.seed))
        Trainer(TrainerConfig(epochs=1, batch_size=128)).fit(model, train)
        metrics = evaluate_member(model, data, zoo)
        codes = apply_array(model, data.train.X, "encode"), apply_array(model, data.test.X, "encode")
        draws = 1 if kind.startswith("label") else 3
        expected = few_label_probe(codes[0], data.train.y, codes[1], data.test.y, 10, draws, 4,
                                   standardize=False)
        assert metrics["probe/accuracy"] == pytest.approx(expected[0])
        assert (metrics["probe/accuracy_std"] == 0.0) == (draws == 1)
