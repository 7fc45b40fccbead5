from collections.abc import Iterator

import pytest

from sandbox.pool import shutdown_pool


@pytest.fixture(scope="session", autouse=True)
def _engine_pool_shutdown() -> Iterator[None]:
    """Tests that run invocations in-process use the real engine pool; stop it at the end."""
    yield
    shutdown_pool()
