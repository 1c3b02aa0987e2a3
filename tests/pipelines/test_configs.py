"""Dagster configs mirror the library's typed configs; presets are valid run configs."""

import dataclasses

import pytest
from dagster import validate_run_config

from pipelines.configs import (AutoencoderSettings, AutoencoderZooConfig, SslEncoderConfig, PreparedDatasetConfig, RawDatasetConfig,
                               TrainerSettings)
from pipelines.definitions import JOB_NAME, defs
from pipelines.presets import load_preset, preset_names
from unsup_core.autoencoders import AutoencoderConfig
from unsup_core.autoencoders.zoo import ZooConfig
from unsup_core.selfsupervised import PretextChoice
from unsup_core.data import PrepareConfig, SourceConfig
from unsup_core.training import TrainerConfig
from pipelines.configs import AdversarialTrainerSettings, GanDiscriminatorSettings, GanGeneratorSettings
from unsup_core.generative import AdversarialTrainerConfig, DiscriminatorConfig, GeneratorConfig

MIRRORS = [
    (GanGeneratorSettings, GeneratorConfig, {"out_features", "image_shape"}),
    (GanDiscriminatorSettings, DiscriminatorConfig, {"in_features", "image_shape"}),
    (AdversarialTrainerSettings, AdversarialTrainerConfig, set()),
    (SslEncoderConfig, PretextChoice, set()),
    (AutoencoderZooConfig, ZooConfig, set()),
    (RawDatasetConfig, SourceConfig, set()),
    (PreparedDatasetConfig, PrepareConfig, set()),
    (TrainerSettings, TrainerConfig, set()),
    (AutoencoderSettings, AutoencoderConfig, {"in_features"}),
]


def normalise(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("dagster_config, library_config, only_in_library", MIRRORS)
def test_dagster_config_mirrors_the_library_config(dagster_config, library_config, only_in_library):
    library_fields = {f.name: f for f in dataclasses.fields(library_config)}
    dagster_fields = set(dagster_config.model_fields) - {"trainer", "probe_labels_per_class"}
    assert dagster_fields == set(library_fields) - only_in_library
    for name, field in dagster_config.model_fields.items():
        if name in library_fields and library_fields[name].default is not dataclasses.MISSING:
            assert normalise(field.default) == normalise(library_fields[name].default), name


def test_som_settings_mirror_the_kohonen_map_parameters():
    import inspect

    from pipelines.configs import SomSettings
    from unsup_core.competitive import KohonenMap

    parameters = inspect.signature(KohonenMap.__init__).parameters
    assert set(SomSettings.model_fields) == set(parameters) - {"self"}
    for name, field in SomSettings.model_fields.items():
        default = parameters[name].default
        if name not in ("rows", "cols", "random_state"):  # the asset picks a 20x20 seeded map
            assert field.default == default, name
    som = SomSettings(rows=3, cols=4, neighbourhood="bubble").to_library()
    assert (som.rows, som.cols, som.neighbourhood) == (3, 4, "bubble")


def test_to_library_converts_and_validates():
    source = RawDatasetConfig(source="file", path="x.csv", image_shape=[2, 3], na_values=["?"])
    assert source.to_library().image_shape == (2, 3) and source.to_library().na_values == ("?",)
    assert AutoencoderSettings(hidden=[8, 4]).to_library(in_features=10).hidden == (8, 4)
    with pytest.raises(ValueError, match="lr=0.0 must be > 0"):
        TrainerSettings(lr=0.0).to_library()


@pytest.mark.parametrize("name", preset_names())
def test_presets_are_valid_run_configs(name):
    validate_run_config(defs.resolve_job_def(JOB_NAME), load_preset(name))


def test_presets_exist_and_unknown_preset_is_an_error():
    assert {"tiny", "default"} <= set(preset_names())
    with pytest.raises(ValueError, match=r"preset 'huge' not found; known presets: \["):
        load_preset("huge")


def test_stacked_and_transfer_configs_convert():
    from pipelines.configs import StackedAutoencoderAssetConfig, TransferModelsConfig

    stack = StackedAutoencoderAssetConfig(layer_sizes=[8, 4], layer_kind="denoising").to_library(16)
    assert stack.layer_sizes == (8, 4) and stack.layer_kind == "denoising" and stack.in_features == 16
    transfer = TransferModelsConfig(labels_per_class=[5, 0], modes=["frozen"]).to_library()
    assert transfer.labels_per_class == (5, 0) and transfer.modes == ("frozen",)
    with pytest.raises(ValueError, match="mode='all' is not one of"):
        TransferModelsConfig(modes=["all"]).to_library()
