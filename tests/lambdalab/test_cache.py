"""lambdalab/cache.py and the cache settings: Redis when configured, misses when it is down."""

import pytest
from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from django.test import Client

from lambdalab import health
from lambdalab.cache import ForgivingRedisCache
from lambdalab.settings import redis_cache_url


def test_the_cache_is_redis_when_redis_url_is_set(redis_url: str) -> None:
    # The suite runs with REDIS_URL (scripts/services.py), as production does.
    assert settings.CACHES["default"]["BACKEND"] == "lambdalab.cache.ForgivingRedisCache"
    assert settings.CACHES["default"]["LOCATION"] == redis_cache_url(redis_url)


def test_the_cache_lives_one_database_above_the_broker() -> None:
    assert redis_cache_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/1"
    assert (
        redis_cache_url("redis://:pw@cache.internal:6380/4") == "redis://:pw@cache.internal:6380/5"
    )
    assert redis_cache_url("redis://localhost") == "redis://localhost/1"


def test_a_dead_redis_reads_as_misses_and_swallows_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = ForgivingRedisCache(
        "redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}}
    )
    cache.set("k", "v")
    assert cache.add("k", "v") is False
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_many(["k"]) == {}
    with pytest.raises(ValueError):
        cache.incr("k")

    # For a while after an error Redis is not asked at all.
    def asked(*args: object, **kwargs: object) -> None:
        raise AssertionError("Redis was asked while known to be down")

    monkeypatch.setattr(RedisCache, "get", asked)
    assert cache.get("k", "fallback") == "fallback"


def test_a_live_redis_round_trips(redis_url: str) -> None:
    cache = ForgivingRedisCache(redis_cache_url(redis_url), {})
    cache.set("proof-key", {"a": 1}, 30)
    assert cache.get("proof-key") == {"a": 1}
    cache.add("proof-count", 0, 30)
    assert cache.incr("proof-count") == 1


@pytest.mark.django_db
def test_healthz_asks_the_workers_once_in_a_few_seconds(
    client: Client, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def ping() -> tuple[list[str], str | None]:
        calls.append(1)
        return ["sandbox@host"], None

    monkeypatch.setattr(health, "ping_workers", ping)
    bodies = [client.get("/healthz").json() for _ in range(5)]
    assert len(calls) == 1
    assert all(body["status"] == "ok" for body in bodies)
    assert bodies[-1]["checks"]["workers"] == "sandbox@host"
