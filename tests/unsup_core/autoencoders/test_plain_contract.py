"""The plain autoencoder passes the family contract."""

from contract import check_bad_config, check_contract

from unsup_core.autoencoders import Autoencoder, AutoencoderConfig


def test_plain_autoencoder_contract():
    check_contract(lambda: Autoencoder(AutoencoderConfig(in_features=12, hidden=(16,), code_dim=3)),
                   lambda X: {"x": X}, {"recon"})


def test_plain_bad_config():
    check_bad_config(AutoencoderConfig, "code_dim=0 must be >= 1", code_dim=0)
