"""Dagster run configuration of the assets (editable in the launchpad, loaded from presets).

Each class mirrors a typed library config field for field (a test keeps them in step) and
converts with ``to_library()``, where the library validates values with clear errors.
Annotations here must stay real (not postponed strings): Dagster resolves them at runtime.
"""

from typing import Literal, Optional

from dagster import Config
from pydantic import Field

from unsup_core.autoencoders import AutoencoderConfig
from unsup_core.autoencoders.zoo import ZOO_KINDS, ZooConfig
from unsup_core.competitive import KohonenMap
from unsup_core.data import PrepareConfig, SourceConfig
from unsup_core.selfsupervised import PretextChoice
from unsup_core.stacked import StackedAutoencoderConfig
from unsup_core.training import TrainerConfig
from unsup_core.transfer import TRANSFER_MODES, TransferConfig


class RawDatasetConfig(Config):
    """Where the data comes from: the bundled digits, or your CSV/Parquet file."""

    source: Literal["digits", "file"] = Field("digits", description="'digits' (bundled) or 'file'")
    path: Optional[str] = Field(None, description="CSV or Parquet file when source='file'")
    label_column: Optional[str] = Field(None, description="Column holding the class label, if any")
    feature_columns: Optional[list[str]] = Field(None, description="Use only these columns")
    drop_columns: list[str] = Field([], description="Columns to ignore (ids, free text)")
    categorical: Literal["onehot", "ordinal"] = Field("onehot", description="Encoding of text columns")
    max_categories: int = Field(20, description="A text column with more levels is an error")
    missing: Literal["error", "drop", "impute", "mask"] = Field(
        "error", description="Missing values: stop, drop rows, impute train means, or impute + mask")
    na_values: list[str] = Field([], description="Extra strings read as missing (e.g. '?')")
    constant_columns: Literal["error", "drop", "keep"] = Field("error", description="Constant columns")
    image_shape: Optional[list[int]] = Field(None, description="(height, width) if rows are images")
    separator: str = Field(",", description="CSV field separator")

    def to_library(self) -> SourceConfig:
        values = self.model_dump()
        for key in ("feature_columns", "drop_columns", "na_values", "image_shape"):
            values[key] = tuple(values[key]) if values[key] is not None else None
        values["drop_columns"] = values["drop_columns"] or ()
        values["na_values"] = values["na_values"] or ()
        return SourceConfig(**values)


class PreparedDatasetConfig(Config):
    """Stratified split and scaling (fitted on the training split only)."""

    test_fraction: float = Field(0.3, description="Share of all rows held out for testing")
    val_fraction: float = Field(0.1, description="Share of all rows for validation / early stopping")
    scaling: Literal["standard", "minmax", "none"] = Field("minmax", description="Feature scaling")
    clip: bool = Field(False, description="Clip validation/test features to the training range "
                       "(min-max: [0, 1])")
    seed: int = Field(0, description="Seed of the split")

    def to_library(self) -> PrepareConfig:
        return PrepareConfig(**self.model_dump())


class TrainerSettings(Config):
    """The shared trainer's knobs (see unsup_core.training.TrainerConfig)."""

    epochs: int = 20
    batch_size: int = 64
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    lr_schedule: Literal["constant", "cosine"] = "constant"
    grad_clip_norm: Optional[float] = None
    early_stopping_patience: Optional[int] = None
    min_delta: float = 0.0
    restore_best: bool = True
    eval_batch_size: int = 4096
    seed: int = 0
    device: str = "cpu"
    num_threads: Optional[int] = 1

    def to_library(self) -> TrainerConfig:
        return TrainerConfig(**self.model_dump())


class AutoencoderSettings(Config):
    """Architecture of the plain autoencoder (input width comes from the data)."""

    hidden: list[int] = [128]
    code_dim: int = 16
    activation: str = "relu"
    code_activation: str = "identity"
    output_activation: str = "identity"
    recon_loss: Literal["mse", "l1", "bce"] = "mse"
    seed: int = 0

    def to_library(self, in_features: int) -> AutoencoderConfig:
        values = self.model_dump()
        values["hidden"] = tuple(values["hidden"])
        return AutoencoderConfig(in_features=in_features, **values)


class PlainAutoencoderConfig(Config):
    model: AutoencoderSettings = AutoencoderSettings()
    trainer: TrainerSettings = TrainerSettings(epochs=30, early_stopping_patience=10)


class SomSettings(Config):
    """A Kohonen map (see unsup_core.competitive.KohonenMap); schedules by name here."""

    rows: int = 20
    cols: int = 20
    topology: Literal["rectangular", "hexagonal"] = "rectangular"
    toroidal: bool = False
    init: Literal["uniform", "sample", "pca"] = "pca"
    algorithm: Literal["batch", "online"] = "batch"
    n_epochs: int = 10
    neighbourhood: Literal["gaussian", "bubble", "mexican_hat"] = "gaussian"
    sigma_start: Optional[float] = Field(None, description="Default: max(rows, cols) / 2")
    sigma_end: float = 1.0
    sigma_schedule: Literal["linear", "exponential", "inverse", "constant"] = "linear"
    lr_start: float = 0.5
    lr_end: float = 0.0
    lr_schedule: Literal["linear", "exponential", "inverse", "constant"] = "linear"
    metric: Literal["euclidean", "manhattan", "cosine"] = "euclidean"
    nan_policy: Literal["error", "ignore"] = "error"
    dtype: Optional[str] = Field(None, description="float32 or float64; default by algorithm")
    chunk_size: int = 8192
    num_threads: Optional[int] = 1
    device: str = "cpu"
    random_state: Optional[int] = 0

    def to_library(self) -> KohonenMap:
        return KohonenMap(**self.model_dump())


class DataSomConfig(Config):
    som: SomSettings = SomSettings()
    density_k: int = Field(5, description="Nearest objects averaged in the density map")


class CodeSomConfig(Config):
    """A Kohonen map of the codes the final encoder (the student's hidden layer) gives the data."""

    som: SomSettings = SomSettings(rows=12, cols=12, n_epochs=10)
    density_k: int = Field(5, description="Nearest objects averaged in the density map")


class AutoencoderZooConfig(Config):
    """Every autoencoder kind with one architecture (see unsup_core.autoencoders.zoo)."""

    kinds: list[str] = Field(list(ZOO_KINDS), description=f"Kinds to train, from {list(ZOO_KINDS)}")
    hidden: list[int] = [128]
    code_dim: int = 16
    activation: str = "relu"
    code_l1: float = 1e-3
    kl_sparsity: float = 3e-3
    sparsity_target: float = 0.05
    noise_std: float = 0.3
    contractive_weight: float = 1e-3
    relational_weight: float = 0.003
    label_weight: float = 0.03
    overcomplete_hidden: list[int] = Field([256], description="Hidden widths of the *_overcomplete "
                                           "kinds (ReLU, denoising)")
    overcomplete_code_dim: int = 512
    overcomplete_label_weight: float = 0.03
    labels_per_class: int = Field(10, description="Labels per class for the probe and the "
                                  "label-regularised kind")
    probe_draws: int = 5
    probe_standardize: bool = Field(False, description="Standardise codes on the probe's labels")
    seed: int = 0
    trainer: TrainerSettings = TrainerSettings(epochs=50, early_stopping_patience=10)

    def to_library(self) -> ZooConfig:
        values = self.model_dump(exclude={"trainer"})
        return ZooConfig(**{**values, "kinds": tuple(values["kinds"]), "hidden": tuple(values["hidden"]),
                            "overcomplete_hidden": tuple(values["overcomplete_hidden"])})


class StackedAutoencoderAssetConfig(Config):
    """Greedy layer-wise pretraining, then fine-tuning as a deep autoencoder."""

    start_from: Literal["pixels", "ssl_encoder"] = Field(
        "ssl_encoder", description="Stack on the data, or on the self-supervised encoder's codes "
        "(better in benchmarks/transfer.py: 0.94 vs 0.88 fine-tuned at 10 labels per class)")
    layer_sizes: list[int] = [48, 32, 16]
    activation: str = "sigmoid"
    layer_kind: Literal["plain", "denoising", "sparse_l1", "sparse_kl", "contractive"] = "plain"
    noise_std: float = 0.3
    seed: int = 0
    pretrain: TrainerSettings = TrainerSettings(epochs=30, lr=1e-2)
    finetune: TrainerSettings = TrainerSettings(epochs=30, lr=1e-3, early_stopping_patience=10)
    probe_labels_per_class: int = 10

    def to_library(self, in_features: int) -> StackedAutoencoderConfig:
        return StackedAutoencoderConfig(in_features=in_features, layer_sizes=tuple(self.layer_sizes),
                                        activation=self.activation, layer_kind=self.layer_kind,
                                        noise_std=self.noise_std, seed=self.seed)


class TransferModelsConfig(Config):
    """Transfer of the pretrained encoder to a target task with few labels."""

    task: Literal["same_classes", "class_split"] = Field(
        "same_classes", description="Target: the same classes, or only target_classes")
    target_classes: list[int] = Field([5, 6, 7, 8, 9], description="Class codes of a class split")
    modes: list[str] = Field(list(TRANSFER_MODES), description=f"From {list(TRANSFER_MODES)}")
    labels_per_class: list[int] = Field([1, 5, 10, 20, 0], description="Label budgets; 0 = all")
    draws: int = 5
    encoder_lr_scale: float = 0.1
    target_steps: int = 300
    model_labels_per_class: int = Field(10, description="Budget of the models handed downstream")
    pseudo_label_rounds: int = Field(1, description="Self-training rounds of the pseudo_label mode")
    pseudo_label_threshold: float = Field(0.9, description="Least teacher confidence of a kept "
                                          "pseudo-label")
    pseudo_label_teacher: Literal["label_spreading", "head"] = "label_spreading"
    pseudo_label_student: Literal["frozen", "finetune"] = Field(
        "frozen", description="frozen: the student's head trains on codes (cheap); finetune is "
        "better (benchmarks/transfer.py) and costs a fine-tuning run per fit")
    pseudo_label_augment: bool = Field(False, description="Train the fine-tuned student on "
                                       "augmented views (images only)")
    supervised_base: bool = Field(True, description="Class split: also transfer an encoder trained "
                                  "with the labels of the other classes")
    base_steps: int = Field(1000, description="Optimiser steps of the supervised base task")
    seed: int = 0
    trainer: TrainerSettings = TrainerSettings(lr=1e-2, batch_size=32)

    def to_library(self) -> TransferConfig:
        pseudo_label = dict(  # a PseudoLabelConfig; augment {} = the default AugmentConfig
            rounds=self.pseudo_label_rounds, threshold=self.pseudo_label_threshold,
            teacher=self.pseudo_label_teacher, student_mode=self.pseudo_label_student,
            augment={} if self.pseudo_label_augment else None)
        return TransferConfig(modes=tuple(self.modes), labels_per_class=tuple(self.labels_per_class),
                              draws=self.draws, encoder_lr_scale=self.encoder_lr_scale,
                              target_steps=self.target_steps, pseudo_label=pseudo_label,
                              seed=self.seed)


class SslEncoderConfig(Config):
    """A self-supervised pretext (see unsup_core.selfsupervised); tables without an image shape
    use masked-feature reconstruction."""

    pretext: Literal["contrastive", "patch_position", "masked_features"] = "contrastive"
    encoder: Literal["cnn", "mlp"] = "cnn"
    code_dim: int = 128
    patch_size: int = 2
    gap: int = 1
    jitter: int = 0
    upsample: int = 1
    mask_prob: float = 0.3
    temperature: float = 0.5
    seed: int = 0
    trainer: TrainerSettings = TrainerSettings(epochs=100, batch_size=256, lr=2e-3)
    probe_labels_per_class: int = 10

    def to_library(self) -> PretextChoice:
        return PretextChoice(**self.model_dump(exclude={"trainer", "probe_labels_per_class"}))


class TeacherModelConfig(Config):
    """The large teacher a(x, w), trained on every training label."""

    hidden: list[int] = [256, 256]
    seed: int = 0
    trainer: TrainerSettings = TrainerSettings(epochs=60, batch_size=32, lr=1e-3)


class StudentModelConfig(Config):
    """A small student b(x, w') trained on few labels plus the teacher's soft targets on every
    training object (Hinton et al. 2015), beside the same student on the labels alone."""

    init_from: Literal["scratch", "stacked_autoencoder"] = Field(
        "stacked_autoencoder", description="Start the hidden layers from the stacked "
        "autoencoder's encoder (its widths and activation) when it is an MLP on the same "
        "inputs, else from scratch with 'hidden' (better on a validation split: 0.965 vs 0.959)")
    init_layers: int = Field(1, description="Encoder layers copied when init_from is "
                             "stacked_autoencoder")
    hidden: list[int] = Field([16], description="Hidden widths of a student from scratch")
    labels_per_class: int = 10
    temperature: float = 4.0
    alpha: float = Field(0.5, description="Weight of the true-label term (1 - alpha: imitation)")
    steps: int = Field(12000, description="Optimiser steps of each student")
    seed: int = 0
    trainer: TrainerSettings = TrainerSettings(batch_size=32, lr=3e-3)


class PrivilegedStudentConfig(Config):
    """Learning using privileged information: the teacher sees x* (full images, or the named
    privileged columns), the student only x (a degraded view, or the other columns)."""

    degrade: Literal["pool4x4", "pixel_subset"] = "pool4x4"
    privileged_columns: list[str] = Field([], description="For tables: columns only seen in training")
    teacher_labels: Literal["same", "all"] = Field(
        "same", description="Teacher on x* with the student's labels only, or with every label")
    variant: Literal["separate", "joint"] = Field(
        "separate", description="Student handed downstream: teacher first, then the student "
        "(separate), or both trained at once with the coupling term (joint); both are logged")
    hidden: list[int] = [32]
    teacher_hidden: list[int] = Field([256, 256], description="The teacher on x* (both variants)")
    teacher_dropout: float = Field(0.5, description="Dropout of the separate teacher")
    coupling_to_teacher: bool = Field(False, description="Joint: the coupling also moves the teacher")
    labels_per_class: int = 20
    temperature: float = 2.0
    mu: float = Field(10.0, description="Weight of the imitation (coupling) term")
    steps: int = Field(3000, description="Optimiser steps of the teacher, the student alone and "
                       "the joint model")
    student_steps: Optional[int] = Field(6000, description="Optimiser steps of the separately "
                                         "distilled student (None: steps); chosen on validation")
    seed: int = 0
    trainer: TrainerSettings = TrainerSettings(batch_size=32, lr=3e-3)


from unsup_core.generative import (AdversarialTrainerConfig, DiscriminatorConfig,  # noqa: E402
                                   GeneratorConfig, QualityJudgeConfig)


class GanGeneratorSettings(Config):
    """G(z): noise -> object (see unsup_core.generative.GeneratorConfig; width and image shape
    come from the data)."""

    noise_dim: int = 32
    hidden: list[int] = [128, 256]
    activation: str = "leaky_relu"
    batch_norm: bool = True
    kind: Literal["mlp", "conv"] = Field("mlp", description="'conv' needs image data")
    seed: int = 0

    def to_library(self, out_features: int, image_shape: Optional[tuple] = None) -> GeneratorConfig:
        return GeneratorConfig(out_features=out_features, image_shape=image_shape,
                               **{**self.model_dump(), "hidden": tuple(self.hidden)})


class GanDiscriminatorSettings(Config):
    """D(x) = p(real | x) (see unsup_core.generative.DiscriminatorConfig)."""

    hidden: list[int] = [256, 128]
    activation: str = "leaky_relu"
    dropout: float = 0.3
    minibatch_std: bool = False
    kind: Literal["mlp", "conv"] = Field("mlp", description="'conv' needs image data")
    seed: int = 0

    def to_library(self, in_features: int, image_shape: Optional[tuple] = None) -> DiscriminatorConfig:
        return DiscriminatorConfig(in_features=in_features, image_shape=image_shape,
                                   **{**self.model_dump(), "hidden": tuple(self.hidden)})


class AdversarialTrainerSettings(Config):
    """The adversarial trainer's knobs (see unsup_core.generative.AdversarialTrainerConfig)."""

    epochs: int = 100
    batch_size: int = 64
    d_steps: int = Field(1, description="k: discriminator steps per generator step")
    generator_loss: Literal["non_saturating", "minimax"] = "non_saturating"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    label_smoothing: float = 0.0
    ema_decay: Optional[float] = Field(None, description="EMA of G's weights (e.g. 0.999); None: off")
    lr_schedule: Literal["constant", "linear"] = Field("constant", description="'linear': decay to 0")
    seed: int = 0
    device: str = "cpu"
    num_threads: Optional[int] = 1

    def to_library(self) -> AdversarialTrainerConfig:
        return AdversarialTrainerConfig(**self.model_dump())


class GanModelConfig(Config):
    """A GAN on the prepared data, judged by a classifier trained on the real training data
    (Frechet distance in its hidden features, classifier score, class histogram)."""

    generator: GanGeneratorSettings = GanGeneratorSettings()
    discriminator: GanDiscriminatorSettings = GanDiscriminatorSettings()
    trainer: AdversarialTrainerSettings = AdversarialTrainerSettings()
    checkpoint_every: int = Field(25, description="Epochs between sample grids / quality checks")
    grid_samples: int = Field(40, description="Samples per grid (fixed noise)")
    judged_samples: int = Field(1000, description="Samples per quality measurement")
    judge_hidden: list[int] = Field([128, 64], description="Judging classifier's hidden widths")
    judge_epochs: int = 40
    noise_std: float = Field(0.5, description="Noise of the noisy-real baseline")
    vae_epochs: int = Field(0, description="Epochs of a VAE baseline; 0: no VAE baseline")

    def judge_config(self) -> QualityJudgeConfig:
        return QualityJudgeConfig(hidden=tuple(self.judge_hidden), epochs=self.judge_epochs,
                                  seed=self.trainer.seed)
