"""learn/cohorts/oversight.py and its page: what the sandbox is doing, and stopping work."""

import json
import time

import pytest
from django.contrib.admin.models import LogEntry

from learn.cohorts import oversight
from sandbox.models import Invocation
from sandbox.worker import HEARTBEAT_PREFIX, _pool_report, heartbeat_client
from tests.sandbox.factories import FunctionFactory, InvocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heartbeat(redis_url, settings):
    settings.REDIS_URL = redis_url
    client = heartbeat_client()
    keys: list[str] = []

    def write(name: str, beat: dict) -> None:
        keys.append(HEARTBEAT_PREFIX + name)
        client.set(HEARTBEAT_PREFIX + name, json.dumps(beat), ex=30)

    yield write
    for key in keys:
        client.delete(key)


def test_workers_and_their_warm_environments(client, instructor, heartbeat) -> None:
    function = FunctionFactory(name="orders")
    heartbeat(
        "sandbox-1@host",
        {
            "at": time.time() - 2,
            "stats": {
                "environments": 3,
                "busy": 1,
                "idle": 2,
                "frozen": 2,
                "provisioned": 0,
                "inflight": 1,
                "account_concurrency": 10,
            },
            "environments": [
                {"namespace": function.namespace, "state": "busy", "invocations": 4},
                {"namespace": function.namespace, "state": "frozen", "invocations": 1},
                {"namespace": "user-999/fn-999999", "state": "frozen", "invocations": 2},
            ],
        },
    )
    workers, problem = oversight.workers_alive()
    (worker,) = [w for w in workers if w.name == "sandbox-1@host"]
    assert problem == "" and 1 <= worker.seconds_ago < 30
    warm = {w.namespace: w for w in worker.functions}
    ours = warm[function.namespace]
    assert (ours.function, ours.busy, ours.frozen, ours.invocations) == (function, 1, 1, 5)
    assert warm["user-999/fn-999999"].function is None

    client.force_login(instructor)
    html = client.get("/instructor/sandbox/").content.decode()
    assert "sandbox-1@host" in html and ">orders<" in html and "1 busy" in html
    partial = client.get("/instructor/sandbox/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'hx-trigger="every 5s"' in partial


def test_heartbeat_carries_no_pool_before_one_exists(monkeypatch) -> None:
    from sandbox import pool

    monkeypatch.setattr(pool, "_pool", None)
    assert _pool_report() == {}


def test_in_flight_and_failures_are_listed(client, instructor, heartbeat) -> None:
    queued = InvocationFactory(status=Invocation.Status.QUEUED)
    running = InvocationFactory(status=Invocation.Status.RUNNING, worker="sandbox-1@host")
    timed_out = InvocationFactory(status=Invocation.Status.TIMEOUT)
    InvocationFactory(status=Invocation.Status.SUCCESS)
    assert set(oversight.invocations_in_flight()) == {queued, running}
    assert list(oversight.recent_failures()) == [timed_out]
    client.force_login(instructor)
    html = client.get("/instructor/sandbox/").content.decode()
    assert f"/instructor/sandbox/invocations/{queued.pk}/stop/" in html
    assert f"/instructor/sandbox/invocations/{running.pk}/stop/" in html
    assert "Timed out" in html


def test_stop_a_queued_invocation(client, instructor) -> None:
    queued = InvocationFactory(status=Invocation.Status.QUEUED)
    done = InvocationFactory(status=Invocation.Status.SUCCESS)
    client.force_login(instructor)
    assert client.post(f"/instructor/sandbox/invocations/{queued.pk}/stop/").status_code == 302
    queued.refresh_from_db()
    assert queued.status == "stopped"
    assert queued.failure_reason == "Stopped by an instructor before it ran."
    response = client.post(f"/instructor/sandbox/invocations/{done.pk}/stop/", follow=True)
    assert "had already finished" in response.content.decode()
    done.refresh_from_db()
    assert done.status == "success"
    assert LogEntry.objects.filter(user=instructor).count() == 1
    assert client.post("/instructor/sandbox/invocations/999999/stop/").status_code == 404

    # The worker claims only queued invocations, so the stopped one never runs.
    from sandbox import execution

    execution.invocation_execute(invocation_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == "stopped" and queued.started_at is None


def test_retire_a_functions_environments(client, instructor) -> None:
    function = FunctionFactory()
    client.force_login(instructor)
    client.post(f"/instructor/sandbox/functions/{function.pk}/retire/")
    function.refresh_from_db()
    assert function.deployment == 1
    assert LogEntry.objects.get(user=instructor).change_message == "Retired its warm environments."


def test_learners_get_403(client, learner) -> None:
    invocation = InvocationFactory(status=Invocation.Status.QUEUED)
    client.force_login(learner)
    assert client.get("/instructor/sandbox/").status_code == 403
    assert client.post(f"/instructor/sandbox/invocations/{invocation.pk}/stop/").status_code == 403
    assert (
        client.post(f"/instructor/sandbox/functions/{invocation.function_id}/retire/").status_code
        == 403
    )
    invocation.refresh_from_db()
    assert invocation.status == "queued"
