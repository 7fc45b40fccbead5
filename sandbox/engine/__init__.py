"""Lambda Lab's sandbox engine: jailed execution environments that behave like AWS Lambda.

No Django here: the engine is used by the Celery worker, the CLI and the benchmarks alike.
"""

from sandbox.engine.jail import JailUnavailable
from sandbox.engine.pool import EnvironmentPool
from sandbox.engine.result import InvocationResult
from sandbox.engine.spec import FunctionSpec, SpecError

__all__ = [
    "EnvironmentPool",
    "FunctionSpec",
    "InvocationResult",
    "JailUnavailable",
    "SpecError",
]
