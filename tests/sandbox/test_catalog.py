"""Every blueprint, in both languages, runs in the real engine with its own sample event."""

import json

import pytest

from sandbox import catalog
from sandbox.engine import EnvironmentPool, FunctionSpec
from tests.engine.conftest import pool

__all__ = ["pool"]


@pytest.mark.parametrize("runtime", ["python3.11", "nodejs24.x"])
@pytest.mark.parametrize("key", list(catalog.BLUEPRINTS))
def test_blueprints_run_with_their_sample_event(pool: EnvironmentPool, key: str, runtime: str):
    blueprint = catalog.BLUEPRINTS[key]
    spec = FunctionSpec(
        name=f"bp-{key}",
        handler=catalog.default_handler(runtime),
        code={catalog.handler_file(runtime): blueprint.source_for(runtime)},
        runtime=runtime,
        memory_mb=1769,
        timeout_s=10,
        namespace=f"catalog-{runtime}",
    )
    result = pool.invoke(spec, json.loads(blueprint.event.body))
    assert result.status == "success", result.log
    assert result.payload is not None


@pytest.mark.parametrize("key", list(catalog.BLUEPRINTS))
def test_both_languages_answer_alike(pool: EnvironmentPool, key: str):
    # The Node.js twin returns the same keys as the Python original.
    blueprint = catalog.BLUEPRINTS[key]
    payloads = []
    for runtime in ("python3.11", "nodejs24.x"):
        spec = FunctionSpec(
            name=f"bp-{key}",
            handler=catalog.default_handler(runtime),
            code={catalog.handler_file(runtime): blueprint.source_for(runtime)},
            runtime=runtime,
            memory_mb=1769,
            timeout_s=10,
            namespace=f"alike-{runtime}",
        )
        payloads.append(pool.invoke(spec, json.loads(blueprint.event.body)).payload)
    python, node = payloads
    assert isinstance(python, dict) and isinstance(node, dict)
    assert set(python) == set(node)


def test_defaults_per_runtime():
    assert catalog.handler_file("nodejs24.x") == "index.mjs"
    assert catalog.default_handler("nodejs24.x") == "index.handler"
    assert catalog.handler_file("python3.11") == "lambda_function.py"
    assert "export const handler" in catalog.BLUEPRINTS["blank"].source_for("nodejs24.x")
