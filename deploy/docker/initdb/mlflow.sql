-- MLflow's backend store lives beside Dagster's storage on the same PostgreSQL server.
CREATE DATABASE mlflow;
