# Two commands do all set-up on a fresh machine with only python3: `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-data
DEMO_SCALE ?= default
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: install demo test lint bench clean

$(UV):
	$(PY) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/ecoradar: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python $(PY)
	@touch $@

install: $(BIN)/ecoradar ## create .venv/ with every pinned dependency

demo: install ## simulate the default world and run the whole pipeline on it
	$(BIN)/ecoradar demo --out $(DEMO_DIR) --scale $(DEMO_SCALE)

test: install ## lint and run the test suite
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: install ## the quick benchmarks (each prints a table); see bench/README.md for the rest
	$(BIN)/python bench/bench_simulate.py
	$(BIN)/python bench/bench_detect_nab.py
	$(BIN)/python bench/bench_rca.py
	$(BIN)/python bench/bench_impact_reference.py

clean:
	rm -rf .uv $(VENV) $(DEMO_DIR) .pytest_cache
