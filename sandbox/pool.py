"""The one EnvironmentPool of this process.

A sandbox worker runs Celery's threads pool, so every task in the process shares this pool and
warm environments survive between tasks. The web process never creates one.
"""

import logging
import threading

from django.conf import settings

from sandbox import lab_services
from sandbox.engine import EnvironmentPool

logger = logging.getLogger(__name__)
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
                unreserved_minimum=settings.SANDBOX_UNRESERVED_MINIMUM,
                learner_concurrency=settings.SANDBOX_LEARNER_CONCURRENCY,
                learner_provisioned=settings.SANDBOX_LEARNER_PROVISIONED,
                memory_budget_mb=settings.SANDBOX_MEMORY_BUDGET_MB or None,
                learner_memory_mb=settings.SANDBOX_LEARNER_MEMORY_MB or None,
                keep_alive_s=settings.SANDBOX_KEEP_ALIVE_SECONDS,
                max_lifetime_s=settings.SANDBOX_ENVIRONMENT_MAX_LIFETIME_SECONDS,
                uids=range(
                    settings.SANDBOX_UID_BASE,
                    settings.SANDBOX_UID_BASE + settings.SANDBOX_UID_COUNT,
                ),
                # Handlers reach the lab's AWS services (through the gateway) when they run.
                services_handler=lab_services.services_handle
                if settings.LAB_SERVICES_URL
                else None,
                services_environment=lab_services.services_environment,
            )
            pool.check()
            stats = pool.stats()
            logger.info(
                "sandbox limits: %s; memory budget %d MB (%d MB per learner)",
                ", ".join(f"{limit} by {how}" for limit, how in stats["enforcement"].items()),
                stats["memory_budget_mb"],
                stats["learner_memory_mb"],
            )
            _pool = pool
        return _pool


def pool_if_started() -> EnvironmentPool | None:
    """The process's pool if it has one; never creates it (a worker of other queues has none)."""
    with _lock:
        return _pool


def shutdown_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown()
            _pool = None
