"""Reference sample sets that make the quality numbers readable: a Gaussian fitted to the data,
real objects under heavy noise, random pixels, and samples of a variational autoencoder."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..autoencoders.variational import VariationalAutoencoder, VariationalAutoencoderConfig
from ..training import Trainer, TrainerConfig
from .quality import QualityJudge, SampleQuality


def _data(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X has shape {X.shape}; expected (n, features) with n >= 2")
    return X


def _count(n: int) -> int:
    if n < 1:
        raise ValueError(f"n={n} must be >= 1")
    return n


def gaussian_samples(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws (n, d) of N(mean, covariance) fitted to X (n_samples, d), float32, unclipped."""
    X = _data(X)
    draws = rng.multivariate_normal(
        X.mean(axis=0), np.atleast_2d(np.cov(X, rowvar=False)), size=_count(n), method="eigh"
    )
    return draws.astype(np.float32)


def noisy_samples(X: np.ndarray, n: int, noise_std: float, rng: np.random.Generator) -> np.ndarray:
    """n real objects drawn with replacement plus N(0, noise_std^2) noise, clipped to X's range."""
    X = _data(X)
    if not noise_std >= 0:
        raise ValueError(f"noise_std={noise_std} must be >= 0")
    picked = X[rng.integers(0, len(X), size=_count(n))]
    noisy = picked + noise_std * rng.standard_normal(picked.shape)
    return np.clip(noisy, X.min(), X.max()).astype(np.float32)


def random_pixels(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n objects of independent uniform values in X's range."""
    X = _data(X)
    return rng.uniform(X.min(), X.max(), size=(_count(n), X.shape[1])).astype(np.float32)


def fit_vae(
    X: np.ndarray,
    code_dim: int = 8,
    hidden: Sequence[int] = (128,),
    epochs: int = 100,
    seed: int = 0,
) -> VariationalAutoencoder:
    """A Bernoulli :class:`VariationalAutoencoder` trained on X in [0, 1] with the shared
    Trainer (Adam, lr 1e-3, batch 64); draw with ``model.sample(n, generator)``."""
    X = np.asarray(X, dtype=np.float32)
    vae = VariationalAutoencoder(
        VariationalAutoencoderConfig(
            in_features=X.shape[1], hidden=tuple(hidden), code_dim=code_dim, seed=seed
        )
    )
    Trainer(TrainerConfig(epochs=epochs, batch_size=64, lr=1e-3, seed=seed)).fit(vae, {"x": X})
    return vae


def vae_samples(vae: VariationalAutoencoder, n: int, seed: int = 0) -> np.ndarray:
    """n decoder means (n, d) at z drawn from the prior with a seeded generator."""
    return vae.sample(_count(n), torch.Generator().manual_seed(seed)).cpu().numpy()


def baseline_qualities(
    judge: QualityJudge,
    X_train: np.ndarray,
    X_heldout: np.ndarray | None,
    n: int = 1000,
    noise_std: float = 0.5,
    seed: int = 0,
    vae: VariationalAutoencoder | None = None,
) -> dict[str, SampleQuality]:
    """The judge's measures of the reference sets that make a model's numbers readable:
    ``real_heldout`` (real objects the judge never saw: the best a model can hope for),
    ``gaussian`` (a Gaussian fitted to X_train), ``noisy_real`` (training objects plus
    N(0, noise_std^2) noise), ``random_pixels``, and ``vae`` samples if a VAE is given.
    n samples each (held-out: all of X_heldout), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    sets = {
        "gaussian": gaussian_samples(X_train, n, rng),
        "noisy_real": noisy_samples(X_train, n, noise_std, rng),
        "random_pixels": random_pixels(X_train, n, rng),
    }
    if X_heldout is not None and len(X_heldout) >= 2:
        sets = {"real_heldout": np.asarray(X_heldout, dtype=np.float32), **sets}
    if vae is not None:
        sets["vae"] = vae_samples(vae, n, seed)
    return {name: judge.evaluate(samples) for name, samples in sets.items()}
