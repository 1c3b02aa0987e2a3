"""The contract every autoencoder of the family satisfies (imported by each kind's tests)."""

import numpy as np
import pytest
import torch

from unsup_core.serialization import from_checkpoint, to_checkpoint
from unsup_core.training import Trainer, TrainerConfig, evaluate


def toy_data(n: int = 256, d: int = 12, seed: int = 0) -> np.ndarray:
    """Low-rank data in [0, 1]: 3 latent factors mapped to d features."""
    rng = np.random.default_rng(seed)
    factors = rng.uniform(0, 1, size=(n, 3))
    mixing = rng.uniform(0, 1, size=(3, d)) / 3
    return (factors @ mixing + 0.01 * rng.normal(size=(n, d))).clip(0, 1).astype(np.float32)


def check_contract(make_model, batch_of, expected_terms: set[str], epochs: int = 30) -> None:
    """``make_model()`` builds a fresh model for 12 input features; ``batch_of(X)`` turns a
    feature array into trainer data (e.g. ``{"x": X}`` or with labels)."""
    X = toy_data()
    model = make_model()
    x = torch.as_tensor(X[:8])
    code = model.encode(x)
    assert code.ndim == 2 and code.shape[0] == 8
    assert model.decode(code).shape == (8, 12)
    terms = model.loss({k: torch.as_tensor(v[:8]) for k, v in batch_of(X).items()})
    assert expected_terms <= set(terms) and "loss" in terms
    assert all(torch.isfinite(t).all() for t in terms.values())

    before = [p.detach().clone() for p in model.parameters()]
    Trainer(TrainerConfig(epochs=1, batch_size=256)).fit(model, batch_of(X))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))

    fresh = make_model()
    data = batch_of(X)
    start = evaluate(fresh, data)["loss"]
    Trainer(TrainerConfig(epochs=epochs, batch_size=32, lr=3e-3)).fit(fresh, data)
    assert evaluate(fresh, data)["loss"] < 0.7 * start

    loaded = from_checkpoint(to_checkpoint(fresh))
    assert type(loaded) is type(fresh) and loaded.config == fresh.config
    fresh.eval(), loaded.eval()
    torch.testing.assert_close(loaded.encode(x), fresh.encode(x))


def check_bad_config(config_class, message: str, **kwargs) -> None:
    with pytest.raises(ValueError, match=message):
        config_class(in_features=12, **kwargs)
