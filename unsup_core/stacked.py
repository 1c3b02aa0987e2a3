"""Stacked autoencoders (Bengio, Lamblin, Popovici, Larochelle 2007, "Greedy layer-wise training
of deep networks"): train one single-layer autoencoder per layer on the codes of the layer
below, drop the decoders, compose the encoders, then fine-tune the whole net by backpropagation
as a deep autoencoder or as a classifier."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, is_dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .autoencoders import (Autoencoder, AutoencoderConfig, ContractiveAutoencoder,
                           ContractiveAutoencoderConfig, DenoisingAutoencoder,
                           DenoisingAutoencoderConfig, SparseAutoencoder, SparseAutoencoderConfig)
from .autoencoders.label_regularized import labelled_cross_entropy
from .autoencoders.layers import ACTIVATIONS, apply_array, mlp
from .autoencoders.plain import EncoderDecoder
from .data.config import check_choice
from .training import Callback, Trainer, TrainerConfig, TrainingHistory, seeded

# layer_kind -> (single-layer model, its config, the config fields passed on as its strengths)
LAYER_KINDS: dict[str, tuple[type[Autoencoder], type[AutoencoderConfig], tuple[str, ...]]] = {
    "plain": (Autoencoder, AutoencoderConfig, ()),
    "denoising": (DenoisingAutoencoder, DenoisingAutoencoderConfig,
                  ("corruption", "noise_std", "mask_prob")),
    "sparse_l1": (SparseAutoencoder, SparseAutoencoderConfig, ("code_l1",)),
    "sparse_kl": (SparseAutoencoder, SparseAutoencoderConfig, ("kl_sparsity", "sparsity_target")),
    "contractive": (ContractiveAutoencoder, ContractiveAutoencoderConfig, ("contractive_weight",)),
}
DECODER_INITS = ("pretrained", "fresh")
LayerCallbacks = Callable[[int], Sequence[Callback]]  # h -> the callbacks of layer h's run


@dataclass(frozen=True)
class StackedAutoencoderConfig:
    """An H-layer encoder ``in_features -> layer_sizes[0] -> ... -> layer_sizes[-1]``, every
    layer ``activation(W_h x + b_h)``, pretrained with single-layer autoencoders of
    ``layer_kind`` (``"plain"``, ``"denoising"``, ``"sparse_l1"``, ``"sparse_kl"``,
    ``"contractive"``). The strengths (``noise_std``, ``code_l1``, ...) are those of the family
    config of that kind, which validates them; the others are ignored. Layer h is initialised
    with ``seed + h - 1``; the randomly initialised stacked encoder with ``seed``."""

    in_features: int
    layer_sizes: tuple[int, ...] = (48, 32, 16)
    activation: str = "sigmoid"
    layer_kind: str = "plain"
    output_activation: str = "identity"
    recon_loss: str = "mse"
    corruption: str = "gaussian"
    noise_std: float = 0.3
    mask_prob: float = 0.25
    code_l1: float = 1e-3
    kl_sparsity: float = 3e-3
    sparsity_target: float = 0.05
    contractive_weight: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.layer_sizes, (int, str)):
            raise TypeError(f"layer_sizes={self.layer_sizes!r} must be a sequence of widths")
        object.__setattr__(self, "layer_sizes", tuple(int(s) for s in self.layer_sizes))
        if self.in_features < 1:
            raise ValueError(f"in_features={self.in_features} must be >= 1")
        if not self.layer_sizes:
            raise ValueError("layer_sizes=() is empty: give one width per layer, e.g. (48, 32, 16)")
        if any(s < 1 for s in self.layer_sizes):
            raise ValueError(f"layer_sizes={self.layer_sizes}: every width must be >= 1")
        check_choice("layer_kind", self.layer_kind, tuple(LAYER_KINDS))
        check_choice("activation", self.activation, tuple(sorted(ACTIVATIONS)))
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
        _, config_class, strengths = LAYER_KINDS[self.layer_kind]
        return config_class(
            in_features=self.widths[h - 1], hidden=(), code_dim=self.widths[h],
            activation=self.activation, code_activation=self.activation,
            output_activation=self.output_activation if h == 1 else self.activation,
            recon_loss=self.recon_loss, seed=self.seed + h - 1,
            **{name: getattr(self, name) for name in strengths})


class StackedEncoder(nn.Module):
    """z = x^H, x^h = f_h(x^(h-1)) = activation(W_h x^(h-1) + b_h), x^0 = x: ``layers`` is
    ``Sequential(Linear_1, act, ..., Linear_H, act)``. Built from a config it is randomly
    initialised; :meth:`from_layers` copies the weights of pretrained single-layer encoders.
    Maps (B, in_features) -> (B, out_features)."""

    def __init__(self, config: StackedAutoencoderConfig) -> None:
        super().__init__()
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
    def from_layers(cls, config: StackedAutoencoderConfig,
                    layers: Sequence[Autoencoder]) -> StackedEncoder:
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
        raise ValueError(f"{name}: weight shape {tuple(source.weight.shape)} does not match "
                         f"the config's {tuple(target.weight.shape)}")
    target.weight.copy_(source.weight)
    target.bias.copy_(source.bias)


def pretrain_layers(config: StackedAutoencoderConfig, X: np.ndarray | Tensor,
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
    model_class = LAYER_KINDS[config.layer_kind][0]
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
        histories.append(Trainer(trainer_config, callbacks).fit(
            layer, {"x": inputs}, None if val is None else {"x": val}))
        layers.append(layer)
    return layers, histories


def greedy_layerwise_pretrain(config: StackedAutoencoderConfig, X: np.ndarray | Tensor,
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
    def from_layers(cls, config: StackedAutoencoderConfig, layers: Sequence[Autoencoder],
                    decoder_init: str = "pretrained") -> DeepAutoencoder:
        check_choice("decoder_init", decoder_init, DECODER_INITS)
        model = cls(config)
        model.encoder.load_state_dict(StackedEncoder.from_layers(config, layers).state_dict())
        if decoder_init == "pretrained":
            H = len(layers)
            with torch.no_grad():
                for h, layer in enumerate(layers, 1):  # g_h maps n_h -> n_(h-1)
                    _copy_linear(layer.decoder[0], model.decoder[2 * (H - h)],
                                 f"layer {h} decoder")
        return model

    @classmethod
    def from_encoder(cls, encoder: StackedEncoder) -> DeepAutoencoder:
        """A deep autoencoder on (a copy of) ``encoder`` with a fresh decoder."""
        model = cls(encoder.config)
        model.encoder.load_state_dict(encoder.state_dict())
        return model



@dataclass(frozen=True)
class StackedOnEncoderConfig:
    """A stack on the codes of a pretrained base encoder: ``base_kind`` the checkpoint-table name
    of the base's class, ``base_config`` its config as a dict (``asdict``), ``stacked`` the
    stack's config (or its dict, as stored in a checkpoint) with ``in_features`` equal to the
    base's ``out_features``."""

    base_kind: str
    base_config: dict[str, Any]
    stacked: StackedAutoencoderConfig

    def __post_init__(self) -> None:
        if isinstance(self.stacked, dict):
            object.__setattr__(self, "stacked", StackedAutoencoderConfig(**self.stacked))
        if not isinstance(self.stacked, StackedAutoencoderConfig):
            raise TypeError(f"stacked must be a StackedAutoencoderConfig, got "
                            f"{type(self.stacked).__name__}")


class StackedOnEncoder(nn.Module):
    """z = s(b(x)): a stacked encoder s (greedy layer-wise on the codes of b, then fine-tuned)
    on top of a pretrained base encoder b (e.g. a self-supervised one), x^0 = b(x) instead of
    x. Maps (B, base in) -> (B, stacked out_features); ``base`` is the base model (anything with
    ``encode`` or ``forward`` and ``out_features``), ``stacked`` a :class:`StackedEncoder`.

    Build with :meth:`from_parts` (copies of trained parts) or from a
    :class:`StackedOnEncoderConfig` (checkpoints: the base is rebuilt through the checkpoint
    table, so its class must be listed there and carry a dataclass ``config``)."""

    def __init__(self, config: StackedOnEncoderConfig) -> None:
        super().__init__()
        from .serialization import model_classes

        model_class, config_class = model_classes(config.base_kind)
        self.config = config
        self.base = model_class(config_class(**config.base_config))
        width = getattr(self.base, "out_features", None)
        if width != config.stacked.in_features:
            raise ValueError(f"stacked.in_features={config.stacked.in_features} must equal the "
                             f"base's out_features={width!r}")
        self.stacked = StackedEncoder(config.stacked)

    @classmethod
    def from_parts(cls, base: nn.Module, stacked: StackedEncoder) -> StackedOnEncoder:
        """The composition of (copies of) a trained ``base`` and a trained ``stacked`` encoder."""
        base_config = getattr(base, "config", None)
        if not is_dataclass(base_config):
            raise TypeError(f"{type(base).__name__} needs a dataclass config to be rebuilt")
        model = cls(StackedOnEncoderConfig(type(base).__name__, asdict(base_config),
                                           stacked.config))
        model.base.load_state_dict(base.state_dict())
        model.stacked.load_state_dict(stacked.state_dict())
        return model

    @property
    def out_features(self) -> int:
        return self.stacked.out_features

    def encode(self, x: Tensor) -> Tensor:
        """(B, base in) -> (B, out_features)."""
        base = self.base.encode(x) if hasattr(self.base, "encode") else self.base(x)
        return self.stacked.encode(base)

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)



@dataclass(frozen=True)
class EncoderClassifierConfig:
    """``encoder_kind`` the checkpoint-table name of the encoder's class and ``encoder_config``
    its config as a dict (``asdict``), so the encoder can be rebuilt; ``n_classes`` K >= 2."""

    encoder_kind: str
    encoder_config: dict[str, Any]
    n_classes: int
    freeze_encoder: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_classes < 2:
            raise ValueError(f"n_classes={self.n_classes} must be >= 2")


class EncoderClassifier(nn.Module):
    """Any encoder f with ``out_features`` (and ``encode`` or ``forward``) plus a linear head:
    logits = W f(x) + b, (B, in) -> (B, K); minimises the mean cross-entropy over the labelled
    objects of the batch (y >= 0; y = -1 is ignored). Terms: ``loss`` = ``classification``,
    ``accuracy`` (of the labelled batch members). ``freeze_encoder`` sets ``requires_grad``
    False on the encoder and keeps it in eval mode (transfer: only the head is trained);
    otherwise use :meth:`param_groups` for a smaller encoder learning rate (fine-tuning).

    Build with ``EncoderClassifier(encoder, n_classes)`` (the module itself is used, not a copy:
    fine-tuning changes it) or from an :class:`EncoderClassifierConfig` (checkpoints: the encoder
    is rebuilt through the checkpoint table, so its class must be listed there and carry a
    dataclass ``config``). Batches: ``{"x": (B, in), "y": (B,) int}``.
    """

    def __init__(self, encoder: nn.Module | EncoderClassifierConfig, n_classes: int | None = None,
                 freeze_encoder: bool = False, seed: int = 0) -> None:
        super().__init__()
        if isinstance(encoder, EncoderClassifierConfig):
            from .serialization import model_classes

            config = encoder
            model_class, config_class = model_classes(config.encoder_kind)
            encoder = model_class(config_class(**config.encoder_config))
        else:
            if n_classes is None:
                raise TypeError("EncoderClassifier(encoder, n_classes): n_classes is required")
            encoder_config = getattr(encoder, "config", None)
            config = EncoderClassifierConfig(
                type(encoder).__name__,
                asdict(encoder_config) if is_dataclass(encoder_config) else {},
                n_classes, freeze_encoder, seed)
        out_features = getattr(encoder, "out_features", None)
        if not isinstance(out_features, int) or out_features < 1:
            raise TypeError(f"{type(encoder).__name__} needs an int attribute out_features >= 1 "
                            f"(the code width), got {out_features!r}")
        self.config = config
        self.encoder = encoder
        with seeded(config.seed):
            self.head = nn.Linear(out_features, config.n_classes)
        if config.freeze_encoder:
            self.freeze(True)

    def freeze(self, frozen: bool = True) -> EncoderClassifier:
        """Freeze (``requires_grad`` False, eval mode) or unfreeze every encoder parameter."""
        self.config = replace(self.config, freeze_encoder=bool(frozen))
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(not frozen)
        return self.train(self.training)

    def train(self, mode: bool = True) -> EncoderClassifier:
        super().train(mode)
        if self.config.freeze_encoder:  # no dropout, no batch-norm statistics updates
            self.encoder.eval()
        return self

    def param_groups(self, lr: float, encoder_lr: float | None = None) -> list[dict]:
        """Optimiser groups for ``Trainer.fit(..., param_groups=...)``: the head at ``lr`` (first,
        so the trainer logs its lr), the trainable encoder parameters at ``encoder_lr`` (default
        ``lr``). A frozen encoder, or ``encoder_lr=0``, gets no group."""
        if not lr > 0:
            raise ValueError(f"lr={lr} must be > 0")
        encoder_lr = lr if encoder_lr is None else encoder_lr
        if not encoder_lr >= 0:
            raise ValueError(f"encoder_lr={encoder_lr} must be >= 0")
        groups = [{"params": list(self.head.parameters()), "lr": lr}]
        trainable = [p for p in self.encoder.parameters() if p.requires_grad]
        if trainable and encoder_lr > 0:
            groups.append({"params": trainable, "lr": encoder_lr})
        return groups

    def encode(self, x: Tensor) -> Tensor:
        """(B, in) -> (B, out_features), the encoder's codes."""
        return self.encoder.encode(x) if hasattr(self.encoder, "encode") else self.encoder(x)

    def logits(self, x: Tensor) -> Tensor:
        """(B, in) -> (B, n_classes)."""
        return self.head(self.encode(x))

    forward = logits

    def predict(self, x: Tensor) -> Tensor:
        """(B, in) -> (B,) predicted class indices (int64)."""
        return self.logits(x).argmax(dim=1)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        if "y" not in batch:
            raise ValueError("EncoderClassifier.loss needs batch['y'] (B,) (-1 for unlabelled)")
        classification, accuracy = labelled_cross_entropy(self.logits(batch["x"]),
                                                          batch["y"].long())
        return {"loss": classification, "classification": classification,
                "accuracy": accuracy.detach()}
