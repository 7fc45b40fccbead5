"""The sandbox workers' heartbeats in Redis: one short-lived key per live worker.

Written by sandbox.worker; read by the web side (is a sandbox up?) and by execution (is the
worker that holds an experiment still alive?). Nothing here imports the rest of the sandbox.
"""

import time
from collections.abc import Iterable

import redis
from django.conf import settings

HEARTBEAT_PREFIX = "lambdalab:sandbox:worker:"


_clients: dict[str, redis.Redis] = {}


def heartbeat_client() -> redis.Redis:
    """A client of REDIS_URL with short timeouts, one per process and URL: its connections are
    pooled, so a page that asks about workers does not open (and greet) a new one each time."""
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        _clients[url] = client
    return client


def worker_alive(*, hostname: str) -> bool:
    """Whether that sandbox worker's heartbeat is fresh (True when Redis cannot tell, so that
    nothing is run twice on a guess)."""
    try:
        return bool(heartbeat_client().exists(HEARTBEAT_PREFIX + hostname))
    except redis.RedisError:
        return True


def live_workers() -> list[str]:
    """Node names of the sandbox workers whose heartbeat is fresh (raises redis.RedisError)."""
    client = heartbeat_client()
    return sorted(
        key.decode()[len(HEARTBEAT_PREFIX) :]
        for key in client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=500)
    )


# When this process first found each worker's heartbeat missing (see workers_gone).
_missing_since: dict[str, float] = {}


def workers_gone(*, hostnames: Iterable[str], now: float | None = None) -> set[str]:
    """Those of hostnames whose heartbeat has been missing, as this process saw it, for at
    least SANDBOX_HEARTBEAT_TTL_SECONDS.

    One missing key is not enough: a Redis that restarted empty has no heartbeats until each
    worker's next beat. A worker is gone only once two looks, a full TTL apart, found no key;
    nothing is gone while Redis cannot be asked.
    """
    now = time.monotonic() if now is None else now
    names = {name for name in hostnames if name}
    if not names:
        return set()
    try:
        client = heartbeat_client()
        with client.pipeline(transaction=False) as pipe:
            for name in sorted(names):
                pipe.exists(HEARTBEAT_PREFIX + name)
            present = dict(zip(sorted(names), pipe.execute(), strict=True))
    except redis.RedisError:
        return set()
    gone = set()
    for name, exists in present.items():
        if exists:
            _missing_since.pop(name, None)
            continue
        first = _missing_since.setdefault(name, now)
        if now - first >= settings.SANDBOX_HEARTBEAT_TTL_SECONDS:
            gone.add(name)
    return gone
