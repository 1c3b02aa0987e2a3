"""A GAN trained on the prepared data, judged by a classifier trained on the same real data."""

import time

from dagster import AssetExecutionContext, MetadataValue, Output, asset
from mlflow.entities import Metric

from unsup_core.data import PreparedData
from unsup_core.generative import (AdversarialTrainer, Discriminator, Generator, QualityJudge,
                                   SampleSnapshots, baseline_qualities, fit_vae)
from unsup_core.plotting.generative import (plot_adversarial_history, plot_class_shares,
                                            plot_sample_grid)

from ..configs import GanModelConfig
from ..reporting import markdown_table
from ..resources import MlflowTracking
from .data import CODE_VERSION

TABLE_COLUMNS = ("samples", "frechet_distance", "classifier_score", "n_classes_present",
                 "min_class_share", "mean_confidence")


@asset(group_name="generative", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def gan_model(context: AssetExecutionContext, config: GanModelConfig,
              prepared_dataset: PreparedData, mlflow: MlflowTracking) -> Output[dict]:
    """Generator and discriminator (Goodfellow et al. 2014) with per-epoch losses, sample grids
    at checkpoints, and quality measures beside real held-out data and simple baselines."""
    data = prepared_dataset
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        generator = Generator(config.generator.to_library(data.n_features, data.image_shape))
        discriminator = Discriminator(config.discriminator.to_library(data.n_features, data.image_shape))
        judge = (QualityJudge.fit(data.train.X, data.train.y, data.n_classes, config.judge_config())
                 if data.train.y is not None else None)
        snapshots = SampleSnapshots(config.checkpoint_every, config.grid_samples, judge,
                                    config.judged_samples, config.trainer.seed)
        history = AdversarialTrainer(config.trainer.to_library(),
                                     [run.epoch_logger(), snapshots]).fit(generator, discriminator,
                                                                          data.train.X)
        run.log_metrics({"train_seconds": history.seconds, "epochs_run": float(len(history.epochs))})
        now = int(time.time() * 1000)
        run.log_metric_records([Metric(f"checkpoint/{key}", value, now, epoch)
                                for epoch, quality in snapshots.quality_.items()
                                for key, value in quality.metrics().items() if "/" not in key])
        if data.image_shape is not None:
            for epoch, samples in snapshots.samples_.items():
                run.log_figure(plot_sample_grid(samples, data.image_shape, 10, f"epoch {epoch}"),
                               f"samples_epoch_{epoch:04d}")
        run.log_figure(plot_adversarial_history(history), "adversarial_losses")
        rows = []
        if judge is not None:
            vae = fit_vae(data.train.X, epochs=config.vae_epochs, seed=config.trainer.seed) \
                if config.vae_epochs else None
            qualities = {"gan": snapshots.quality_[len(history.epochs)],
                         **baseline_qualities(judge, data.train.X, data.test.X, config.judged_samples,
                                              config.noise_std, config.trainer.seed, vae)}
            run.log_metrics({k: v for name, q in qualities.items()
                             for k, v in q.metrics(f"{name}/").items()})
            rows = [{"samples": name, **q.metrics()} for name, q in qualities.items()]
            shares = {n: qualities[n].class_shares for n in ("gan", "real_heldout") if n in qualities}
            run.log_figure(plot_class_shares(shares, data.class_names), "class_shares")
            run.log_dict({"rows": rows}, "quality.json")
        run.log_model(generator, "model/generator.pt")
        run.log_model(discriminator, "model/discriminator.pt")
    table = markdown_table(rows, TABLE_COLUMNS)
    gan = rows[0] if rows else {}
    return Output({"generator": generator, "discriminator": discriminator}, metadata={
        **run.dagster_metadata(), "quality": MetadataValue.md(table),
        "frechet_distance": gan.get("frechet_distance", float("nan")),
        "classifier_score": gan.get("classifier_score", float("nan")),
        "n_classes_present": gan.get("n_classes_present", float("nan"))})
