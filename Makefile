# Two commands: `make run` serves the app with Redis and a Celery worker; `make test` runs the
# linters and the whole suite. Both set up everything they need on a fresh Debian machine.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# nodejs24.x: Node.js and the AWS SDK for JavaScript v3, pinned, from the npm registry.
NODE_STAMP := .runtimes/.installed
RUN_PACKAGES := redis-server bubblewrap python3.11
TEST_PACKAGES := $(RUN_PACKAGES) chromium postgresql

.PHONY: run test lint pytest bench system-run system-test clean node-runtime

node-runtime: $(NODE_STAMP)

$(STAMP): pyproject.toml
	@scripts/system-packages.sh python3-venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(NODE_STAMP): scripts/install-node.py sandbox/engine/runtimes/node/sdk/package-lock.json
	$(PYTHON) scripts/install-node.py
	@touch $(NODE_STAMP)

system-run:
	@scripts/system-packages.sh $(RUN_PACKAGES)

system-test:
	@scripts/system-packages.sh $(TEST_PACKAGES)

run: system-run $(STAMP) $(NODE_STAMP)
	$(PY) scripts/dev.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/djlint templates --lint

pytest: system-test $(STAMP) $(NODE_STAMP)
	$(PY) scripts/services.py --redis --postgres --moto -- scripts/test-suite.sh

test: system-test lint pytest

bench: system-run $(STAMP) $(NODE_STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) bench/engine.py

clean:
	rm -rf $(VENV) .runtimes .run staticfiles .pytest_cache .mypy_cache .ruff_cache
