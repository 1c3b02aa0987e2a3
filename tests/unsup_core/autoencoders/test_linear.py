"""The linear autoencoder: configuration, linear maps, and agreement with PCA on digits."""

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from unsup_core.arrays import apply_array
from unsup_core.autoencoders.linear import LinearAutoencoder, LinearAutoencoderConfig
from unsup_core.training import Trainer, TrainerConfig

# Adam with a large rate annealed by a cosine schedule reaches the PCA optimum in ~1 s.
FAST_PCA = TrainerConfig(epochs=150, lr=0.03, batch_size=64, lr_schedule="cosine")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden": (8,)}, r"hidden=\(8,\) must be empty"),
        ({"code_activation": "sigmoid"}, "code_activation='sigmoid' must be 'identity'"),
        ({"recon_loss": "l1"}, "recon_loss='l1' must be 'mse'"),
        ({"code_dim": 13}, "code_dim=13 must be <= in_features=12"),
    ],
)
def test_linear_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LinearAutoencoderConfig(in_features=12, **kwargs)


def test_maps_are_linear_with_optional_bias():
    m = LinearAutoencoder(LinearAutoencoderConfig(in_features=5, code_dim=2, bias=False))
    x = torch.randn(4, 5)
    assert len(list(m.parameters())) == 2
    A, B = m.encoder_matrix, m.decoder_matrix
    assert A.shape == (2, 5) and B.shape == (5, 2)
    torch.testing.assert_close(m(x), x @ A.T @ B.T)
    torch.testing.assert_close(m(x[:2] + 3 * x[2:]), m(x[:2]) + 3 * m(x[2:]))  # no activations
    with_bias = LinearAutoencoder(LinearAutoencoderConfig(in_features=5, code_dim=2))
    assert len(list(with_bias.parameters())) == 4


def _fit_and_compare(prepared_digits, k: int):
    """Train a linear autoencoder with k codes on the digits and fit PCA(k) beside it.

    Returns
    -------
    B : (64, k) the decoder matrix.
    pca : PCA with every component, fitted on the training split.
    mse : split -> (autoencoder MSE, PCA(k) MSE) on "train" and "test".
    """
    X, X_test = prepared_digits.train.X, prepared_digits.test.X
    model = LinearAutoencoder(LinearAutoencoderConfig(in_features=X.shape[1], code_dim=k))
    Trainer(FAST_PCA).fit(model, {"x": X})
    pca = PCA(k).fit(X)
    mse = {
        name: (
            ((apply_array(model, Z) - Z) ** 2).mean(),
            ((pca.inverse_transform(pca.transform(Z)) - Z) ** 2).mean(),
        )
        for name, Z in (("train", X), ("test", X_test))
    }
    return model.decoder_matrix.detach().numpy(), PCA().fit(X), mse


def test_matches_pca_reconstruction_and_subspace_at_k16(prepared_digits):
    B, pca, mse = _fit_and_compare(prepared_digits, 16)
    (ae_train, pca_train), (ae_test, pca_test) = mse["train"], mse["test"]
    assert pca_train * (1 - 1e-4) <= ae_train <= 1.01 * pca_train  # PCA is the train optimum
    assert ae_test <= 1.01 * pca_test
    # Eigenvalues 16, 17 and 18 of the digits covariance differ by < 1% (so the top-16 subspace
    # itself is ill-conditioned: swapping PC16 for PC17 costs 0.04% of the MSE). The AE must
    # contain the well-separated top-15 subspace and lie inside the top-18 one (gaps 11%, 23%).
    lam, U = pca.explained_variance_, pca.components_.T
    assert lam[15] / lam[16] < 1.01 and lam[14] / lam[15] > 1.1 and lam[17] / lam[18] > 1.2
    assert np.degrees(subspace_angles(B, U[:, :15]).max()) < 3.0
    assert np.degrees(subspace_angles(B, U[:, :18]).max()) < 3.0


def test_recovers_the_principal_subspace_where_it_is_well_defined(prepared_digits):
    """k = 12: eigenvalue gap lam12 / lam13 = 1.25; the decoder spans PCA's top-12 subspace."""
    B, pca, mse = _fit_and_compare(prepared_digits, 12)
    assert np.degrees(subspace_angles(B, pca.components_[:12].T).max()) < 3.0
    (ae_test, pca_test) = mse["test"]
    assert abs(ae_test / pca_test - 1) < 0.01


@pytest.mark.slow
def test_principal_angle_at_k16_where_the_16th_gap_is_clear(digits):
    """The issue's claim verbatim (k = 16, largest principal angle < 3 degrees, test MSE within
    1% of PCA) on a 70/30 split whose eigenvalues 16 and 17 differ by 6.6%."""
    from unsup_core.data import PrepareConfig, prepare

    data = prepare(digits, PrepareConfig(val_fraction=0.0, seed=1))
    X, X_test = data.train.X, data.test.X
    lam = PCA().fit(X).explained_variance_
    assert lam[15] / lam[16] > 1.05
    model = LinearAutoencoder(LinearAutoencoderConfig(in_features=64, code_dim=16))
    Trainer(TrainerConfig(epochs=300, lr=0.03, batch_size=64, lr_schedule="cosine")).fit(
        model, {"x": X}
    )
    pca = PCA(16).fit(X)
    B = model.decoder_matrix.detach().numpy()
    angle = np.degrees(subspace_angles(B, pca.components_.T).max())
    assert angle < 3.0
    ae = ((apply_array(model, X_test) - X_test) ** 2).mean()
    reference = ((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2).mean()
    assert abs(ae / reference - 1) < 0.01
