"""Per-asset code versions: a hash of the asset function's source and of the source of the
library modules its recipe lives in, so Dagster sees an asset's code change (and only its)."""

import hashlib
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

from dagster import asset

from .profiles import step_tags


def code_version(*parts: Callable | ModuleType) -> str:
    """12 hex digits of the SHA-256 of the parts' source (a function's, or a whole module's)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(inspect.getsource(part).encode())
    return digest.hexdigest()[:12]


def recipe_asset(*recipes: Callable, **asset_kwargs: Any) -> Callable:
    """``@asset`` whose ``code_version`` covers the decorated function and the modules of the
    library ``recipes`` it calls (a change to a recipe's helpers changes the version too)."""

    def decorate(function: Callable) -> Any:
        modules = [inspect.getmodule(recipe) for recipe in recipes]
        tags = {**asset_kwargs.pop("op_tags", {}), **step_tags(function.__name__)}
        return asset(
            code_version=code_version(function, *modules), op_tags=tags or None, **asset_kwargs
        )(function)

    return decorate
