"""Named run configurations (``pipelines/presets/<name>.yaml``): a run's config is a file."""

from pathlib import Path

import yaml

PRESET_DIR = Path(__file__).resolve().parent / "presets"


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(name: str) -> dict:
    """The run config of preset ``name`` (``tiny``, ``default``) or of a YAML file path."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(
            f"preset {name!r} not found; known presets: {preset_names()} "
            "(or give a path to a .yaml run config)"
        )
    config = yaml.safe_load(path.read_text()) or {}
    if not isinstance(config, dict):
        raise ValueError(
            f"preset {str(path)!r} must hold a mapping (ops: ...), got {type(config).__name__}"
        )
    return config
