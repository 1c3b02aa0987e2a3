"""Shared by the benchmark scripts: where and how a run's report is written."""

import json
from pathlib import Path


def write_results(report: dict, path: Path, quick: bool) -> Path:
    """Write ``report`` as JSON to ``path`` (``<name>.quick.json`` for smoke runs, which are
    git-ignored, so a quick run never overwrites the measured results) and say where."""
    target = path.with_suffix(".quick.json") if quick else path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"wrote {target}")
    return target
