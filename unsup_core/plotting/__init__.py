"""Drawing, kept apart from computation: functions take arrays (or a training history) and
return a matplotlib ``Figure``. matplotlib is imported lazily, only in ``plotting.base``."""

from .maps import draw_map, plot_component_planes, plot_label_overlay, plot_map
from .training import plot_loss_curves, plot_reconstructions

__all__ = ["draw_map", "plot_component_planes", "plot_label_overlay", "plot_loss_curves",
           "plot_map", "plot_reconstructions"]
