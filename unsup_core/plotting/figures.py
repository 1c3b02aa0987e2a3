"""The figures of each recipe's result, by name (the name is the file stem a caller saves it
under, e.g. ``plots/<name>.png``). Computation stays in the recipes: these only draw the arrays
and histories a result carries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codes import plot_code_scatter, plot_image_grid
from .generative import plot_adversarial_history, plot_class_shares, plot_sample_grid
from .maps import plot_component_planes, plot_label_overlay, plot_map
from .training import plot_accuracy_curve, plot_loss_curves, plot_reconstructions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..autoencoders.recipe import AutoencoderResult
    from ..autoencoders.zoo import ZooMember
    from ..competitive.recipe import MapResult
    from ..data.prepare import PreparedData
    from ..generative.recipe import GanResult
    from ..results import ExperimentResult
    from ..transfer.recipe import TransferResult

Figures = dict[str, "Figure"]


def autoencoder_figures(result: AutoencoderResult, data: PreparedData) -> Figures:
    """Loss curves; reconstructions beside the originals for images."""
    figures = {"loss_curves": plot_loss_curves(result.history, "plain autoencoder: loss per epoch")}
    if data.image_shape is not None:
        figures["reconstructions"] = plot_reconstructions(
            result.originals, result.reconstructions, data.image_shape
        )
    return figures


def zoo_member_figures(member: ZooMember, data: PreparedData) -> Figures:
    """A 2-D scatter of the test codes; for images reconstructions, and a VAE's samples from
    the prior and interpolation between two test objects."""
    figures = {
        "codes": plot_code_scatter(
            member.codes, data.test.y, data.class_names, f"{member.kind}: test codes"
        )
    }
    if data.image_shape is None:
        return figures
    figures["reconstructions"] = plot_reconstructions(
        member.originals,
        member.reconstructions,
        data.image_shape,
        title=f"{member.kind}: test objects (top) and their reconstructions (bottom)",
    )
    if member.samples is not None:
        figures["samples"] = plot_image_grid(
            member.samples, data.image_shape, 10, f"{member.kind}: samples from the prior"
        )
        figures["interpolation"] = plot_image_grid(
            member.interpolation,
            data.image_shape,
            10,
            f"{member.kind}: decoded interpolation between two test objects (left to right)",
        )
    return figures


def stage_loss_figures(result: ExperimentResult, titles: dict[str, tuple[str, str]]) -> Figures:
    """One loss-curve figure per training stage: ``titles`` maps a stage of
    ``result.histories`` to (figure name, title)."""
    return {
        titles[stage][0]: plot_loss_curves(history, titles[stage][1])
        for stage, history in result.histories.items()
        if stage in titles
    }


def stacked_figures(result: ExperimentResult) -> Figures:
    """The loss curves of every pretrained layer and of the fine-tuning."""
    titles = {
        stage: (f"{stage.rstrip('/')}_loss", f"layer {stage[5:-1]} pretraining: loss per epoch")
        for stage in result.histories
        if stage.startswith("layer")
    }
    titles["finetune/"] = (
        "finetune_loss",
        "fine-tuning as a deep autoencoder: loss per epoch",
    )
    return stage_loss_figures(result, titles)


def transfer_figures(result: TransferResult) -> Figures:
    """Accuracy against labels per class, one figure per encoder."""
    return {
        f"transfer_curve_{name}": plot_accuracy_curve(
            [row for row in result.curve if row["encoder"] == name],
            f"transfer of the {name} encoder: test accuracy against labels per class",
        )
        for name in result.encoders
    }


def map_figures(result: MapResult) -> Figures:
    """U-matrix, density and hit map (each with a colour bar), component planes in a grid, and
    (with labels) the label overlay: the majority-class map with a legend above per-class hit
    maps."""
    grid = result.grid
    k = result.density_k
    figures = {
        "u_matrix": plot_map(
            result.u_matrix,
            grid,
            "U-matrix (ridges separate clusters)",
            "bone_r",
            "mean distance to neighbours' weights",
        ),
        "density": plot_map(
            result.density,
            grid,
            "density (low values: dense regions)",
            "magma_r",
            f"mean distance to {k} nearest objects",
        ),
        "hit_map": plot_map(
            result.hits, grid, "hit map: objects won per node", "Greys", "objects won"
        ),
        "component_planes": plot_component_planes(result.planes, grid, result.feature_names),
    }
    if result.majority is not None:
        figures["label_overlay"] = plot_label_overlay(
            result.majority, result.class_hits, grid, result.class_names
        )
    return figures


def gan_figures(result: GanResult, data: PreparedData) -> Figures:
    """Sample grids at every checkpoint (images), the adversarial losses, and the class shares
    of the GAN's samples beside real held-out objects (with labels)."""
    figures: dict[str, Any] = {}
    if data.image_shape is not None:
        figures.update(
            {
                f"samples_epoch_{epoch:04d}": plot_sample_grid(
                    samples, data.image_shape, 10, f"samples of the generator after epoch {epoch}"
                )
                for epoch, samples in result.samples.items()
            }
        )
    figures["adversarial_losses"] = plot_adversarial_history(result.history)
    shares = {
        name: result.qualities[name].class_shares
        for name in ("gan", "real_heldout")
        if name in result.qualities
    }
    if shares:
        figures["class_shares"] = plot_class_shares(shares, data.class_names)
    return figures
