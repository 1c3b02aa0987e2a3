"""Every autoencoder kind trained on the prepared data, one nested MLflow run per kind."""

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from unsup_core.autoencoders import apply_array
from unsup_core.autoencoders.variational import VariationalAutoencoder
from unsup_core.autoencoders.zoo import build_member, evaluate_member, member_data
from unsup_core.data import PreparedData
from unsup_core.plotting import plot_code_scatter, plot_image_grid, plot_reconstructions
from unsup_core.training import Trainer

from ..configs import AutoencoderZooConfig
from ..reporting import markdown_table
from ..resources import MlflowTracking
from ..tracking import AssetRun
from .data import CODE_VERSION

TABLE_COLUMNS = ("kind", "test/recon", "probe/accuracy", "codes/near_zero_fraction",
                 "codes/jacobian_norm", "test/elbo", "train_seconds")


@asset(group_name="autoencoders", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def autoencoder_zoo(context: AssetExecutionContext, config: AutoencoderZooConfig,
                    prepared_dataset: PreparedData, mlflow: MlflowTracking) -> Output[dict]:
    """Trains each kind (plain, linear, sparse, denoising, contractive, relational, variational,
    label-regularised) with the same architecture, plus the overcomplete denoising and
    label-regularised autoencoders (the best codes of benchmarks/autoencoders.py), and compares
    them on the same yardsticks (one linear probe for all)."""
    data = prepared_dataset
    zoo = config.to_library()
    trainer_config = config.trainer.to_library()
    in_unit = bool(data.train.X.min() >= 0 and data.train.X.max() <= 1)
    rows, models = [], {}
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        for kind in zoo.kinds:
            with run.nested(kind, params={"kind": kind, **config.trainer.model_dump()}) as child:
                model = build_member(kind, zoo, data.n_features, data.n_classes, in_unit)
                train, val = member_data(kind, data, zoo)
                history = Trainer(trainer_config, callbacks=[child.epoch_logger()]).fit(model, train, val)
                metrics = {**evaluate_member(model, data, zoo), "train_seconds": history.seconds,
                           "epochs_run": float(len(history.epochs))}
                child.log_metrics(metrics)
                log_member_figures(child, kind, model, data)
                child.log_model(model, "model/checkpoint.pt")
            rows.append({"kind": kind, **metrics})
            models[kind] = model
        table = markdown_table(rows, TABLE_COLUMNS)
        run.log_text(table, "comparison.md")
        run.log_dict({"rows": rows}, "comparison.json")
    best = max(rows, key=lambda row: row.get("probe/accuracy", float("-inf")))
    return Output(models, metadata={**run.dagster_metadata(), "comparison": MetadataValue.md(table),
                                    "kinds": len(rows), "best_kind": best["kind"],
                                    "probe_accuracy": best.get("probe/accuracy", float("nan"))})


def log_member_figures(run: AssetRun, kind: str, model, data: PreparedData) -> None:
    """Reconstructions beside originals and a 2-D code scatter; VAE samples and interpolation."""
    codes = apply_array(model, data.test.X, "encode")
    run.log_figure(plot_code_scatter(codes, data.test.y, data.class_names, f"{kind}: test codes"),
                   "codes")
    if data.image_shape is None:
        return
    sample = data.test.X[:10]
    run.log_figure(plot_reconstructions(sample, apply_array(model, sample), data.image_shape),
                   "reconstructions")
    if isinstance(model, VariationalAutoencoder):
        run.log_figure(plot_image_grid(model.sample(20).detach().numpy(), data.image_shape, 10,
                                       "samples from the prior"), "samples")
        strip = model.interpolate(data.test.X[0], data.test.X[1], 10)
        run.log_figure(plot_image_grid(strip.detach().numpy(), data.image_shape, 10,
                                       "interpolation between two test objects"), "interpolation")
