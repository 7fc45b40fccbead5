"""EnvironmentPool.stop (sandbox/engine/pool.py) and ExecutionEnvironment.stop: ending one
running invocation from another thread."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from sandbox.engine import EnvironmentPool
from tests.engine.support import TRIVIAL, make_spec

SLEEPER = """
import os, subprocess, time

def handler(event, context):
    # A child process too, so that stopping must end more than the runtime.
    subprocess.Popen(["/usr/bin/sleep", "60"])
    print("started", flush=True)
    time.sleep(60)
    return "never"
"""


@pytest.fixture(params=[True, False], ids=["cgroups", "fallbacks"])
def own_pool(request) -> Iterator[EnvironmentPool]:
    pool = EnvironmentPool(account_concurrency=4, keep_alive_s=600, use_cgroups=request.param)
    pool.check()
    yield pool
    pool.shutdown()


def _processes_of(uid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    found.append(int(name))
            except FileNotFoundError:
                continue
    return found


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _invoke_in_thread(pool, spec, handle, event=None) -> tuple[threading.Thread, list]:
    results: list = []
    thread = threading.Thread(
        target=lambda: results.append(pool.invoke(spec, event or {}, handle=handle))
    )
    thread.start()
    return thread, results


def _wait_running(pool: EnvironmentPool, handle: str, *, timeout_s: float = 30.0) -> None:
    """Until the invocation's environment is chosen and its handler has started."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        running = pool._running.get(handle)
        env = running.env if running else None
        if env is not None and not env.frozen and env.invocations and env._out:
            return
        time.sleep(0.02)
    raise AssertionError("the invocation never started")


def test_stop_ends_a_running_invocation_at_once_and_leaks_nothing(own_pool: EnvironmentPool):
    spec = make_spec(SLEEPER, timeout_s=60)
    before = _open_fds()
    handle = uuid.uuid4().hex
    thread, results = _invoke_in_thread(own_pool, spec, handle)
    _wait_running(own_pool, handle)
    env = own_pool._running[handle].env
    assert env is not None
    started = time.monotonic()
    assert own_pool.stop(handle, "Stopped by an instructor") is True
    # Synchronous: nothing of the environment runs once stop() returns (bwrap aside, which
    # exits by itself once its child is gone).
    if env.cgroup.dirs:
        assert [p for p in env.cgroup.pids() if p != env._proc.pid] == []
    else:
        from sandbox.engine.environment import _descendants

        assert _descendants(env._proc.pid) == []
    thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - started < 10  # not the 60 s timeout
    (result,) = results
    assert result.status == "stopped"
    assert result.error["errorType"] == "Sandbox.Stopped"
    assert result.error["errorMessage"].endswith("Error: Stopped by an instructor")
    assert "started" in result.log and "Sandbox.Stopped" in result.log and "REPORT" in result.log
    assert env.dead and env.released  # discarded: the next invocation is a cold start
    if os.geteuid() == 0 and env.uid != 0:  # its own host uid: none of its processes is left
        assert _processes_of(env.uid) == []
    assert _open_fds() == before
    assert own_pool.environments() == []


def test_stop_of_an_unknown_handle_is_false_and_stops_it_if_it_comes_soon(
    own_pool: EnvironmentPool,
):
    handle = uuid.uuid4().hex
    assert own_pool.stop(handle, "Stopped early") is False
    result = own_pool.invoke(make_spec(TRIVIAL), {}, handle=handle)
    assert result.status == "stopped" and result.error["errorMessage"] == "Stopped early"
    assert result.billed_duration_ms == 0
    # Remembered once only: the same handle later runs normally.
    assert own_pool.invoke(make_spec(TRIVIAL), {}, handle=handle).status == "success"


def test_stopping_one_invocation_leaves_the_others_running(own_pool: EnvironmentPool):
    spec = make_spec(SLEEPER, timeout_s=60)
    quick = make_spec(
        "import time\ndef handler(event, context):\n    time.sleep(1.5)\n    return 'done'\n",
        timeout_s=10,
    )
    victim = uuid.uuid4().hex
    thread, results = _invoke_in_thread(own_pool, spec, victim)
    other_thread, other = _invoke_in_thread(own_pool, quick, uuid.uuid4().hex)
    _wait_running(own_pool, victim)
    own_pool.stop(victim, "Stopped")
    thread.join(timeout=10)
    other_thread.join(timeout=30)
    assert results[0].status == "stopped"
    assert other[0].status == "success" and other[0].payload == "done"


def test_a_warm_environment_is_stopped_too_and_not_reused(own_pool: EnvironmentPool):
    source = """
import time
calls = 0

def handler(event, context):
    global calls
    calls += 1
    print("call", calls, flush=True)
    if event.get("wait"):
        time.sleep(60)
    return calls
"""
    spec = make_spec(source, timeout_s=60)
    assert own_pool.invoke(spec, {}).payload == 1  # warm now
    handle = uuid.uuid4().hex
    thread, results = _invoke_in_thread(own_pool, spec, handle, {"wait": True})
    _wait_running(own_pool, handle)
    own_pool.stop(handle, "Stopped")
    thread.join(timeout=10)
    assert results[0].status == "stopped" and results[0].cold_start is False
    after = own_pool.invoke(spec, {})
    assert after.cold_start is True and after.payload == 1
