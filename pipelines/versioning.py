"""Per-asset code versions: a hash of the asset function's source, of its own module (the helpers
beside it), of the modules its recipes live in, and of every ``unsup_core`` module those modules
import directly or transitively, so Dagster sees an asset's code change (and only its)."""

import ast
import functools
import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dagster import Output, asset

from .applicability import when_applicable, widened_types
from .failures import step_errors
from .profiles import step_tags
from .reporting import rounded

LIBRARY = "unsup_core"


def module_path(name: str) -> Path | None:
    """The source file of module ``name`` (a package's ``__init__.py``); None if it has none."""
    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None)
    if origin is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") else None


@functools.cache
def library_source(name: str) -> str:
    """The source of library module ``name``, read once (the library does not change while a
    code location runs)."""
    path = module_path(name)
    return path.read_text() if path is not None else ""


@functools.cache
def library_module(name: str) -> bool:
    """Whether ``name`` is a module of the library (not a name defined in one)."""
    return (name == LIBRARY or name.startswith(f"{LIBRARY}.")) and module_path(name) is not None


def imported_modules(name: str, source: str) -> set[str]:
    """The library modules that module ``name`` with ``source`` imports: ``from a.b import c``
    gives ``a.b`` and, when ``c`` is a module, ``a.b.c``; relative imports resolved against
    ``name`` (a package's ``__init__`` against itself)."""
    path = module_path(name)
    package = name if path is not None and path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if library_module(m)}


@functools.cache
def _library_imports(name: str) -> frozenset[str]:
    return frozenset(imported_modules(name, library_source(name)))


def library_closure(modules: Iterable[str], sources: dict[str, str] | None = None) -> list[str]:
    """Every ``unsup_core`` module that ``modules`` import, directly or transitively (sorted);
    ``sources`` holds the text of those of ``modules`` read already (else they are read)."""
    sources = sources or {}
    seen: set[str] = set()
    todo = [
        imported
        for name in modules
        for imported in imported_modules(name, sources.get(name) or library_source(name))
    ]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += _library_imports(name)
    return sorted(seen)


def code_version(function: Callable, *recipes: Callable) -> str:
    """12 hex digits of the SHA-256 of ``function``'s source, of its module's and its recipes'
    modules' sources (read afresh) and of the library modules they import (transitively)."""
    own = dict.fromkeys(f.__module__ for f in (function, *recipes))
    sources = {}
    for name in own:
        path = module_path(name)
        sources[name] = path.read_text() if path is not None else ""
    digest = hashlib.sha256(inspect.getsource(function).encode())
    for name in [*own, *(m for m in library_closure(own, sources) if m not in own)]:
        digest.update(f"\0{name}\0".encode())
        digest.update((sources.get(name) or library_source(name)).encode())
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
    """``@asset`` whose ``code_version`` (:func:`code_version`) covers the decorated function,
    its module, the modules of the ``recipes`` it calls and the library modules they import
    (a change to a helper of the asset or of a recipe changes the version too); it
    runs after the run config's check unless ``after_validation`` is false (the data assets).
    The first recipe's requirements decide whether it applies to the data, and so does every
    input but ``optional_inputs`` (:mod:`pipelines.applicability`)."""

    def decorate(function: Callable) -> Any:
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
            code_version=code_version(function, *recipes), op_tags=tags or None, **asset_kwargs
        )(step_errors(rounded_metadata(body)))

    return decorate
