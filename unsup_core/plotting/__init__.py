"""Drawing, kept apart from computation: functions take arrays (or a training history) and
return a matplotlib ``Figure``. matplotlib is imported lazily, only in ``plotting.base``."""

from .codes import plot_code_scatter, plot_image_grid, project_2d
from .maps import draw_map, plot_component_planes, plot_label_overlay, plot_map
from .reports import plot_metric_trends
from .training import plot_accuracy_curve, plot_loss_curves, plot_reconstructions

__all__ = [
    "draw_map",
    "plot_accuracy_curve",
    "plot_code_scatter",
    "plot_component_planes",
    "plot_image_grid",
    "plot_label_overlay",
    "plot_loss_curves",
    "plot_map",
    "plot_metric_trends",
    "plot_reconstructions",
    "project_2d",
]
