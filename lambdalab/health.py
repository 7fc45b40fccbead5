"""Checks behind /healthz: the database, Redis and at least one live Celery worker."""

from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from lambdalab.celery import app as celery_app
from sandbox.selectors import sandbox_limits

CHECK_TIMEOUT_SECONDS = 1.0
# A broadcast ping waits for its whole timeout when no worker answers, so its outcome is kept
# this long: /healthz stays quick however often a load balancer asks.
WORKER_PING_CACHE_SECONDS = 5
WORKER_PING_CACHE_KEY = "health:workers"


@dataclass
class HealthReport:
    checks: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    # Per sandbox worker: how each limit is enforced there (cgroup v1/v2 or rlimit fallbacks).
    sandbox: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "degraded",
            "checks": self.checks,
            "reasons": self.reasons,
            "sandbox": self.sandbox,
        }


def check_database() -> str | None:
    """Return None when the database answers, else the reason."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the same thing here: unreachable
        return f"database unreachable: {exc.__class__.__name__}"
    return None


def check_redis(url: str) -> str | None:
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
        )
        client.ping()
    except redis.RedisError as exc:
        return f"redis unreachable: {exc.__class__.__name__}"
    return None


def ping_workers() -> tuple[list[str], str | None]:
    """Names of Celery workers that answered a ping, and a reason when none did.

    Returns at the first answer: one live worker is what health needs.
    """
    try:
        replies = celery_app.control.ping(timeout=CHECK_TIMEOUT_SECONDS, limit=1)
    except Exception as exc:  # broker errors surface as several kombu/redis types
        return [], f"celery workers unreachable: {exc.__class__.__name__}"
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        return [], "no celery worker answered"
    return workers, None


def check_workers() -> tuple[list[str], str | None]:
    """`ping_workers`, remembered for a few seconds in the cache."""
    cached = cache.get(WORKER_PING_CACHE_KEY)
    if cached is not None:
        workers, problem = cached
        return list(workers), problem
    workers, problem = ping_workers()
    cache.set(WORKER_PING_CACHE_KEY, (workers, problem), WORKER_PING_CACHE_SECONDS)
    return workers, problem


def health_report() -> HealthReport:
    report = HealthReport()
    database_problem = check_database()
    report.checks["database"] = database_problem or "ok"
    redis_problem = check_redis(settings.REDIS_URL)
    report.checks["redis"] = redis_problem or "ok"
    if redis_problem:
        report.checks["workers"] = "unknown (redis is down)"
        worker_problem: str | None = "celery workers unknown: redis is down"
    else:
        workers, worker_problem = check_workers()
        report.checks["workers"] = ", ".join(workers) if workers else "none"
    if not redis_problem:
        report.sandbox = sandbox_limits()
    for problem in (database_problem, redis_problem, worker_problem):
        if problem:
            report.reasons.append(problem)
    return report
