"""Validation shared by the library's typed configs.

Every config of the library is a frozen dataclass that checks itself when built, with errors
that name the parameter, its value and what is allowed. This module holds what they share:
allowed-value checks, fields whose value comes from the data (``in_features``, ``n_classes``,
``image_shape``: set by the recipe that sees the data, ``None`` until then), and
:func:`build_config`, the one conversion from plain values (YAML, a launchpad, a checkpoint) to
a config, nested configs included.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, TypeVar

C = TypeVar("C")
FROM_DATA = "from_data"  # dataclass field metadata key of a field the data sets


def check_choice(name: str, value: object, allowed: Iterable[object]) -> None:
    """Raise ``ValueError`` naming the parameter, its value and the allowed set."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {list(allowed)}")


def choices(literal: Any) -> tuple[str, ...]:
    """The values of a ``Literal[...]`` type: ``choices(Literal["a", "b"]) == ("a", "b")``."""
    return typing.get_args(literal)


def check_widths(name: str, value: object, allow_empty: bool = True) -> tuple[int, ...]:
    """``value`` as a tuple of layer widths, each >= 1 (and at least one unless
    ``allow_empty``)."""
    if isinstance(value, (int, str)):
        raise TypeError(f"{name}={value!r} must be a sequence of widths, e.g. (128, 64)")
    widths = tuple(int(w) for w in value)  # type: ignore[union-attr]
    if any(w < 1 for w in widths) or (not widths and not allow_empty):
        raise ValueError(
            f"{name}={widths}: every width must be >= 1"
            + ("" if allow_empty else " and at least one is needed")
        )
    return widths


def data_field(required: bool = True) -> Any:
    """A config field whose value comes from the data (``None`` until a recipe sets it;
    ``required=False``: ``None`` is also a value the data can give, e.g. no image shape)."""
    return dataclasses.field(
        default=None, metadata={FROM_DATA: "required" if required else "optional"}
    )


def data_fields(config_class: type) -> tuple[str, ...]:
    """Names of the fields of ``config_class`` that the data sets."""
    return tuple(f.name for f in dataclasses.fields(config_class) if f.metadata.get(FROM_DATA))


def require_data(config: object, who: str) -> None:
    """Raise ``ValueError`` if a field the data sets is still ``None`` (a config template used
    to build a model before the recipe gave it the data's sizes)."""
    missing = [
        f.name
        for f in dataclasses.fields(config)
        if f.metadata.get(FROM_DATA) == "required" and getattr(config, f.name) is None
    ]
    if missing:
        raise ValueError(
            f"{who}: {', '.join(f'{m}=None' for m in missing)}: these come from the "
            f"data; set them (e.g. dataclasses.replace(config, {missing[0]}=...))"
        )


@cache
def field_types(config_class: type) -> dict[str, Any]:
    """The resolved type hints of a dataclass's fields (``Annotated`` extras dropped)."""
    return typing.get_type_hints(config_class)


def _non_none(hint: Any) -> list[Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(hint) if a is not type(None)]
    return [hint]


def _convert(hint: Any, value: Any, base: Any = None) -> Any:
    """``value`` as ``hint`` asks: a mapping becomes the nested config (over ``base``, the
    field's default instance, when there is one), a list a tuple."""
    if value is None:
        return None
    for option in _non_none(hint):
        if dataclasses.is_dataclass(option) and isinstance(value, Mapping):
            if isinstance(base, option):
                return build_config(option, {**config_values(base, shallow=True), **value})
            return build_config(option, value)
        if typing.get_origin(option) is tuple and isinstance(value, (list, tuple)):
            args = typing.get_args(option)
            inner = args[0] if len(args) == 2 and args[1] is Ellipsis else None
            return tuple(_convert(inner, v) if inner is not None else v for v in value)
    return value


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def build_config(
    config_class: type[C], values: Mapping[str, Any] | None = None, **overrides: Any
) -> C:
    """``config_class`` built from plain values: nested mappings become nested configs (laid
    over the field's default config, so a partial mapping changes only what it names), lists
    become tuples; ``overrides`` (e.g. the data's ``in_features``) win over ``values``.
    Unknown keys are an error naming them and the known ones; the config validates the rest."""
    values = {**(values or {}), **overrides}
    fields = {f.name: f for f in dataclasses.fields(config_class) if f.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(
            f"{config_class.__name__} has no field {unknown[0]!r}; known fields: {sorted(fields)}"
        )
    hints = field_types(config_class)
    return config_class(
        **{k: _convert(hints[k], v, _default(fields[k])) for k, v in values.items()}
    )


def config_values(config: object, shallow: bool = False) -> dict[str, Any]:
    """The fields of a config as plain values (nested configs as dicts, or as they are when
    ``shallow``), the inverse of :func:`build_config`."""
    if shallow:
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.init}
    return dataclasses.asdict(config)  # type: ignore[call-overload]


def estimator_config(estimator_class: type) -> type:
    """A frozen dataclass of a scikit-learn style estimator's parameters, generated from its
    ``__init__`` (names, type hints, defaults: declared once, in the signature), validated when
    built by the estimator's own ``check_params()``; ``config.build()`` makes the estimator."""
    signature = inspect.signature(estimator_class.__init__)
    hints = typing.get_type_hints(estimator_class.__init__)
    specs = [
        (name, hints[name], dataclasses.field(default=parameter.default))
        for name, parameter in signature.parameters.items()
        if name != "self"
    ]

    def __post_init__(self) -> None:  # noqa: N807
        self.build().check_params()

    def build(self):
        return estimator_class(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    name = f"{estimator_class.__name__}Config"
    config_class = dataclasses.make_dataclass(
        name,
        specs,
        frozen=True,
        namespace={
            "__post_init__": __post_init__,
            "build": build,
            "__doc__": estimator_class.__doc__,
        },
    )
    config_class.__module__ = estimator_class.__module__
    config_class.__qualname__ = name
    return config_class


SET_BY_RECIPE = "set_by_recipe"  # dataclass field metadata key: nested fields a recipe sets


def config_part(default: Any, set_by_recipe: tuple[str, ...] = ()) -> Any:
    """A nested config field with a default instance; ``set_by_recipe`` names the fields of the
    nested config that the recipe using it sets itself (so they are not settings of their own:
    a pipeline does not offer them)."""
    return dataclasses.field(
        default_factory=lambda: default, metadata={SET_BY_RECIPE: tuple(set_by_recipe)}
    )


def field_descriptions(config_class: type) -> dict[str, str]:
    """Descriptions of a config's fields from the "Parameters" sections of its numpy-style
    docstring and its base classes' (``name : description``, continued on more-indented
    lines); a subclass's description of a field wins."""
    descriptions: dict[str, str] = {}
    for klass in reversed(config_class.__mro__):
        if "__doc__" in vars(klass) and dataclasses.is_dataclass(klass):
            descriptions.update(_parameters_section(klass.__doc__))
    return descriptions


def _parameters_section(doc: str | None) -> dict[str, str]:
    lines = inspect.cleandoc(doc or "").splitlines()
    try:
        start = (
            next(
                i
                for i, line in enumerate(lines[:-1])
                if line.strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"}
            )
            + 2
        )
    except StopIteration:
        return {}
    descriptions: dict[str, str] = {}
    names: list[str] = []
    for line in lines[start:]:
        stripped = line.strip()
        if not stripped:
            continue
        if not line.startswith(" ") and " : " in line:
            head, text = line.split(" : ", 1)
            names = [name.strip() for name in head.split(",")]
            for name in names:
                descriptions[name] = text.strip()
        elif not line.startswith(" "):
            break  # the next section's title
        else:
            for name in names:
                descriptions[name] += " " + stripped
    return descriptions
