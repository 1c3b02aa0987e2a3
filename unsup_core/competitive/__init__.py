"""Competitive learning: online WTA k-means, soft WTM, and the Kohonen self-organising map.

Scikit-learn-style estimators (``fit``, ``predict``, ``transform``, ``random_state``, fitted
attributes ending in ``_``); the maps people read are plain arrays in ``maps``.
"""

from .grid import Grid, auto_grid_shape
from .maps import class_hit_maps, component_planes, density_map, hit_map, majority_labels, u_matrix
from .metrics import node_purity, quantization_error, topographic_error
from .neighbourhood import NEIGHBOURHOODS, kernel
from .recipe import MapConfig, MapResult, fit_map, weights_npz
from .schedules import SCHEDULES, schedule_values
from .som import KohonenMap, KohonenMapConfig
from .wta import OnlineKMeans, SoftCompetitiveLearning

__all__ = [
    "NEIGHBOURHOODS",
    "SCHEDULES",
    "Grid",
    "KohonenMap",
    "KohonenMapConfig",
    "MapConfig",
    "MapResult",
    "OnlineKMeans",
    "SoftCompetitiveLearning",
    "auto_grid_shape",
    "class_hit_maps",
    "component_planes",
    "density_map",
    "fit_map",
    "hit_map",
    "kernel",
    "majority_labels",
    "node_purity",
    "quantization_error",
    "schedule_values",
    "topographic_error",
    "u_matrix",
    "weights_npz",
]
