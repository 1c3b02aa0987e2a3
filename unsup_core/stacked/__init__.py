"""Stacked autoencoders (Bengio, Lamblin, Popovici, Larochelle 2007, "Greedy layer-wise training
of deep networks"): train one single-layer autoencoder per layer on the codes of the layer
below, drop the decoders, compose the encoders, then fine-tune the whole net by backpropagation
as a deep autoencoder (the networks) or with a head (:mod:`unsup_core.transfer`); the whole
pretrain-and-fine-tune experiment is one recipe."""

from .networks import (
    LAYER_KINDS,
    DeepAutoencoder,
    StackedAutoencoderConfig,
    StackedEncoder,
    StackedOnEncoder,
    greedy_layerwise_pretrain,
    pretrain_layers,
)
from .recipe import StackedResult, StackedTrainingConfig, train_stacked_autoencoder

__all__ = [
    "LAYER_KINDS",
    "DeepAutoencoder",
    "StackedAutoencoderConfig",
    "StackedEncoder",
    "StackedOnEncoder",
    "StackedResult",
    "StackedTrainingConfig",
    "greedy_layerwise_pretrain",
    "pretrain_layers",
    "train_stacked_autoencoder",
]
