"""Dagster run configs generated from the library's typed configs: each field's name, type,
default, allowed values and description are declared once, in ``unsup_core``. Fields the data
sets (``in_features``) and fields a recipe sets on a nested config are left out; tuples become
lists; a config validates by building its library config (so ``lr: -0.01`` fails before the
step trains), and ``to_library()`` is the one conversion back."""

import dataclasses
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar, Literal, Optional, Union

import numpy as np
import pydantic
from dagster import Config

from unsup_core import validation as lib


class LibraryConfig(Config):
    """Base of the generated configs: ``to_library()`` builds the library config it mirrors."""

    library_class: ClassVar[type]
    library_hidden: ClassVar[tuple[str, ...]] = ()

    def to_library(self) -> Any:
        return lib.build_config(self.library_class, self.model_dump())

    @pydantic.model_validator(mode="after")
    def _library_validates(self) -> "LibraryConfig":
        if not self.library_hidden:  # a part with fields its recipe sets is checked by its owner
            self.to_library()  # ValueError naming the field, its value and what is allowed
        return self


def callable_type(hint: Any) -> bool:
    return typing.get_origin(hint) is Callable


def _field_type(hint: Any, hidden: tuple[str, ...] = (), default: Any = None) -> Any:
    """Run config holds plain values (no arrays, no schedule functions); Dagster takes
    ``str`` for a Literal inside Optional or a list."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        kept = [a for a in args if a not in (type(None), np.ndarray) and not callable_type(a)]
        options = [_field_type(a, hidden, default) for a in kept]
        plain = str if typing.get_origin(options[0]) is Literal else options[0]
        return Optional[plain] if type(None) in args else options[0]
    if origin is tuple:
        inner = _field_type(args[0])
        return list[str if typing.get_origin(inner) is Literal else inner]
    if dataclasses.is_dataclass(hint):
        return dagster_config(hint, hidden, default if isinstance(default, hint) else None)
    return hint


@cache
def dagster_config(
    library_class: type, hidden: tuple[str, ...] = (), defaults: Any = None
) -> type[LibraryConfig]:
    """The Dagster config of ``library_class`` without the data's fields and ``hidden``, its
    defaults those of the instance ``defaults`` (a nested config's default) or of the class."""
    hints, docs = lib.field_types(library_class), lib.field_descriptions(library_class)
    defaults = library_class() if defaults is None else defaults
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(library_class):
        if f.metadata.get(lib.FROM_DATA) or f.name in hidden:
            continue
        default = getattr(defaults, f.name)
        dtype = _field_type(hints[f.name], tuple(f.metadata.get(lib.SET_BY_RECIPE, ())), default)
        value = list(default) if isinstance(default, tuple) else default
        value = dtype() if dataclasses.is_dataclass(default) else value
        fields[f.name] = (dtype, pydantic.Field(value, description=docs.get(f.name)))
    generated = pydantic.create_model(
        library_class.__name__, __base__=LibraryConfig, __doc__=library_class.__doc__, **fields
    )
    generated.library_class, generated.library_hidden = library_class, hidden
    return generated
