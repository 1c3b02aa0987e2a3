"""One rank of a step trained under torchrun (started by :mod:`pipelines.distributed`): join
the process group, call the recipe on the step's inputs, and on rank 0 write the result and
report its metrics to Dagster through Pipes.

``torchrun --nproc_per_node=N -m pipelines.distributed_step --recipe module:function
--inputs inputs.pkl --out result.pkl``
"""

import argparse
import importlib
import pickle
from pathlib import Path

import torch.distributed as dist
from dagster_pipes import open_dagster_pipes

from unsup_core.training.distributed import init_from_environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", required=True, help="module:function of the recipe")
    parser.add_argument("--inputs", required=True, help="pickle of the recipe's arguments")
    parser.add_argument("--out", required=True, help="where rank 0 writes the result")
    args = parser.parse_args()
    where = init_from_environment()
    module, name = args.recipe.split(":")
    recipe = getattr(importlib.import_module(module), name)
    inputs = pickle.loads(Path(args.inputs).read_bytes())
    result = recipe(*inputs)
    if where.is_main:
        Path(args.out).write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        with open_dagster_pipes() as pipes:
            metrics = {k: float(v) for k, v in result.metrics.items()}
            pipes.log.info(f"{args.recipe} trained on {where.size} processes")
            pipes.report_asset_materialization(metadata={"world_size": where.size, **metrics})
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
