# Two commands: `make run` serves the app with Redis and a Celery worker; `make test` runs the
# linters and the whole suite. Both set up everything they need on a fresh Debian machine.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# nodejs24.x: Node.js and the AWS SDK for JavaScript v3, pinned, from the npm registry.
NODE_STAMP := .runtimes/.installed
# python3.11: boto3 and botocore, pinned, from the package index, as Lambda ships them.
PY_SDK_STAMP := .runtimes/python-sdk/.installed
RUN_PACKAGES := redis-server bubblewrap python3.11
TEST_PACKAGES := $(RUN_PACKAGES) chromium postgresql

.PHONY: run test lint pytest bench system-run system-test clean node-runtime python-sdk

node-runtime: $(NODE_STAMP)

python-sdk: $(PY_SDK_STAMP)

$(STAMP): pyproject.toml
	@scripts/system-packages.sh python3-venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(NODE_STAMP): scripts/install-node.py sandbox/engine/runtimes/node/sdk/package-lock.json
	$(PYTHON) scripts/install-node.py
	@touch $(NODE_STAMP)

$(PY_SDK_STAMP): $(STAMP) scripts/install-python-sdk.py sandbox/engine/runtimes/python/sdk/requirements.txt
	$(PY) scripts/install-python-sdk.py
	@touch $(PY_SDK_STAMP)

system-run:
	@scripts/system-packages.sh $(RUN_PACKAGES)

system-test:
	@scripts/system-packages.sh $(TEST_PACKAGES)

run: system-run $(STAMP) $(NODE_STAMP) $(PY_SDK_STAMP)
	$(PY) scripts/dev.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/djlint templates --lint

pytest: system-test $(STAMP) $(NODE_STAMP) $(PY_SDK_STAMP)
	$(PY) scripts/services.py --redis --postgres --moto -- scripts/test-suite.sh

test: system-test lint pytest

bench: system-run $(STAMP) $(NODE_STAMP) $(PY_SDK_STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) bench/engine.py

clean:
	rm -rf $(VENV) .runtimes .run staticfiles .pytest_cache .mypy_cache .ruff_cache
