"""What the cluster profile costs and what data parallelism gives, on this machine.

1. The whole graph (tiny, and the default preset unless ``--quick``) in-process (``make run``)
   against the cluster profile: PostgreSQL, Redis, S3 (SeaweedFS), the MLflow server, the
   daemon and two Celery workers (deploy/cluster/services.py), the run launched through the
   webserver. Wall time, the peak of the summed memory of every process involved, and each
   step's duration in both; the cluster's per-step overhead (object storage, server round trips,
   a fresh process per step) is ``cluster step / in-process step - 1`` over the steps that run
   longer than a second.
2. Data parallel training under torchrun: training samples per second of the shared Trainer
   (plain autoencoder on digits, global batch 256) with 1 and 2 ranks.
3. The batch Kohonen map, data parallel: 100,000 x 64 rows, 20 x 20 nodes, 10 epochs, float64,
   on 1 and 2 ranks (the maps equal, max relative difference reported) and the bytes each rank
   all-reduces per epoch, so the scaling to many machines can be worked out.

Run ``python benchmarks/scale.py`` (``--quick``: the tiny graph only, smaller map); it prints
tables and writes ``benchmarks/results/scale.json``. Needs what the cluster test needs (root,
PostgreSQL and Redis from Debian, the cluster extra).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from common import write_results

from deploy.cluster.services import LocalCluster, install, missing_prerequisites
from deploy.webserver_client import DagsterWebserver
from pipelines.presets import load_preset

RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
TORCHRUN = Path(sys.executable).with_name("torchrun")
WORKER_SCRIPT = ROOT / "benchmarks" / "scale_worker.py"


class MemorySampler:
    """The peak, over time, of the summed resident memory of a process tree (sampled)."""

    def __init__(self, root_pids: list[int], every: float = 0.25) -> None:
        self.roots, self.every, self.peak_mib = root_pids, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _children(pid: int) -> list[int]:
        found = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                found += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
        return found

    @staticmethod
    def _rss_mib(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            seen, todo = set(), list(self.roots)
            while todo:
                pid = todo.pop()
                if pid not in seen:
                    seen.add(pid)
                    todo += self._children(pid)
            self.peak_mib = max(self.peak_mib, sum(self._rss_mib(pid) for pid in seen))
            time.sleep(self.every)


def step_seconds(run_id: str) -> dict[str, float]:
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    return {
        s.step_key: s.end_time - s.start_time
        for s in instance.get_run_step_stats(run_id)
        if s.end_time and s.start_time
    }


def in_process(preset: str) -> dict:
    """``python -m pipelines.run_job`` into a temporary instance and store."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DAGSTER_HOME": tmp,
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/m.db",
            "UNSUP_PROFILE": "local",
        }
        Path(tmp, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.run_job", "--preset", preset],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with MemorySampler([process.pid]) as memory:
            process.wait()
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            raise RuntimeError(f"make run --preset {preset} failed")
        code = (
            "import json, os; from dagster import DagsterInstance; i = DagsterInstance.get();"
            "r = i.get_runs(limit=1)[0]; print(json.dumps({s.step_key: s.end_time - "
            "s.start_time for s in i.get_run_step_stats(r.run_id)}))"
        )
        steps = json.loads(
            subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    return {"seconds": seconds, "peak_mib": memory.peak_mib, "steps": steps}


def on_cluster(cluster: LocalCluster, preset: str) -> dict:
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    started = time.perf_counter()
    with MemorySampler([os.getpid()]) as memory:  # the services are this process's children
        run_id = DagsterWebserver(cluster.webserver_url).launch(load_preset(preset))
        while True:
            status = instance.get_run_by_id(run_id).status.value
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(1)
    if status != "SUCCESS":
        raise RuntimeError(f"cluster run {run_id} ended {status}")
    return {
        "seconds": time.perf_counter() - started,
        "peak_mib": memory.peak_mib,
        "steps": step_seconds(run_id),
    }


def overhead(local: dict, cluster: dict) -> float | None:
    """Mean of cluster / in-process - 1 over the asset steps that take over a second."""
    ratios = [
        cluster["steps"][k] / v - 1
        for k, v in local["steps"].items()
        if v > 1.0 and k in cluster["steps"]
    ]
    return sum(ratios) / len(ratios) if ratios else None


def torchrun(ranks: int, *args: str) -> dict:
    out = Path(tempfile.mkdtemp()) / "result.json"
    subprocess.run(
        [
            str(TORCHRUN),
            "--standalone",
            f"--nproc_per_node={ranks}",
            str(WORKER_SCRIPT),
            "--out",
            str(out),
            *args,
        ],
        check=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
    )
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny graph only, smaller map")
    args = parser.parse_args()
    presets = ["tiny"] if args.quick else ["tiny", "default"]
    report: dict = {"machine": platform.platform(), "cpus": os.cpu_count(), "graphs": {}}

    for ranks in (1, 2):
        report.setdefault("trainer", {})[ranks] = torchrun(ranks, "trainer")
        report.setdefault("som", {})[ranks] = torchrun(
            ranks, "som", "--rows", "20000" if args.quick else "100000"
        )
    print("\n| ranks | trainer samples/s | SOM 10 epochs s | SOM bytes all-reduced per epoch |")
    print("|---|---:|---:|---:|")
    for ranks in (1, 2):
        t, s = report["trainer"][ranks], report["som"][ranks]
        print(
            f"| {ranks} | {t['samples_per_second']:,.0f} | {s['seconds']:.2f} | "
            f"{s['bytes_per_epoch']:,} |"
        )
    report["som_max_relative_difference"] = max(
        abs(a - b) / max(abs(a), 1e-300)
        for a, b in zip(report["som"][1]["checksum"], report["som"][2]["checksum"])
    )

    install()
    missing = missing_prerequisites()
    if missing:
        print("cluster part skipped: missing " + "; ".join(missing))
    else:
        for preset in presets:
            report["graphs"][preset] = {"in_process": in_process(preset)}
        root = ROOT / ".cluster" / f"bench-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        with LocalCluster(root, workers={"a": ("dagster", "a"), "b": ("dagster", "b")}) as cluster:
            report["cluster_startup_seconds"] = time.perf_counter() - started
            os.environ.update(cluster.env())
            for preset in presets:
                graph = report["graphs"][preset]
                graph["cluster_two_workers"] = on_cluster(cluster, preset)
                graph["step_overhead"] = overhead(graph["in_process"], graph["cluster_two_workers"])
        print(f"\ncluster services started in {report['cluster_startup_seconds']:.0f} s\n")
        print(
            "| graph | in-process s | 2 Celery workers s | ratio | peak MiB in-process / "
            "cluster | per-step overhead |"
        )
        print("|---|---:|---:|---:|---|---:|")
        for preset, graph in report["graphs"].items():
            local, remote = graph["in_process"], graph["cluster_two_workers"]
            step = graph["step_overhead"]
            print(
                f"| {preset} | {local['seconds']:.1f} | {remote['seconds']:.1f} | "
                f"{remote['seconds'] / local['seconds']:.2f} | {local['peak_mib']:,.0f} / "
                f"{remote['peak_mib']:,.0f} | "
                f"{'-' if step is None else f'{100 * step:+.0f}%'} |"
            )
    write_results(report, RESULTS, args.quick)


if __name__ == "__main__":
    main()
