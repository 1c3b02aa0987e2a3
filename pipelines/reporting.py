"""Plain-text presentation of results for Dagster metadata and MLflow artifacts."""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import FloatMetadataValue


def markdown_table(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> str:
    """A Markdown table; floats to 4 significant digits, missing cells as '-'."""

    def cell(value: object) -> str:
        if value is None:
            return "-"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def metadata_values(
    metrics: Mapping[str, float], keys: Sequence[str] | None = None, prefix: str = ""
) -> dict[str, float]:
    """Metrics as Dagster metadata entries: ``test/recon`` -> ``<prefix>test_recon`` (all of
    them, or the ``keys`` present)."""
    chosen = metrics if keys is None else [k for k in keys if k in metrics]
    return {prefix + key.replace("/", "_"): metrics[key] for key in chosen}


SIGNIFICANT_DIGITS = 4  # metadata floats as the UI shows them (MLflow keeps full precision)


def rounded(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata`` with every float (plain or ``MetadataValue.float``) rounded to 4 significant
    digits, so the Dagster UI shows 0.9655, not 0.96551724137931."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, FloatMetadataValue) and value.value is not None:
            value = value.value
        if isinstance(value, float) and math.isfinite(value):
            value = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
        out[key] = value
    return out
