"""The sandbox workers' heartbeats in Redis: one short-lived key per live worker.

Written by sandbox.worker; read by the web side (is a sandbox up?) and by execution (is the
worker that holds an experiment still alive?). Nothing here imports the rest of the sandbox.
"""

import redis
from django.conf import settings

HEARTBEAT_PREFIX = "lambdalab:sandbox:worker:"


def heartbeat_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


def worker_alive(*, hostname: str) -> bool:
    """Whether that sandbox worker's heartbeat is fresh (True when Redis cannot tell, so that
    nothing is run twice on a guess)."""
    try:
        return bool(heartbeat_client().exists(HEARTBEAT_PREFIX + hostname))
    except redis.RedisError:
        return True
