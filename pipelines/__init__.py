"""The Dagster code location: thin assets that wire unsup_core, configs and MLflow together."""
