"""Data parallelism under torchrun: two processes train the same model as one process with the
same global batch (to float tolerance), and the batch map's all-reduced statistics give the
single-process map (float64, rtol 1e-10)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unsup_core.training.distributed import World, init_from_environment, shard, world

WORKER = Path(__file__).with_name("ddp_worker.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")


def load_worker():
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_torchrun(tmp_path: Path, ranks: int) -> dict[str, np.ndarray]:
    out = tmp_path / f"ranks{ranks}.npz"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            str(TORCHRUN),
            "--standalone",
            f"--nproc_per_node={ranks}",
            str(WORKER),
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(np.load(out))


@pytest.mark.slow
def test_two_ranks_train_the_same_model_and_map_as_one_process(tmp_path):
    worker = load_worker()
    single = {**worker.train_autoencoder(), **worker.fit_map()}
    parallel = run_torchrun(tmp_path, 2)
    assert int(parallel["world_size"]) == 2
    for key, value in single.items():
        if key.startswith("ae/"):
            np.testing.assert_allclose(parallel[key], value, rtol=1e-4, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_allclose(parallel[key], value, rtol=1e-10, atol=0, err_msg=key)
    # the check has teeth: the global batch matters (64 rows instead of 32: another model)
    other = worker.train_autoencoder(batch_size=64)
    assert not np.allclose(
        other["ae/encoder.0.weight"], parallel["ae/encoder.0.weight"], rtol=1e-4, atol=1e-6
    )


def test_without_a_process_group_the_world_is_one_process():
    assert world() == World(0, 1) and world().is_main
    import torch

    index = torch.arange(7)
    assert shard(index, World(1, 3)).tolist() == [1, 4]
    assert shard(index, World(0, 1)).tolist() == list(range(7))
    if "RANK" not in os.environ:
        with pytest.raises(ValueError, match="RANK is not set; start the script with torchrun"):
            init_from_environment()
