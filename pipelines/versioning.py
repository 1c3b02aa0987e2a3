"""Per-asset code versions: a hash of the asset function's source and of the source of the
library modules its recipe lives in, so Dagster sees an asset's code change (and only its)."""

import functools
import hashlib
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

from dagster import Output, asset

from .applicability import when_applicable, widened_types
from .failures import step_errors
from .profiles import step_tags
from .reporting import rounded


def code_version(*parts: Callable | ModuleType) -> str:
    """12 hex digits of the SHA-256 of the parts' source (a function's, or a whole module's)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(inspect.getsource(part).encode())
    return digest.hexdigest()[:12]


# The run config's check (pipelines.preflight) runs before every asset that trains.
VALIDATION_ASSET = "validated_run_config"
# Each asset's generated config class, by asset name: what the run config's check validates.
ASSET_CONFIGS: dict[str, type] = {}


def rounded_metadata(function: Callable) -> Callable:
    """``function`` whose returned ``Output`` carries its metadata floats rounded for the UI."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = function(*args, **kwargs)
        if not isinstance(out, Output):
            return out
        return Output(
            out.value,
            output_name=out.output_name,
            metadata=rounded(out.metadata or {}),
            data_version=out.data_version,
            tags=out.tags,
        )

    return wrapper


def recipe_asset(
    *recipes: Callable,
    after_validation: bool = True,
    optional_inputs: tuple[str, ...] = (),
    **asset_kwargs: Any,
) -> Callable:
    """``@asset`` whose ``code_version`` covers the decorated function and the modules of the
    library ``recipes`` it calls (a change to a recipe's helpers changes the version too); it
    runs after the run config's check unless ``after_validation`` is false (the data assets).
    The first recipe's requirements decide whether it applies to the data, and so does every
    input but ``optional_inputs`` (:mod:`pipelines.applicability`)."""

    def decorate(function: Callable) -> Any:
        modules = [inspect.getmodule(recipe) for recipe in recipes]
        tags = {**asset_kwargs.pop("op_tags", {}), **step_tags(function.__name__)}
        config = inspect.signature(function).parameters.get("config")
        if config is not None:
            ASSET_CONFIGS[function.__name__] = config.annotation
        if after_validation:
            asset_kwargs["deps"] = [*asset_kwargs.get("deps", ()), VALIDATION_ASSET]
        for key, value in widened_types(function).items():
            asset_kwargs.setdefault(key, value)
        body = when_applicable(function, recipes[0] if recipes else None, optional_inputs)
        return asset(
            code_version=code_version(function, *modules), op_tags=tags or None, **asset_kwargs
        )(step_errors(rounded_metadata(body)))

    return decorate
