# The few verbs a newcomer needs. Everything installs into .venv from requirements.lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATASETS := dof_pts zoning_lots dob_jobs landmarks
LOTS ?= 10000

.PHONY: demo test setup lint bench lock clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

## demo: set up, generate the PLUTO-lite sample sources, archive them, list their versions
demo: setup
	$(BIN)/lake init .
	$(BIN)/lake demo --lots $(LOTS)
	$(BIN)/lake ingest $(DATASETS)
	$(BIN)/lake versions

## test: set up, lint, type-check, and run the whole test suite
test: setup
	$(BIN)/ruff check lakehouse transforms tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check lakehouse transforms tests bench
	$(BIN)/ruff format --check lakehouse tests bench
	$(BIN)/mypy

## bench: archive ingest vs DuckDB's own COPY, 1M lots (figures go in the README)
bench: setup
	$(BIN)/python bench/ingest.py --lots 1000000

lock:
	$(PYTHON) -m venv /tmp/lakehouse-lock && /tmp/lakehouse-lock/bin/pip install -q -r requirements.in
	/tmp/lakehouse-lock/bin/pip check
	/tmp/lakehouse-lock/bin/pip freeze > requirements.lock

clean:
	rm -rf $(VENV) .lakehouse data
