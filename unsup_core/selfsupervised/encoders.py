"""Building blocks shared by the self-supervised models: encoders on flattened inputs (the fixed
random draws of evaluation mode come from :func:`unsup_core.training.runtime.eval_generator`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from torch import Tensor, nn

from ..autoencoders.layers import activation, mlp
from ..validation import choices

Encoder = Literal["mlp", "cnn"]
ENCODERS = choices(Encoder)


class MLPEncoder(nn.Module):
    """``in_features -> *hidden -> out_features``, ``activation`` after every layer.

    Input (B, in_features) (anything of B rows is flattened), output (B, out_features).
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        activation_name: str = "relu",
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.net = mlp(
            [self.in_features, *hidden, self.out_features], activation_name, activation_name
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1))


class ConvEncoder(nn.Module):
    """A small CNN on flattened images of ``image_shape`` (C, H, W).

    3x3 convolutions (padding 1) with ``channels`` filters and ``activation`` after each, a max
    pool to (ceil(H/2), ceil(W/2)), then a linear layer with ``activation`` to ``out_features``.
    Input (B, C*H*W), output (B, out_features).
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int],
        out_features: int,
        activation_name: str = "relu",
    ) -> None:
        super().__init__()
        c, h, w = channel_first(image_shape)
        self.image_shape = (c, h, w)
        self.in_features, self.out_features = c * h * w, int(out_features)
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip([c, *channels[:-1]], channels):
            layers += [nn.Conv2d(fan_in, int(fan_out), 3, padding=1), activation(activation_name)]
        pooled = ((h + 1) // 2, (w + 1) // 2)
        layers += [
            nn.AdaptiveMaxPool2d(pooled),
            nn.Flatten(),
            nn.Linear(int(channels[-1]) * pooled[0] * pooled[1], self.out_features),
            activation(activation_name),
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.reshape(x.shape[0], *self.image_shape))


def build_encoder(
    kind: str,
    image_shape: Sequence[int],
    hidden: Sequence[int],
    channels: Sequence[int],
    out_features: int,
    activation_name: str,
) -> nn.Module:
    """An :class:`MLPEncoder` (``kind="mlp"``, widths ``hidden``) or a :class:`ConvEncoder`
    (``kind="cnn"``, filters ``channels``) of flattened images of ``image_shape``."""
    if kind == "mlp":
        n = 1
        for s in image_shape:
            n *= int(s)
        return MLPEncoder(n, hidden, out_features, activation_name)
    if kind == "cnn":
        return ConvEncoder(image_shape, channels, out_features, activation_name)
    raise ValueError(f"encoder={kind!r} is not one of {list(ENCODERS)}")


def channel_first(image_shape: Sequence[int]) -> tuple[int, int, int]:
    """(H, W) -> (1, H, W); (C, H, W) unchanged; anything else a ``ValueError``."""
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or any(s < 1 for s in shape):
        raise ValueError(
            f"image_shape={tuple(image_shape)} must be (height, width) or "
            "(channels, height, width) of positive ints"
        )
    return (1, *shape) if len(shape) == 2 else shape  # type: ignore[return-value]
