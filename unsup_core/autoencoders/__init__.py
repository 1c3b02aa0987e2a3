"""The autoencoder family, one module per kind, all trained by the shared Trainer.

Each kind is an ``nn.Module`` with ``encode``, ``decode`` and ``loss(batch) -> dict`` (``"loss"``
plus named terms) and a frozen config dataclass validated when built.
"""

from .contractive import ContractiveAutoencoder, ContractiveAutoencoderConfig
from .denoising import DenoisingAutoencoder, DenoisingAutoencoderConfig
from .label_regularized import LabelRegularizedAutoencoder, LabelRegularizedAutoencoderConfig
from .layers import mlp, reconstruction_loss
from .linear import LinearAutoencoder, LinearAutoencoderConfig
from .plain import Autoencoder, AutoencoderConfig, EncoderDecoder
from .relational import RelationalAutoencoder, RelationalAutoencoderConfig
from .sparse import SparseAutoencoder, SparseAutoencoderConfig
from .variational import VariationalAutoencoder, VariationalAutoencoderConfig

__all__ = [
    "Autoencoder",
    "AutoencoderConfig",
    "ContractiveAutoencoder",
    "ContractiveAutoencoderConfig",
    "DenoisingAutoencoder",
    "DenoisingAutoencoderConfig",
    "EncoderDecoder",
    "LabelRegularizedAutoencoder",
    "LabelRegularizedAutoencoderConfig",
    "LinearAutoencoder",
    "LinearAutoencoderConfig",
    "RelationalAutoencoder",
    "RelationalAutoencoderConfig",
    "SparseAutoencoder",
    "SparseAutoencoderConfig",
    "VariationalAutoencoder",
    "VariationalAutoencoderConfig",
    "mlp",
    "reconstruction_loss",
]
