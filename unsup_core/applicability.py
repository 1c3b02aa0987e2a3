"""Whether a method applies to the data, decided from the data before it trains.

A recipe declares what it needs with :func:`requires` (labels, a number of features, image
rows); :func:`why_not_applicable` names the first need the data does not meet. A method that
does not apply yields a :class:`NotApplicable` value instead of a model, so everything
downstream still runs and says plainly what was left out and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .data import PreparedData

Requirement = Callable[[PreparedData], "str | None"]  # the reason it fails, or None
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class NotApplicable:
    """The value of a method that does not apply to the data; ``reason`` says why."""

    reason: str

    def __str__(self) -> str:
        return f"not applicable: {self.reason}"


def labels(data: PreparedData) -> str | None:
    """The method trains or scores with class labels."""
    return None if data.train.y is not None else "no labels (the data has no label column)"


def min_features(count: int) -> Requirement:
    """The method needs at least ``count`` feature columns (an autoencoder needs two to
    compress into fewer)."""

    def requirement(data: PreparedData) -> str | None:
        if data.n_features >= count:
            return None
        return f"needs at least {count} feature columns, the data has {data.n_features}"

    requirement.__doc__ = f"at least {count} feature columns"
    return requirement


def requires(*requirements: Requirement) -> Callable[[F], F]:
    """Declare what recipe ``f`` needs of the data (read by :func:`why_not_applicable`)."""

    def mark(function: F) -> F:
        function.__requires__ = tuple(requirements)  # type: ignore[attr-defined]
        return function

    return mark


def requirements_of(recipe: Callable[..., Any]) -> tuple[Requirement, ...]:
    return tuple(getattr(recipe, "__requires__", ()))


def why_not_applicable(recipe: Callable[..., Any], data: PreparedData) -> str | None:
    """The first requirement of ``recipe`` that ``data`` does not meet, or None."""
    for requirement in requirements_of(recipe):
        reason = requirement(data)
        if reason is not None:
            return reason
    return None


def upstream_not_applicable(inputs: dict[str, Any]) -> str | None:
    """``needs <name>, which does not apply: <reason>`` for the first input that is
    :class:`NotApplicable`, or None."""
    for name, value in inputs.items():
        if isinstance(value, NotApplicable):
            return f"needs {name}, which does not apply: {value.reason}"
    return None


__all__ = [
    "NotApplicable",
    "Requirement",
    "labels",
    "min_features",
    "requirements_of",
    "requires",
    "upstream_not_applicable",
    "why_not_applicable",
]
