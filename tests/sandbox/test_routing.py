"""sandbox/routing.py: a function's work goes to one worker, and moves only when that one goes."""

from unittest import mock

import pytest
from django.test import override_settings
from kombu.exceptions import OperationalError

from sandbox import routing, services, tasks
from sandbox.models import Invocation
from tests.sandbox.factories import FunctionFactory, InvocationFactory

KEYS = [routing.routing_key(function_id=n) for n in range(2_000)]


def owners(workers: list[str]) -> dict[str, str | None]:
    return {key: routing.worker_for(key=key, workers=workers) for key in KEYS}


def test_the_ring_is_the_same_whatever_the_order_of_the_workers():
    assert owners(["a@h", "b@h", "c@h"]) == owners(["c@h", "a@h", "b@h", "a@h"])


def test_no_worker_means_no_owner():
    assert routing.worker_for(key="function:1", workers=[]) is None


def test_every_worker_owns_a_share_of_the_functions():
    share = owners(["a@h", "b@h", "c@h"])
    counts = {worker: list(share.values()).count(worker) for worker in ("a@h", "b@h", "c@h")}
    # 64 points each: no worker is left with almost nothing or almost everything.
    assert all(len(KEYS) / 6 < count < len(KEYS) / 2 for count in counts.values()), counts


def test_a_worker_leaving_moves_only_its_own_functions():
    before = owners(["a@h", "b@h", "c@h"])
    after = owners(["a@h", "c@h"])
    moved = {key for key in KEYS if before[key] != after[key]}
    assert moved == {key for key in KEYS if before[key] == "b@h"}
    assert set(after.values()) == {"a@h", "c@h"}


def test_a_worker_joining_takes_functions_only_from_the_others():
    before = owners(["a@h", "c@h"])
    after = owners(["a@h", "b@h", "c@h"])
    assert all(after[key] in (before[key], "b@h") for key in KEYS)


@override_settings(SANDBOX_WORKERS=["a@h", "b@h"])
def test_configured_workers_are_routed_to_only_while_their_heartbeat_is_fresh():
    with mock.patch.object(routing.heartbeats, "live_workers", return_value=["b@h", "x@h"]):
        assert routing.live_workers() == ["b@h"]


def test_without_workers_or_redis_work_goes_on_the_shared_queue():
    import redis

    with mock.patch.object(routing.heartbeats, "live_workers", side_effect=redis.ConnectionError):
        assert routing.live_workers() == []
    with (
        mock.patch.object(routing, "live_workers", return_value=[]),
        mock.patch.object(tasks.invocation_run, "apply_async") as send,
    ):
        assert routing.task_send(tasks.invocation_run, args=(7,), key="function:1") == ""
    send.assert_called_once_with(args=(7,), queue="sandbox", routing_key="sandbox")


@pytest.mark.django_db
def test_an_invocation_is_sent_to_its_functions_worker_and_notes_it(
    learner, django_capture_on_commit_callbacks
):
    function = FunctionFactory(owner=learner)
    owner = routing.worker_for(
        key=routing.routing_key(function_id=function.pk), workers=["a@h", "b@h"]
    )
    with (
        mock.patch.object(routing, "live_workers", return_value=["a@h", "b@h"]),
        mock.patch.object(tasks.invocation_run, "apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        invocation = services.invocation_start(
            function=function, event_text="{}", requested_by=learner
        )
    send.assert_called_once_with(
        args=(invocation.pk,), queue=f"sandbox.{owner}", routing_key=f"sandbox.{owner}"
    )
    invocation.refresh_from_db()
    assert invocation.status == Invocation.Status.QUEUED and invocation.worker == owner


@pytest.mark.django_db
def test_an_invocation_the_broker_refuses_fails_at_once_with_the_reason(
    learner, django_capture_on_commit_callbacks
):
    function = FunctionFactory(owner=learner)
    with (
        mock.patch.object(routing, "live_workers", return_value=[]),
        mock.patch.object(
            tasks.invocation_run, "apply_async", side_effect=OperationalError("refused")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        invocation = services.invocation_start(
            function=function, event_text="{}", requested_by=learner
        )
    assert invocation.status == Invocation.Status.FAILED
    invocation.refresh_from_db()
    assert invocation.status == Invocation.Status.FAILED
    assert "could not be reached" in invocation.failure_reason
    assert invocation.finished_at is not None


@pytest.mark.django_db
def test_queued_work_of_a_gone_worker_is_sent_to_the_new_owner(learner):
    function = FunctionFactory(owner=learner)
    waiting = InvocationFactory(function=function, worker="dead@h")
    elsewhere = InvocationFactory(function=function, worker="alive@h")
    with (
        mock.patch.object(services.heartbeats, "workers_gone", return_value={"dead@h"}),
        mock.patch.object(routing, "live_workers", return_value=["alive@h"]),
        mock.patch.object(tasks.invocation_run, "apply_async") as send,
    ):
        assert services.invocations_resend() == 1
    send.assert_called_once_with(
        args=(waiting.pk,), queue="sandbox.alive@h", routing_key="sandbox.alive@h"
    )
    waiting.refresh_from_db()
    assert waiting.worker == "alive@h" and waiting.status == Invocation.Status.QUEUED
    elsewhere.refresh_from_db()
    assert elsewhere.worker == "alive@h"


@pytest.mark.django_db
@override_settings(SANDBOX_REQUEUE_SECONDS=0)
def test_queued_work_left_too_long_is_sent_again_but_not_failed_while_redis_is_down(learner):
    invocation = InvocationFactory(function=FunctionFactory(owner=learner))
    with (
        mock.patch.object(services.heartbeats, "workers_gone", return_value=set()),
        mock.patch.object(routing, "live_workers", return_value=[]),
        mock.patch.object(
            tasks.invocation_run, "apply_async", side_effect=OperationalError("refused")
        ),
    ):
        assert services.invocations_resend() == 0
    invocation.refresh_from_db()
    assert invocation.status == Invocation.Status.QUEUED
    with (
        mock.patch.object(services.heartbeats, "workers_gone", return_value=set()),
        mock.patch.object(routing, "live_workers", return_value=[]),
        mock.patch.object(tasks.invocation_run, "apply_async") as send,
    ):
        assert services.invocations_resend() == 1
    send.assert_called_once_with(args=(invocation.pk,), queue="sandbox", routing_key="sandbox")


@override_settings(SANDBOX_HEARTBEAT_TTL_SECONDS=15)
def test_a_worker_is_gone_only_after_its_heartbeat_is_missing_for_a_whole_ttl(redis_url):
    from sandbox import heartbeats

    name = "never-beat@h"
    assert heartbeats.workers_gone(hostnames=[name], now=1_000.0) == set()
    assert heartbeats.workers_gone(hostnames=[name], now=1_010.0) == set()
    assert heartbeats.workers_gone(hostnames=[name], now=1_015.0) == {name}
    heartbeats.heartbeat_client().set(heartbeats.HEARTBEAT_PREFIX + name, "{}", ex=60)
    try:
        # Back: forgotten, and a new absence starts the count again.
        assert heartbeats.workers_gone(hostnames=[name], now=1_020.0) == set()
    finally:
        heartbeats.heartbeat_client().delete(heartbeats.HEARTBEAT_PREFIX + name)
    assert heartbeats.workers_gone(hostnames=[name], now=1_021.0) == set()
