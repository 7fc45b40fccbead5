from collections.abc import Iterator

import pytest

from sandbox.engine import EnvironmentPool


@pytest.fixture(scope="module")
def pool() -> Iterator[EnvironmentPool]:
    pool = EnvironmentPool(account_concurrency=50, keep_alive_s=600)
    pool.check()
    yield pool
    pool.shutdown()
