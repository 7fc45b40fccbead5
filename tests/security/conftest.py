# The hostile handlers run in the same kind of pool as the engine's own tests.
from tests.engine.conftest import pool

__all__ = ["pool"]
