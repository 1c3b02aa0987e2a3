"""Pretraining and transfer: the stacked autoencoder, then the encoder moved to a target task."""

import copy
from functools import partial

from dagster import AssetExecutionContext, MetadataValue, Output, asset
from torch import nn

from unsup_core.autoencoders import apply_array
from unsup_core.data import PreparedData
from unsup_core.evaluation import few_label_probe
from unsup_core.plotting import plot_accuracy_curve, plot_loss_curves
from unsup_core.selfsupervised import pretext_for_data
from unsup_core.stacked import DeepAutoencoder, StackedOnEncoder, pretrain_layers
from unsup_core.training import Trainer, evaluate
from unsup_core.transfer import (class_split, fit_target, summarize_curve, supervised_base_encoder,
                                 transfer_curve, untrained_like)

from ..configs import SslEncoderConfig, StackedAutoencoderAssetConfig, TransferModelsConfig
from ..reporting import markdown_table
from ..resources import MlflowTracking
from .data import CODE_VERSION


@asset(group_name="transfer", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def stacked_autoencoder(context: AssetExecutionContext, config: StackedAutoencoderAssetConfig,
                        prepared_dataset: PreparedData, ssl_encoder: nn.Module,
                        mlflow: MlflowTracking) -> Output[nn.Module]:
    """Greedy layer-wise pretraining (each layer an autoencoder on the codes of the one below,
    decoders then dropped), then end-to-end fine-tuning as a deep autoencoder; the encoder.
    ``start_from="ssl_encoder"`` stacks on the self-supervised encoder's codes (x^0 = its code;
    reconstruction errors are then in code space) and returns the composition."""
    data = prepared_dataset
    base = ssl_encoder if config.start_from == "ssl_encoder" else None
    X = {name: split.X if base is None else apply_array(base, split.X, "encode")
         for name, split in (("train", data.train), ("val", data.val), ("test", data.test))}
    stack = config.to_library(X["train"].shape[1])
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        run.set_tags({"start_from": config.start_from})
        layers, histories = pretrain_layers(
            stack, X["train"], config.pretrain.to_library(),
            callbacks_for_layer=lambda h: [run.epoch_logger(prefix=f"layer{h}/")])
        deep = DeepAutoencoder.from_layers(stack, layers)
        start = float(((apply_array(deep, X["test"]) - X["test"]) ** 2).mean())
        val = {"x": X["val"]} if len(data.val) else None
        history = Trainer(config.finetune.to_library(), callbacks=[run.epoch_logger("finetune/")]).fit(
            deep, {"x": X["train"]}, val)
        encoder = deep.encoder if base is None else StackedOnEncoder.from_parts(base, deep.encoder)
        metrics = {"test/recon_stacked": start,
                   "test/recon": float(((apply_array(deep, X["test"]) - X["test"]) ** 2).mean())}
        if data.train.y is not None:
            codes = apply_array(encoder, data.train.X, "encode"), apply_array(encoder, data.test.X, "encode")
            metrics["probe/accuracy"] = few_label_probe(codes[0], data.train.y, codes[1], data.test.y,
                                                        config.probe_labels_per_class)[0]
        run.log_metrics(metrics)
        for h, layer_history in enumerate(histories, 1):
            run.log_figure(plot_loss_curves(layer_history, f"layer {h} pretraining"), f"layer{h}_loss")
        run.log_figure(plot_loss_curves(history, "fine-tuning as a deep autoencoder"), "finetune_loss")
        run.log_model(encoder, "model/encoder.pt")
    return Output(encoder, metadata={**run.dagster_metadata(), "start_from": config.start_from,
                                     **{k.replace("/", "_"): v for k, v in metrics.items()}})


@asset(group_name="transfer", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def ssl_encoder(context: AssetExecutionContext, config: SslEncoderConfig,
                prepared_dataset: PreparedData, mlflow: MlflowTracking) -> Output[nn.Module]:
    """An encoder pretrained without labels on a pretext: contrastive views, relative patch
    position, or masked features (tables without an image shape)."""
    data = prepared_dataset
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        model, used = pretext_for_data(config.to_library(), data.n_features, data.image_shape)
        val = {"x": data.val.X} if len(data.val) else None
        history = Trainer(config.trainer.to_library(), callbacks=[run.epoch_logger()]).fit(
            model, {"x": data.train.X}, val)
        metrics = {f"test/{k}": v for k, v in evaluate(model, {"x": data.test.X}).items()}
        if data.train.y is not None:
            codes = apply_array(model, data.train.X, "encode"), apply_array(model, data.test.X, "encode")
            metrics["probe/accuracy"] = few_label_probe(codes[0], data.train.y, codes[1], data.test.y,
                                                        config.probe_labels_per_class)[0]
        run.log_metrics(metrics)
        run.set_tags({"pretext": used})
        run.log_figure(plot_loss_curves(history, f"{used} pretext"), "loss_curves")
        run.log_model(model, "model/checkpoint.pt")
    return Output(model, metadata={**run.dagster_metadata(), "pretext": used,
                                   **{k.replace("/", "_"): v for k, v in metrics.items()}})


@asset(group_name="transfer", code_version=CODE_VERSION, kinds={"pytorch"},
       io_manager_key="model_io_manager")
def transfer_models(context: AssetExecutionContext, config: TransferModelsConfig,
                    prepared_dataset: PreparedData, stacked_autoencoder: nn.Module,
                    ssl_encoder: nn.Module, mlflow: MlflowTracking) -> Output[dict]:
    """Each pretrained encoder (stacked AE, self-supervised; for a class split also one trained
    with the labels of the other classes) in each transfer mode (frozen encoder + head,
    fine-tuning, from scratch, pseudo-labelling) at each label budget: the accuracy curves as a
    figure and a table; the classifiers at the model budget, handed downstream."""
    data = prepared_dataset
    transfer = config.to_library()
    trainer = config.trainer.to_library()
    encoders = {"stacked": stacked_autoencoder, "ssl": ssl_encoder}
    if config.task == "class_split":
        data = class_split(prepared_dataset, config.target_classes)
        if config.supervised_base:
            base = class_split(prepared_dataset, [c for c in range(prepared_dataset.n_classes)
                                                  if c not in config.target_classes])
            encoders["supervised_base"] = supervised_base_encoder(
                untrained_like(ssl_encoder), base, trainer, config.base_steps)
    with mlflow.asset_run(context, params=config.model_dump()) as run:
        summary = []
        for name, encoder in encoders.items():
            rows = summarize_curve(transfer_curve(encoder, partial(untrained_like, encoder), data,
                                                  transfer, trainer))
            summary += [{"encoder": name, **row} for row in rows]
        for row in summary:
            budget = row["labels_per_class"] or "all"
            run.log_metrics({f"accuracy/{row['encoder']}/{row['mode']}/k{budget}": row["accuracy"]})
        table = markdown_table(summary, ("encoder", "mode", "labels_per_class", "accuracy",
                                         "accuracy_std", "draws"))
        run.log_text(table, "transfer_curve.md")
        run.log_dict({"rows": summary}, "transfer_curve.json")
        for name in encoders:
            run.log_figure(plot_accuracy_curve([r for r in summary if r["encoder"] == name],
                                               f"transfer of the {name} encoder"), f"transfer_curve_{name}")
        labelled = data.few_labels(config.model_labels_per_class, config.seed)
        models, accuracies = {}, {}
        for name, encoder in encoders.items():
            for mode in transfer.modes:
                start = untrained_like(encoder) if mode == "scratch" else copy.deepcopy(encoder)
                key = f"{name}_{mode}"
                models[key], accuracy = fit_target(start, mode, data, labelled, trainer,
                                                   transfer.encoder_lr_scale, transfer.target_steps,
                                                   transfer.pseudo_label)
                run.log_metrics({f"model/{key}/accuracy": accuracy})
                accuracies[f"accuracy_{key}"] = accuracy
                run.log_model(models[key], f"model/{key}.pt")
    return Output(models, metadata={**run.dagster_metadata(), **accuracies,
                                    "labels_per_class": config.model_labels_per_class,
                                    "curve": MetadataValue.md(table)})
