"""Generative adversarial nets (Goodfellow et al. 2014) and quality measures of generated
objects judged by a classifier trained on the real data (also used for VAE samples)."""

from .baselines import (
    baseline_qualities,
    fit_vae,
    gaussian_samples,
    noisy_samples,
    random_pixels,
    vae_samples,
)
from .config import AdversarialTrainerConfig, DiscriminatorConfig, GeneratorConfig
from .losses import discriminator_accuracy, discriminator_loss, generator_loss
from .networks import Discriminator, Generator
from .quality import (
    QualityJudge,
    QualityJudgeConfig,
    SampleQuality,
    class_histogram,
    classifier_score,
    frechet_distance,
    mean_confidence,
)
from .recipe import QUALITY_COLUMNS, GanConfig, GanResult, train_gan
from .snapshots import SampleSnapshots
from .trainer import (
    AdversarialTrainer,
    discriminator_step,
    generator_step,
    recalibrate_batch_norm,
    update_average,
)

__all__ = [
    "QUALITY_COLUMNS",
    "AdversarialTrainer",
    "AdversarialTrainerConfig",
    "Discriminator",
    "DiscriminatorConfig",
    "GanConfig",
    "GanResult",
    "Generator",
    "GeneratorConfig",
    "QualityJudge",
    "QualityJudgeConfig",
    "SampleQuality",
    "SampleSnapshots",
    "baseline_qualities",
    "class_histogram",
    "classifier_score",
    "discriminator_accuracy",
    "discriminator_loss",
    "discriminator_step",
    "fit_vae",
    "frechet_distance",
    "gaussian_samples",
    "generator_loss",
    "generator_step",
    "mean_confidence",
    "noisy_samples",
    "random_pixels",
    "recalibrate_batch_norm",
    "train_gan",
    "update_average",
    "vae_samples",
]
