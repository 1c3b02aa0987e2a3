"""The generator G(z, alpha) and the discriminator D(x, beta) of a GAN: MLPs, or a small
convolutional pair for images."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..autoencoders.layers import activation as make_activation
from ..training.runtime import seeded
from ..validation import require_data
from .config import DiscriminatorConfig, GeneratorConfig

LEAKY_SLOPE = 0.2  # the usual GAN slope (torch's default is 0.01)


def _activation(name: str) -> nn.Module:
    return nn.LeakyReLU(LEAKY_SLOPE) if name == "leaky_relu" else make_activation(name)


def _image(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(c, h, w) of a (h, w) or (c, h, w) image shape."""
    return (1, *shape) if len(shape) == 2 else shape  # type: ignore[return-value]


class Generator(nn.Module):
    """G(z, alpha): (B, noise_dim) noise -> (B, out_features) objects in (0, 1).

    Goodfellow et al. 2014, "Generative adversarial nets": G maps a simple prior N(0, I) on z
    to the data space; it is trained only through D's judgement of its samples. See
    :class:`GeneratorConfig` for the architectures.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        require_data(config, type(self).__name__)
        self.config = config
        with seeded(config.seed):
            self.net = self._conv() if config.kind == "conv" else self._mlp()

    def _block(self, fan_out: int, batch_norm_class: type[nn.Module]) -> list[nn.Module]:
        norm = [batch_norm_class(fan_out)] if self.config.batch_norm else []
        return [*norm, _activation(self.config.activation)]

    def _mlp(self) -> nn.Sequential:
        cfg = self.config
        widths = (cfg.noise_dim, *cfg.hidden)
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), *self._block(fan_out, nn.BatchNorm1d)]
        layers.append(nn.Linear(widths[-1], cfg.out_features))
        return nn.Sequential(*layers)

    def _conv(self) -> nn.Sequential:
        cfg = self.config
        channels, height, width = _image(cfg.image_shape)  # type: ignore[arg-type]
        u = cfg.upsamplings
        dense, maps = (cfg.noise_dim, *cfg.hidden[:-u]), cfg.hidden[-u:]
        side = (height // 2**u, width // 2**u)
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(dense[:-1], dense[1:]):
            layers += [nn.Linear(fan_in, fan_out), *self._block(fan_out, nn.BatchNorm1d)]
        projected = maps[0] * math.prod(side)
        layers += [
            nn.Linear(dense[-1], projected),
            *self._block(projected, nn.BatchNorm1d),
            nn.Unflatten(1, (maps[0], *side)),
        ]
        for fan_in, fan_out in zip(maps[:-1], maps[1:]):
            layers += [
                nn.ConvTranspose2d(fan_in, fan_out, 4, stride=2, padding=1),
                *self._block(fan_out, nn.BatchNorm2d),
            ]
        layers += [nn.ConvTranspose2d(maps[-1], channels, 4, stride=2, padding=1), nn.Flatten()]
        return nn.Sequential(*layers)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, z: Tensor) -> Tensor:
        """(B, noise_dim) -> (B, out_features), sigmoid outputs."""
        return torch.sigmoid(self.net(z))

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I), (n, noise_dim), drawn with ``generator`` (on its device) on G's device."""
        where = generator.device if generator is not None else self.device
        return torch.randn(n, self.config.noise_dim, generator=generator, device=where).to(
            self.device
        )

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n new objects (n, out_features): G(z) in eval mode at z drawn with ``generator``."""
        if n < 1:
            raise ValueError(f"n={n} must be >= 1")
        was_training = self.training
        self.eval()
        try:
            return self(self.noise(n, generator))
        finally:
            self.train(was_training)


class Discriminator(nn.Module):
    """D(x, beta) = p(real | x) = sigmoid(logits(x)): (B, in_features) -> (B,).

    Goodfellow et al. 2014: D is trained to tell real objects from G's samples. See
    :class:`DiscriminatorConfig` for the architectures and the minibatch standard deviation.
    """

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        require_data(config, type(self).__name__)
        self.config = config
        with seeded(config.seed):
            self.features, width = self._conv() if config.kind == "conv" else self._mlp()
            self.head = nn.Linear(width + int(config.minibatch_std), 1)

    def _hidden(self) -> list[nn.Module]:
        dropout = [nn.Dropout(self.config.dropout)] if self.config.dropout > 0 else []
        return [_activation(self.config.activation), *dropout]

    def _mlp(self) -> tuple[nn.Sequential, int]:
        cfg = self.config
        widths = (cfg.in_features, *cfg.hidden)
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), *self._hidden()]
        return nn.Sequential(*layers), widths[-1]

    def _conv(self) -> tuple[nn.Sequential, int]:
        cfg = self.config
        channels, height, width = _image(cfg.image_shape)  # type: ignore[arg-type]
        first, last = cfg.hidden[0], cfg.hidden[-1]
        net = nn.Sequential(
            nn.Unflatten(1, (channels, height, width)),
            nn.Conv2d(channels, first, 4, stride=2, padding=1),
            *self._hidden(),
            nn.Conv2d(first, last, 4, stride=2, padding=1),
            *self._hidden(),
            nn.Flatten(),
        )
        return net, last * math.prod((height // 4, width // 4))

    def logits(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B,) logits of p(real | x)."""
        h = self.features(x)
        if self.config.minibatch_std:
            spread = h.std(dim=0, unbiased=False).mean() if h.shape[0] > 1 else h.new_zeros(())
            h = torch.cat([h, spread.expand(h.shape[0], 1)], dim=1)
        return self.head(h).squeeze(1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B,) D(x) = p(real | x)."""
        return torch.sigmoid(self.logits(x))
