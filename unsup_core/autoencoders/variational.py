"""The variational autoencoder: Gaussian encoder q(z|x), Bernoulli or Gaussian decoder p(x|z)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..training.runtime import eval_generator, seeded
from ..validation import check_choice, choices
from .layers import reconstruction_loss
from .plain import Autoencoder, AutoencoderConfig

Likelihood = Literal["bernoulli", "gaussian"]
LIKELIHOODS = choices(Likelihood)
DecoderVariance = Literal["fixed", "learned"]
DECODER_VARIANCES = choices(DecoderVariance)


def gaussian_kl(mu: Tensor, log_var: Tensor, prior_std: float = 1.0) -> Tensor:
    """KL(N(mu, diag exp(log_var)) || N(0, prior_std^2 I)) per latent unit, (B, d) -> (B, d):
    1/2 [(s^2 + mu^2) / p^2 - 1 - log s^2 + log p^2]."""
    prior_var = prior_std**2
    return 0.5 * ((log_var.exp() + mu**2) / prior_var - 1.0 - log_var + math.log(prior_var))


def gaussian_nll(mean: Tensor, x: Tensor, log_std: Tensor | float) -> Tensor:
    """-log N(x | mean, exp(log_std)^2) per entry, (B, n)."""
    log_std = torch.as_tensor(log_std, dtype=mean.dtype, device=mean.device)
    return 0.5 * math.log(2 * math.pi) + log_std + 0.5 * ((x - mean) * torch.exp(-log_std)) ** 2


def _normal(
    shape: tuple[int, int], generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """N(0, I) draws of ``shape`` from ``generator`` (on its own device), moved to ``device``."""
    where = generator.device if generator is not None else device
    return torch.randn(*shape, generator=generator, device=where).to(device)


@dataclass(frozen=True)
class VariationalAutoencoderConfig(AutoencoderConfig):
    """:class:`AutoencoderConfig` with ``code_dim`` the latent size d, plus the likelihood.
    ``code_activation`` must be "identity" (mu is unbounded), so must ``output_activation`` for
    the Bernoulli decoder (logits), and ``recon_loss`` "mse" (the model minimises the negative
    ELBO and reports the squared error as ``recon``).

    Parameters
    ----------
    likelihood : "bernoulli" (the decoder gives logits; data in [0, 1]) or "gaussian" (the
        decoder gives the mean).
    decoder_variance : the Gaussian's standard deviation: "fixed" at decoder_std for every
        feature, or "learned" per feature (initialised at decoder_std, kept >= 1e-3).
    decoder_std : the Gaussian decoder's standard deviation.
    prior_std : sigma of the prior N(0, sigma^2 I).
    """

    likelihood: Likelihood = "bernoulli"
    decoder_variance: DecoderVariance = "fixed"
    decoder_std: float = 0.1
    prior_std: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("likelihood", self.likelihood, LIKELIHOODS)
        check_choice("decoder_variance", self.decoder_variance, DECODER_VARIANCES)
        for name in ("decoder_std", "prior_std"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ValueError(f"{name}={getattr(self, name)} must be > 0 and finite")
        check_choice("code_activation", self.code_activation, ("identity",))
        if self.likelihood == "bernoulli":
            check_choice("output_activation", self.output_activation, ("identity",))
        check_choice("recon_loss", self.recon_loss, ("mse",))


class VariationalAutoencoder(Autoencoder):
    """Variational autoencoder (Kingma & Welling 2013, "Auto-encoding variational Bayes").

    q(z|x) = N(mu(x), diag sigma^2(x)): the encoder MLP gives mu (B, d), a linear head on its
    last hidden layer log sigma^2 (B, d) (initialised to 0); z = mu + sigma * eps, eps ~ N(0, I);
    p(x|z) Bernoulli or Gaussian; prior N(0, p^2 I). Minimises the mean over the batch of

        -ELBO(x) = sum_j -log p(x_j | z) + KL(q(z|x) || p(z)),   z ~ q(z|x) (one sample),

    the KL in closed form. Terms (nats per object): ``nll``, ``kl``, ``elbo`` = -(nll + kl)
    (reported), ``loss`` = nll + kl; and ``recon``, the mean squared error of the decoder mean
    to x as for the other kinds. In eval mode ``forward`` and ``recon`` use z = mu while the ELBO
    stays a one-sample estimate (:meth:`elbo` averages several). An ``observed`` mask restricts
    ``nll`` and ``recon`` to observed entries. Randomness: torch's global generator (seeded by
    the Trainer) in ``loss``/``forward`` in training mode; in eval mode ``loss`` draws eps from a
    generator seeded with ``config.seed`` (a validation or test ELBO is the same on every call,
    whatever the global random state); :meth:`sample` and :meth:`elbo` take an explicit
    ``generator`` (:meth:`elbo` defaults to one seeded with ``config.seed``).
    """

    config: VariationalAutoencoderConfig

    def __init__(self, config: VariationalAutoencoderConfig) -> None:
        super().__init__(config)  # encoder: in -> hidden -> mu; decoder: d -> hidden -> in
        width = config.hidden[-1] if config.hidden else config.in_features
        with seeded(config.seed):
            self.log_var_head = nn.Linear(width, config.code_dim)
        for tensor in (self.log_var_head.weight, self.log_var_head.bias):
            nn.init.zeros_(tensor)  # sigma = 1 at the start, whatever x
        if config.likelihood == "gaussian" and config.decoder_variance == "learned":
            start = torch.full((config.in_features,), math.log(config.decoder_std))
            self.log_std = nn.Parameter(start)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(B, in_features) -> mu (B, d), log sigma^2 (B, d) of q(z|x)."""
        h = self.encoder[:-2](x)  # the last hidden layer (x itself without hidden layers)
        return self.encoder[-2:](h), self.log_var_head(h)

    def decode(self, z: Tensor) -> Tensor:
        """(B, d) -> (B, in_features): the mean of p(x|z) (sigmoid of the logits if Bernoulli)."""
        return self._mean(self.decoder(z))

    def _mean(self, out: Tensor) -> Tensor:
        return torch.sigmoid(out) if self.config.likelihood == "bernoulli" else out

    def forward(self, x: Tensor) -> Tensor:
        mu, log_var = self.posterior(x)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu) if self.training else mu
        return self.decode(z)

    def _nll(self, out: Tensor, x: Tensor) -> Tensor:
        """Entrywise -log p(x|z) from the decoder output (logits or mean), (B, n)."""
        cfg = self.config
        if cfg.likelihood == "bernoulli":  # x in [0, 1], not only {0, 1}
            return F.binary_cross_entropy_with_logits(out, x, reduction="none")
        log_std = (
            self.log_std.clamp_min(math.log(1e-3))
            if cfg.decoder_variance == "learned"
            else math.log(cfg.decoder_std)
        )
        return gaussian_nll(out, x, log_std)

    def _terms(
        self, x: Tensor, eps: Tensor, observed: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per-object nll (B,), kl (B,), decoder mean (B, n) at z = mu + sigma eps, and mu."""
        mu, log_var = self.posterior(x)
        out = self.decoder(mu + torch.exp(0.5 * log_var) * eps)
        nll = self._nll(out, x) * (1.0 if observed is None else observed.to(x.dtype))
        kl = gaussian_kl(mu, log_var, self.config.prior_std).sum(dim=1)
        return nll.sum(dim=1), kl, self._mean(out), mu

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x, observed = batch["x"], batch.get("observed")
        generator = eval_generator(self, self.config.seed, x.device)
        eps = torch.randn(
            x.shape[0], self.config.code_dim, generator=generator, device=x.device, dtype=x.dtype
        )
        nll, kl, mean, mu = self._terms(x, eps, observed)
        nll, kl = nll.mean(), kl.mean()
        recon = reconstruction_loss(mean if self.training else self.decode(mu), x, "mse", observed)
        total = nll + kl
        return {"loss": total, "nll": nll, "kl": kl, "elbo": -total.detach(), "recon": recon}

    def _as_input(self, X: Tensor | np.ndarray) -> Tensor:
        return torch.as_tensor(X, dtype=torch.float32, device=self.log_var_head.weight.device)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n objects (n, in_features): decoder means at z ~ N(0, p^2 I) drawn with ``generator``."""
        z = _normal((n, self.config.code_dim), generator, self.log_var_head.weight.device)
        return self.decode(self.config.prior_std * z)

    @torch.no_grad()
    def interpolate(
        self, x_a: Tensor | np.ndarray, x_b: Tensor | np.ndarray, steps: int = 8
    ) -> Tensor:
        """Decoder means (steps, in_features) along the straight line from the code mu(x_a) to
        mu(x_b) (each of shape (in_features,) or (1, in_features)); the ends decode the codes."""
        if steps < 2:
            raise ValueError(f"steps={steps} must be >= 2")
        z_a, z_b = (self.encode(self._as_input(v).reshape(1, -1)) for v in (x_a, x_b))
        t = torch.linspace(0, 1, steps, device=z_a.device)[:, None]
        return self.decode((1 - t) * z_a + t * z_b)

    @torch.no_grad()
    def kl_per_unit(self, X: Tensor | np.ndarray) -> np.ndarray:
        """(d,) mean over the objects of X (N, in_features) of KL(q(z_k|x) || p(z_k)) in nats;
        a unit with KL > 0.01 is "in use", the others have collapsed to the prior."""
        mu, log_var = self.posterior(self._as_input(X))
        return gaussian_kl(mu, log_var, self.config.prior_std).mean(dim=0).cpu().numpy()

    def active_units(self, X: Tensor | np.ndarray, threshold: float = 0.01) -> int:
        """How many latent units have mean KL above ``threshold`` nats on X."""
        return int((self.kl_per_unit(X) > threshold).sum())

    @torch.no_grad()
    def elbo(
        self, X: Tensor | np.ndarray, samples: int = 1, generator: torch.Generator | None = None
    ) -> float:
        """Mean ELBO per object of X (N, in_features) in nats (the negative of the test loss),
        the expectation over q(z|x) estimated by ``samples`` draws of eps per object (a lower
        variance estimate of the same bound, not a tighter one). The draws come from
        ``generator``; ``None``: a fresh generator seeded with ``config.seed`` (the same estimate
        on every call, never torch's global random state)."""
        if samples < 1:
            raise ValueError(f"samples={samples} must be >= 1")
        X = self._as_input(X)
        if generator is None:
            generator = torch.Generator(device=X.device).manual_seed(self.config.seed)
        total = 0.0
        for _ in range(samples):
            eps = _normal((len(X), self.config.code_dim), generator, X.device)
            nll, kl, _, _ = self._terms(X, eps)
            total -= float((nll + kl).mean())
        return total / samples
