"""Plain-text presentation of results for Dagster metadata and MLflow artifacts."""

from collections.abc import Mapping, Sequence


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
