"""Django's Redis cache, made to step aside when Redis is down.

The cache holds rendered lessons, the health check's worker ping and rate-limit counters: all
things the site can do without for a while. So a Redis error is logged and the call answers as
a miss (reads) or does nothing (writes), and for a few seconds after an error Redis is not
asked at all, so a stopped Redis costs pages no time-outs.
"""

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_AFTER_SECONDS = 2.0


class ForgivingRedisCache(RedisCache):
    _down_until = 0.0

    def _guard(self, call: Callable[[], T], fallback: T) -> T:
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return call()
        except redis.RedisError as exc:
            if not self._down_until:
                logger.warning("cache unavailable, serving without it: %s", exc.__class__.__name__)
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            return fallback

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._guard(
            lambda: super(ForgivingRedisCache, self).get(key, default, version), default
        )

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._guard(lambda: super(ForgivingRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).has_key(key, version), False)

    def set(self, *args: Any, **kwargs: Any) -> None:
        self._guard(lambda: super(ForgivingRedisCache, self).set(*args, **kwargs), None)

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).add(*args, **kwargs), False)

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).touch(*args, **kwargs), False)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).delete(*args, **kwargs), False)

    def set_many(self, *args: Any, **kwargs: Any) -> list[Any]:
        return self._guard(lambda: super(ForgivingRedisCache, self).set_many(*args, **kwargs), [])

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        self._guard(lambda: super(ForgivingRedisCache, self).delete_many(*args, **kwargs), None)

    def clear(self) -> None:
        self._guard(lambda: super(ForgivingRedisCache, self).clear(), None)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        """As Django's, but an unreachable Redis raises ValueError, as a missing key does."""
        missing = object()
        value = self._guard(
            lambda: super(ForgivingRedisCache, self).incr(key, delta, version), missing
        )
        if value is missing:
            raise ValueError(f"Key '{key}' not found (the cache is unavailable)")
        return value  # type: ignore[return-value]
