"""Named run configurations (``pipelines/presets/<name>.yaml``): a run's config is a file.

A user's preset file overrides a base preset key by key (``default`` unless the file says
``base: tiny``): nested mappings merge, any other value (a number, a list) replaces the base's.
So a file naming only ``raw_dataset`` runs every other asset as the base preset configures it.
"""

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PRESET_DIR = Path(__file__).resolve().parent / "presets"
BASE_KEY = "base"  # a user preset's base preset (default: "default")

# What `make run DATA=... LABEL=...` reads a table with: missing answers ('?' or empty)
# imputed from the training split, constant columns dropped.
TABLE_SOURCE = {
    "source": "file",
    "missing": "impute",
    "na_values": ["?"],
    "constant_columns": "drop",
}


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def compose(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it, key by key (mappings merge recursively)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = compose(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"preset {str(path)!r} is not valid YAML: {error}") from error
    if not isinstance(config, dict):
        raise ValueError(
            f"preset {str(path)!r} must hold a mapping (ops: ...), got {type(config).__name__}"
        )
    return config


def load_preset(name: str) -> dict[str, Any]:
    """The run config of preset ``name`` (``tiny``, ``default``, ``full``) or of a YAML file
    path laid over its base preset (``base:`` in the file; ``default`` if absent for a file; a
    named preset with ``base:``, such as ``full``, lies over that one too)."""
    is_file = name.endswith((".yaml", ".yml"))
    path = Path(name) if is_file else PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(
            f"preset {name!r} not found; known presets: {preset_names()} "
            "(or give a path to a .yaml run config)"
        )
    config = _read(path)
    if not is_file and BASE_KEY not in config:
        return config
    base = config.pop(BASE_KEY, "default")
    if base not in preset_names():
        raise ValueError(f"preset {name!r}: base {base!r} is not one of {preset_names()}")
    return compose(_read(PRESET_DIR / f"{base}.yaml"), config)


def data_source(run_config: Mapping[str, Any]) -> str:
    """What a run reads: the table's path, or the named built-in source (``digits``)."""
    config = run_config.get("ops", {}).get("raw_dataset", {}).get("config", {})
    return str(config.get("path") or config.get("source") or "digits")


# Settings of how a run is reported and registered, not of what it computes.
NOT_HASHED = ("experiment_report", "registered_models")


def config_hash(run_config: Mapping[str, Any]) -> str:
    """12 hex digits naming what a run computes (its assets' and checks' config, ``ops``, but
    not :data:`NOT_HASHED`): runs with the same hash are alike and compare; loggers and
    executors do not count."""
    ops = {k: v for k, v in run_config.get("ops", {}).items() if k not in NOT_HASHED}
    text = json.dumps(ops, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def with_table(run_config: Mapping[str, Any], path: str, label: str | None) -> dict[str, Any]:
    """``run_config`` reading its data from the table at ``path`` (``label``: its class
    column, if any) with :data:`TABLE_SOURCE`'s settings."""
    source = {**TABLE_SOURCE, "path": path, "label_column": label}
    return compose(run_config, {"ops": {"raw_dataset": {"config": source}}})
