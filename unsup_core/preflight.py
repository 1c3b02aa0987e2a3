"""Checks of an experiment's configs against its prepared data, run before any training: every
problem is listed (not the first), each naming the field, its value and what the data allow.

Field conventions the checks rely on (shared by every config of the library): a field named
``*labels_per_class`` is a per-class label budget (an int or a tuple of them; 0 means "every
label"), ``privileged_columns`` names feature columns.
"""

import dataclasses
from collections.abc import Mapping

import numpy as np

from .data import PreparedData
from .sizing import ALL_LABELS  # a budget of 0: every training label


def data_problems(config: object, data: PreparedData, prefix: str = "") -> list[str]:
    """Every field of ``config`` (a config dataclass or a mapping of field values; nested
    configs included, named ``outer.inner``) that the data cannot satisfy."""
    problems: list[str] = []
    items = (
        [(f.name, getattr(config, f.name)) for f in dataclasses.fields(config)]
        if dataclasses.is_dataclass(config)
        else list(config.items())
    )
    for key, value in items:
        name = f"{prefix}{key}"
        if dataclasses.is_dataclass(value) or isinstance(value, Mapping):
            problems += data_problems(value, data, f"{name}.")
        elif key.endswith("labels_per_class"):
            problems += _label_budget_problems(name, value, data)
        elif key == "privileged_columns" and value:
            missing = [c for c in value if c not in data.feature_names]
            if missing:
                problems.append(
                    f"{name}: {missing} are not columns of {data.source} "
                    f"(columns after encoding: {list(data.feature_names)[:12]}...)"
                )
    return problems


def smallest_class(data: PreparedData) -> tuple[str, int] | None:
    """The class with the fewest training samples and that count (``None`` without labels)."""
    return data.smallest_class()


def _label_budget_problems(name: str, value: object, data: PreparedData) -> list[str]:
    budgets = value if isinstance(value, (tuple, list)) else (value,)
    # None: sized from the data (unsup_core.sizing), nothing to check
    wanted = [b for b in budgets if isinstance(b, (int, np.integer)) and b != ALL_LABELS]
    smallest = smallest_class(data)
    if not wanted or smallest is None:
        return []
    label, count = smallest
    too_many = [int(b) for b in wanted if b > count]
    if not too_many:
        return []
    shown = too_many[0] if not isinstance(value, (tuple, list)) else too_many
    return [
        f"{name}={shown} is larger than class {label!r}, which has {count} training samples "
        f"in {data.source} (at most {count} labels per class)"
    ]


__all__ = ["data_problems", "smallest_class"]
