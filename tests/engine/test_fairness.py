"""Many learners, one pool: no learner can take, hold or starve what the others need.

Each test has two learners (two namespaces): A does its worst, B must keep being served.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sandbox.engine import EnvironmentPool
from sandbox.engine.cgroups import CPU_PERIOD_US, cpu_quota_us, host_cpus, pool_cpu_quota_us
from sandbox.engine.pool import reservation_message
from tests.engine.support import TRIVIAL, make_spec

SLEEPER = """
import time
def handler(event, context):
    time.sleep(event["s"])
    return "slept"
"""


@pytest.fixture
def small_pool() -> Iterator[EnvironmentPool]:
    pool = EnvironmentPool(
        account_concurrency=10,
        unreserved_minimum=2,
        learner_concurrency=3,
        learner_provisioned=2,
        keep_alive_s=600,
    )
    yield pool
    pool.shutdown()


def test_a_reservation_cannot_take_the_unreserved_share(small_pool: EnvironmentPool):
    greedy = make_spec(TRIVIAL, name="greedy", namespace="a", reserved_concurrency=9)
    refused = small_pool.invoke(greedy, {})
    assert refused.status == "error"
    assert refused.error is not None
    assert refused.error["errorType"] == "InvalidParameterValueException"
    # Above the learner's own share of 3 as well as the account's 10 - 2.
    assert "ReservedConcurrentExecutions" in refused.error["errorMessage"]
    other = make_spec(TRIVIAL, name="other", namespace="b")
    assert small_pool.invoke(other, {}).status == "success"


def test_reservations_sum_within_the_limit_minus_the_unreserved_minimum():
    pool = EnvironmentPool(account_concurrency=10, unreserved_minimum=2, keep_alive_s=600)
    try:
        first = make_spec(TRIVIAL, name="one", namespace="a", reserved_concurrency=5)
        assert pool.invoke(first, {}).status == "success"
        second = make_spec(TRIVIAL, name="two", namespace="b", reserved_concurrency=4)
        refused = pool.invoke(second, {})
        assert refused.error is not None
        assert refused.error["errorMessage"] == reservation_message(2)
        # A reservation ends with its function: then the second one fits.
        pool.retire("a", "one")
        assert pool.invoke(second, {}).status == "success"
        assert pool.stats()["reserved"] == 4
    finally:
        pool.shutdown()


def test_one_learner_in_flight_cap_leaves_others_served(small_pool: EnvironmentPool):
    sleeper = make_spec(SLEEPER, name="sleepy", namespace="a", timeout_s=10)
    quick = make_spec(TRIVIAL, name="quick", namespace="b")
    small_pool.invoke(quick, {})  # warm
    with ThreadPoolExecutor(max_workers=5) as executor:
        held = [executor.submit(small_pool.invoke, sleeper, {"s": 2}) for _ in range(3)]
        time.sleep(0.8)  # A's three are running
        extra = small_pool.invoke(sleeper, {"s": 2})
        served = small_pool.invoke(quick, {"n": 1})
        results = [future.result() for future in held]
    assert extra.status == "throttled"
    assert extra.error is not None
    assert extra.error["Reason"] == "LearnerConcurrentInvocationLimitExceeded"
    assert served.status == "success" and not served.cold_start
    assert [r.status for r in results] == ["success"] * 3


def test_provisioned_environments_are_released(small_pool: EnvironmentPool):
    two = make_spec(TRIVIAL, name="prov", namespace="a", provisioned_concurrency=2)
    assert small_pool.provision(two) == 2
    assert small_pool.stats()["provisioned"] == 2
    lowered = make_spec(TRIVIAL, name="prov", namespace="a", provisioned_concurrency=0)
    assert small_pool.invoke(lowered, {}).status == "success"
    assert small_pool.stats()["provisioned"] == 0
    again = make_spec(TRIVIAL, name="prov", namespace="a", provisioned_concurrency=2)
    small_pool.provision(again)
    assert small_pool.retire("a", "prov") == 3  # two provisioned, one on-demand
    assert small_pool.stats()["environments"] == 0


def test_provisioned_environments_are_capped_per_learner(small_pool: EnvironmentPool):
    first = make_spec(TRIVIAL, name="p1", namespace="a", provisioned_concurrency=2)
    second = make_spec(TRIVIAL, name="p2", namespace="a", provisioned_concurrency=2)
    assert small_pool.provision(first) == 2
    assert small_pool.provision(second) == 0  # the learner's two are used
    other = make_spec(TRIVIAL, name="p3", namespace="b", provisioned_concurrency=2)
    assert small_pool.provision(other) == 2


def test_idle_environments_are_evicted_before_anyone_is_refused():
    # 1,024 MB each (512 memory + 512 /tmp); the host fits one.
    pool = EnvironmentPool(
        account_concurrency=10, memory_budget_mb=1500, learner_memory_mb=1500, keep_alive_s=600
    )
    try:
        a = make_spec(TRIVIAL, name="a", namespace="a", memory_mb=512)
        b = make_spec(TRIVIAL, name="b", namespace="b", memory_mb=512)
        assert pool.invoke(a, {}).status == "success"
        assert pool.stats()["memory_committed_mb"] == 1024
        served = pool.invoke(b, {})
        assert served.status == "success" and served.cold_start
        assert [row["namespace"] for row in pool.environments()] == ["b"]
    finally:
        pool.shutdown()


def test_a_learner_memory_budget_refuses_with_a_clear_throttle():
    pool = EnvironmentPool(
        account_concurrency=10, memory_budget_mb=8000, learner_memory_mb=1500, keep_alive_s=600
    )
    try:
        big = make_spec(SLEEPER, name="big", namespace="a", memory_mb=512, timeout_s=5)
        bigger = make_spec(TRIVIAL, name="bigger", namespace="a", memory_mb=512)
        other = make_spec(TRIVIAL, name="other", namespace="b", memory_mb=512)
        with ThreadPoolExecutor(max_workers=1) as executor:
            busy = executor.submit(pool.invoke, big, {"s": 1.5})
            time.sleep(0.6)
            refused = pool.invoke(bigger, {})
            served = pool.invoke(other, {})
            assert busy.result().status == "success"
        assert refused.status == "throttled"
        assert refused.error is not None
        assert refused.error["Reason"] == "LearnerMemoryLimitExceeded"
        assert "1500 MB" in refused.error["errorMessage"]
        assert served.status == "success"
    finally:
        pool.shutdown()


def test_memory_limit_holds_during_init(pool: EnvironmentPool):
    # 128 MB of memory and 1,024 MB of /tmp: INIT must not keep 600 MB of anonymous memory.
    spec = make_spec(
        """
        hog = bytearray(600 * 1024 * 1024)
        def handler(event, context):
            return len(hog)
        """,
        memory_mb=128,
        ephemeral_storage_mb=1024,
        timeout_s=10,
    )
    result = pool.invoke(spec, {})
    assert result.status == "out_of_memory"
    assert result.max_memory_used_mb <= 128 + 32
    assert not any(row["namespace"] == spec.namespace for row in pool.environments())


def test_cpu_quota_is_capped_at_the_host_and_weights_are_equal(pool: EnvironmentPool):
    assert cpu_quota_us(10_240) == pool_cpu_quota_us() < host_cpus() * CPU_PERIOD_US
    assert cpu_quota_us(128) == CPU_PERIOD_US * 128 // 1769
    spec = make_spec(TRIVIAL, memory_mb=10_240)
    assert pool.invoke(spec, {}).status == "success"
    cpu_dir = pool._cgroups.dirs.get("cpu")
    if cpu_dir is None:
        pytest.fail("this machine has a cpu cgroup controller; the pool did not use it")
    env_dirs = [d for d in Path(cpu_dir).iterdir() if d.is_dir()]
    quotas = {int((d / "cpu.cfs_quota_us").read_text()) for d in env_dirs}
    shares = {int((d / "cpu.shares").read_text()) for d in env_dirs}
    assert max(quotas) <= pool_cpu_quota_us()
    assert shares == {1024}
    # All environments together leave half a CPU to the host.
    pool_quota = int((Path(cpu_dir) / "cpu.cfs_quota_us").read_text())
    assert pool_quota == max(CPU_PERIOD_US, host_cpus() * CPU_PERIOD_US - CPU_PERIOD_US // 2)


def test_each_environment_has_its_own_host_uid(pool: EnvironmentPool):
    a = make_spec(SLEEPER, namespace="uid-a", timeout_s=5)
    b = make_spec(SLEEPER, namespace="uid-b", timeout_s=5)
    seen: dict[str, int] = {}

    def watch() -> None:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(seen) < 2:
            for row in pool.environments():
                if row["namespace"] in ("uid-a", "uid-b") and row["state"] == "busy":
                    seen[row["namespace"]] = row["uid"]
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(max_workers=2) as executor:
        results = list(executor.map(lambda spec: pool.invoke(spec, {"s": 1}), [a, b]))
    watcher.join()
    assert [r.status for r in results] == ["success", "success"]
    assert len(seen) == 2 and seen["uid-a"] != seen["uid-b"]
    assert all(uid not in (0, 65534) for uid in seen.values())


def test_health_stats_say_how_each_limit_is_enforced(pool: EnvironmentPool):
    stats = pool.stats()
    assert stats["cgroup_version"] in ("v1", "v2")
    assert stats["enforcement"]["memory"].startswith("cgroup-")
    assert stats["enforcement"]["processes"].startswith("cgroup-")
    assert stats["memory_budget_mb"] > 0
