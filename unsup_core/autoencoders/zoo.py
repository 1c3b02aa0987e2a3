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

Two kinds leave the shared bottleneck: ``denoising_overcomplete`` (in -> 256 -> 512 ReLU
codes, Gaussian noise 0.3 by default), the best code of benchmarks/autoencoders.py, and
``label_regularized_overcomplete``, the label-regularised autoencoder on that same denoising
backbone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch
from torch import nn

from ..applicability import min_features, requires
from ..arrays import apply_array, count_parameters
from ..data.prepare import PreparedData
from ..evaluation import few_label_probe, mean_jacobian_norm, near_zero_fraction
from ..parallel import auto_workers, parallel_map
from ..results import ExperimentResult
from ..training import (
    Callback,
    StageCallbacks,
    Trainer,
    TrainerConfig,
    TrainingHistory,
    no_callbacks,
    replay,
)
from ..validation import check_choice, choices, config_part, data_fields
from .contractive import ContractiveAutoencoder, ContractiveAutoencoderConfig
from .denoising import DenoisingAutoencoder, DenoisingAutoencoderConfig
from .label_regularized import LabelRegularizedAutoencoder, LabelRegularizedAutoencoderConfig
from .layers import Activation
from .linear import LinearAutoencoder, LinearAutoencoderConfig
from .plain import Autoencoder, AutoencoderConfig
from .relational import RelationalAutoencoder, RelationalAutoencoderConfig
from .sparse import SparseAutoencoder, SparseAutoencoderConfig
from .variational import VariationalAutoencoder, VariationalAutoencoderConfig

ZooKind = Literal[
    "plain",
    "linear",
    "sparse_l1",
    "sparse_kl",
    "denoising",
    "contractive",
    "relational",
    "variational",
    "label_regularized",
    "denoising_overcomplete",
    "label_regularized_overcomplete",
]
ZOO_KINDS = choices(ZooKind)
LABELLED_KINDS = ("label_regularized", "label_regularized_overcomplete")
ACTIVE_UNIT_KL = 0.01  # nats: a latent unit whose mean KL is above this is in use
KINDS_PER_WORKER = 2  # a kind is a whole training: two per core repay a worker's start
JACOBIAN_SAMPLES = 256  # test objects used for the Jacobian norm
SHARED = ("hidden", "code_dim", "activation", "seed")  # the zoo's one architecture
# kind -> (model class, the member fields the zoo sets from its own settings)
MEMBERS: dict[str, tuple[type[Autoencoder], tuple[str, ...]]] = {
    "plain": (Autoencoder, SHARED),
    "linear": (LinearAutoencoder, ("code_dim", "seed")),
    "sparse_l1": (SparseAutoencoder, SHARED),
    "sparse_kl": (SparseAutoencoder, SHARED),
    "denoising": (DenoisingAutoencoder, SHARED),
    "contractive": (ContractiveAutoencoder, SHARED),
    "relational": (RelationalAutoencoder, SHARED),
    "variational": (VariationalAutoencoder, SHARED),
    "label_regularized": (LabelRegularizedAutoencoder, SHARED),
    "denoising_overcomplete": (DenoisingAutoencoder, ("seed",)),
    "label_regularized_overcomplete": (LabelRegularizedAutoencoder, ("seed",)),
}
OVERCOMPLETE = dict(hidden=(256,), code_dim=512, code_activation="relu")


@dataclass(frozen=True)
class ZooConfig:
    """Every kind with one architecture (``hidden``, ``code_dim``, ``activation``, ``seed``),
    each with its own regulariser settings; the ``*_overcomplete`` kinds keep their own
    architecture (in -> 256 -> 512 ReLU codes by default).

    Parameters
    ----------
    kinds : the kinds to train, from the member fields below.
    hidden : hidden widths shared by the bottleneck kinds.
    code_dim : code width shared by the bottleneck kinds (and the linear one).
    activation : activation shared by the bottleneck kinds.
    plain : the plain autoencoder's own settings.
    linear : the linear autoencoder (the PCA subspace).
    sparse_l1 : sparse, an L1 penalty on the codes.
    sparse_kl : sparse, a KL penalty on the mean sigmoid code activations.
    denoising : denoising (Gaussian corruption by default).
    contractive : contractive (Jacobian penalty).
    relational : relational (pairwise relations kept).
    variational : variational (Bernoulli likelihood for data in [0, 1], else Gaussian).
    label_regularized : label-regularised (a head on the codes, the labelled few).
    denoising_overcomplete : overcomplete denoising, the best codes of
        benchmarks/autoencoders.py.
    label_regularized_overcomplete : the label-regularised autoencoder on that backbone.
    labels_per_class : labels per class of the probe and the label-regularised kinds
        (``None``: 10, or the smallest class's training count when it has fewer).
    probe_draws : label draws of the few-label probe.
    probe_standardize : standardise the codes on the probe's labels.
    seed : seed of every kind's initialisation, the label draws and the probe.
    trainer : the shared trainer's settings, the same for every kind.
    workers : processes the kinds train on (each training seeds itself: the results do not
        depend on it; a worker's epochs reach the callbacks when its kind is done);
        ``None``: one per CPU core when there are at least 2 kinds per core, else 1.
    """

    kinds: tuple[ZooKind, ...] = ZOO_KINDS
    hidden: tuple[int, ...] = (128,)
    code_dim: int = 16
    activation: Activation = "relu"
    plain: AutoencoderConfig = config_part(AutoencoderConfig(), SHARED)
    linear: LinearAutoencoderConfig = config_part(
        LinearAutoencoderConfig(), ("code_dim", "seed", "activation")
    )  # no activation to set
    sparse_l1: SparseAutoencoderConfig = config_part(SparseAutoencoderConfig(code_l1=1e-3), SHARED)
    sparse_kl: SparseAutoencoderConfig = config_part(
        SparseAutoencoderConfig(code_activation="sigmoid", kl_sparsity=3e-3), SHARED
    )
    denoising: DenoisingAutoencoderConfig = config_part(
        DenoisingAutoencoderConfig(noise_std=0.3), SHARED
    )
    contractive: ContractiveAutoencoderConfig = config_part(
        ContractiveAutoencoderConfig(contractive_weight=1e-3), SHARED
    )
    relational: RelationalAutoencoderConfig = config_part(
        RelationalAutoencoderConfig(relational_weight=0.003), SHARED
    )
    variational: VariationalAutoencoderConfig = config_part(
        VariationalAutoencoderConfig(), (*SHARED, "likelihood")
    )  # likelihood from the data
    label_regularized: LabelRegularizedAutoencoderConfig = config_part(
        LabelRegularizedAutoencoderConfig(label_weight=0.03), SHARED
    )
    denoising_overcomplete: DenoisingAutoencoderConfig = config_part(
        DenoisingAutoencoderConfig(**OVERCOMPLETE, noise_std=0.3), ("seed",)
    )
    label_regularized_overcomplete: LabelRegularizedAutoencoderConfig = config_part(
        LabelRegularizedAutoencoderConfig(**OVERCOMPLETE, label_weight=0.03, noise_std=0.3),
        ("seed",),
    )  # label weight and noise: best on the validation split
    labels_per_class: int | None = None
    probe_draws: int = 5
    probe_standardize: bool = False
    seed: int = 0
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(epochs=50, early_stopping_patience=10)
    )
    workers: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers={self.workers} must be >= 1 or None")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if not self.kinds:
            raise ValueError(f"kinds is empty; choose from {list(ZOO_KINDS)}")
        for kind in self.kinds:
            check_choice("kind", kind, ZOO_KINDS)
        if (self.labels_per_class is not None and self.labels_per_class < 1) or (
            self.probe_draws < 1
        ):
            raise ValueError(
                f"labels_per_class={self.labels_per_class} and probe_draws="
                f"{self.probe_draws} must be >= 1"
            )
        for kind in ZOO_KINDS:  # every member with the shared settings is a valid config
            self.member_config(kind, None, None)

    def member_config(
        self,
        kind: str,
        in_features: int | None,
        n_classes: int | None,
        data_in_unit_interval: bool = True,
    ) -> AutoencoderConfig:
        """The config of ``kind``: its own settings, the zoo's shared ones, the data's sizes
        (``None``: not known yet)."""
        check_choice("kind", kind, ZOO_KINDS)
        part: AutoencoderConfig = getattr(self, kind)
        values = {name: getattr(self, name) for name in MEMBERS[kind][1]}
        values["in_features"] = in_features
        if "n_classes" in data_fields(type(part)):
            if n_classes is not None and n_classes < 2:
                raise ValueError(f"kind={kind!r} needs a labelled dataset (found no labels)")
            values["n_classes"] = n_classes
        if kind == "variational":
            values["likelihood"] = "bernoulli" if data_in_unit_interval else "gaussian"
        if kind == "linear" and in_features is not None:  # PCA has at most d components
            values["code_dim"] = min(values["code_dim"], in_features)
        return replace(part, **values)


def build_member(
    kind: str,
    config: ZooConfig,
    in_features: int,
    n_classes: int,
    data_in_unit_interval: bool = True,
) -> Autoencoder:
    """The autoencoder of ``kind`` with the zoo's shared architecture."""
    member = config.member_config(kind, in_features, n_classes, data_in_unit_interval)
    return MEMBERS[kind][0](member)


def member_data(
    kind: str, data: PreparedData, config: ZooConfig
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
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
    metrics = {
        "test/recon": float(np.mean((test_recon - data.test.X) ** 2)),
        "n_params": float(count_parameters(model)),
    }
    train_codes = apply_array(model, data.train.X, "encode")
    test_codes = apply_array(model, data.test.X, "encode")
    metrics["codes/near_zero_fraction"] = near_zero_fraction(train_codes)
    metrics["codes/jacobian_norm"] = mean_jacobian_norm(
        model.encode, data.test.X[:JACOBIAN_SAMPLES]
    )
    if data.train.y is not None:
        # a label-regularised model is probed with the labels it was trained with only
        draws = 1 if isinstance(model, LabelRegularizedAutoencoder) else config.probe_draws
        mean, std = few_label_probe(
            train_codes,
            data.train.y,
            test_codes,
            data.test.y,
            data.label_budget(config.labels_per_class),
            draws,
            config.seed,
            standardize=config.probe_standardize,
        )
        metrics["probe/accuracy"], metrics["probe/accuracy_std"] = mean, std
    if isinstance(model, VariationalAutoencoder):
        seeded = torch.Generator().manual_seed(config.seed)  # the same draws every run
        metrics["test/elbo"] = float(model.elbo(data.test.X, generator=seeded))
        metrics["vae/active_units"] = float(
            (model.kl_per_unit(data.train.X) > ACTIVE_UNIT_KL).sum()
        )
    if isinstance(model, LabelRegularizedAutoencoder) and data.test.y is not None:
        predicted = apply_array(model, data.test.X, "predict")
        metrics["head/accuracy"] = float(np.mean(predicted == data.test.y))
    return metrics


COMPARISON_COLUMNS = (
    "kind",
    "test/recon",
    "probe/accuracy",
    "codes/near_zero_fraction",
    "codes/jacobian_norm",
    "test/elbo",
    "train_seconds",
)
SHOWN_OBJECTS = 10  # test objects whose reconstructions a member keeps for figures


@dataclass
class ZooMember:
    """One trained kind: the model, its history and yardsticks, and arrays for figures (test
    codes; the first test objects and their reconstructions; a VAE's prior samples and an
    interpolation between two test objects)."""

    kind: str
    model: Autoencoder
    history: TrainingHistory
    metrics: dict[str, float]
    codes: np.ndarray
    originals: np.ndarray
    reconstructions: np.ndarray
    samples: np.ndarray | None = None
    interpolation: np.ndarray | None = None


@dataclass
class ZooResult(ExperimentResult):
    """``members`` by kind, in training order; ``tables["comparison"]``: one row per kind with
    the yardsticks of :data:`COMPARISON_COLUMNS`."""

    members: dict[str, ZooMember] = field(default_factory=dict)

    @property
    def best_kind(self) -> str:
        """The kind with the best probe accuracy (the first kind without labels)."""
        rows = self.tables["comparison"]
        return max(rows, key=lambda row: row.get("probe/accuracy", float("-inf")))["kind"]


def fit_member(
    data: PreparedData,
    config: ZooConfig,
    data_in_unit_interval: bool,
    kind: str,
    callbacks: Sequence[Callback] = (),
) -> tuple[Autoencoder, TrainingHistory]:
    """Build and train one kind of the zoo on its data (:func:`member_data`)."""
    model = build_member(kind, config, data.n_features, data.n_classes, data_in_unit_interval)
    train, val = member_data(kind, data, config)
    history = Trainer(config.trainer, callbacks).fit(model, train, val)
    return model, history


@requires(min_features(2))
def train_zoo(
    data: PreparedData, config: ZooConfig | None = None, callbacks: StageCallbacks = no_callbacks
) -> ZooResult:
    """Train every kind of ``config.kinds`` with the shared trainer (callbacks of stage
    ``"<kind>/"``) and measure each with :func:`evaluate_member`. Without labels the
    label-regularised kinds are left out (``tags["kinds_not_applicable"]`` says so)."""
    config = config or ZooConfig()
    in_unit = bool(data.train.X.min() >= 0 and data.train.X.max() <= 1)
    result = ZooResult()
    kinds = [k for k in config.kinds if data.train.y is not None or k not in LABELLED_KINDS]
    if len(kinds) < len(config.kinds):
        left_out = [k for k in config.kinds if k not in kinds]
        result.tags["kinds_not_applicable"] = f"{', '.join(left_out)}: no labels"
    workers = auto_workers(len(kinds), config.workers, KINDS_PER_WORKER)
    if workers == 1:  # the callbacks watch each training as it runs
        trained = [fit_member(data, config, in_unit, k, callbacks(f"{k}/")) for k in kinds]
    else:
        trained = parallel_map(
            fit_member,
            (data, config, in_unit),
            kinds,
            workers,
            lambda i, fitted: replay(fitted[1], callbacks(f"{kinds[i]}/"), fitted[0]),
        )
    for kind, (model, history) in zip(kinds, trained):
        metrics = {
            **evaluate_member(model, data, config),
            "train_seconds": history.seconds,
            "epochs_run": float(len(history.epochs)),
        }
        originals = data.test.X[:SHOWN_OBJECTS]
        member = ZooMember(
            kind,
            model,
            history,
            metrics,
            apply_array(model, data.test.X, "encode"),
            originals,
            apply_array(model, originals),
        )
        if isinstance(model, VariationalAutoencoder):
            member.samples = model.sample(20, torch.Generator().manual_seed(config.seed)).numpy()
            member.interpolation = (
                model.interpolate(data.test.X[0], data.test.X[1], 10).detach().numpy()
            )
        result.members[kind] = member
        result.models[kind] = model
        result.histories[f"{kind}/"] = history
    result.tables["comparison"] = [
        {"kind": kind, **m.metrics} for kind, m in result.members.items()
    ]
    return result
