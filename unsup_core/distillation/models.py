"""A plain MLP classifier (the teacher and the small students) and size / speed measures."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ..autoencoders.label_regularized import labelled_cross_entropy
from ..autoencoders.layers import ACTIVATIONS, Activation, activation, check_activation
from ..training import seeded, torch_threads
from ..validation import data_field, require_data


@dataclass(frozen=True)
class MLPClassifierConfig:
    """``in_features -> hidden[0] -> ... -> hidden[-1] -> n_classes``, ``activation`` between
    layers and ``dropout`` after every hidden activation. ``hidden=()`` is multinomial
    logistic regression. Teacher on digits: ``hidden=(256, 256)``; student: ``hidden=(16,)``.

    Parameters
    ----------
    in_features : input width (set from the data).
    hidden : hidden widths.
    n_classes : number of classes K >= 2 (set from the data).
    activation : activation after every hidden layer.
    dropout : dropout probability after every hidden activation.
    seed : seed of the initialisation.
    """

    in_features: int | None = data_field()
    hidden: tuple[int, ...] = (256, 256)
    n_classes: int | None = data_field()
    activation: Activation = "relu"
    dropout: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.hidden, (int, str)):
            raise TypeError(f"hidden={self.hidden!r} must be a sequence of widths, e.g. (256, 256)")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.in_features is not None and self.in_features < 1:
            raise ValueError(f"in_features={self.in_features} must be >= 1")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden={self.hidden}: every width must be >= 1")
        if self.n_classes is not None and self.n_classes < 2:
            raise ValueError(f"n_classes={self.n_classes} must be >= 2")
        check_activation("activation", self.activation)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout} must lie in [0, 1)")


class MLPClassifier(nn.Module):
    """logits = W_L h_(L-1) + b_L, h_l = dropout(act(W_l h_(l-1) + b_l)), h_0 = x.

    (B, in_features) -> (B, n_classes). ``loss`` is the mean cross-entropy over the labelled
    batch members (y >= 0; y = -1 ignored): terms ``loss`` = ``classification``, ``accuracy``.
    Batches: ``{"x": (B, in_features), "y": (B,) int}``."""

    def __init__(self, config: MLPClassifierConfig) -> None:
        super().__init__()
        require_data(config, type(self).__name__)
        self.config = config
        widths = (config.in_features, *config.hidden)
        layers: list[nn.Module] = []
        with seeded(config.seed):
            for fan_in, fan_out in zip(widths[:-1], widths[1:]):
                layers += [nn.Linear(fan_in, fan_out), activation(config.activation)]
                if config.dropout > 0:
                    layers.append(nn.Dropout(config.dropout))
            layers.append(nn.Linear(widths[-1], config.n_classes))
        self.net = nn.Sequential(*layers)

    def logits(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B, n_classes)."""
        return self.net(x)

    forward = logits

    def encode(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B, hidden[-1]): the last hidden layer, the input of the output
        layer (with ``hidden=()``, x itself)."""
        return self.net[:-1](x)

    def predict(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B,) predicted class indices (int64)."""
        return self.logits(x).argmax(dim=1)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        if "y" not in batch:
            raise ValueError("MLPClassifier.loss needs batch['y'] (B,) (-1 for unlabelled)")
        ce, accuracy = labelled_cross_entropy(self.logits(batch["x"]), batch["y"].long())
        return {"loss": ce, "classification": ce, "accuracy": accuracy.detach()}


def encoder_layers(encoder: nn.Module) -> list[tuple[nn.Linear, str]]:
    """The affine maps of a feed-forward encoder in order, each with the name (a key of
    ``ACTIVATIONS``) of the activation that follows it (``"identity"`` if none does): read from
    ``encoder.layers`` / ``encoder.encoder`` / ``encoder.net`` or the module itself when it is
    an ``nn.Sequential`` of ``nn.Linear`` and activation modules (e.g. a ``StackedEncoder``)."""
    seq = next(
        (
            getattr(encoder, name)
            for name in ("layers", "encoder", "net")
            if isinstance(getattr(encoder, name, None), nn.Sequential)
        ),
        encoder,
    )
    if not isinstance(seq, nn.Sequential):
        raise TypeError(f"{type(encoder).__name__} has no nn.Sequential of layers to copy from")
    names = {cls: name for name, cls in ACTIVATIONS.items()}
    out: list[tuple[nn.Linear, str]] = []
    for module in seq:
        if isinstance(module, nn.Linear):
            out.append((module, "identity"))
        elif out and type(module) in names and out[-1][1] == "identity":
            out[-1] = (out[-1][0], names[type(module)])
        elif not isinstance(module, (nn.Dropout, nn.Identity)):
            raise TypeError(
                f"{type(encoder).__name__}: cannot read layer {module!r} as an MLP layer"
            )
    if not out:
        raise TypeError(f"{type(encoder).__name__} has no nn.Linear layer to copy from")
    return out


def classifier_from_encoder(
    encoder: nn.Module, n_classes: int, depth: int | None = None, seed: int = 0
) -> MLPClassifier:
    """A classifier whose first ``depth`` hidden layers (all of the encoder's by default) start
    from the encoder's affine maps W_h, b_h (copied, so the encoder is untouched), with the
    encoder's activation; the output layer ``hidden[-1] -> n_classes`` is fresh (``seed``).
    The start of the course's pre-training / transfer recipe (Yosinski et al. 2014) for a
    small student: all of it is trained afterwards. Layers must share one activation."""
    layers = encoder_layers(encoder)
    depth = len(layers) if depth is None else depth
    if not 1 <= depth <= len(layers):
        raise ValueError(f"depth={depth} must lie in [1, {len(layers)}] (the encoder's layers)")
    layers = layers[:depth]
    acts = {act for _, act in layers}
    if len(acts) != 1:
        raise ValueError(f"the encoder's first {depth} layers mix activations {sorted(acts)}")
    model = MLPClassifier(
        MLPClassifierConfig(
            in_features=layers[0][0].in_features,
            hidden=tuple(linear.out_features for linear, _ in layers),
            n_classes=n_classes,
            activation=acts.pop(),
            seed=seed,
        )
    )
    targets = [m for m in model.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for (source, _), target in zip(layers, targets):
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
    return model.to(layers[0][0].weight.device)


def agreement(a_pred: np.ndarray | Tensor, b_pred: np.ndarray | Tensor) -> float:
    """Fraction of objects on which two models predict the same class (fidelity of a
    surrogate to its teacher). Both (n,)."""
    a, b = np.asarray(a_pred).ravel(), np.asarray(b_pred).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"predictions must be non-empty and of one length, got {a.shape} and {b.shape}"
        )
    return float(np.mean(a == b))


@torch.no_grad()
def inference_seconds_per_1000(
    model: nn.Module,
    X: np.ndarray | Tensor,
    repeats: int = 7,
    method: str = "forward",
    warmup: int = 2,
) -> float:
    """Median over ``repeats`` timed runs of ``getattr(model, method)`` on all of X (one batch,
    eval mode, one torch thread), in seconds per 1000 objects. X: (n, in_features)."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats} must be >= 1")
    x = torch.as_tensor(np.asarray(X), dtype=torch.float32).to(next(model.parameters()).device)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"X has shape {tuple(x.shape)}; expected (n, features) with n >= 1")
    function = getattr(model, method)
    was_training = model.training
    model.eval()
    times = []
    try:
        with torch_threads(1):
            for i in range(warmup + repeats):
                tic = time.perf_counter()
                function(x)
                if i >= warmup:
                    times.append(time.perf_counter() - tic)
    finally:
        model.train(was_training)
    return float(np.median(times)) * 1000.0 / x.shape[0]
