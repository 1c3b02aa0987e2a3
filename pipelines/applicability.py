"""Assets that do not apply to the data materialise a :class:`NotApplicable` value instead of
failing: the step succeeds, its MLflow run ends FINISHED with the tag ``unsup.not_applicable``
holding the reason, the materialisation's metadata say ``not_applicable: <reason>``, and every
downstream asset that needs the value does the same ("needs X, which does not apply: ...").
Nothing is skipped, so the registry and the report still run.

Whether a recipe applies is the library's decision (:mod:`unsup_core.applicability`); this
module only wires it around the asset body and widens the assets' Dagster types to accept it.
"""

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from dagster import AssetIn, ConfigurableResource, DagsterType, Output

from unsup_core.applicability import NotApplicable, upstream_not_applicable, why_not_applicable
from unsup_core.data import PreparedData

NOT_APPLICABLE_TAG = "unsup.not_applicable"
NOT_INPUTS = ("context", "config")


@functools.cache
def applicable_type(python_type: type) -> DagsterType:
    """``python_type`` or :class:`NotApplicable` (Dagster's own type checks refuse it)."""
    return DagsterType(
        type_check_fn=lambda _, value: isinstance(value, (python_type, NotApplicable)),
        name=f"{python_type.__name__}OrNotApplicable",
        description=f"A {python_type.__name__}, or why the method does not apply to the data",
        typing_type=python_type,
    )


def _python_type(annotation: Any) -> type | None:
    if typing.get_origin(annotation) is Output:
        annotation = typing.get_args(annotation)[0]
    annotation = typing.get_origin(annotation) or annotation
    return annotation if isinstance(annotation, type) else None


def _is_input(parameter: inspect.Parameter) -> bool:
    annotation = parameter.annotation
    resource = isinstance(annotation, type) and issubclass(annotation, ConfigurableResource)
    return parameter.name not in NOT_INPUTS and not resource


def widened_types(function: Callable) -> dict[str, Any]:
    """``@asset`` keyword arguments that let ``function``'s output and inputs be
    :class:`NotApplicable` as well as their annotated type."""
    signature = inspect.signature(function)
    kwargs: dict[str, Any] = {}
    output = _python_type(signature.return_annotation)
    if output is not None:
        kwargs["dagster_type"] = applicable_type(output)
    ins = {}
    for name, parameter in signature.parameters.items():
        python_type = _python_type(parameter.annotation)
        if _is_input(parameter) and python_type is not None:
            ins[name] = AssetIn(dagster_type=applicable_type(python_type))
    if ins:
        kwargs["ins"] = ins
    return kwargs


def not_applicable_output(context: Any, mlflow: Any, config: Any, reason: str) -> Output:
    """The asset's value when it does not apply: logged as a FINISHED MLflow run tagged with
    the reason (with the config it would have used), and said in the metadata."""
    context.log.info(f"{context.asset_key.to_user_string()}: not applicable: {reason}")
    metadata: dict[str, Any] = {"not_applicable": reason}
    if mlflow is not None:
        params = config.model_dump() if hasattr(config, "model_dump") else None
        with mlflow.asset_run(context, params=params) as run:
            run.set_tags({NOT_APPLICABLE_TAG: reason})
        metadata = {**run.dagster_metadata(), **metadata}
    return Output(NotApplicable(reason), metadata=metadata)


def when_applicable(
    function: Callable, recipe: Callable | None, optional_inputs: tuple[str, ...] = ()
) -> Callable:
    """Run ``function`` only when ``recipe`` applies to the prepared data among its inputs
    and no input is :class:`NotApplicable` (``optional_inputs`` may be: the body handles
    them); otherwise return :func:`not_applicable_output`."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        inputs = {k: v for k, v in kwargs.items() if k not in NOT_INPUTS}
        reason = upstream_not_applicable(
            {k: v for k, v in inputs.items() if k not in optional_inputs}
        )
        data = next((v for v in inputs.values() if isinstance(v, PreparedData)), None)
        if reason is None and recipe is not None and data is not None:
            reason = why_not_applicable(recipe, data)
        if reason is None:
            return function(*args, **kwargs)
        context = kwargs.get("context", args[0] if args else None)
        return not_applicable_output(context, kwargs.get("mlflow"), kwargs.get("config"), reason)

    return guarded


__all__ = [
    "NOT_APPLICABLE_TAG",
    "applicable_type",
    "not_applicable_output",
    "when_applicable",
    "widened_types",
]
