"""Fixtures shared by the whole suite: users, a real Redis, a real Celery worker."""

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from tests.factories import InstructorFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing() -> Iterator[None]:
    """A cheap hasher for the suite: PBKDF2's work factor costs seconds a user on a busy CI box.

    Production keeps Django's default hashers; nothing here depends on the algorithm.
    """
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty cache: rate-limit counters do not leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def learner(db: None) -> User:
    return UserFactory()


@pytest.fixture
def instructor(db: None) -> User:
    return InstructorFactory()


@pytest.fixture(scope="session")
def moto_server() -> str:
    """The lab's AWS services (moto in server mode) that `make test` starts; fail loudly without
    them. Tests stay apart because each learner is its own randomly numbered account."""
    url = os.environ.get("LAB_SERVICES_URL", "")
    try:
        urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
    except (OSError, ValueError) as exc:
        pytest.fail(
            f"These tests need the lab's moto server: run them with `make test` or "
            f"`scripts/services.py --moto -- pytest` ({exc})"
        )
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The private Redis that `make test` starts (scripts/services.py); fail loudly without it."""
    url = os.environ.get("REDIS_URL", "")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, ValueError) as exc:
        pytest.fail(
            f"These tests need a real Redis: run them with `make test` or "
            f"`scripts/services.py --redis -- pytest` ({exc})"
        )
    return url


def database_url_for_worker() -> str:
    """A DATABASE_URL that points a worker process at the test database this test uses."""
    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    user = quote(params.get("USER") or "")
    password = quote(params.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{params['HOST']}:{params['PORT']}/{params['NAME']}"


@pytest.fixture
def celery_worker_process(redis_url: str, transactional_db: None) -> Iterator[str]:
    """A real Celery worker (threads pool, sandbox and default queues) on the test database.

    Yields the worker's node name once it answers a ping; stops it afterwards.
    """
    from lambdalab.celery import app

    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=database_url_for_worker())
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lambdalab",
            "worker",
            "--queues",
            f"{settings.CELERY_SANDBOX_QUEUE},{settings.CELERY_TASK_DEFAULT_QUEUE}",
            "--pool",
            "threads",
            "--concurrency",
            str(settings.SANDBOX_WORKER_THREADS),
            "--hostname",
            name,
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                pytest.fail(f"celery worker exited with status {worker.returncode}")
            if app.control.ping(destination=[name], timeout=0.5):
                break
        else:
            pytest.fail("celery worker did not answer within 30 s")
        yield name
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
