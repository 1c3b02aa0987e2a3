"""The validation shared by the library's configs: allowed values, widths, fields the data sets,
plain values to nested configs and back, field descriptions from docstrings, and configs
generated from an estimator's signature."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Literal

import pytest
from sklearn.base import clone

from unsup_core.autoencoders import (
    AutoencoderConfig,
    LabelRegularizedAutoencoderConfig,
    SparseAutoencoderConfig,
)
from unsup_core.autoencoders.recipe import AutoencoderTrainingConfig
from unsup_core.autoencoders.zoo import SHARED, ZooConfig
from unsup_core.competitive import KohonenMap, KohonenMapConfig, MapConfig
from unsup_core.distillation import (
    MLPClassifierConfig,
    PrivilegedConfig,
    StudentConfig,
    TeacherConfig,
)
from unsup_core.generative import DiscriminatorConfig, GanConfig, GeneratorConfig
from unsup_core.selfsupervised import (
    ContrastiveConfig,
    MaskedFeatureConfig,
    PatchPositionConfig,
    PretextTrainingConfig,
)
from unsup_core.stacked import StackedAutoencoderConfig, StackedTrainingConfig
from unsup_core.stacked.networks import LAYER_FIELDS
from unsup_core.training import TrainerConfig
from unsup_core.transfer import PseudoLabelConfig, TransferConfig
from unsup_core.validation import (
    SET_BY_RECIPE,
    build_config,
    check_choice,
    check_widths,
    choices,
    config_part,
    config_values,
    data_field,
    data_fields,
    estimator_config,
    field_descriptions,
    require_data,
)

# every config a recipe takes, and the parts they hold
RECIPE_CONFIGS = (
    AutoencoderTrainingConfig,
    ZooConfig,
    StackedTrainingConfig,
    PretextTrainingConfig,
    TransferConfig,
    TeacherConfig,
    StudentConfig,
    PrivilegedConfig,
    GanConfig,
    MapConfig,
)


@dataclasses.dataclass(frozen=True)
class Toy:
    """A config with two fields the data sets and one of its own.

    Parameters
    ----------
    in_features : input width
        (from the data).
    image_shape : image shape, or None for a table.
    width, depth : the network's size.
    """

    in_features: int | None = data_field()
    image_shape: tuple[int, ...] | None = data_field(required=False)
    width: int = 3
    depth: int = 1


@dataclasses.dataclass(frozen=True)
class ToyChild(Toy):
    """A subclass that adds a field and describes one again.

    Parameters
    ----------
    width : the wider description wins.
    rate : a learning rate.

    Attributes
    ----------
    fitted_ : not a parameter.
    """

    rate: float = 0.1


# --- allowed values and widths ---------------------------------------------------------------


def test_check_choice_and_choices():
    assert choices(Literal["a", "b"]) == ("a", "b")
    check_choice("kind", "b", ("a", "b"))
    with pytest.raises(ValueError, match=r"^kind='c' is not one of \['a', 'b'\]$"):
        check_choice("kind", "c", choices(Literal["a", "b"]))


def test_check_widths():
    assert check_widths("hidden", [8, 4]) == (8, 4) and check_widths("hidden", ()) == ()
    with pytest.raises(TypeError, match=r"hidden=8 must be a sequence of widths"):
        check_widths("hidden", 8)
    with pytest.raises(ValueError, match=r"hidden=\(8, 0\): every width must be >= 1$"):
        check_widths("hidden", (8, 0))
    with pytest.raises(ValueError, match=r"layers=\(\): .* and at least one is needed"):
        check_widths("layers", (), allow_empty=False)


# --- fields the data sets --------------------------------------------------------------------


def test_data_fields_default_to_none_and_are_named():
    assert data_fields(Toy) == ("in_features", "image_shape")
    assert (Toy().in_features, Toy().image_shape) == (None, None)
    assert (
        data_fields(AutoencoderConfig) == data_fields(SparseAutoencoderConfig) == ("in_features",)
    )
    assert data_fields(LabelRegularizedAutoencoderConfig) == ("in_features", "n_classes")
    assert data_fields(MLPClassifierConfig) == ("in_features", "n_classes")
    assert data_fields(GeneratorConfig) == ("out_features", "image_shape")
    assert data_fields(DiscriminatorConfig) == ("in_features", "image_shape")
    assert data_fields(ContrastiveConfig) == data_fields(PatchPositionConfig) == ("image_shape",)
    assert (
        data_fields(MaskedFeatureConfig)
        == data_fields(StackedAutoencoderConfig)
        == ("in_features",)
    )
    assert MLPClassifierConfig().n_classes is None  # no longer 10 by default


def test_require_data_names_the_missing_required_fields():
    with pytest.raises(
        ValueError,
        match=r"^Thing: in_features=None: these come from the data; "
        r"set them \(e.g. dataclasses.replace\(config, "
        r"in_features=...\)\)$",
    ):
        require_data(Toy(), "Thing")
    require_data(Toy(in_features=4), "Thing")  # an optional data field may stay None
    with pytest.raises(ValueError, match=r"MLP: in_features=None, n_classes=None: these come"):
        require_data(MLPClassifierConfig(), "MLP")


# --- plain values to configs and back --------------------------------------------------------


def test_build_config_nests_configs_and_makes_tuples():
    config = build_config(
        AutoencoderTrainingConfig,
        {"model": {"hidden": [8, 4], "code_dim": 2}, "trainer": {"epochs": 2, "lr": 0.01}},
    )
    assert isinstance(config.model, AutoencoderConfig) and config.model.hidden == (8, 4)
    assert isinstance(config.trainer, TrainerConfig)
    zoo = build_config(ZooConfig, {"kinds": ["plain", "linear"]})
    assert zoo.kinds == ("plain", "linear")
    privileged = build_config(PrivilegedConfig, {"privileged_columns": ["a", "b"]})
    assert privileged.privileged_columns == ("a", "b")
    assert (
        build_config(TrainerConfig, {"early_stopping_patience": None}).early_stopping_patience
        is None
    )
    optional = build_config(TransferConfig, {"pseudo_label": {"augment": {"max_shift": 2.0}}})
    assert optional.pseudo_label.augment.max_shift == 2.0  # an Optional nested config


def test_a_nested_mapping_is_laid_over_the_fields_default_instance():
    config = build_config(AutoencoderTrainingConfig, {"trainer": {"epochs": 2}})
    default = AutoencoderTrainingConfig().trainer
    assert default.early_stopping_patience == 10  # the recipe's own default trainer ...
    assert config.trainer == dataclasses.replace(default, epochs=2)  # ... changed where named
    zoo = build_config(ZooConfig, {"sparse_kl": {"kl_sparsity": 0.01}})
    assert zoo.sparse_kl.kl_sparsity == 0.01 and zoo.sparse_kl.code_activation == "sigmoid"
    stack = build_config(StackedAutoencoderConfig, {"sparse_l1": {"sparsity_target": 0.2}})
    assert stack.sparse_l1.code_l1 == 1e-3 and stack.sparse_l1.sparsity_target == 0.2
    maps = build_config(MapConfig, {"som": {"rows": 3}})
    assert maps.som.random_state == 0 and maps.som.rows == 3


def test_overrides_win_and_the_config_still_validates():
    assert build_config(AutoencoderConfig, {"in_features": 3}, in_features=64).in_features == 64
    assert build_config(AutoencoderConfig, None, code_dim=4).code_dim == 4
    with pytest.raises(ValueError, match=r"code_dim=0 must be >= 1"):
        build_config(AutoencoderConfig, {"code_dim": 0})


@pytest.mark.parametrize(
    "config_class, values, message",
    [
        (
            AutoencoderConfig,
            {"widths": [3]},
            r"AutoencoderConfig has no field 'widths'; known fields: "
            r"\['activation', 'code_activation', 'code_dim', ",
        ),
        (
            AutoencoderTrainingConfig,
            {"trainer": {"epoch": 3}},
            r"TrainerConfig has no field 'epoch'",
        ),
        (TransferConfig, {"pseudo_label": {"round": 2}}, r"PseudoLabelConfig has no field 'round'"),
        (ZooConfig, {"noise_std": 0.3}, r"ZooConfig has no field 'noise_std'"),  # now per kind
    ],
)
def test_unknown_keys_are_named(config_class, values, message):
    with pytest.raises(ValueError, match=message):
        build_config(config_class, values)


@pytest.mark.parametrize(
    "config",
    [
        AutoencoderTrainingConfig(),
        ZooConfig(),
        StackedTrainingConfig(),
        PretextTrainingConfig(),
        TransferConfig(pseudo_label=PseudoLabelConfig(rounds=2)),
        TeacherConfig(),
        StudentConfig(),
        PrivilegedConfig(privileged_columns=("a",)),
        GanConfig(),
        MapConfig(),
        StackedAutoencoderConfig(in_features=5, layer_sizes=(3, 2), layer_kind="denoising"),
    ],
    ids=lambda config: type(config).__name__,
)
def test_config_values_is_the_inverse_of_build_config(config):
    values = config_values(config)
    assert all(not dataclasses.is_dataclass(v) for v in values.values())  # plain values
    assert build_config(type(config), values) == config
    shallow = config_values(config, shallow=True)
    assert all(shallow[f.name] is getattr(config, f.name) for f in dataclasses.fields(config))


def test_config_parts_name_the_fields_their_recipe_sets():
    def set_by_recipe(config_class) -> dict[str, tuple[str, ...]]:
        return {
            f.name: f.metadata[SET_BY_RECIPE]
            for f in dataclasses.fields(config_class)
            if SET_BY_RECIPE in f.metadata
        }

    assert set_by_recipe(StackedAutoencoderConfig) == {
        name: LAYER_FIELDS for name in ("denoising", "sparse_l1", "sparse_kl", "contractive")
    }
    zoo = set_by_recipe(ZooConfig)
    assert zoo["plain"] == SHARED and zoo["denoising_overcomplete"] == ("seed",)
    assert set_by_recipe(PretextTrainingConfig) == {
        "contrastive": ("image_shape",),
        "patch_position": ("image_shape",),
        "masked_features": ("in_features",),
    }

    @dataclasses.dataclass(frozen=True)
    class Holder:
        part: Toy = config_part(Toy(width=7), ("in_features",))

    assert Holder().part == Toy(width=7)
    assert dataclasses.fields(Holder)[0].metadata[SET_BY_RECIPE] == ("in_features",)


# --- field descriptions ----------------------------------------------------------------------


def test_field_descriptions_read_the_parameters_section():
    assert field_descriptions(Toy) == {
        "in_features": "input width (from the data).",
        "image_shape": "image shape, or None for a table.",
        "width": "the network's size.",
        "depth": "the network's size.",
    }
    child = field_descriptions(ToyChild)
    assert child["width"] == "the wider description wins." and child["rate"] == "a learning rate."
    assert child["in_features"] == "input width (from the data)." and "fitted_" not in child

    @dataclasses.dataclass
    class Undocumented:
        x: int = 0

    assert field_descriptions(Undocumented) == {}


@pytest.mark.parametrize("config_class", RECIPE_CONFIGS, ids=lambda c: c.__name__)
def test_every_field_of_a_recipe_config_and_its_parts_is_described(config_class):
    classes, seen = [config_class], set()
    while classes:
        current = classes.pop()
        if current in seen:
            continue
        seen.add(current)
        names = {f.name for f in dataclasses.fields(current)}
        described = field_descriptions(current)
        assert names <= set(described), (current.__name__, sorted(names - set(described)))
        assert all(described[name] for name in names)
        instance = current()  # every part has a default
        classes += [
            type(getattr(instance, f.name))
            for f in dataclasses.fields(current)
            if dataclasses.is_dataclass(getattr(instance, f.name))
        ]


# --- configs generated from an estimator's signature -----------------------------------------


def test_kohonen_map_config_mirrors_the_estimators_signature():
    parameters = inspect.signature(KohonenMap.__init__).parameters
    fields = {f.name: f.default for f in dataclasses.fields(KohonenMapConfig)}
    assert fields == {name: p.default for name, p in parameters.items() if name != "self"}
    assert KohonenMapConfig.__name__ == "KohonenMapConfig"
    assert KohonenMapConfig.__module__ == KohonenMap.__module__
    assert field_descriptions(KohonenMapConfig)["epochs"].startswith("passes over the data")
    config = KohonenMapConfig(rows=3, cols=4, epochs=2, random_state=5)
    som = config.build()
    assert isinstance(som, KohonenMap) and som.get_params() == clone(som).get_params()
    assert (som.rows, som.cols, som.epochs, som.random_state) == (3, 4, 2, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.rows = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rows": 0}, r"grid rows=0 must be an integer >= 1"),
        ({"epochs": 0}, r"epochs=0 must be an integer >= 1"),
        ({"lr_start": -0.1}, r"lr_start=-0.1 and lr_end=0.0 must be >= 0"),
        ({"sigma_schedule": "cosine"}, r"sigma_schedule='cosine' is not one of"),
    ],
)
def test_kohonen_map_config_validates_when_built_the_estimator_when_fitted(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KohonenMapConfig(**kwargs)
    som = KohonenMap(**kwargs)  # scikit-learn style: __init__ only stores the parameters
    with pytest.raises(ValueError, match=message):
        som.check_params()


def test_estimator_config_of_any_estimator():
    class Scaler:
        """A toy estimator.

        Parameters
        ----------
        factor : what to multiply by.
        """

        def __init__(self, factor: float = 2.0, *, name: str = "s") -> None:
            self.factor, self.name = factor, name

        def check_params(self) -> None:
            if not self.factor > 0:
                raise ValueError(f"factor={self.factor} must be > 0")

    config_class = estimator_config(Scaler)
    assert config_class().build().factor == 2.0 and config_class(3.0).build().factor == 3.0
    assert config_class(name="t").build().name == "t"
    assert field_descriptions(config_class) == {"factor": "what to multiply by."}
    with pytest.raises(ValueError, match=r"factor=-1.0 must be > 0"):
        config_class(factor=-1.0)
