"""MLflow tag names the pipeline writes on its runs and reads back: the tracking resource sets
them, the experiment history and the run lifecycle find runs by them."""

TAG_RUN_ID = "dagster.run_id"
TAG_LEVEL = "dagster.level"  # "run" on a parent run, "asset" on an asset's run
TAG_ASSET = "dagster.asset_key"
TAG_STEP = "dagster.step_key"
# What a parent run computed, so runs filter and compare by it: the preset, the data source and
# a hash of the run config (runs with one hash are alike; see pipelines.presets.config_hash).
TAG_PRESET, TAG_DATA, TAG_CONFIG_HASH = "unsup.preset", "unsup.data", "unsup.config_hash"

__all__ = [
    "TAG_ASSET",
    "TAG_CONFIG_HASH",
    "TAG_DATA",
    "TAG_LEVEL",
    "TAG_PRESET",
    "TAG_RUN_ID",
    "TAG_STEP",
]
