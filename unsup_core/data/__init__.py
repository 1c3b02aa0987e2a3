"""Datasets, sources (digits, CSV, Parquet) and preparation (split, impute, scale)."""

from .config import PrepareConfig, SourceConfig
from .dataset import Dataset
from .prepare import PreparedData, Scaler, Split, few_label_indices, prepare, stratified_split
from .sources import load_dataset, load_digits_dataset
from .summary import class_balance, summarize_dataset, summarize_prepared
from .tables import load_table

__all__ = [
    "Dataset",
    "PrepareConfig",
    "PreparedData",
    "Scaler",
    "SourceConfig",
    "Split",
    "class_balance",
    "few_label_indices",
    "load_dataset",
    "load_digits_dataset",
    "load_table",
    "prepare",
    "stratified_split",
    "summarize_dataset",
    "summarize_prepared",
]
