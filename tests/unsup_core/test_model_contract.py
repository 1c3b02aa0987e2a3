"""The one contract of every model the shared Trainer trains (STYLE.md, habit 6).

Each case is a tiny model of the library with ``loss(batch)``: it builds; its outputs have the
right shapes; its loss terms are present and finite; one optimiser step changes every trainable
weight; its loss falls on toy data; a checkpoint round-trips (same class, config and outputs);
a bad config raises a ``ValueError`` naming the field; a config whose data fields are unset
cannot build a model. Kind-specific claims (formulas against naive versions, PCA, Jacobians)
live in each family's own tests. The GAN's networks have their own trainer and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from unsup_core.autoencoders import (
    Autoencoder,
    AutoencoderConfig,
    ContractiveAutoencoder,
    ContractiveAutoencoderConfig,
    DenoisingAutoencoder,
    DenoisingAutoencoderConfig,
    LabelRegularizedAutoencoder,
    LabelRegularizedAutoencoderConfig,
    LinearAutoencoder,
    LinearAutoencoderConfig,
    RelationalAutoencoder,
    RelationalAutoencoderConfig,
    SparseAutoencoder,
    SparseAutoencoderConfig,
    VariationalAutoencoder,
    VariationalAutoencoderConfig,
)
from unsup_core.distillation import (
    JointPrivilegedConfig,
    JointPrivilegedModel,
    MLPClassifier,
    MLPClassifierConfig,
)
from unsup_core.selfsupervised import (
    ContrastiveConfig,
    ContrastiveModel,
    MaskedFeatureConfig,
    MaskedFeatureModel,
    PatchPositionConfig,
    PatchPositionModel,
)
from unsup_core.serialization import (
    MODEL_CLASSES,
    describe,
    load_checkpoint,
    model_classes,
    save_checkpoint,
)
from unsup_core.stacked import DeepAutoencoder, StackedAutoencoderConfig, StackedEncoder
from unsup_core.training import Trainer, TrainerConfig, evaluate, seeded
from unsup_core.transfer import EncoderClassifier

N_ROWS = 256  # toy objects per case
SHOWN = 8  # objects whose outputs are checked


def toy_table(n: int = N_ROWS, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Low-rank data in [0, 1] and a label.

    Parameters
    ----------
    n, d : objects and features.
    seed : seed of the draw.

    Returns
    -------
    X : (n, d) float32, 3 uniform latent factors mixed into d features plus a little noise.
    y : (n,) int64 in {0, 1, 2}, the index of the largest latent factor.
    """
    rng = np.random.default_rng(seed)
    factors = rng.uniform(0, 1, size=(n, 3))
    mixing = rng.uniform(0, 1, size=(3, d)) / 3
    X = (factors @ mixing + 0.01 * rng.normal(size=(n, d))).clip(0, 1).astype(np.float32)
    return X, factors.argmax(axis=1).astype(np.int64)


def toy_data(kind: str, digits) -> dict[str, np.ndarray]:
    """Trainer data of one kind.

    Parameters
    ----------
    kind : ``"table"`` (12 features), ``"partly_labelled"`` (every third label -1),
        ``"labelled"``, ``"privileged"`` (x = the first 6 features, x* = all 12) or
        ``"images"`` (8x8 digits).
    digits : the prepared digits (for ``"images"``).
    """
    X, y = toy_table()
    if kind == "images":
        return {"x": digits.train.X[:N_ROWS]}
    if kind == "table":
        return {"x": X}
    if kind == "partly_labelled":
        y = y.copy()
        y[::3] = -1
    if kind == "privileged":
        return {"x": X[:, :6], "x_star": X, "y": y}
    return {"x": X, "y": y}


@dataclass(frozen=True)
class Case:
    """A tiny model of one kind and what its contract checks.

    Parameters
    ----------
    build : a fresh model for the case's data.
    data : the :func:`toy_data` kind it trains on.
    terms : loss terms it reports besides ``"loss"``.
    outputs : method -> output shape on :data:`SHOWN` objects.
    bad : builds a config with one bad field; ``bad_message`` must match the error.
    unset : builds the model from a config whose data fields are unset (``None``: it has
        none); ``unset_message`` must name them.
    fall : after 30 epochs at learning rate ``lr`` the loss must end below ``fall`` times the
        untrained one.
    lr : the learning rate of that run.
    """

    build: Callable[[], nn.Module]
    data: str
    terms: frozenset[str]
    outputs: dict[str, tuple[int, ...]]
    bad: Callable[[], object]
    bad_message: str
    unset: Callable[[], object] | None = None
    unset_message: str = ""
    fall: float = 0.7
    lr: float = 3e-3


def ae_outputs(code_dim: int) -> dict[str, tuple[int, ...]]:
    """Output shapes of an autoencoder of the 12-feature toy table."""
    return {"encode": (SHOWN, code_dim), "forward": (SHOWN, 12)}


AE = dict(in_features=12, hidden=(16,), code_dim=3)
VAE = dict(AE, likelihood="gaussian")  # a Bernoulli NLL of non-binary data has a high floor
RECON = frozenset({"recon"})
CLASSIFIER = {"logits": (SHOWN, 3), "predict": (SHOWN,)}

CASES: dict[str, Case] = {
    "plain": Case(
        lambda: Autoencoder(AutoencoderConfig(**AE)),
        "table",
        RECON,
        ae_outputs(3),
        lambda: AutoencoderConfig(**{**AE, "code_dim": 0}),
        r"code_dim=0 must be >= 1",
        lambda: Autoencoder(AutoencoderConfig()),
        r"Autoencoder: in_features=None",
    ),
    "linear": Case(
        lambda: LinearAutoencoder(LinearAutoencoderConfig(in_features=12, code_dim=3)),
        "table",
        RECON,
        ae_outputs(3),
        lambda: LinearAutoencoderConfig(in_features=12, code_dim=13),
        r"code_dim=13 must be <= in_features=12",
        lambda: LinearAutoencoder(LinearAutoencoderConfig(code_dim=3)),
        r"in_features=None",
    ),
    "sparse": Case(
        lambda: SparseAutoencoder(
            SparseAutoencoderConfig(
                **AE,
                code_activation="sigmoid",
                weight_penalty=1e-4,
                code_l1=1e-3,
                kl_sparsity=1e-3,
                sparsity_target=0.1,
            )
        ),
        "table",
        frozenset({"recon", "weight_penalty", "code_l1", "kl_sparsity"}),
        ae_outputs(3),
        lambda: SparseAutoencoderConfig(**AE, weight_norm=3),
        r"weight_norm=3 is not one of",
        lambda: SparseAutoencoder(SparseAutoencoderConfig()),
        r"in_features=None",
    ),
    "denoising_gaussian": Case(
        lambda: DenoisingAutoencoder(DenoisingAutoencoderConfig(**AE, noise_std=0.05)),
        "table",
        RECON,
        ae_outputs(3),
        lambda: DenoisingAutoencoderConfig(**AE, noise_std=-1.0),
        r"noise_std=-1.0 must be > 0",
        lambda: DenoisingAutoencoder(DenoisingAutoencoderConfig()),
        r"in_features=None",
    ),
    "denoising_masking": Case(
        lambda: DenoisingAutoencoder(
            DenoisingAutoencoderConfig(**AE, corruption="masking", mask_prob=0.1)
        ),
        "table",
        RECON,
        ae_outputs(3),
        lambda: DenoisingAutoencoderConfig(**AE, mask_prob=1.0),
        r"mask_prob=1.0 must lie in",
    ),
    "contractive_closed_form": Case(
        lambda: ContractiveAutoencoder(
            ContractiveAutoencoderConfig(**{**AE, "hidden": ()}, code_activation="sigmoid")
        ),
        "table",
        frozenset({"recon", "contractive"}),
        ae_outputs(3),
        lambda: ContractiveAutoencoderConfig(**AE, contractive_weight=-1.0),
        r"contractive_weight=-1.0 must be >= 0",
        lambda: ContractiveAutoencoder(ContractiveAutoencoderConfig()),
        r"in_features=None",
    ),
    "contractive_autograd": Case(
        lambda: ContractiveAutoencoder(
            ContractiveAutoencoderConfig(**AE, code_activation="sigmoid")
        ),
        "table",
        frozenset({"recon", "contractive"}),
        ae_outputs(3),
        lambda: ContractiveAutoencoderConfig(**AE, contractive_weight=float("nan")),
        r"contractive_weight=nan must be >= 0",
    ),
    "relational": Case(
        lambda: RelationalAutoencoder(RelationalAutoencoderConfig(**AE, relational_weight=0.01)),
        "table",
        frozenset({"recon", "relational"}),
        ae_outputs(3),
        lambda: RelationalAutoencoderConfig(**AE, similarity="l2"),
        r"similarity='l2' is not one",
        lambda: RelationalAutoencoder(RelationalAutoencoderConfig()),
        r"in_features=None",
    ),
    "variational_fixed": Case(
        lambda: VariationalAutoencoder(VariationalAutoencoderConfig(**VAE)),
        "table",
        frozenset({"recon", "nll", "kl", "elbo"}),
        ae_outputs(3),
        lambda: VariationalAutoencoderConfig(**{**VAE, "likelihood": "poisson"}),
        r"likelihood='poisson' is not one of",
        lambda: VariationalAutoencoder(VariationalAutoencoderConfig()),
        r"in_features=None",
    ),
    "variational_learned": Case(
        lambda: VariationalAutoencoder(
            VariationalAutoencoderConfig(**VAE, decoder_variance="learned")
        ),
        "table",
        frozenset({"recon", "nll", "kl", "elbo"}),
        ae_outputs(3),
        lambda: VariationalAutoencoderConfig(**VAE, decoder_std=0.0),
        r"decoder_std=0.0 must be > 0",
    ),
    "label_regularized": Case(
        lambda: LabelRegularizedAutoencoder(LabelRegularizedAutoencoderConfig(**AE, n_classes=3)),
        "partly_labelled",
        frozenset({"recon", "classification", "accuracy"}),
        {**ae_outputs(3), **CLASSIFIER},
        lambda: LabelRegularizedAutoencoderConfig(**AE, n_classes=1),
        r"n_classes=1 must be >= 2",
        lambda: LabelRegularizedAutoencoder(LabelRegularizedAutoencoderConfig(in_features=12)),
        r"n_classes=None",
    ),
    "deep": Case(
        lambda: DeepAutoencoder(StackedAutoencoderConfig(in_features=12, layer_sizes=(8, 3))),
        "table",
        RECON,
        ae_outputs(3),
        lambda: StackedAutoencoderConfig(in_features=12, layer_sizes=(8, 0)),
        r"layer_sizes=\(8, 0\): every width must be >= 1",
        lambda: DeepAutoencoder(StackedAutoencoderConfig()),
        r"in_features=None",
    ),
    "patch_position": Case(
        lambda: PatchPositionModel(
            PatchPositionConfig(image_shape=(8, 8), hidden=(16,), embed_dim=4, head_hidden=(16,))
        ),
        "images",
        frozenset({"position_ce", "accuracy"}),
        {"encode": (SHOWN, 36)},
        lambda: PatchPositionConfig(image_shape=(8, 8), pairs_per_image=9),
        r"pairs_per_image=9 must lie in \[1, 8\]",
        lambda: PatchPositionModel(PatchPositionConfig()),
        r"image_shape=None",
        fall=0.9,
    ),
    "patch_position_cnn_upsampled": Case(
        lambda: PatchPositionModel(
            PatchPositionConfig(
                image_shape=(8, 8),
                patch_size=6,
                gap=3,
                jitter=1,
                upsample=3,
                encoder="cnn",
                conv_channels=(4,),
                embed_dim=4,
                image_code="grid",
                pairs_per_image=2,
            )
        ),
        "images",
        frozenset({"position_ce", "accuracy"}),
        {"encode": (SHOWN, 36)},
        lambda: PatchPositionConfig(image_shape=(8, 8), patch_size=4),
        r"3x3 patches of 4 with gap 1 need 14 pixels, image has 8",
        fall=0.9,
    ),
    "masked_features": Case(
        lambda: MaskedFeatureModel(
            MaskedFeatureConfig(in_features=12, hidden=(16,), code_dim=4, decoder_hidden=(16,))
        ),
        "table",
        frozenset({"masked_mse"}),
        {"encode": (SHOWN, 4)},
        lambda: MaskedFeatureConfig(in_features=12, mask_prob=1.0),
        r"mask_prob=1.0 must lie in \(0, 1\)",
        lambda: MaskedFeatureModel(MaskedFeatureConfig()),
        r"in_features=None",
    ),
    "contrastive": Case(
        lambda: ContrastiveModel(
            ContrastiveConfig(
                image_shape=(8, 8), encoder="mlp", hidden=(16,), code_dim=4, projection_dim=4
            )
        ),
        "images",
        frozenset({"nt_xent"}),
        {"encode": (SHOWN, 4)},
        lambda: ContrastiveConfig(image_shape=(8, 8), temperature=0.0),
        r"temperature=0.0 must be > 0",
        lambda: ContrastiveModel(ContrastiveConfig()),
        r"image_shape=None",
        fall=0.9,
    ),
    "contrastive_cnn": Case(
        lambda: ContrastiveModel(
            ContrastiveConfig(image_shape=(8, 8), conv_channels=(4,), code_dim=4, projection_dim=4)
        ),
        "images",
        frozenset({"nt_xent"}),
        {"encode": (SHOWN, 4)},
        lambda: ContrastiveConfig(image_shape=(8, 8), conv_channels=()),
        r"conv_channels=\(\)",
        fall=0.9,
    ),
    "mlp_classifier": Case(
        lambda: MLPClassifier(MLPClassifierConfig(in_features=12, hidden=(16,), n_classes=3)),
        "labelled",
        frozenset({"classification", "accuracy"}),
        {**CLASSIFIER, "encode": (SHOWN, 16)},
        lambda: MLPClassifierConfig(in_features=12, n_classes=3, dropout=1.0),
        r"dropout=1.0 must lie in \[0, 1\)",
        lambda: MLPClassifier(MLPClassifierConfig()),
        r"in_features=None, n_classes=None",
        lr=1e-2,
    ),
    "encoder_classifier": Case(
        lambda: EncoderClassifier(
            StackedEncoder(
                StackedAutoencoderConfig(in_features=12, layer_sizes=(8,), activation="tanh")
            ),
            n_classes=3,
        ),
        "labelled",
        frozenset({"classification", "accuracy"}),
        {**CLASSIFIER, "encode": (SHOWN, 8)},
        lambda: EncoderClassifier(
            StackedEncoder(StackedAutoencoderConfig(in_features=12, layer_sizes=(8,))), n_classes=1
        ),
        r"n_classes=1 must be >= 2",
        lr=1e-2,
    ),
    "joint_privileged": Case(
        lambda: JointPrivilegedModel(
            JointPrivilegedConfig(
                in_features=6,
                privileged_features=12,
                n_classes=3,
                student_hidden=(8,),
                teacher_hidden=(16,),
            )
        ),
        "privileged",
        frozenset({"student_ce", "teacher_ce", "coupling", "accuracy"}),
        CLASSIFIER,
        lambda: JointPrivilegedConfig(in_features=6, privileged_features=12, mu=-0.5),
        r"mu=-0.5 must be a finite number >= 0",
        lr=1e-2,
    ),
}


def seeded_loss(model: nn.Module, data: dict[str, np.ndarray]) -> float:
    """The model's mean loss on ``data`` in eval mode, its random draws (a VAE's sample) seeded.

    Parameters
    ----------
    model : any model of :data:`CASES`.
    data : trainer data.
    """
    with seeded(0):
        return evaluate(model, data)["loss"]


def outputs(model: nn.Module, case: Case, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every output method of ``case`` on ``x`` in eval mode, without gradients.

    Parameters
    ----------
    model : the model.
    case : its case (``outputs`` names the methods).
    x : (SHOWN, n) inputs.
    """
    model.eval()
    with torch.no_grad():
        return {method: getattr(model, method)(x) for method in case.outputs}


def test_every_model_the_trainer_trains_has_a_case():
    """Every checkpointable class with ``loss`` (GAN networks have none) is covered here."""
    trainable = {kind for kind in MODEL_CLASSES if hasattr(model_classes(kind)[0], "loss")}
    assert {type(case.build()).__name__ for case in CASES.values()} == trainable


@pytest.mark.parametrize("name", list(CASES))
def test_model_contract(name, prepared_digits, tmp_path):
    case = CASES[name]
    data = toy_data(case.data, prepared_digits)
    x = torch.as_tensor(data["x"][:SHOWN])

    model = case.build()  # builds, with the right output shapes
    for method, value in outputs(model, case, x).items():
        assert tuple(value.shape) == case.outputs[method], method
    model.train()
    terms = model.loss({k: torch.as_tensor(v[:SHOWN]) for k, v in data.items()})
    assert set(terms) == case.terms | {"loss"}
    assert all(t.ndim == 0 and torch.isfinite(t) for t in terms.values())

    before = {k: p.detach().clone() for k, p in model.named_parameters() if p.requires_grad}
    Trainer(TrainerConfig(epochs=1, batch_size=N_ROWS)).fit(model, data)  # one step
    unchanged = [k for k, p in model.named_parameters() if torch.equal(before[k], p)]
    assert not unchanged, f"one step left {unchanged} unchanged"

    fresh = case.build()
    start = seeded_loss(fresh, data)
    Trainer(TrainerConfig(epochs=30, batch_size=32, lr=case.lr)).fit(fresh, data)
    assert seeded_loss(fresh, data) < case.fall * start

    loaded = load_checkpoint(save_checkpoint(fresh, tmp_path / f"{name}.pt"))
    assert type(loaded) is type(fresh) and describe(loaded) == describe(fresh)
    expected, got = outputs(fresh, case, x), outputs(loaded, case, x)
    for method in case.outputs:
        torch.testing.assert_close(got[method], expected[method], rtol=0, atol=0)
    assert seeded_loss(loaded, data) == seeded_loss(fresh, data)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_config_raises_naming_the_field(name):
    case = CASES[name]
    with pytest.raises(ValueError, match=case.bad_message):
        case.bad()


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.unset])
def test_a_config_template_without_the_data_fields_builds_no_model(name):
    case = CASES[name]
    with pytest.raises(ValueError, match=case.unset_message + ".*these come from the data"):
        case.unset()
