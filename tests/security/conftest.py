# The hostile handlers run in the same kind of pool as the engine's own tests; the secrets
# checks use the Lambda API clients of tests/sandbox/api.
from tests.engine.conftest import pool
from tests.sandbox.api.conftest import lambda_client_for

__all__ = ["lambda_client_for", "pool"]
