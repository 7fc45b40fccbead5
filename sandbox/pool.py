"""The one EnvironmentPool of this process.

A sandbox worker runs Celery's threads pool, so every task in the process shares this pool and
warm environments survive between tasks. The web process never creates one.
"""

import threading

from django.conf import settings

from sandbox.engine import EnvironmentPool

_lock = threading.Lock()
_pool: EnvironmentPool | None = None


def get_pool() -> EnvironmentPool:
    """Return the process-wide pool, creating it (and checking the jail) on first use.

    Raises sandbox.engine.JailUnavailable when the jail cannot be built here: callers must
    refuse the job rather than run code unsandboxed.
    """
    global _pool
    with _lock:
        if _pool is None:
            pool = EnvironmentPool(
                account_concurrency=settings.SANDBOX_ACCOUNT_CONCURRENCY,
                keep_alive_s=settings.SANDBOX_KEEP_ALIVE_SECONDS,
            )
            pool.check()
            _pool = pool
        return _pool


def shutdown_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown()
            _pool = None
