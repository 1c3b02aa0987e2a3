"""The adversarial trainer: alternating minibatch steps of D and G (Goodfellow et al. 2014,
Algorithm 1), reporting through the shared training callbacks."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..training import Callback, EpochLog, TrainingDiverged, TrainingHistory, seeded, torch_threads
from ..training.config import resolve_device
from .config import AdversarialTrainerConfig
from .losses import discriminator_accuracy, discriminator_loss, generator_loss
from .networks import Discriminator, Generator

# Samples whose batch-norm statistics the averaged generator gets after each epoch: with 1,024 the
# statistics' sampling noise moved the FD of one trained generator between 0.77 and 1.24 across
# calibration draws; with 8,192 between 0.70 and 0.85 (about 20 ms of CPU per epoch).
CALIBRATION_SAMPLES = 8192
EPOCH_TERMS = ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy", "d_real", "d_fake")


def _floats(terms: Mapping[str, Tensor]) -> dict[str, float]:
    """Every term as a Python float with one device sync."""
    return dict(zip(terms, torch.stack([t.detach().float() for t in terms.values()]).tolist()))


def _check_finite(values: Mapping[str, float], epoch: int) -> None:
    for term, value in values.items():
        if not math.isfinite(value):
            raise TrainingDiverged(epoch, term, value)


def discriminator_step(
    generator: Generator,
    discriminator: Discriminator,
    optimizer: torch.optim.Optimizer,
    x_real: Tensor,
    z: Tensor,
    label_smoothing: float = 0.0,
    epoch: int = 0,
) -> dict[str, float]:
    """One ascent step of D on sum ln D(x_i) + ln(1 - D(G(z_i))) (G fixed: its samples carry no
    gradient). ``x_real`` (B, n), ``z`` (B', noise_dim). Returns ``d_loss``, the accuracies on
    real and fake, and the mean D(x) (``d_real``), D(G(z)) (``d_fake``); raises
    :class:`TrainingDiverged` before updating if a term is not finite."""
    with torch.no_grad():
        fake = generator(z)
    real_logits, fake_logits = discriminator.logits(x_real), discriminator.logits(fake)
    loss = discriminator_loss(real_logits, fake_logits, label_smoothing)
    real_accuracy, fake_accuracy = discriminator_accuracy(
        real_logits.detach(), fake_logits.detach()
    )
    values = _floats(
        {
            "d_loss": loss,
            "d_real_accuracy": real_accuracy,
            "d_fake_accuracy": fake_accuracy,
            "d_real": torch.sigmoid(real_logits).mean(),
            "d_fake": torch.sigmoid(fake_logits).mean(),
        }
    )
    _check_finite(values, epoch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return values


def generator_step(
    generator: Generator,
    discriminator: Discriminator,
    optimizer: torch.optim.Optimizer,
    z: Tensor,
    kind: str = "non_saturating",
    epoch: int = 0,
) -> dict[str, float]:
    """One step of G on its loss (see :func:`generator_loss`) through a fixed D (D's parameters
    get no gradient). Returns ``g_loss``; raises :class:`TrainingDiverged` before updating if it
    is not finite."""
    frozen = [p for p in discriminator.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        loss = generator_loss(discriminator.logits(generator(z)), kind)
        values = _floats({"g_loss": loss})
        _check_finite(values, epoch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return values


@torch.no_grad()
def update_average(average: nn.Module, online: nn.Module, decay: float) -> None:
    """average <- decay * average + (1 - decay) * online for parameters; buffers copied."""
    for p_avg, p in zip(average.parameters(), online.parameters()):
        p_avg.lerp_(p, 1.0 - decay)
    for b_avg, b in zip(average.buffers(), online.buffers()):
        b_avg.copy_(b)


@torch.no_grad()
def recalibrate_batch_norm(
    generator: Generator, noise: torch.Generator | None = None, n: int = CALIBRATION_SAMPLES
) -> None:
    """Set the running statistics of G's batch-norm layers to those of one batch of ``n``
    samples (needed after weight averaging: the online network's statistics do not fit the
    averaged weights). No-op without batch norm."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    was_training, momenta = generator.training, [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch, that batch's statistics
    generator.train()
    try:
        _through_last_norm(generator, generator.noise(n, noise), norms[-1])
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        generator.train(was_training)


def _through_last_norm(generator: Generator, z: Tensor, last: nn.Module) -> None:
    """Run ``z`` through G's layers up to and including ``last`` (the layers after the last
    batch norm cannot change any statistics); the whole network when G is not sequential."""
    layers = list(generator.net) if isinstance(generator.net, nn.Sequential) else []
    if not any(layer is last for layer in layers):
        generator(z)
        return
    h = z
    for layer in layers:
        h = layer(h)
        if layer is last:
            return


class AdversarialTrainer:
    """Trains a :class:`Generator` against a :class:`Discriminator`; see
    :class:`AdversarialTrainerConfig`.

    Each batch of real objects gives one D step on it and on ``batch_size`` fresh samples; every
    ``d_steps``-th batch is followed by one G step on a fresh batch of noise. Every epoch the
    callbacks get an :class:`EpochLog` whose ``train`` holds the epoch means of ``d_loss``,
    ``g_loss``, ``d_real_accuracy``, ``d_fake_accuracy``, ``d_real`` (mean D(x)) and ``d_fake``
    (mean D(G(z))); ``lr`` is D's learning rate in that epoch. ``on_fit_start`` receives the
    generator.

    >>> history = AdversarialTrainer(AdversarialTrainerConfig(epochs=200)).fit(G, D, X_train)
    """

    def __init__(
        self, config: AdversarialTrainerConfig | None = None, callbacks: Sequence[Callback] = ()
    ) -> None:
        self.config = config or AdversarialTrainerConfig()
        self.callbacks = list(callbacks)

    def fit(
        self,
        generator: Generator,
        discriminator: Discriminator,
        data: Tensor | np.ndarray | Mapping[str, Tensor | np.ndarray],
    ) -> TrainingHistory:
        """Train both networks in place on real objects ``data`` (n, n_features), or ``{"x":
        ...}``; return the history. Raises :class:`TrainingDiverged` on a NaN/inf term."""
        cfg = self.config
        x = data["x"] if isinstance(data, Mapping) else data
        device = resolve_device(cfg.device)
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x, dtype=torch.float32)
        self._check(generator, discriminator, x)
        history = TrainingHistory()
        with torch_threads(cfg.num_threads), seeded(cfg.seed, device):
            generator.to(device)
            discriminator.to(device)
            x = x.to(device)
            online = copy.deepcopy(generator) if cfg.ema_decay is not None else generator
            betas = (cfg.beta1, cfg.beta2)
            opt_g = torch.optim.Adam(online.parameters(), lr=cfg.lr, betas=betas)
            opt_d = torch.optim.Adam(
                discriminator.parameters(), lr=cfg.discriminator_lr, betas=betas
            )
            schedules = [
                torch.optim.lr_scheduler.LambdaLR(opt, self._decay) for opt in (opt_g, opt_d)
            ]
            for callback in self.callbacks:
                callback.on_fit_start(generator)
                callback.on_epochs_planned(cfg.epochs)
            try:
                start = time.perf_counter()
                shuffle = torch.Generator().manual_seed(cfg.seed)
                noise = torch.Generator(device).manual_seed(cfg.seed + 1)
                calibration = torch.Generator(device).manual_seed(cfg.seed + 2)
                generator.train()
                discriminator.train()
                for epoch in range(1, cfg.epochs + 1):
                    tic = time.perf_counter()
                    terms = self._epoch(
                        online, generator, discriminator, opt_g, opt_d, x, epoch, shuffle, noise
                    )
                    if online is not generator and (
                        epoch % cfg.recalibrate_every == 0 or epoch == cfg.epochs
                    ):
                        recalibrate_batch_norm(generator, calibration)
                    log = EpochLog(
                        epoch, terms, {}, opt_d.param_groups[0]["lr"], time.perf_counter() - tic
                    )
                    for schedule in schedules:
                        schedule.step()
                    history.epochs.append(log)
                    history.seconds = time.perf_counter() - start
                    for callback in self.callbacks:
                        callback.on_epoch_end(log)
                history.completed = True
            finally:
                for callback in self.callbacks:
                    callback.on_fit_end(history)
        return history

    def _decay(self, epoch: int) -> float:
        """Learning-rate factor of epoch ``epoch + 1`` (0-based count of finished epochs)."""
        if self.config.lr_schedule == "constant":
            return 1.0
        return 1.0 - epoch / self.config.epochs

    def _check(self, generator: Generator, discriminator: Discriminator, x: Tensor) -> None:
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(
                f"data has shape {tuple(x.shape)}; expected (n_samples, n_features) "
                "with n_samples >= 1"
            )
        out, width = generator.config.out_features, discriminator.config.in_features
        if not out == width == x.shape[1]:
            raise ValueError(
                f"generator out_features={out}, discriminator in_features={width} "
                f"and the data's {x.shape[1]} features must agree"
            )
        batch_size = self.config.batch_size_for(x.shape[0])
        batches = math.ceil(x.shape[0] / batch_size)
        if self.config.d_steps > batches:
            raise ValueError(
                f"d_steps={self.config.d_steps} exceeds the {batches} batches of an "
                f"epoch ({x.shape[0]} objects, batch_size={batch_size})"
            )

    def _epoch(
        self,
        online: Generator,
        generator: Generator,
        discriminator: Discriminator,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        x: Tensor,
        epoch: int,
        shuffle: torch.Generator,
        noise: torch.Generator,
    ) -> dict[str, float]:
        cfg = self.config
        order = torch.randperm(x.shape[0], generator=shuffle).to(x.device)
        d_sums: dict[str, float] = {}
        g_sum, d_batches, g_batches = 0.0, 0, 0
        batch_size = cfg.batch_size_for(x.shape[0])
        for batch, start in enumerate(range(0, x.shape[0], batch_size)):
            real = x[order[start : start + batch_size]]
            fakes = online.noise(batch_size, noise)  # a full batch even after a short last one
            values = discriminator_step(
                online, discriminator, opt_d, real, fakes, cfg.label_smoothing, epoch
            )
            for key, value in values.items():
                d_sums[key] = d_sums.get(key, 0.0) + value
            d_batches += 1
            if (batch + 1) % cfg.d_steps:
                continue
            g_sum += generator_step(
                online,
                discriminator,
                opt_g,
                online.noise(batch_size, noise),
                cfg.generator_loss,
                epoch,
            )["g_loss"]
            g_batches += 1
            if online is not generator:
                update_average(generator, online, cfg.ema_decay)  # type: ignore[arg-type]
        terms = {key: value / d_batches for key, value in d_sums.items()}
        terms["g_loss"] = g_sum / g_batches
        return {key: terms[key] for key in EPOCH_TERMS}
