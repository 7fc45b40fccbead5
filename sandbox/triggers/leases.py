"""Who runs an event source mapping's poller: a lease in Redis per (mapping, slot) or trigger.

A poller is a Celery task that sends itself again after each batch; the lease (a random token
with an expiry) keeps one chain per slot whatever redelivers or restarts it. A chain whose
worker died lets its lease expire and the beat's watchdog starts a new one.
"""

from __future__ import annotations

import secrets

import redis
from django.conf import settings

KEY_PREFIX = "lambdalab:triggers:"

_clients: dict[str, redis.Redis] = {}

# Extend the lease only if it is still this chain's.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def _client() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1)
    return _clients[url]


def _key(name: str) -> str:
    return f"{KEY_PREFIX}{name}"


def lease_take(*, name: str, ttl_s: int) -> str | None:
    """A new token if the slot had no poller, else None."""
    token = secrets.token_hex(8)
    taken = _client().set(_key(name), token, nx=True, ex=ttl_s)
    return token if taken else None


def lease_renew(*, name: str, token: str, ttl_s: int) -> bool:
    """Whether the slot is still token's (and now for ttl_s more seconds)."""
    return bool(_client().eval(_RENEW, 1, _key(name), token, ttl_s))


def lease_release(*, name: str, token: str) -> None:
    _client().eval(_RELEASE, 1, _key(name), token)


def lease_held(*, name: str) -> bool:
    return bool(_client().exists(_key(name)))
