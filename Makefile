# agentfleet: `make demo` runs the embedded demo, `make test` runs every test layer.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: demo test test-unit test-integration test-e2e test-deploy check lint typecheck format services tools bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agentfleet demo

services:
	deploy/dev/ensure-services.sh

# promtool (alert rules, Prometheus config) and the official AsyncAPI schemas, for the tests
tools:
	deploy/dev/ensure-tools.sh
	deploy/dev/ensure-asyncapi-specs.sh

test: $(STAMP) services tools
	$(PYTEST) tests

test-unit: $(STAMP) tools
	$(PYTEST) tests/unit -m unit

test-integration: $(STAMP) services
	$(PYTEST) tests/integration -m integration

test-e2e: $(STAMP) services
	$(PYTEST) tests/e2e -m e2e

# Prometheus rules and config, the Grafana dashboard, compose.yaml and the Kubernetes manifests
test-deploy: $(STAMP) tools
	$(PYTEST) tests/unit/test_deploy_*.py -m unit

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
	$(BIN)/python -m bench.scaling

clean:
	rm -rf $(VENV) .demo
