"""Training a step's model on several processes: the asset's recipe runs under ``torchrun``
(data parallel, :mod:`unsup_core.training.distributed`) through Dagster Pipes, and its result
comes back to the asset, which logs it to MLflow and stores the model as usual.

``processes`` is the resource's setting (``resources: {distributed: {config: {processes: 2}}}``
in the run config, or ``$UNSUP_TRAINING_PROCESSES``); 1, the default, calls the recipe in the
step's own process. The processes run on the step's machine (gloo on CPU, nccl on CUDA).
"""

import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, ConfigurableResource, PipesSubprocessClient
from pydantic import Field

from unsup_core.results import ExperimentResult

TORCHRUN = Path(sys.executable).with_name("torchrun")


class DistributedTraining(ConfigurableResource):
    """How many processes train a step's model (data parallel under torchrun)."""

    processes: int = Field(
        default_factory=lambda: int(os.environ.get("UNSUP_TRAINING_PROCESSES", "1")),
        description="Processes that train a step's model together (1: the step's own process)",
    )

    def recipe(
        self, context: AssetExecutionContext, function: Callable[..., ExperimentResult]
    ) -> Callable[..., ExperimentResult]:
        """``function`` itself for one process; else a call of it under torchrun whose
        training histories come back with the result (epochs are then logged after training,
        not live: ``callbacks`` stay in the step's process and are not passed on)."""
        if self.processes < 1:
            raise ValueError(f"processes={self.processes} must be >= 1")
        if self.processes == 1:
            return function

        def under_torchrun(*inputs: Any, callbacks: Any = None) -> ExperimentResult:
            return self.run(context, function, *inputs)

        return under_torchrun

    def run(
        self,
        context: AssetExecutionContext,
        function: Callable[..., ExperimentResult],
        *inputs: Any,
    ) -> ExperimentResult:
        """``function(*inputs)`` on ``processes`` ranks; rank 0's result, whose metrics Pipes
        also reports to Dagster (with ``world_size``)."""
        with tempfile.TemporaryDirectory(prefix="unsup-ddp-") as folder:
            given, result_path = Path(folder) / "inputs.pkl", Path(folder) / "result.pkl"
            given.write_bytes(pickle.dumps(inputs, protocol=pickle.HIGHEST_PROTOCOL))
            command = [
                str(TORCHRUN),
                "--standalone",
                f"--nproc_per_node={self.processes}",
                "-m",
                "pipelines.distributed_step",
                "--recipe",
                f"{function.__module__}:{function.__qualname__}",
                "--inputs",
                str(given),
                "--out",
                str(result_path),
            ]
            invocation = PipesSubprocessClient().run(
                context=context, command=command, env={"OMP_NUM_THREADS": "1"}
            )
            reported = invocation.get_materialize_result().metadata or {}
            result = pickle.loads(result_path.read_bytes())
        world_size = reported.get("world_size")
        result.tags["world_size"] = str(getattr(world_size, "value", world_size))
        return result
