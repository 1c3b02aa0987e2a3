"""The autoencoder family (one module per kind)."""

from .layers import apply_array, count_parameters, mlp, reconstruction_loss
from .plain import Autoencoder, AutoencoderConfig

__all__ = ["Autoencoder", "AutoencoderConfig", "apply_array", "count_parameters", "mlp",
           "reconstruction_loss"]
