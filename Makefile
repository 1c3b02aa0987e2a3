# Two commands: `make run` (whole asset graph on the bundled digits) and `make test`.
# Both create .venv and install what they need on first use; later calls are quick.
SHELL := /bin/bash
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
PRESET ?= default
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DAGSTER_PORT ?= 3000
MLFLOW_PORT ?= 5000

export DAGSTER_HOME := $(CURDIR)/.dagster_home
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: install run test test-quick cluster-test cluster-up lint format ui validate benchmark clean

# Also headless Chromium and its driver (Debian packages chromium, chromium-driver) for the browser
# tests, when missing: apt-get as root, else through passwordless sudo, else a note to do it.
install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then as_root=; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then as_root="sudo -n"; \
		else as_root=none; fi; \
		if [ "$$as_root" = none ] || ! command -v apt-get >/dev/null; then \
			echo "make install: no root/apt-get here; the browser tests need the Debian packages chromium and chromium-driver"; \
		else \
			echo "make install: apt-get install chromium chromium-driver"; \
			apt="$$as_root env DEBIAN_FRONTEND=noninteractive apt-get"; \
			$$apt install -y -q chromium chromium-driver >/dev/null \
				|| { $$apt update -q >/dev/null && $$apt install -y -q chromium chromium-driver >/dev/null; }; \
		fi; \
	fi

# Torch is pinned in the install step (the CPU wheel); pyproject only asks for a range it satisfies.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench,cluster]'
	@touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml:
	@mkdir -p $(DAGSTER_HOME)
	@printf 'telemetry:\n  enabled: false\n' > $@

# PRESET=tiny or PRESET=path.yaml (laid over the default preset); DATA=table.csv LABEL=column
# runs on your own table with no YAML at all.
run: install
	$(BIN)/python -m pipelines.run_job --preset $(PRESET) $(if $(DATA),--data "$(DATA)") $(if $(LABEL),--label "$(LABEL)")

# The whole suite (what CI runs): lint and format check first, then every test, slow ones too.
test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The cluster profile on this machine (PostgreSQL, Redis, S3, MLflow server, Dagster daemon and
# webserver, two Celery workers, one in its own mount namespace); part of `make test`.
cluster-test: install
	$(BIN)/python -m pytest tests/cluster $(PYTEST_ARGS)

# The same services, kept running until Ctrl-C; prints the URLs and the environment.
cluster-up: install
	$(BIN)/python deploy/cluster/services.py install
	$(BIN)/python deploy/cluster/services.py up

# The inner loop: lint, then the library's unit tests only (no Dagster runs, no services).
test-quick: install lint
	$(BIN)/python -m pytest tests/unsup_core tests/test_layout.py -m "not slow" $(PYTEST_ARGS)

# ruff: lint (pyflakes, pycodestyle, import order, bugbear, pyupgrade, naming) and formatting.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

validate: install
	$(BIN)/dagster definitions validate -w workspace.yaml

# Dagster UI on 127.0.0.1:$(DAGSTER_PORT) and MLflow UI on 127.0.0.1:$(MLFLOW_PORT), same store as `make run`.
ui: install
	@mkdir -p mlflow/artifacts
	@echo "Dagster: http://127.0.0.1:$(DAGSTER_PORT)   MLflow: http://127.0.0.1:$(MLFLOW_PORT)   (Ctrl-C stops both)"
	@$(BIN)/mlflow ui --backend-store-uri "sqlite:///$(CURDIR)/mlflow/mlflow.db" \
		--default-artifact-root "$(CURDIR)/mlflow/artifacts" --host 127.0.0.1 --port $(MLFLOW_PORT) & \
	mlflow_pid=$$!; trap 'kill $$mlflow_pid 2>/dev/null; wait $$mlflow_pid 2>/dev/null' EXIT; \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DAGSTER_PORT)

benchmark: install
	$(BIN)/python benchmarks/trainer.py
	$(BIN)/python benchmarks/som.py

clean:
	rm -rf $(VENV) .dagster_home .pytest_cache
