"""Hand a finished invocation's news from the sandbox worker to the web process that waits.

The worker pushes to a Redis list keyed by the invocation once its result is stored; the web
side blocks on that list (BLPOP) instead of polling the database. The list outlives the push
for a while, so a waiter that arrives late still finds it; the database stays the record.
"""

from __future__ import annotations

import contextlib
import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "lambdalab:invocation:finished:"
KEY_TTL_SECONDS = 120

_clients: dict[str, redis.Redis] = {}


def _client() -> redis.Redis:
    # One connection pool per URL and process; each waiter borrows a connection for its BLPOP.
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1)
    return _clients[url]


def _key(invocation_id: int) -> str:
    return f"{KEY_PREFIX}{invocation_id}"


def invocation_announce_finished(*, invocation_id: int) -> None:
    """Tell whoever waits on invocation_id that its result is in the database (worker side)."""
    key = _key(invocation_id)
    try:
        pipe = _client().pipeline()
        pipe.rpush(key, "1")
        pipe.expire(key, KEY_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        # A waiter then falls back to the database after its wait; nothing is lost.
        logger.warning("could not announce invocation %s: %s", invocation_id, exc)


def invocation_wait_finished(*, invocation_id: int, timeout_s: float) -> bool:
    """Block until the worker announces invocation_id, at most timeout_s; True if it did.

    False after the timeout or when Redis is unreachable (callers then read the database).
    """
    deadline = time.monotonic() + timeout_s
    with contextlib.suppress(redis.RedisError):
        while (left := deadline - time.monotonic()) > 0:
            # BLPOP takes a float timeout since Redis 6; 0 would mean forever.
            if _client().blpop([_key(invocation_id)], timeout=max(left, 0.01)) is not None:
                return True
    return False
