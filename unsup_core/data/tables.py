"""Read a user's CSV or Parquet file into a :class:`Dataset`, with errors that say where.

The path may be a local path or a URI of object storage (``s3://bucket/key.csv``, read through
fsspec with the store's usual environment, e.g. ``AWS_ENDPOINT_URL``). Every error is a
``ValueError`` naming the file and, where it applies, the column, the row (0-based data row; for
CSV also the file line, header = line 1) and the offending value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from upath import UPath

from .config import SourceConfig
from .dataset import Dataset

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
NUMERIC_SHARE = (
    0.9  # an object column this share of which parses as numbers is "numeric with typos"
)
FLOAT32_MAX = float(np.finfo(np.float32).max)  # features are stored as float32


def load_table(config: SourceConfig) -> Dataset:
    """Load ``config.path`` and encode it as float32 features (+ integer labels)."""
    path = UPath(str(config.path))
    frame = read_frame(path, config)
    where = _Where(path)
    frame = _select_columns(frame, config, where)
    labels = None
    if config.label_column is not None:
        labels = frame.pop(config.label_column)
    own_level = _binary_text_columns(frame) if config.binary_missing == "own_level" else set()
    frame, labels = _apply_row_policy(frame, labels, config, where, own_level)
    X, names = _encode_features(frame, config, where, own_level)
    if config.image_shape is None:  # an image's constant pixels (a border) are kept
        X, names = _handle_constant_columns(X, names, config, where)
    y, class_names = (None, None) if labels is None else _encode_labels(labels, config, where)
    return Dataset(
        X=X,
        feature_names=tuple(names),
        y=y,
        class_names=class_names,
        image_shape=config.image_shape,
        row_ids=frame.index.to_numpy(np.int64),
        source=str(path),
        keep_mask=config.missing == "mask",
    )


def read_frame(path: UPath, config: SourceConfig) -> pd.DataFrame:
    """Read the file as a DataFrame indexed by 0-based data row."""
    if not path.exists():
        raise ValueError(f"file {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"file {str(path)!r} is a directory, not a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise ValueError(f"file {str(path)!r} is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise ValueError(
            f"file {str(path)!r}: unknown format {suffix!r}; expected one of "
            f"{list(CSV_SUFFIXES + PARQUET_SUFFIXES)}"
        )
    try:
        with path.open("rb") as handle:
            if suffix in CSV_SUFFIXES:
                sep = "\t" if suffix == ".tsv" and config.separator == "," else config.separator
                frame = pd.read_csv(handle, sep=sep, na_values=list(config.na_values) or None)
            else:
                frame = pd.read_parquet(handle)
            if config.na_values:
                frame = frame.replace(list(config.na_values), np.nan)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise ValueError(f"file {str(path)!r} cannot be read as {suffix[1:]}: {err}") from err
    if frame.shape[1] == 0:
        raise ValueError(f"file {str(path)!r} has no columns")
    _reject_duplicate_names(path, config, list(frame.columns))
    if frame.shape[0] == 0:
        raise ValueError(f"file {str(path)!r} has a header but no data rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def _reject_duplicate_names(path: UPath, config: SourceConfig, columns: list[str]) -> None:
    """pandas renames a repeated CSV header (``f0``, ``f0.1``); the file's own header decides."""
    names = [str(c) for c in columns]
    if path.suffix.lower() in CSV_SUFFIXES:
        sep = (
            "\t" if path.suffix.lower() == ".tsv" and config.separator == "," else config.separator
        )
        with path.open("rb") as handle:
            header = pd.read_csv(handle, sep=sep, header=None, nrows=1, dtype=str)
        names = [str(c) for c in header.iloc[0].tolist()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"file {str(path)!r}: duplicated column names {repeated} in the header; "
            "every column needs its own name"
        )


def _show(value: object) -> str:
    """A cell value as a user reads it: ``nan``, ``inf``, ``3.5``, ``'text'``."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(value)


class _Where:
    """Formats 'file, column, row, value' locations for error messages."""

    def __init__(self, path: UPath) -> None:
        self.path = path
        self.is_csv = path.suffix.lower() in CSV_SUFFIXES

    def __call__(self, column: str | None = None, row: int | None = None) -> str:
        text = f"file {str(self.path)!r}"
        if column is not None:
            text += f", column {column!r}"
        if row is not None:
            text += f", row {row}" + (f" (line {row + 2})" if self.is_csv else "")
        return text


def _select_columns(frame: pd.DataFrame, config: SourceConfig, where: _Where) -> pd.DataFrame:
    available = list(frame.columns)
    wanted = [config.label_column] if config.label_column is not None else []
    wanted += list(config.drop_columns) + list(config.feature_columns or ())
    for name in wanted:
        if name not in available:
            raise ValueError(f"{where(name)}: no such column; the file has {available}")
    if config.feature_columns is not None:
        keep = list(config.feature_columns)
        if config.label_column is not None:
            keep.append(config.label_column)
        frame = frame[keep]
    frame = frame.drop(columns=[c for c in config.drop_columns if c in frame.columns])
    features = [c for c in frame.columns if c != config.label_column]
    if not features:
        raise ValueError(
            f"{where()}: no feature columns left (columns {available}, label "
            f"{config.label_column!r}, dropped {list(config.drop_columns)})"
        )
    return frame


def _first_missing(frame: pd.DataFrame) -> tuple[str, int] | None:
    missing = frame.isna()
    if not missing.to_numpy().any():
        return None
    rows, cols = np.nonzero(missing.to_numpy())
    first = int(np.argmin(rows))
    return str(frame.columns[cols[first]]), int(frame.index[rows[first]])


def _binary_text_columns(frame: pd.DataFrame) -> set[str]:
    """Text columns with exactly two levels besides missing values (yes/no answers)."""
    return {
        str(name)
        for name in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[name])
        and not pd.api.types.is_bool_dtype(frame[name])
        and frame[name].dropna().astype(str).nunique() == 2
        and _numeric_with_typo(frame[name]) is None
    }


def _apply_row_policy(
    frame: pd.DataFrame,
    labels: pd.Series | None,
    config: SourceConfig,
    where: _Where,
    own_level: set[str] = frozenset(),
) -> tuple[pd.DataFrame, pd.Series | None]:
    """Missing labels are never imputed; missing features follow ``config.missing`` (except
    in the two-level text columns ``own_level``, where missing is a level of its own)."""
    checked = frame.drop(columns=sorted(own_level))
    if config.missing == "drop":
        keep = ~checked.isna().any(axis=1)
        if labels is not None:
            keep &= labels.notna()
        if not keep.any():
            raise ValueError(
                f"{where()}: missing='drop' removes every row (each row has a missing value)"
            )
        frame = frame[keep]
        labels = None if labels is None else labels[keep]
        return frame, labels
    if labels is not None and labels.isna().any():
        row = int(labels.index[labels.isna().to_numpy()][0])
        raise ValueError(
            f"{where(config.label_column, row)}: label is missing (value "
            f"{_show(labels[row])}); use missing='drop' to skip unlabelled rows"
        )
    if config.missing == "error":
        first = _first_missing(checked)
        if first is not None:
            column, row = first
            raise ValueError(
                f"{where(column, row)}: value {_show(frame.at[row, column])} is missing "
                f"and missing='error'; choose missing='drop', 'impute' or 'mask'"
            )
    return frame, labels


def _numeric_with_typo(column: pd.Series) -> tuple[int, object] | None:
    """For a text column that is mostly numbers, the first row that is not one."""
    present = column.dropna()
    parsed = pd.to_numeric(present, errors="coerce")
    if len(present) == 0 or parsed.notna().mean() < NUMERIC_SHARE or parsed.notna().all():
        return None
    bad = present.index[parsed.isna().to_numpy()][0]
    return int(bad), present[bad]


def _encode_features(
    frame: pd.DataFrame, config: SourceConfig, where: _Where, own_level: set[str] = frozenset()
) -> tuple[np.ndarray, list[str]]:
    blocks: list[np.ndarray] = []
    names: list[str] = []
    unusable: list[str] = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            _reject_inf(values, column, where)
            _reject_float32_overflow(values, column, where)
            blocks.append(values[:, None])
            names.append(name)
            continue
        typo = _numeric_with_typo(column)
        if typo is not None:
            row, value = typo
            raise ValueError(
                f"{where(name, row)}: value {_show(value)} is not a number, but the rest "
                "of the column is numeric"
            )
        levels = sorted(column.dropna().astype(str).unique())
        if len(levels) > config.max_categories:
            unusable.append(name)
            continue
        block, block_names = _encode_categorical(
            column,
            name,
            levels,
            config.categorical,
            missing_value=0.5 if name in own_level else None,
        )
        blocks.append(block)
        names.extend(block_names)
    if not blocks:
        raise ValueError(
            f"{where()}: no numeric columns (columns {list(frame.columns)} hold text "
            f"with more than max_categories={config.max_categories} distinct values; "
            f"is the separator {config.separator!r} right?)"
        )
    if unusable:
        sample = frame[unusable[0]].dropna().iloc[0]
        raise ValueError(
            f"{where(unusable[0])}: text column with more than "
            f"max_categories={config.max_categories} distinct values (e.g. {_show(sample)}); "
            "drop it with drop_columns or raise max_categories"
        )
    return np.hstack(blocks).astype(np.float32), names


def _reject_inf(values: np.ndarray, column: pd.Series, where: _Where) -> None:
    infinite = np.isinf(values)
    if infinite.any():
        row = int(column.index[np.argmax(infinite)])
        raise ValueError(f"{where(str(column.name), row)}: value {_show(column[row])} is infinite")


def _reject_float32_overflow(values: np.ndarray, column: pd.Series, where: _Where) -> None:
    """A finite value that becomes +-inf when cast to float32 (``|value| > 3.4e+38``)."""
    with np.errstate(over="ignore"):
        overflow = np.isinf(values.astype(np.float32)) & np.isfinite(values)
    if overflow.any():
        row = int(column.index[np.argmax(overflow)])
        raise ValueError(
            f"{where(str(column.name), row)}: value {_show(column[row])} does not fit in "
            f"float32 (largest magnitude {FLOAT32_MAX:.2g})"
        )


def _encode_categorical(
    column: pd.Series, name: str, levels: list[str], mode: str, missing_value: float | None = None
) -> tuple[np.ndarray, list[str]]:
    """One-hot (one column per level) or ordinal (sorted level codes); two levels give one 0/1
    column (named ``name=<second level>`` when one-hot). NaN stays NaN unless
    ``missing_value`` is set."""
    text = column.astype(str).where(column.notna(), None)
    missing = column.isna().to_numpy()
    if len(levels) == 2:  # ordinal keeps the column's name; its codes are the same 0/1
        values = (text == levels[1]).to_numpy(np.float64)
        values[missing] = np.nan if missing_value is None else missing_value
        return values[:, None], [name if mode == "ordinal" else f"{name}={levels[1]}"]
    if mode == "ordinal":
        codes = text.map({level: i for i, level in enumerate(levels)}).to_numpy(
            np.float64, na_value=np.nan
        )
        return codes[:, None], [name]
    block = np.stack([(text == level).to_numpy(np.float64) for level in levels], axis=1)
    block[missing] = np.nan
    return block, [f"{name}={level}" for level in levels]


def _handle_constant_columns(
    X: np.ndarray, names: list[str], config: SourceConfig, where: _Where
) -> tuple[np.ndarray, list[str]]:
    if config.constant_columns == "keep" or X.shape[0] < 2:
        return X, names
    with np.errstate(all="ignore"):
        constant = np.nanmax(X, axis=0) == np.nanmin(X, axis=0)
    if not constant.any():
        return X, names
    if config.constant_columns == "error":
        j = int(np.argmax(constant))
        value = X[~np.isnan(X[:, j]), j][0]
        raise ValueError(
            f"{where(names[j])}: column is constant (every row = {value:g}); it "
            "carries no information: set constant_columns='drop' or 'keep'"
        )
    keep = ~constant
    return X[:, keep], [n for n, k in zip(names, keep) if k]


def _encode_labels(
    labels: pd.Series, config: SourceConfig, where: _Where
) -> tuple[np.ndarray, tuple[str, ...]]:
    if pd.api.types.is_float_dtype(labels) and not np.all(np.mod(labels.to_numpy(), 1) == 0):
        row = int(labels.index[np.mod(labels.to_numpy(), 1) != 0][0])
        raise ValueError(
            f"{where(config.label_column, row)}: label {_show(labels[row])} is not a class "
            "(labels must be integers or text)"
        )
    if pd.api.types.is_numeric_dtype(labels):
        classes = np.unique(labels.to_numpy())
        names = tuple(str(int(c)) if float(c).is_integer() else str(c) for c in classes)
        codes = np.searchsorted(classes, labels.to_numpy())
    else:
        text = labels.astype(str).to_numpy()
        classes = np.unique(text)
        names = tuple(str(c) for c in classes)
        codes = np.searchsorted(classes, text)
    if len(names) < 2:
        raise ValueError(
            f"{where(config.label_column)}: only one class ({names[0]!r}); a label "
            "column needs at least two"
        )
    return codes.astype(np.int64), names
