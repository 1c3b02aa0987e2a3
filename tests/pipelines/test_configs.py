"""Dagster configs are generated from the library's typed configs (one declaration per field);
they validate with the library's own checks before a step trains; presets are valid run configs;
assets carry code versions that follow their code and their recipe's."""

import dataclasses
import importlib
import inspect
import sys
import typing
from pathlib import Path

import pydantic
import pytest
from dagster import Config, DagsterInvalidConfigError, validate_run_config

import pipelines
from pipelines import versioning
from pipelines.configs import LibraryConfig, dagster_config
from pipelines.definitions import ASSETS, JOB_NAME, defs
from pipelines.presets import load_preset, preset_names
from pipelines.versioning import ASSET_CONFIGS, VALIDATION_ASSET
from unsup_core.autoencoders.zoo import ZooConfig
from unsup_core.competitive import KohonenMapConfig, MapConfig, fit_map
from unsup_core.plotting.figures import map_figures
from unsup_core.training import TrainerConfig
from unsup_core.transfer import TransferConfig
from unsup_core.validation import FROM_DATA, SET_BY_RECIPE

REPO = Path(__file__).resolve().parents[2]
# Configs that belong to the pipeline itself (MLflow registry, report, gates, failure checks),
# each with the only fields it declares by hand: thresholds, severity, names. What a check or the
# registry measures, and how, is a library config nested in it (generated, not listed here).
PIPELINE_ONLY = {
    "RegisteredModelsConfig": {"name_prefix", "min_improvement"},
    "ExperimentReportConfig": {"max_runs", "compare"},
    "AccuracyGateConfig": {"min_accuracy"},
    "ReconstructionGateConfig": {"max_relative_mse"},
    "TopographicGateConfig": {"max_topographic_error"},
    "FailureCheckConfig": {"severity"},
    "GanCollapseConfig": {
        "severity",
        "max_frechet_ratio",
        "max_missing_classes",
        "max_discriminator_accuracy",
    },
    "ProbeCheckConfig": {"severity", "tolerance"},
    "EmptyNodesConfig": {"severity", "max_empty_share"},
    "StudentBaselineConfig": {"severity", "tolerance"},
}


def asset_configs() -> dict[str, type[Config]]:
    """The config class of every asset that takes one."""
    found = {}
    for asset in ASSETS:
        parameter = inspect.signature(asset.op.compute_fn.decorated_fn).parameters.get("config")
        if parameter is not None:
            found[asset.key.to_user_string()] = parameter.annotation
    return found


def test_every_library_asset_config_is_generated_from_its_library_config():
    configs = asset_configs()
    assert set(configs) == {asset.key.to_user_string() for asset in ASSETS} - {VALIDATION_ASSET}
    assert configs == ASSET_CONFIGS  # what the run config's check validates
    generated = {name: c for name, c in configs.items() if c.__name__ not in PIPELINE_ONLY}
    assert set(configs) - set(generated) == {"registered_models", "experiment_report"}
    for name, config_class in generated.items():
        assert issubclass(config_class, LibraryConfig), name
        # the defaults are the library's: a default launchpad config is the library default
        assert config_class().to_library() == config_class.library_class(), name


def nested_configs(config_class: type[LibraryConfig]):
    """The config and every generated config nested in it."""
    yield config_class
    for field in config_class.model_fields.values():
        for inner in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(inner, type) and issubclass(inner, LibraryConfig):
                yield from nested_configs(inner)


def test_every_launchpad_field_is_described_by_the_librarys_docstring():
    for name, config_class in asset_configs().items():
        for generated in nested_configs(config_class):
            undescribed = [f for f, info in generated.model_fields.items() if not info.description]
            assert undescribed == [], (name, generated.__name__)


@pytest.mark.parametrize("library_class", [TrainerConfig, TransferConfig, ZooConfig, MapConfig])
def test_fields_and_defaults_come_from_the_library(library_class):
    generated = dagster_config(library_class)
    expected = {f.name for f in dataclasses.fields(library_class) if not f.metadata.get(FROM_DATA)}
    assert set(generated.model_fields) == expected
    nested = {
        f.name: f.metadata.get(SET_BY_RECIPE, ())
        for f in dataclasses.fields(library_class)
        if f.metadata.get(SET_BY_RECIPE)
    }
    for name, hidden in nested.items():  # fields a recipe sets are no settings of their own
        assert not set(hidden) & set(generated.model_fields[name].annotation.model_fields), name


def test_the_zoo_part_defaults_are_each_kinds_own():
    zoo = dagster_config(ZooConfig)()
    assert zoo.sparse_kl.kl_sparsity == 0.003 and zoo.sparse_l1.kl_sparsity == 0.0
    assert zoo.sparse_kl.code_activation == "sigmoid" and zoo.sparse_l1.code_l1 == 0.001
    assert "hidden" not in type(zoo.sparse_kl).model_fields
    assert "likelihood" not in type(zoo.variational).model_fields


def test_bad_values_are_rejected_with_the_librarys_message_before_training():
    transfer = dagster_config(TransferConfig)
    with pytest.raises(pydantic.ValidationError, match=r"lr=-0.01 must be > 0"):
        transfer(trainer={"lr": -0.01})
    with pytest.raises(pydantic.ValidationError, match=r"mode='all' is not one of"):
        transfer(modes=["all"])
    with pytest.raises(pydantic.ValidationError, match="set one budget, not both"):
        transfer(trainer={"epochs": 3})  # its default budget is 300 steps
    with pytest.raises(pydantic.ValidationError, match=r"grid rows=0 must be an integer >= 1"):
        dagster_config(MapConfig)(som={"rows": 0})
    with pytest.raises(pydantic.ValidationError, match=r"epochs=0 must be an integer >= 1"):
        dagster_config(KohonenMapConfig)(epochs=0)
    config = transfer(
        labels_per_class=[5, 0], modes=["frozen"], pseudo_label={"augment": {"noise_std": 0.1}}
    )
    library = config.to_library()
    assert library.labels_per_class == (5, 0) and library.modes == ("frozen",)
    assert library.pseudo_label.augment.noise_std == 0.1 and library.trainer.steps == 300


def test_the_launchpad_rejects_unknown_keys_and_choices_outside_the_literal():
    job = defs.resolve_job_def(JOB_NAME)
    unknown = {"ops": {"plain_autoencoder": {"config": {"trainer": {"learning_rate": 0.1}}}}}
    with pytest.raises(DagsterInvalidConfigError, match="learning_rate"):
        validate_run_config(job, unknown)
    bad_choice = {"ops": {"plain_autoencoder": {"config": {"trainer": {"optimizer": "lbfgs"}}}}}
    with pytest.raises(DagsterInvalidConfigError, match="optimizer"):
        validate_run_config(job, bad_choice)


@pytest.mark.parametrize("name", preset_names())
def test_presets_are_valid_run_configs(name):
    validate_run_config(defs.resolve_job_def(JOB_NAME), load_preset(name))


def test_presets_exist_and_unknown_preset_is_an_error():
    assert {"tiny", "default"} <= set(preset_names())
    with pytest.raises(ValueError, match=r"preset 'huge' not found; known presets: \["):
        load_preset("huge")


def hand_written_configs() -> dict[str, type[Config]]:
    """Every Config class written out in ``pipelines/`` (``class X(...Config)``), by name."""
    names = set()
    for path in Path(pipelines.__file__).parent.rglob("*.py"):
        names |= {
            line.split("class ")[1].split("(")[0]
            for line in path.read_text().splitlines()
            if line.startswith("class ") and "Config)" in line
        }
    modules = [m for name, m in list(sys.modules.items()) if name.startswith("pipelines")]
    return {
        name: cls
        for module in modules
        for name, cls in vars(module).items()
        if name in names and isinstance(cls, type) and issubclass(cls, Config)
    }


def library_field_names() -> set[str]:
    """Field names of every library config the pipeline's configs are generated from."""
    found: set[str] = set()
    roots = [c for c in ASSET_CONFIGS.values() if issubclass(c, LibraryConfig)]
    roots += [
        info.annotation
        for config_class in hand_written_configs().values()
        for info in config_class.model_fields.values()
        if isinstance(info.annotation, type) and issubclass(info.annotation, LibraryConfig)
    ]
    todo = [c.library_class for c in roots]
    while todo:
        library_class = todo.pop()
        hints = typing.get_type_hints(library_class)
        for f in dataclasses.fields(library_class):
            found.add(f.name)
            todo += [
                a
                for a in (hints[f.name], *typing.get_args(hints[f.name]))
                if dataclasses.is_dataclass(a)
            ]
    return found


def test_pipelines_declare_no_library_config():
    """Only the pipeline's own configs are written by hand; the config module stays small."""
    hand_written = hand_written_configs()
    assert set(hand_written) == set(PIPELINE_ONLY) | {"LibraryConfig"}
    assert len((REPO / "pipelines" / "configs.py").read_text().splitlines()) <= 80


def test_pipeline_configs_redeclare_no_library_default():
    """A hand-written config holds only its own fields (thresholds, severity, names), none named
    like a library field (``seed``, ``judge_epochs``, ``probe_labels_per_class``); what it
    measures with is a generated library config, at the library's defaults."""
    library_names = library_field_names()
    assert {"seed", "draws", "labels_per_class", "epochs", "judged_samples"} <= library_names
    for name, config_class in hand_written_configs().items():
        if name == "LibraryConfig":
            continue
        own = set()
        for field, info in config_class.model_fields.items():
            if isinstance(info.annotation, type) and issubclass(info.annotation, LibraryConfig):
                library_class = info.annotation.library_class
                assert info.default.to_library() == library_class(), (name, field)
                continue
            own.add(field)
            mirrored = [n for n in library_names if field == n or field.endswith(f"_{n}")]
            assert mirrored == [], f"{name}.{field} looks like library field(s) {mirrored}"
        assert own == PIPELINE_ONLY[name], name


def test_code_versions_follow_the_asset_and_its_recipe(tmp_path, monkeypatch):
    versions = {
        asset.key.to_user_string(): asset.code_versions_by_key[asset.key] for asset in ASSETS
    }
    assert all(len(v) == 12 for v in versions.values())
    assert len(set(versions.values())) == len(versions)  # each asset its own version

    monkeypatch.syspath_prepend(str(tmp_path))

    def version_with(recipe_source: str, asset_source: str) -> str:
        (tmp_path / "some_recipe.py").write_text(recipe_source)
        (tmp_path / "some_asset.py").write_text(
            "from pipelines.versioning import recipe_asset\nfrom some_recipe import recipe\n\n"
            + asset_source
        )
        importlib.invalidate_caches()
        for name in ("some_recipe", "some_asset"):
            sys.modules.pop(name, None)
        asset = importlib.import_module("some_asset").thing
        return asset.code_versions_by_key[asset.key]

    body = (
        "def log_thing():\n    return 3\n\n\n"
        "@recipe_asset(recipe)\ndef thing():\n    return recipe() + log_thing()\n"
    )
    recipe = "def helper():\n    return 1\n\n\ndef recipe():\n    return helper()\n"
    first = version_with(recipe, body)
    assert first == version_with(recipe, body)
    # a change in a helper of the recipe's module, in the asset, or in a helper beside the
    # asset in its own module, each show
    assert first != version_with(recipe.replace("return 1", "return 2"), body)
    assert first != version_with(recipe, body.replace("recipe() +", "recipe() + 0 +"))
    assert first != version_with(recipe, body.replace("return 3", "return 4"))


def test_code_versions_follow_the_library_modules_the_recipe_imports(monkeypatch):
    """data_som's version covers the library modules its recipe imports, directly or through
    others (the SOM's update rule, the shared trainer), and no module it never imports."""
    [data_som] = [asset for asset in ASSETS if asset.key.to_user_string() == "data_som"]
    function = inspect.unwrap(data_som.op.compute_fn.decorated_fn)
    recorded = data_som.code_versions_by_key[data_som.key]
    assert versioning.code_version(function, fit_map, map_figures) == recorded

    modules = ["pipelines.assets.som", fit_map.__module__, map_figures.__module__]
    closure = versioning.library_closure(modules)
    # relative imports resolved: unsup_core.competitive.recipe imports .som, which imports
    # ..training; nothing from another method family
    transitive, unrelated = "unsup_core.training.trainer", "unsup_core.selfsupervised.contrastive"
    assert {"unsup_core.competitive.som", transitive} <= set(closure)
    assert unrelated not in closure

    read = versioning.library_source

    def version_with_edit(edited: str) -> str:
        monkeypatch.setattr(
            versioning,
            "library_source",
            lambda name: read(name) + ("\n# edited\n" if name == edited else ""),
        )
        return versioning.code_version(function, fit_map, map_figures)

    assert version_with_edit(transitive) != recorded
    assert version_with_edit(unrelated) == recorded
