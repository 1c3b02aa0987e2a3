"""The zoo: every kind builds from one config (its own part plus the shared architecture), the
overcomplete kinds keep their own shape, one probe for all, and the whole zoo as one recipe."""

import math

import numpy as np
import pytest

from unsup_core.arrays import apply_array
from unsup_core.autoencoders import (
    Autoencoder,
    DenoisingAutoencoder,
    LabelRegularizedAutoencoder,
    LinearAutoencoder,
    VariationalAutoencoder,
)
from unsup_core.autoencoders.zoo import (
    COMPARISON_COLUMNS,
    ZOO_KINDS,
    ZooConfig,
    ZooResult,
    build_member,
    evaluate_member,
    member_data,
    train_zoo,
)
from unsup_core.evaluation import few_label_probe
from unsup_core.training import Callback, Trainer, TrainerConfig
from unsup_core.validation import build_config


def test_overcomplete_kinds_use_their_own_wide_relu_shape():
    zoo = build_config(
        ZooConfig,
        {
            "denoising_overcomplete": {"hidden": [24], "code_dim": 80, "noise_std": 0.2},
            "label_regularized_overcomplete": {
                "hidden": [24],
                "code_dim": 80,
                "noise_std": 0.2,
                "label_weight": 0.5,
            },
        },
    )
    dae = build_member("denoising_overcomplete", zoo, 64, 10)
    assert isinstance(dae, DenoisingAutoencoder)
    assert (
        dae.config.hidden,
        dae.config.code_dim,
        dae.config.code_activation,
        dae.config.noise_std,
    ) == ((24,), 80, "relu", 0.2)
    labelled = build_member("label_regularized_overcomplete", zoo, 64, 10)
    assert isinstance(labelled, LabelRegularizedAutoencoder)
    config = labelled.config
    assert (
        config.code_dim,
        config.noise_std,
        config.label_weight,
        config.code_activation,
        config.n_classes,
    ) == (80, 0.2, 0.5, "relu", 10)
    assert build_member("denoising", zoo, 64, 10).config.code_dim == zoo.code_dim == 16
    with pytest.raises(ValueError, match="needs a labelled dataset"):
        build_member("label_regularized_overcomplete", zoo, 64, 1)
    with pytest.raises(ValueError, match="kind='wide'"):
        ZooConfig(kinds=("wide",))
    assert {"denoising_overcomplete", "label_regularized_overcomplete"} <= set(ZOO_KINDS)


def test_bottleneck_kinds_share_the_zoos_architecture_and_keep_their_own_strengths():
    zoo = build_config(
        ZooConfig,
        {
            "hidden": [20],
            "code_dim": 5,
            "activation": "tanh",
            "seed": 7,
            "sparse_l1": {"code_l1": 0.02},
            "denoising": {"noise_std": 0.1},
        },
    )
    for kind in (
        "plain",
        "sparse_l1",
        "sparse_kl",
        "denoising",
        "contractive",
        "relational",
        "variational",
        "label_regularized",
    ):
        member = zoo.member_config(kind, 64, 10)
        assert (
            member.in_features,
            member.hidden,
            member.code_dim,
            member.activation,
            member.seed,
        ) == (64, (20,), 5, "tanh", 7), kind
    assert zoo.member_config("sparse_l1", 64, 10).code_l1 == 0.02
    assert zoo.member_config("sparse_kl", 64, 10).code_activation == "sigmoid"  # its own part
    assert zoo.member_config("denoising", 64, 10).noise_std == 0.1
    linear = zoo.member_config("linear", 64, 10)
    assert (linear.hidden, linear.code_dim, linear.activation, linear.seed) == ((), 5, "relu", 7)
    assert isinstance(build_member("linear", zoo, 64, 10), LinearAutoencoder)
    # the VAE's likelihood follows the data's range
    assert zoo.member_config("variational", 64, 10).likelihood == "bernoulli"
    assert (
        zoo.member_config("variational", 64, 10, data_in_unit_interval=False).likelihood
        == "gaussian"
    )
    template = zoo.member_config("plain", None, None)  # the data's sizes not known yet
    assert template.in_features is None
    with pytest.raises(ValueError, match=r"Autoencoder: in_features=None"):
        Autoencoder(template)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"kinds": []}, r"kinds is empty; choose from"),
        ({"labels_per_class": 0}, r"labels_per_class=0 and probe_draws=5 must be >= 1"),
        ({"code_dim": 0}, r"code_dim=0 must be >= 1"),  # checked on every member it reaches
        ({"sparse_kl": {"code_activation": "relu"}}, r"needs code_activation='sigmoid'"),
        ({"denoising": {"mask_prob": 2.0}}, r"mask_prob=2.0 must lie in \(0, 1\)"),
        ({"widths": [3]}, r"ZooConfig has no field 'widths'"),
    ],
)
def test_bad_zoo_configs_raise(values, message):
    with pytest.raises(ValueError, match=message):
        build_config(ZooConfig, values)


def test_label_regularised_kinds_are_probed_with_their_own_labels_only(prepared_digits):
    data = prepared_digits
    zoo = build_config(
        ZooConfig,
        {
            "denoising_overcomplete": {"hidden": [16], "code_dim": 32},
            "label_regularized_overcomplete": {"hidden": [16], "code_dim": 32},
            "probe_draws": 3,
            "seed": 4,
        },
    )
    for kind in ("label_regularized_overcomplete", "denoising_overcomplete"):
        model = build_member(kind, zoo, data.n_features, data.n_classes)
        train, _ = member_data(kind, data, zoo)
        if kind.startswith("label"):
            seen = np.flatnonzero(train["y"] >= 0)
            assert np.array_equal(seen, data.few_labels(zoo.labels_per_class, zoo.seed))
        Trainer(TrainerConfig(epochs=1, batch_size=128)).fit(model, train)
        metrics = evaluate_member(model, data, zoo)
        codes = (
            apply_array(model, data.train.X, "encode"),
            apply_array(model, data.test.X, "encode"),
        )
        draws = 1 if kind.startswith("label") else 3
        expected = few_label_probe(
            codes[0], data.train.y, codes[1], data.test.y, 10, draws, 4, standardize=False
        )
        assert metrics["probe/accuracy"] == pytest.approx(expected[0])
        assert (metrics["probe/accuracy_std"] == 0.0) == (draws == 1)


# --- the recipe ----------------------------------------------------------------------------

TINY_KINDS = ("plain", "linear", "variational", "label_regularized")


def tiny_zoo(**values) -> ZooConfig:
    """A zoo of a few kinds with 8 -> 3 codes, two epochs each and a one-draw probe."""
    return build_config(
        ZooConfig,
        {
            "kinds": TINY_KINDS,
            "hidden": [8],
            "code_dim": 3,
            "labels_per_class": 3,
            "probe_draws": 1,
            "trainer": {"epochs": 2, "early_stopping_patience": None},
            **values,
        },
    )


@pytest.fixture(scope="module")
def zoo_result(small_digits) -> ZooResult:
    """The tiny zoo trained on the small digits, in this process."""
    return train_zoo(small_digits, tiny_zoo(workers=1))


def test_train_zoo_trains_and_measures_every_kind(small_digits, zoo_result):
    data = small_digits
    assert list(zoo_result.members) == list(TINY_KINDS) == list(zoo_result.models)
    assert set(zoo_result.histories) == {f"{kind}/" for kind in TINY_KINDS}
    assert isinstance(zoo_result.models["variational"], VariationalAutoencoder)
    assert isinstance(zoo_result.models["linear"], LinearAutoencoder)
    for kind, member in zoo_result.members.items():
        config = member.model.config
        assert config.in_features == data.n_features and config.code_dim == 3, kind  # from data
        assert member.codes.shape == (len(data.test), 3)
        assert member.originals.shape == member.reconstructions.shape == (10, data.n_features)
        assert len(member.history.epochs) == member.metrics["epochs_run"] == 2
        metrics = member.metrics
        assert metrics["test/recon"] > 0 and metrics["n_params"] > 0
        assert 0 <= metrics["probe/accuracy"] <= 1 and metrics["probe/accuracy_std"] == 0.0
        assert 0 <= metrics["codes/near_zero_fraction"] <= 1
        assert metrics["codes/jacobian_norm"] > 0
    assert zoo_result.models["label_regularized"].config.n_classes == data.n_classes
    assert 0 <= zoo_result.members["label_regularized"].metrics["head/accuracy"] <= 1
    vae = zoo_result.members["variational"]
    assert vae.model.config.likelihood == "bernoulli"  # min-max scaled data lie in [0, 1]
    assert vae.metrics["test/elbo"] < 0 and 0 <= vae.metrics["vae/active_units"] <= 3
    assert vae.samples.shape == (20, data.n_features)
    assert vae.interpolation.shape == (10, data.n_features)
    assert zoo_result.members["plain"].samples is None


def test_the_comparison_table_has_one_row_per_kind_and_names_the_best(zoo_result):
    rows = zoo_result.tables["comparison"]
    assert [row["kind"] for row in rows] == list(TINY_KINDS)
    assert all(set(COMPARISON_COLUMNS) - {"test/elbo"} <= set(row) for row in rows)
    best = max(rows, key=lambda row: row["probe/accuracy"])
    assert zoo_result.best_kind == best["kind"]


class EpochsSeen(Callback):
    """The epochs a stage's callback was told of, and whether its fit started and ended."""

    def __init__(self):
        self.epochs, self.planned, self.ended = [], None, None

    def on_epochs_planned(self, epochs):
        self.planned = epochs

    def on_epoch_end(self, log):
        self.epochs.append(log.epoch)

    def on_fit_end(self, history):
        self.ended = history


@pytest.fixture(scope="module")
def watched() -> dict[str, EpochsSeen]:
    return {}


@pytest.fixture(scope="module")
def zoo_again(small_digits, watched) -> ZooResult:
    """The tiny zoo trained a second time, on two worker processes, for determinism; each
    stage's callback is kept in ``watched``."""

    def stage(prefix: str) -> list[Callback]:
        watched[prefix] = EpochsSeen()
        return [watched[prefix]]

    return train_zoo(small_digits, tiny_zoo(workers=2), stage)


def test_kinds_trained_on_workers_are_reported_to_the_callbacks(zoo_again, watched):
    assert set(watched) == {f"{kind}/" for kind in TINY_KINDS}
    for prefix, seen in watched.items():
        assert seen.epochs == [1, 2] and seen.planned == 2, prefix
        assert seen.ended is zoo_again.histories[prefix]


def test_train_zoo_is_deterministic(zoo_result, zoo_again):
    """The same zoo in this process and on two workers: the same weights and metrics."""
    for kind in TINY_KINDS:
        first, second = zoo_result.members[kind], zoo_again.members[kind]
        for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
            assert np.array_equal(a.numpy(), b.numpy()), kind
        timing = {"train_seconds"}
        assert {k: v for k, v in first.metrics.items() if k not in timing} == {
            k: v for k, v in second.metrics.items() if k not in timing
        }, kind
        assert not math.isnan(first.metrics["test/recon"])
        np.testing.assert_array_equal(first.codes, second.codes)
    # the VAE's ELBO estimate and prior samples are drawn with the zoo's seed too
    first, second = zoo_result.members["variational"], zoo_again.members["variational"]
    assert first.metrics["test/elbo"] == second.metrics["test/elbo"]
    np.testing.assert_array_equal(first.samples, second.samples)
    np.testing.assert_array_equal(first.interpolation, second.interpolation)
