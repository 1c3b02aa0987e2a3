"""Competitive learning: online WTA k-means, soft WTM, and the Kohonen self-organising map.

Scikit-learn-style estimators (``fit``, ``predict``, ``transform``, ``random_state``, fitted
attributes ending in ``_``); the maps people read are plain arrays in ``maps``.
"""

from .grid import Grid
from .maps import (class_hit_maps, component_planes, density_map, hit_map, majority_labels,
                   u_matrix)
from .metrics import node_purity, quantization_error, topographic_error
from .neighbourhood import NEIGHBOURHOODS, kernel
from .schedules import SCHEDULES, schedule_values
from .recipe import MapConfig, MapResult, fit_map, weights_npz
from .som import KohonenMap, KohonenMapConfig
from .wta import OnlineKMeans, SoftCompetitiveLearning

__all__ = [
    "Grid", "KohonenMap", "KohonenMapConfig", "MapConfig", "MapResult", "fit_map", "weights_npz", "NEIGHBOURHOODS", "OnlineKMeans", "SCHEDULES", "SoftCompetitiveLearning",
    "class_hit_maps", "component_planes", "density_map", "hit_map", "kernel", "majority_labels",
    "node_purity", "quantization_error", "schedule_values", "topographic_error", "u_matrix",
]
