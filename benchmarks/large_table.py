"""How the whole graph's cost grows with the data: `make run PRESET=tiny DATA=... LABEL=...` on
generated tables of 10k, 100k and 1M rows x 50 numeric columns (10 classes around random
centres), each run in its own process against a fresh Dagster instance and MLflow store.

Per step (asset or check): seconds (Dagster's step stats) and the peak resident memory of the
run's process while the step ran (``/proc/<pid>/status`` sampled every 0.2 s, Linux only;
"-" for steps shorter than that).
The growth columns are ratios against the smallest table of the same run: with cost bounded by
sampling and mini-batching, time should grow far slower than the rows. A run that exceeds
``--limit-minutes`` is stopped and reported with the step it was in (the issue's target: 1M rows
in <= 10 minutes, peak RSS <= 4 GiB, on 2 cores).

Run ``python benchmarks/large_table.py`` (``--quick``: 2k and 10k rows); it prints a table and
writes ``benchmarks/results/large_table.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import write_results

RESULTS = ROOT / "benchmarks" / "results" / "large_table.json"
COLUMNS, CLASSES, SEED = 50, 10, 0
SAMPLE_SECONDS = 0.2
CHUNK_ROWS = 100_000


def write_table(path: Path, rows: int) -> float:
    """A CSV of ``rows`` x 50 features (one decimal) and a ``label`` column; its size in MiB."""
    rng = np.random.default_rng(SEED)
    centres = rng.normal(0, 3, (CLASSES, COLUMNS))
    header = ",".join([*(f"x{j}" for j in range(COLUMNS)), "label"])
    with path.open("w") as handle:
        handle.write(header + "\n")
        for start in range(0, rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, rows - start)
            y = rng.integers(0, CLASSES, n)
            X = centres[y] + rng.normal(0, 1, (n, COLUMNS))
            block = np.column_stack([np.round(X, 1), y])
            np.savetxt(handle, block, fmt=["%.1f"] * COLUMNS + ["%d"], delimiter=",")
    return path.stat().st_size / 2**20


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def sample_memory(process: subprocess.Popen, samples: list[tuple[float, float]]) -> None:
    while process.poll() is None:
        value = rss_mib(process.pid)
        if value is not None:
            samples.append((time.time(), value))
        time.sleep(SAMPLE_SECONDS)


def step_records(home: str) -> list[dict]:
    """Each step of the run in the instance at ``home``: name, start, end, status."""
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(home)
    runs = instance.get_runs(limit=1)
    if not runs:
        return []
    return [
        {
            "step": s.step_key,
            "start": s.start_time,
            "end": s.end_time,
            "status": s.status.value if s.status else "RUNNING",
        }
        for s in instance.get_run_step_stats(runs[0].run_id)
        if s.start_time
    ]


def run_graph(path: Path, limit_seconds: float) -> dict:
    """The tiny graph on the table at ``path``; per-step seconds and peak RSS."""
    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {
            **os.environ,
            "DAGSTER_HOME": home,
            "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
        command = [sys.executable, "-m", "pipelines.run_job", "--preset", "tiny"]
        command += ["--data", str(path), "--label", "label"]
        started = time.time()
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        samples: list[tuple[float, float]] = []
        sampler = threading.Thread(target=sample_memory, args=(process, samples), daemon=True)
        sampler.start()
        try:
            output, _ = process.communicate(timeout=limit_seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            process.terminate()  # SIGTERM: the run is canceled and its steps recorded
            output, _ = process.communicate(timeout=120)
            timed_out = True
        sampler.join()
        seconds = time.time() - started
        steps = step_records(home)
    for step in steps:
        end = step["end"] or time.time()
        inside = [rss for t, rss in samples if step["start"] <= t <= end]
        step["seconds"] = end - step["start"]
        step["peak_rss_mib"] = max(inside) if inside else None
    return {
        "seconds": seconds,
        "returncode": process.returncode,
        "timed_out": timed_out,
        "peak_rss_mib": max((rss for _, rss in samples), default=None),
        "steps": steps,
        "tail": output.decode(errors="replace")[-1500:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2k and 10k rows (a smoke run)")
    parser.add_argument("--rows", type=int, nargs="+", help="table sizes (default 10k 100k 1M)")
    parser.add_argument("--limit-minutes", type=float, default=20.0, help="per table")
    args = parser.parse_args()
    sizes = args.rows or ([2_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000])
    report: dict = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "preset": "tiny",
        "columns": COLUMNS,
        "tables": {},
    }
    with tempfile.TemporaryDirectory() as data_dir:
        for rows in sizes:
            path = Path(data_dir, f"table_{rows}.csv")
            size = write_table(path, rows)
            print(f"{rows} rows ({size:.0f} MiB): running the tiny graph ...", flush=True)
            result = run_graph(path, args.limit_minutes * 60)
            result["csv_mib"] = size
            report["tables"][str(rows)] = result
            stopped = " (stopped at the limit)" if result["timed_out"] else ""
            print(
                f"  {result['seconds']:.0f} s, peak {result['peak_rss_mib'] or 0:.0f} MiB, "
                f"exit {result['returncode']}{stopped}"
            )
    print_table(report, sizes)
    write_results(report, RESULTS, args.quick)


def print_table(report: dict, sizes: list[int]) -> None:
    tables = report["tables"]
    base = tables[str(sizes[0])]
    print(f"\nWhole tiny graph on {COLUMNS}-column tables ({report['cpus']} CPUs)\n")
    print("| rows | CSV MiB | seconds | x smallest | peak RSS MiB | outcome |")
    print("|---|---|---|---|---|---|")
    for rows in sizes:
        row = tables[str(rows)]
        outcome = "stopped at the limit" if row["timed_out"] else f"exit {row['returncode']}"
        print(
            f"| {rows:,} | {row['csv_mib']:.0f} | {row['seconds']:.0f} | "
            f"{row['seconds'] / base['seconds']:.1f} | {row['peak_rss_mib'] or 0:.0f} | {outcome} |"
        )
    names = [s["step"] for s in tables[str(sizes[-1])]["steps"]] or [
        s["step"] for s in base["steps"]
    ]
    print("\n| step | " + " | ".join(f"{r:,} rows s (MiB)" for r in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in names:
        cells = []
        for rows in sizes:
            found = [s for s in tables[str(rows)]["steps"] if s["step"] == name]
            if not found:
                cells.append("-")
                continue
            step = found[0]
            peak = "-" if step["peak_rss_mib"] is None else f"{step['peak_rss_mib']:.0f}"
            status = "" if step["status"] == "SUCCESS" else f" {step['status']}"
            cells.append(f"{step['seconds']:.1f} ({peak}){status}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
