"""Real processes to break: sandbox workers that can be SIGKILLed, a Redis that can be stopped.

Workers here beat and sweep every second (their heartbeat lives 3 s), so a death is noticed in
seconds; every wait is bounded and fails the test with what was still pending.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore

from sandbox.heartbeats import HEARTBEAT_PREFIX
from sandbox.models import Invocation
from tests.conftest import ROOT, database_url_for_worker

sys.path.insert(0, str(ROOT / "scripts"))
from services import free_port, wait_for_port

QUICK_HEARTBEATS = {
    "SANDBOX_HEARTBEAT_INTERVAL_SECONDS": "1",
    "SANDBOX_HEARTBEAT_TTL_SECONDS": "3",
    "SANDBOX_SWEEP_INTERVAL_SECONDS": "1",
}


def wait_until(what: str, check: Callable[[], object], timeout: float = 90.0) -> object:
    """Poll check() until it returns something truthy; fail the test after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcome = check()
        if outcome:
            return outcome
        time.sleep(0.25)
    pytest.fail(f"{what}: not within {timeout:.0f} s")


def finished(invocation: Invocation, timeout: float = 90.0) -> Invocation:
    def done() -> bool:
        invocation.refresh_from_db()
        return not invocation.is_pending

    wait_until(f"invocation {invocation.pk} to finish (still {invocation.status})", done, timeout)
    return invocation


class Worker:
    """One real `celery worker` process on the sandbox queues, with quick heartbeats."""

    def __init__(
        self, *, redis_url: str, name: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.name = name or f"w{uuid.uuid4().hex[:6]}@localhost"
        self.redis_url = redis_url
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        env = dict(
            os.environ,
            REDIS_URL=self.redis_url,
            DATABASE_URL=database_url_for_worker(),
            **QUICK_HEARTBEATS,
            **self.env,
        )
        self.process = subprocess.Popen(
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
                "4",
                "--hostname",
                self.name,
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
        )
        client = redis.Redis.from_url(self.redis_url)

        def beating() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"worker {self.name} exited with {self.process.returncode}")
            # The heartbeat is written once the jail works and the worker's own queue is read.
            return bool(client.exists(HEARTBEAT_PREFIX + self.name))

        wait_until(f"worker {self.name} to beat", beating, timeout=60)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, the heartbeat just stops being renewed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def workers(redis_url: str, transactional_db: None) -> Iterator[Callable[..., Worker]]:
    """Start sandbox workers with start(name=...); all are stopped afterwards, and the sandbox
    queues emptied so no later test's worker runs this test's leftovers."""
    started: list[Worker] = []

    def start(name: str | None = None, *, on_redis: str | None = None, **env: str) -> Worker:
        worker = Worker(redis_url=on_redis or redis_url, name=name, env=env).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    client = redis.Redis.from_url(redis_url)
    # Also the messages a killed worker took and never acknowledged, which Redis would hand out
    # again after the visibility timeout.
    leftovers = [*client.scan_iter(match=f"{settings.CELERY_SANDBOX_QUEUE}*"), "unacked"]
    client.delete(*leftovers, "unacked_index")
    for worker in started:
        client.delete(HEARTBEAT_PREFIX + worker.name)


class RedisServer:
    """A private redis-server on a fixed loopback port that a test can stop and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port, "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class WebServer:
    """gunicorn serving the app on loopback, on the test database and the given Redis."""

    def __init__(self, *, redis_url: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "lambdalab.wsgi",
                "--workers",
                "1",
                "--threads",
                "4",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=database_url_for_worker()),
        )
        wait_for_port(self.port, "gunicorn", timeout=60)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Browser:
    """A signed-in learner talking HTTP to a WebServer; every request is bounded in time."""

    TIMEOUT_SECONDS = 30

    def __init__(self, server: WebServer, user: User) -> None:
        self.server = server
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        self.cookies = {settings.SESSION_COOKIE_NAME: store.session_key or ""}

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> Reply:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.server.port, timeout=self.TIMEOUT_SECONDS
        )
        if method == "POST" and settings.CSRF_COOKIE_NAME not in self.cookies:
            self.request("GET", "/sandbox/")  # a page of forms, never cached
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if method == "POST":
            headers["X-CSRFToken"] = self.cookies[settings.CSRF_COOKIE_NAME]
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(data or {})
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return Reply(response.status, text, response.getheader("Location") or "")

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str] | None = None) -> Reply:
        return self.request("POST", path, data)


@dataclass
class Reply:
    status: int
    text: str
    location: str


@pytest.fixture
def web(transactional_db: None) -> Iterator[Callable[..., WebServer]]:
    started: list[WebServer] = []

    def start(*, redis_url: str) -> WebServer:
        server = WebServer(redis_url=redis_url)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
