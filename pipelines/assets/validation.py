"""The run config's check: the first step after the data, before any training."""

from dagster import AssetExecutionContext, AssetKey, Failure, MetadataValue, Output

from unsup_core import preflight
from unsup_core.data import PreparedData

from ..preflight import problem_report, run_problems
from ..versioning import ASSET_CONFIGS, recipe_asset


@recipe_asset(preflight.data_problems, after_validation=False, group_name="data", kinds={"python"})
def validated_run_config(
    context: AssetExecutionContext, prepared_dataset: PreparedData
) -> Output[dict]:
    """Every training asset's config of this run checked at once, alone and against the data
    (label budgets against class sizes, privileged columns against the columns); fails listing
    every bad field, before any model trains."""
    selection = context.run.asset_selection  # empty or None: the whole job
    ops = [op for op in ASSET_CONFIGS if not selection or AssetKey(op) in selection]
    problems, checked = run_problems(context.run.run_config, prepared_dataset, ops)
    if problems:
        raise Failure(problem_report(problems), allow_retries=False)
    return Output(
        {op: repr(config) for op, config in checked.items()},
        metadata={"checked_ops": MetadataValue.json(sorted(checked)), "problems": 0},
    )
