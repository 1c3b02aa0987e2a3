"""The run config checked before any training: every asset's config built through its generated
config class (types, allowed values, the library's own checks), then the library's checks of
each config against the prepared data (:func:`unsup_core.preflight.data_problems`). Every bad
field is listed, each as ``op.field: problem``."""

from collections.abc import Iterable, Mapping
from typing import Any

import pydantic

from unsup_core.data import PreparedData
from unsup_core.preflight import data_problems

from .versioning import ASSET_CONFIGS

DATA_OPS = ("raw_dataset", "prepared_dataset")  # checked by their own steps, with the data


def op_config(run_config: Mapping[str, Any], op: str) -> dict[str, Any]:
    section = (run_config.get("ops") or {}).get(op) or {}
    return dict(section.get("config") or {})


def _section(values: Mapping[str, Any]) -> str:
    """The nesting above a single leaf: ``{"a": {"b": 1}}`` -> ``"a"``; ``{"b": 1}`` -> ``""``."""
    path: list[str] = []
    while len(values) == 1:
        [(key, value)] = values.items()
        if not isinstance(value, Mapping) or not value:
            break
        path.append(str(key))
        values = value
    return ".".join(path)


def _errors(op: str, config_class: type, values: Mapping[str, Any]) -> list[str]:
    try:
        config_class(**values)
    except pydantic.ValidationError as error:
        found = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or _section(values)
            message = str(item["msg"]).removeprefix("Value error, ")
            found.append(f"{op}.{where}: {message}" if where else f"{op}: {message}")
        return found
    except (ValueError, TypeError) as error:
        section = _section(values)
        return [f"{op}.{section}: {error}" if section else f"{op}: {error}"]
    return []


def _one_leaf_each(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{"a": {"b": 1, "c": 2}}`` -> ``[{"a": {"b": 1}}, {"a": {"c": 2}}]``: each leaf field
    alone inside its nesting."""
    parts: list[dict[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            parts += [{key: inner} for inner in _one_leaf_each(value)]
        else:
            parts.append({key: value})
    return parts


def config_problems(run_config: Mapping[str, Any], ops: Iterable[str] | None = None) -> list[str]:
    """Problems of each op's config taken alone: every field is tried on its own (so each bad
    field is named, not only the first), then all together (rules between fields)."""
    problems: list[str] = []
    for op in ops if ops is not None else ASSET_CONFIGS:
        if op in DATA_OPS or op not in ASSET_CONFIGS:
            continue
        values = op_config(run_config, op)
        found: list[str] = []
        for alone in _one_leaf_each(values):
            found += _errors(op, ASSET_CONFIGS[op], alone)
        problems += list(dict.fromkeys(found)) or _errors(op, ASSET_CONFIGS[op], values)
    return problems


def run_problems(
    run_config: Mapping[str, Any], data: PreparedData, ops: Iterable[str] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """Config problems, then the data's objections to each valid config; also the library
    configs that passed, by op."""
    ops = [op for op in (ops if ops is not None else ASSET_CONFIGS) if op not in DATA_OPS]
    problems = config_problems(run_config, ops)
    checked: dict[str, Any] = {}
    for op in ops:
        if op not in ASSET_CONFIGS or any(
            p.startswith(f"{op}.") or p.startswith(f"{op}:") for p in problems
        ):
            continue
        config = ASSET_CONFIGS[op](**op_config(run_config, op))
        library = config.to_library() if hasattr(config, "to_library") else config.model_dump()
        problems += [f"{op}.{problem}" for problem in data_problems(library, data)]
        checked[op] = library
    return problems, checked


def problem_report(problems: list[str]) -> str:
    """``N problem(s) in the run config:`` then one indented line each."""
    head = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the run config:"
    return "\n".join([head, *(f"  - {p}" for p in problems)])


__all__ = ["config_problems", "problem_report", "run_problems"]
