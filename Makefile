# agentfleet: `make demo` runs the embedded demo, `make test` runs every test layer.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: demo test test-unit test-integration test-e2e check lint typecheck format services bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agentfleet demo

services:
	deploy/dev/ensure-services.sh

test: $(STAMP) services
	$(PYTEST) tests

test-unit: $(STAMP)
	$(PYTEST) tests/unit -m unit

test-integration: $(STAMP) services
	$(PYTEST) tests/integration -m integration

test-e2e: $(STAMP) services
	$(PYTEST) tests/e2e -m e2e

check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) services
	$(BIN)/python -m bench.throughput
	$(BIN)/python -m bench.rate_governor

clean:
	rm -rf $(VENV) .demo
