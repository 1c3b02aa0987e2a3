"""Stacked autoencoders as networks: the layer-wise pretraining, the composed encoder, the deep
autoencoder it is fine-tuned as, and a stack on the codes of a pretrained base encoder."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from ..arrays import apply_array
from ..autoencoders import (
    Autoencoder,
    AutoencoderConfig,
    ContractiveAutoencoder,
    ContractiveAutoencoderConfig,
    DenoisingAutoencoder,
    DenoisingAutoencoderConfig,
    SparseAutoencoder,
    SparseAutoencoderConfig,
)
from ..autoencoders.layers import Activation, ReconLoss, check_activation, mlp
from ..autoencoders.plain import EncoderDecoder
from ..training import Callback, Trainer, TrainerConfig, TrainingHistory, seeded
from ..validation import check_choice, check_widths, choices, config_part, data_field, require_data

# layer_kind -> the single-layer model pretrained at every layer
LAYER_KINDS: dict[str, type[Autoencoder]] = {
    "plain": Autoencoder,
    "denoising": DenoisingAutoencoder,
    "sparse_l1": SparseAutoencoder,
    "sparse_kl": SparseAutoencoder,
    "contractive": ContractiveAutoencoder,
}
LayerKind = Literal["plain", "denoising", "sparse_l1", "sparse_kl", "contractive"]
assert tuple(LAYER_KINDS) == choices(LayerKind)
# what the stack sets on every layer's config (the rest are the kind's own strengths)
LAYER_FIELDS = (
    "in_features",
    "hidden",
    "code_dim",
    "activation",
    "code_activation",
    "output_activation",
    "recon_loss",
    "seed",
)
DECODER_INITS = ("pretrained", "fresh")
LayerCallbacks = Callable[[int], Sequence[Callback]]  # h -> the callbacks of layer h's run


@dataclass(frozen=True)
class StackedAutoencoderConfig:
    """An H-layer encoder ``in_features -> layer_sizes[0] -> ... -> layer_sizes[-1]``, every
    layer ``activation(W_h x + b_h)``, pretrained with single-layer autoencoders of
    ``layer_kind``. Layer h is initialised with ``seed + h - 1``; the randomly initialised
    stacked encoder with ``seed``.

    Parameters
    ----------
    in_features : input width n_0 (set from the data, or the base encoder's code width).
    layer_sizes : widths n_1, ..., n_H of the layers.
    activation : every layer's activation (and its codes').
    layer_kind : the autoencoder pretrained at each layer: "plain", "denoising",
        "sparse_l1", "sparse_kl" (needs activation sigmoid) or "contractive".
    output_activation : activation of the first layer's reconstruction of the data.
    recon_loss : reconstruction error of every layer.
    denoising : the denoising layers' corruption (used when layer_kind is "denoising").
    sparse_l1 : the sparse layers' penalties (layer_kind "sparse_l1").
    sparse_kl : the sparse layers' penalties (layer_kind "sparse_kl").
    contractive : the contractive layers' penalty (layer_kind "contractive").
    seed : seed of the initialisation.
    """

    in_features: int | None = data_field()
    layer_sizes: tuple[int, ...] = (48, 32, 16)
    activation: Activation = "sigmoid"
    layer_kind: LayerKind = "plain"
    output_activation: Activation = "identity"
    recon_loss: ReconLoss = "mse"
    denoising: DenoisingAutoencoderConfig = config_part(DenoisingAutoencoderConfig(), LAYER_FIELDS)
    sparse_l1: SparseAutoencoderConfig = config_part(
        SparseAutoencoderConfig(code_l1=1e-3), LAYER_FIELDS
    )
    sparse_kl: SparseAutoencoderConfig = config_part(
        SparseAutoencoderConfig(code_activation="sigmoid", kl_sparsity=3e-3), LAYER_FIELDS
    )
    contractive: ContractiveAutoencoderConfig = config_part(
        ContractiveAutoencoderConfig(), LAYER_FIELDS
    )
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer_sizes", check_widths("layer_sizes", self.layer_sizes))
        if self.in_features is not None and self.in_features < 1:
            raise ValueError(f"in_features={self.in_features} must be >= 1")
        if not self.layer_sizes:
            raise ValueError("layer_sizes=() is empty: give one width per layer, e.g. (48, 32, 16)")
        check_choice("layer_kind", self.layer_kind, tuple(LAYER_KINDS))
        check_activation("activation", self.activation)
        for h in range(1, len(self.layer_sizes) + 1):
            self.layer_config(h)  # the family config checks the strengths and the rest

    @property
    def widths(self) -> tuple[int, ...]:
        """(n_0, n_1, ..., n_H) = (in_features, *layer_sizes)."""
        return (self.in_features, *self.layer_sizes)

    def layer_config(self, h: int) -> AutoencoderConfig:
        """Family config of layer h = 1..H: f_h(x) = activation(W_h x + b_h) from n_{h-1} to n_h
        (``hidden=()``), decoder g_h back to n_{h-1} with ``output_activation`` for h = 1 (it
        reconstructs the data) and ``activation`` for h > 1 (it reconstructs codes x^(h-1),
        which lie in the range of ``activation``), so the g_h compose into a deep decoder."""
        if not 1 <= h <= len(self.layer_sizes):
            raise ValueError(f"h={h} must lie in [1, {len(self.layer_sizes)}]")
        kind = getattr(self, self.layer_kind) if self.layer_kind != "plain" else AutoencoderConfig()
        return replace(
            kind,
            in_features=self.widths[h - 1],
            hidden=(),
            code_dim=self.widths[h],
            activation=self.activation,
            code_activation=self.activation,
            output_activation=self.output_activation if h == 1 else self.activation,
            recon_loss=self.recon_loss,
            seed=self.seed + h - 1,
        )


class StackedEncoder(nn.Module):
    """z = x^H, x^h = f_h(x^(h-1)) = activation(W_h x^(h-1) + b_h), x^0 = x: ``layers`` is
    ``Sequential(Linear_1, act, ..., Linear_H, act)``. Built from a config it is randomly
    initialised; :meth:`from_layers` copies the weights of pretrained single-layer encoders.
    Maps (B, in_features) -> (B, out_features)."""

    def __init__(self, config: StackedAutoencoderConfig) -> None:
        super().__init__()
        require_data(config, type(self).__name__)
        self.config = config
        with seeded(config.seed):
            self.layers = mlp(config.widths, config.activation, config.activation)

    @property
    def out_features(self) -> int:
        """n_H, the code width."""
        return self.config.layer_sizes[-1]

    def linear(self, h: int) -> nn.Linear:
        """The affine map (W_h, b_h) of layer h = 1..H."""
        return self.layers[2 * (h - 1)]

    def encode(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B, out_features)."""
        return self.layers(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)

    def layer_codes(self, x: Tensor) -> list[Tensor]:
        """[x^1, ..., x^H], the codes of every layer; x^H = encode(x)."""
        codes = []
        for h in range(len(self.config.layer_sizes)):
            codes.append(x := self.layers[2 * h + 1](self.layers[2 * h](x)))
        return codes

    @classmethod
    def from_layers(
        cls, config: StackedAutoencoderConfig, layers: Sequence[Autoencoder]
    ) -> StackedEncoder:
        """Compose the encoders f_1..f_H of trained single-layer autoencoders (decoders dropped):
        W_h, b_h are copied from ``layers[h - 1].encoder[0]``."""
        if len(layers) != len(config.layer_sizes):
            raise ValueError(f"{len(layers)} layers given for layer_sizes={config.layer_sizes}")
        encoder = cls(config)
        with torch.no_grad():
            for h, layer in enumerate(layers, 1):
                _copy_linear(layer.encoder[0], encoder.linear(h), f"layer {h} encoder")
        return encoder.to(layers[0].encoder[0].weight.device)


def _copy_linear(source: nn.Linear, target: nn.Linear, name: str) -> None:
    if source.weight.shape != target.weight.shape:
        raise ValueError(
            f"{name}: weight shape {tuple(source.weight.shape)} does not match "
            f"the config's {tuple(target.weight.shape)}"
        )
    target.weight.copy_(source.weight)
    target.bias.copy_(source.bias)


def pretrain_layers(
    config: StackedAutoencoderConfig,
    X: np.ndarray | Tensor,
    trainer_config: TrainerConfig | None = None,
    callbacks_for_layer: LayerCallbacks | None = None,
    X_val: np.ndarray | Tensor | None = None,
) -> tuple[list[Autoencoder], list[TrainingHistory]]:
    """Greedy layer-wise training: for h = 1..H train the pair (f_h, g_h) of ``layer_kind`` on
    {x_i^(h-1)} with the shared Trainer, minimising sum_i L(g_h(f_h(x_i^(h-1))), x_i^(h-1)),
    then x^h = f_h(x^(h-1)) (eval mode: a denoising layer's next layer sees clean codes).

    X: (l, in_features), x^0 = x; ``X_val`` is propagated the same way for validation.
    ``callbacks_for_layer(h)`` gives the callbacks of layer h's run (e.g. logging under
    ``layer{h}/``). Returns the trained autoencoders (with decoders) and one history per layer.
    """
    model_class = LAYER_KINDS[config.layer_kind]
    inputs = np.asarray(X, dtype=np.float32)
    val = None if X_val is None else np.asarray(X_val, dtype=np.float32)
    for name, array in (("X", inputs), ("X_val", val)):
        if array is not None and (array.ndim != 2 or array.shape[1] != config.in_features):
            raise ValueError(f"{name} has shape {array.shape}; expected (n, {config.in_features})")
    layers: list[Autoencoder] = []
    histories: list[TrainingHistory] = []
    for h in range(1, len(config.layer_sizes) + 1):
        if layers:  # x^(h-1) = f_(h-1)(x^(h-2))
            inputs = apply_array(layers[-1], inputs, "encode")
            val = None if val is None else apply_array(layers[-1], val, "encode")
        layer = model_class(config.layer_config(h))
        callbacks = list(callbacks_for_layer(h)) if callbacks_for_layer is not None else []
        histories.append(
            Trainer(trainer_config, callbacks).fit(
                layer, {"x": inputs}, None if val is None else {"x": val}
            )
        )
        layers.append(layer)
    return layers, histories


def greedy_layerwise_pretrain(
    config: StackedAutoencoderConfig,
    X: np.ndarray | Tensor,
    trainer_config: TrainerConfig | None = None,
    callbacks_for_layer: LayerCallbacks | None = None,
    X_val: np.ndarray | Tensor | None = None,
) -> tuple[StackedEncoder, list[TrainingHistory]]:
    """:func:`pretrain_layers`, then drop the decoders g_h and compose f_H o ... o f_1 into
    one :class:`StackedEncoder`, the starting point for fine-tuning. Returns (encoder,
    one TrainingHistory per layer)."""
    layers, histories = pretrain_layers(config, X, trainer_config, callbacks_for_layer, X_val)
    return StackedEncoder.from_layers(config, layers), histories


class DeepAutoencoder(EncoderDecoder):
    """x^ = g_1(...g_H(z)), z = f_H(...f_1(x)): the stacked encoder and its mirror decoder
    ``Sequential(Linear(n_H, n_(H-1)), act, ..., Linear(n_1, n_0), output_activation)``,
    trained end to end on L = 1/B sum_i L(x^_i, x_i) (no corruption or penalty: fine-tuning is
    plain reconstruction). :meth:`from_layers` starts from the pretrained f_h and either the
    pretrained g_h in reverse order (``"pretrained"``, the unrolled stack of Hinton &
    Salakhutdinov 2006) or a fresh decoder (``"fresh"``, seeded with ``seed + H``).
    Batches: ``{"x": (B, in_features)}``, optionally ``{"observed": ...}``."""

    def __init__(self, config: StackedAutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = StackedEncoder(config)
        with seeded(config.seed + len(config.layer_sizes)):
            self.decoder = mlp(config.widths[::-1], config.activation, config.output_activation)

    @classmethod
    def from_layers(
        cls,
        config: StackedAutoencoderConfig,
        layers: Sequence[Autoencoder],
        decoder_init: str = "pretrained",
    ) -> DeepAutoencoder:
        check_choice("decoder_init", decoder_init, DECODER_INITS)
        model = cls(config)
        model.encoder.load_state_dict(StackedEncoder.from_layers(config, layers).state_dict())
        if decoder_init == "pretrained":
            H = len(layers)
            with torch.no_grad():
                for h, layer in enumerate(layers, 1):  # g_h maps n_h -> n_(h-1)
                    _copy_linear(layer.decoder[0], model.decoder[2 * (H - h)], f"layer {h} decoder")
        return model

    @classmethod
    def from_encoder(cls, encoder: StackedEncoder) -> DeepAutoencoder:
        """A deep autoencoder on (a copy of) ``encoder`` with a fresh decoder."""
        model = cls(encoder.config)
        model.encoder.load_state_dict(encoder.state_dict())
        return model


class StackedOnEncoder(nn.Module):
    """z = s(b(x)): a stacked encoder s (greedy layer-wise on the codes of b, then fine-tuned)
    on top of a pretrained base encoder b (e.g. a self-supervised one), x^0 = b(x) instead of
    x. Maps (B, base in) -> (B, stacked out_features); ``base`` is the base model (anything with
    ``encode`` or ``forward`` and ``out_features``), ``stacked`` a :class:`StackedEncoder`.
    Both modules are used as given (:meth:`from_parts` takes copies); checkpoints store them as
    parts (:mod:`unsup_core.serialization`)."""

    CHILDREN = ("base", "stacked")
    config = None  # a composition of two parts; nothing of its own to configure

    def __init__(self, base: nn.Module, stacked: StackedEncoder) -> None:
        super().__init__()
        width = getattr(base, "out_features", None)
        if width != stacked.config.in_features:
            raise ValueError(
                f"stacked.in_features={stacked.config.in_features} must equal the "
                f"base's out_features={width!r}"
            )
        self.base = base
        self.stacked = stacked

    @classmethod
    def from_parts(cls, base: nn.Module, stacked: StackedEncoder) -> StackedOnEncoder:
        """The composition of copies of a trained ``base`` and a trained ``stacked`` encoder."""
        return cls(copy.deepcopy(base), copy.deepcopy(stacked))

    @property
    def out_features(self) -> int:
        return self.stacked.out_features

    def encode(self, x: Tensor) -> Tensor:
        """(B, base in) -> (B, out_features)."""
        base = self.base.encode(x) if hasattr(self.base, "encode") else self.base(x)
        return self.stacked.encode(base)

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)
