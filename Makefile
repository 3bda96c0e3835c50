# The few verbs a newcomer needs. Everything installs into .venv from requirements.lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATASETS := dof_pts zoning_lots dob_jobs landmarks dtm_lots zoning_districts
LOTS ?= 10000

.PHONY: demo test setup browser lint bench lock clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

## demo: set up; generate the sample sources, archive them; lock, build, summarise, QA, publish
## and package PLUTO-lite, then MapPLUTO-lite from its build; write the docs; last, distribute
## PLUTO-lite to its folder drop (data/drops/pluto_lite) and say where
demo: setup
	$(BIN)/lake init .
	$(BIN)/lake demo --lots $(LOTS)
	$(BIN)/lake ingest $(DATASETS)
	$(BIN)/lake versions
	$(BIN)/lake lock pluto_lite
	$(BIN)/lake build pluto_lite
	$(BIN)/lake sql pluto_lite "$(SUMMARY)"
	$(BIN)/lake qa report diff pluto_lite
	$(BIN)/lake publish pluto_lite
	$(BIN)/lake package pluto_lite --format csv
	$(BIN)/lake lock mappluto_lite
	$(BIN)/lake build mappluto_lite
	$(BIN)/lake sql mappluto_lite "$(MAP_SUMMARY)"
	$(BIN)/lake qa report diff mappluto_lite
	$(BIN)/lake publish mappluto_lite
	$(BIN)/lake package mappluto_lite --format shapefile
	$(BIN)/lake docs
	$(BIN)/lake distribute pluto_lite

MAP_SUMMARY := SELECT borough, count(*) AS lots, count(geom) AS mapped, round(sum(lotarea_gis) / 27878400, 2) AS square_miles, sum(splitzone::INT) AS split_lots, mode(zonedist1) AS commonest_district FROM mappluto_lite GROUP BY borough ORDER BY borough
SUMMARY := SELECT borough, count(*) AS lots, sum(unitsres) AS residential_units, round(avg(far), 2) AS avg_far, sum(landmark::INT) AS landmarks, sum(dob_job_count) AS dob_jobs FROM pluto_lite GROUP BY borough ORDER BY borough

## test: set up (with Chromium for the browser tests), lint, check the import layers, type-check,
## run the whole suite
test: setup browser
	$(BIN)/ruff check lakehouse transforms contracts tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	LAKEHOUSE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q

## browser: Debian's Chromium, for the tests that open the docs and reports headless
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests ..."; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
	  >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || { \
	  echo "could not install chromium: run 'apt-get install chromium' as root"; exit 1; }; }

lint: setup
	$(BIN)/ruff check lakehouse transforms contracts tests bench
	$(BIN)/ruff format --check lakehouse transforms contracts tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

## bench: ingest vs DuckDB COPY, builds vs hand-written SQL (MapPLUTO-lite also vs geopandas),
## diff, scale (figures go in the README)
bench: setup
	$(BIN)/python bench/ingest.py --lots 1000000 --rounds 5
	$(BIN)/python bench/build.py --lots 200000 1000000 --rounds 5
	$(BIN)/python bench/mappluto.py --lots 1000000
	$(BIN)/python bench/diff.py --lots 1000000
	$(BIN)/python bench/scale.py --lots 1000000 10000000

lock:
	$(PYTHON) -m venv /tmp/lakehouse-lock && /tmp/lakehouse-lock/bin/pip install -q -r requirements.in
	/tmp/lakehouse-lock/bin/pip check
	{ head -2 requirements.lock; /tmp/lakehouse-lock/bin/pip freeze; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .lakehouse data
