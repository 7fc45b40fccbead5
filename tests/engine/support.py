"""Helpers shared by tests/engine and tests/security (no Django)."""

from __future__ import annotations

import textwrap
import uuid
from typing import Any

from sandbox.engine import FunctionSpec


def make_spec(source: str, **overrides: Any) -> FunctionSpec:
    """A function whose app.py is `source`; its own namespace so tests never share envs."""
    options: dict[str, Any] = {
        "name": "fn",
        "handler": "app.handler",
        "code": {"app.py": textwrap.dedent(source)},
        "memory_mb": 1769,  # a full vCPU keeps the suite fast
        "timeout_s": 1,
        "namespace": uuid.uuid4().hex,
    }
    options.update(overrides)
    return FunctionSpec(**options)


TRIVIAL = """
def handler(event, context):
    return {"echo": event}
"""


RUNTIME_NAMES = ("python3.11", "nodejs24.x")


def make_node_spec(source: str, *, filename: str = "index.mjs", **overrides: Any) -> FunctionSpec:
    """A nodejs24.x function whose `filename` is `source` (index.handler unless overridden)."""
    options: dict[str, Any] = {
        "handler": "index.handler",
        "runtime": "nodejs24.x",
        "code": {filename: textwrap.dedent(source)},
    }
    options.update(overrides)
    return make_spec("", **options)


NODE_TRIVIAL = """
export const handler = async (event) => ({ echo: event });
"""
