"""The autoencoder family side by side: build each kind from one shared configuration, give it
its training data, and measure every kind with the same yardsticks.

Yardsticks (the same names for every kind, so tracking tools line them up):
``test/recon`` mean squared reconstruction error on the test split; ``probe/accuracy`` (and
``probe/accuracy_std``) few-label linear probe on the codes; ``codes/near_zero_fraction``;
``codes/jacobian_norm`` mean ||J_f(x)||_F^2 of the encoder; for the VAE also ``test/elbo``
(nats per object) and ``vae/active_units`` (latent units with KL > 0.01 nats).

The probe is scikit-learn's default logistic regression (C = 1) on the codes as they are
(``probe_standardize=False``): standardising on 10 labelled codes per class adds noise (raw
pixels: 0.887 unstandardised vs 0.873 standardised on digits, benchmarks/autoencoders.py).
The label-regularised kinds are probed with the very labels they were trained with (one draw,
``seed``), so their codes never meet labels the other kinds do not see.

Two kinds leave the shared bottleneck: ``denoising_overcomplete`` (in -> ``overcomplete_hidden``
-> ``overcomplete_code_dim`` with ReLU codes, Gaussian noise ``noise_std``), the best code of
benchmarks/autoencoders.py, and ``label_regularized_overcomplete``, the label-regularised
autoencoder on that same denoising backbone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from ..data.config import check_choice
from ..data.prepare import PreparedData
from ..evaluation import few_label_probe, mean_jacobian_norm, near_zero_fraction
from .contractive import ContractiveAutoencoder, ContractiveAutoencoderConfig
from .denoising import DenoisingAutoencoder, DenoisingAutoencoderConfig
from .label_regularized import LabelRegularizedAutoencoder, LabelRegularizedAutoencoderConfig
from .layers import apply_array, count_parameters
from .linear import LinearAutoencoder, LinearAutoencoderConfig
from .plain import Autoencoder, AutoencoderConfig
from .relational import RelationalAutoencoder, RelationalAutoencoderConfig
from .sparse import SparseAutoencoder, SparseAutoencoderConfig
from .variational import VariationalAutoencoder, VariationalAutoencoderConfig

ZOO_KINDS = ("plain", "linear", "sparse_l1", "sparse_kl", "denoising", "contractive",
             "relational", "variational", "label_regularized", "denoising_overcomplete",
             "label_regularized_overcomplete")
LABELLED_KINDS = ("label_regularized", "label_regularized_overcomplete")
ACTIVE_UNIT_KL = 0.01  # nats: a latent unit whose mean KL is above this is in use
JACOBIAN_SAMPLES = 256  # test objects used for the Jacobian norm


@dataclass(frozen=True)
class ZooConfig:
    """One architecture for every kind, plus each kind's own regulariser strength; the
    ``*_overcomplete`` kinds use ``overcomplete_hidden`` and ``overcomplete_code_dim`` and
    ``overcomplete_label_weight``."""

    kinds: tuple[str, ...] = ZOO_KINDS
    hidden: tuple[int, ...] = (128,)
    code_dim: int = 16
    activation: str = "relu"
    code_l1: float = 1e-3
    kl_sparsity: float = 3e-3
    sparsity_target: float = 0.05
    noise_std: float = 0.3
    contractive_weight: float = 1e-3
    relational_weight: float = 0.003
    label_weight: float = 0.03
    overcomplete_hidden: tuple[int, ...] = (256,)
    overcomplete_code_dim: int = 512
    overcomplete_label_weight: float = 0.03  # best on the validation split
    labels_per_class: int = 10
    probe_draws: int = 5
    probe_standardize: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "overcomplete_hidden",
                           tuple(int(h) for h in self.overcomplete_hidden))
        if not self.kinds:
            raise ValueError(f"kinds is empty; choose from {list(ZOO_KINDS)}")
        for kind in self.kinds:
            check_choice("kind", kind, ZOO_KINDS)
        if self.labels_per_class < 1 or self.probe_draws < 1:
            raise ValueError(f"labels_per_class={self.labels_per_class} and probe_draws="
                             f"{self.probe_draws} must be >= 1")


def build_member(kind: str, config: ZooConfig, in_features: int, n_classes: int,
                 data_in_unit_interval: bool = True) -> Autoencoder:
    """The autoencoder of ``kind`` with the zoo's shared architecture."""
    check_choice("kind", kind, ZOO_KINDS)
    shared = dict(in_features=in_features, hidden=config.hidden, code_dim=config.code_dim,
                  activation=config.activation, seed=config.seed)
    if kind == "plain":
        return Autoencoder(AutoencoderConfig(**shared))
    if kind == "linear":
        return LinearAutoencoder(LinearAutoencoderConfig(in_features=in_features,
                                                         code_dim=config.code_dim, seed=config.seed))
    if kind == "sparse_l1":
        return SparseAutoencoder(SparseAutoencoderConfig(**shared, code_l1=config.code_l1))
    if kind == "sparse_kl":
        return SparseAutoencoder(SparseAutoencoderConfig(
            **shared, code_activation="sigmoid", kl_sparsity=config.kl_sparsity,
            sparsity_target=config.sparsity_target))
    if kind == "denoising":
        return DenoisingAutoencoder(DenoisingAutoencoderConfig(**shared, noise_std=config.noise_std))
    if kind == "contractive":
        return ContractiveAutoencoder(ContractiveAutoencoderConfig(
            **shared, contractive_weight=config.contractive_weight))
    if kind == "relational":
        return RelationalAutoencoder(RelationalAutoencoderConfig(
            **shared, relational_weight=config.relational_weight))
    if kind == "denoising_overcomplete":
        return DenoisingAutoencoder(DenoisingAutoencoderConfig(**overcomplete(config, in_features),
                                                               noise_std=config.noise_std))
    if kind == "variational":
        likelihood = "bernoulli" if data_in_unit_interval else "gaussian"
        return VariationalAutoencoder(VariationalAutoencoderConfig(**shared, likelihood=likelihood))
    if n_classes < 2:
        raise ValueError(f"kind={kind!r} needs a labelled dataset (found no labels)")
    if kind == "label_regularized_overcomplete":
        return LabelRegularizedAutoencoder(LabelRegularizedAutoencoderConfig(
            **overcomplete(config, in_features), n_classes=n_classes,
            label_weight=config.overcomplete_label_weight, noise_std=config.noise_std))
    return LabelRegularizedAutoencoder(LabelRegularizedAutoencoderConfig(
        **shared, n_classes=n_classes, label_weight=config.label_weight))


def overcomplete(config: ZooConfig, in_features: int) -> dict:
    """The shared fields of the overcomplete kinds: ReLU layers and ReLU codes."""
    return dict(in_features=in_features, hidden=config.overcomplete_hidden,
                code_dim=config.overcomplete_code_dim, activation="relu", code_activation="relu",
                seed=config.seed)


def member_data(kind: str, data: PreparedData,
                config: ZooConfig) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """Trainer data (train, validation) for ``kind``. The label-regularised kind sees the labels
    of ``labels_per_class`` training objects per class only (-1 elsewhere); its validation loss
    is the reconstruction alone (no further labels are used)."""
    def features(split) -> dict[str, np.ndarray]:
        out = {"x": split.X}
        if split.observed is not None:
            out["observed"] = split.observed
        return out

    train = features(data.train)
    val = features(data.val) if len(data.val) else None
    if kind in LABELLED_KINDS:
        known = data.few_labels(config.labels_per_class, config.seed)
        y = np.full(len(data.train), -1, dtype=np.int64)
        y[known] = data.train.y[known]
        train["y"] = y
    return train, val


def evaluate_member(model: nn.Module, data: PreparedData, config: ZooConfig) -> dict[str, float]:
    """The zoo's yardsticks for one trained model (see the module docstring)."""
    model.eval()
    test_recon = apply_array(model, data.test.X)
    metrics = {"test/recon": float(np.mean((test_recon - data.test.X) ** 2)),
               "n_params": float(count_parameters(model))}
    train_codes = apply_array(model, data.train.X, "encode")
    test_codes = apply_array(model, data.test.X, "encode")
    metrics["codes/near_zero_fraction"] = near_zero_fraction(train_codes)
    metrics["codes/jacobian_norm"] = mean_jacobian_norm(model.encode, data.test.X[:JACOBIAN_SAMPLES])
    if data.train.y is not None:
        # a label-regularised model is probed with the labels it was trained with only
        draws = 1 if isinstance(model, LabelRegularizedAutoencoder) else config.probe_draws
        mean, std = few_label_probe(train_codes, data.train.y, test_codes, data.test.y,
                                    config.labels_per_class, draws, config.seed,
                                    standardize=config.probe_standardize)
        metrics["probe/accuracy"], metrics["probe/accuracy_std"] = mean, std
    if isinstance(model, VariationalAutoencoder):
        metrics["test/elbo"] = float(model.elbo(data.test.X))
        metrics["vae/active_units"] = float((model.kl_per_unit(data.train.X) > ACTIVE_UNIT_KL).sum())
    if isinstance(model, LabelRegularizedAutoencoder) and data.test.y is not None:
        predicted = apply_array(model, data.test.X, "predict")
        metrics["head/accuracy"] = float(np.mean(predicted == data.test.y))
    return metrics
