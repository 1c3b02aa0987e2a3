"""The GAN experiment as one call: a generator and a discriminator trained adversarially on
the training split, sample grids and quality at checkpoints, and the final quality beside real
held-out objects and simple baselines, all judged by one classifier trained on the real data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..data.prepare import PreparedData
from ..results import ExperimentResult
from ..training import StageCallbacks, TrainingHistory, no_callbacks
from ..validation import config_part
from .baselines import baseline_qualities, fit_vae
from .config import AdversarialTrainerConfig, DiscriminatorConfig, GeneratorConfig
from .networks import Discriminator, Generator
from .quality import JUDGED_SAMPLES, QualityJudge, QualityJudgeConfig, SampleQuality
from .snapshots import SampleSnapshots
from .trainer import AdversarialTrainer

QUALITY_COLUMNS = (
    "samples",
    "frechet_distance",
    "classifier_score",
    "n_classes_present",
    "min_class_share",
    "mean_confidence",
)


@dataclass(frozen=True)
class GanConfig:
    """A GAN, how to train it, and how its samples are judged.

    Parameters
    ----------
    generator : G(z): noise -> object ("conv" needs image data).
    discriminator : D(x) = p(real | x) ("conv" needs image data).
    trainer : the adversarial trainer's settings (its seed also draws the snapshots' noise and
        the baselines).
    judge : the classifier trained on the real data that judges samples (needs labels).
    checkpoint_every : epochs between sample grids and quality measurements.
    grid_samples : samples per grid (fixed noise, so a grid shows the same objects evolving).
    judged_samples : samples per quality measurement.
    noise_std : noise of the noisy-real baseline.
    vae_epochs : epochs of a VAE baseline (0: none).
    """

    generator: GeneratorConfig = config_part(GeneratorConfig())
    discriminator: DiscriminatorConfig = config_part(DiscriminatorConfig())
    trainer: AdversarialTrainerConfig = field(default_factory=AdversarialTrainerConfig)
    judge: QualityJudgeConfig = field(default_factory=QualityJudgeConfig)
    checkpoint_every: int = 25
    grid_samples: int = 40
    judged_samples: int = JUDGED_SAMPLES
    noise_std: float = 0.5
    vae_epochs: int = 0

    def __post_init__(self) -> None:
        if self.checkpoint_every < 1 or self.grid_samples < 1 or self.judged_samples < 2:
            raise ValueError(
                f"checkpoint_every={self.checkpoint_every} and grid_samples="
                f"{self.grid_samples} must be >= 1, judged_samples="
                f"{self.judged_samples} >= 2"
            )
        if self.noise_std < 0 or self.vae_epochs < 0:
            raise ValueError(
                f"noise_std={self.noise_std} and vae_epochs={self.vae_epochs} must be >= 0"
            )


@dataclass
class GanResult(ExperimentResult):
    """``models["generator"]``, ``models["discriminator"]``; ``history``: the adversarial losses
    per epoch; ``samples`` and ``checkpoint_quality`` by epoch; ``qualities``: the final samples
    (``"gan"``) and the baselines; ``tables["quality"]``: one row per sample set."""

    history: TrainingHistory | None = None
    samples: dict[int, np.ndarray] = field(default_factory=dict)
    checkpoint_quality: dict[int, SampleQuality] = field(default_factory=dict)
    qualities: dict[str, SampleQuality] = field(default_factory=dict)


def train_gan(
    data: PreparedData, config: GanConfig | None = None, callbacks: StageCallbacks = no_callbacks
) -> GanResult:
    """Train G and D (Goodfellow et al. 2014) on the training split: D maximises
    E log D(x) + E log(1 - D(G(z))), G the non-saturating E log D(G(z)) (or the minimax loss).
    With labels, samples are judged at checkpoints and at the end beside the baselines.
    Metrics: ``train_seconds``, ``epochs_run`` and ``<samples>/<measure>`` of every set."""
    config = config or GanConfig()
    generator = Generator(
        replace(config.generator, out_features=data.n_features, image_shape=data.image_shape)
    )
    discriminator = Discriminator(
        replace(config.discriminator, in_features=data.n_features, image_shape=data.image_shape)
    )
    judge = (
        QualityJudge.fit(data.train.X, data.train.y, data.n_classes, config.judge)
        if data.train.y is not None
        else None
    )
    seed = config.trainer.seed
    snapshots = SampleSnapshots(
        config.checkpoint_every, config.grid_samples, judge, config.judged_samples, seed
    )
    history = AdversarialTrainer(config.trainer, [*callbacks(""), snapshots]).fit(
        generator, discriminator, data.train.X
    )
    result = GanResult(
        models={"generator": generator, "discriminator": discriminator},
        metrics={"train_seconds": history.seconds, "epochs_run": float(len(history.epochs))},
        history=history,
        samples=snapshots.samples_,
        checkpoint_quality=snapshots.quality_,
    )
    if judge is not None:
        vae = (
            fit_vae(data.train.X, epochs=config.vae_epochs, seed=seed)
            if config.vae_epochs
            else None
        )
        result.qualities = {
            "gan": snapshots.quality_[len(history.epochs)],
            **baseline_qualities(
                judge, data.train.X, data.test.X, config.judged_samples, config.noise_std, seed, vae
            ),
        }
        result.metrics.update(
            {k: v for name, q in result.qualities.items() for k, v in q.metrics(f"{name}/").items()}
        )
    result.tables["quality"] = [
        {"samples": name, **q.metrics()} for name, q in result.qualities.items()
    ]
    return result
