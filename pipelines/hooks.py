"""Job hooks: a step that fails outside its asset body still leaves FAILED MLflow runs."""

from dagster import HookContext, failure_hook


@failure_hook(required_resource_keys={"mlflow"})
def mlflow_failure_hook(context: HookContext) -> None:
    error = context.op_exception
    message = f"{type(error).__name__}: {error}" if error is not None else "step failed"
    context.resources.mlflow.mark_step_failed(
        context.run_id, context.job_name, context.step_key, message
    )
