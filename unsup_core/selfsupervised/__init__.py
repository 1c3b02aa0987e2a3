"""Self-supervised pretexts: models learn codes from unlabelled data by solving a task whose
labels come from the data itself (Doersch, Gupta & Efros 2015).

Each model is an ``nn.Module`` with a frozen config dataclass validated when built, ``loss(batch)
-> dict`` (``"loss"`` plus named terms) for the shared Trainer, and an ``encoder`` (attribute
``out_features``; flattened inputs (B, n_features) -> (B, out_features)) for downstream tasks:

* :class:`PatchPositionModel` - relative position of two image patches (8 classes);
* :class:`MaskedFeatureModel` - reconstruct randomly masked features of any table;
* :class:`ContrastiveModel` - SimCLR's NT-Xent between two augmented views of an image.
"""

from .augment import (
    NO_AUGMENT,
    AugmentConfig,
    augment_images,
    pixel_noise,
    random_affine,
    random_erasing,
)
from .contrastive import ContrastiveConfig, ContrastiveModel, NTXentLoss, nt_xent
from .encoders import ConvEncoder, MLPEncoder
from .masked import MaskedFeatureConfig, MaskedFeatureModel, masked_mse, sample_feature_mask
from .patches import (
    NEIGHBOUR_OFFSETS,
    PatchGrid,
    PatchPairs,
    extract_patches,
    grid_cells,
    sample_patch_pairs,
)
from .position import PatchImageEncoder, PatchPositionConfig, PatchPositionModel
from .pretext import PRETEXTS, PretextResult, PretextTrainingConfig, pretext_model, train_pretext

__all__ = [
    "NEIGHBOUR_OFFSETS",
    "NO_AUGMENT",
    "PRETEXTS",
    "AugmentConfig",
    "ContrastiveConfig",
    "ContrastiveModel",
    "ConvEncoder",
    "MLPEncoder",
    "MaskedFeatureConfig",
    "MaskedFeatureModel",
    "NTXentLoss",
    "PatchGrid",
    "PatchImageEncoder",
    "PatchPairs",
    "PatchPositionConfig",
    "PatchPositionModel",
    "PretextResult",
    "PretextTrainingConfig",
    "augment_images",
    "extract_patches",
    "grid_cells",
    "masked_mse",
    "nt_xent",
    "pixel_noise",
    "pretext_model",
    "random_affine",
    "random_erasing",
    "sample_feature_mask",
    "sample_patch_pairs",
    "train_pretext",
]
