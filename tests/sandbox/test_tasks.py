"""End to end through a real Redis, a real Celery worker (threads pool) and the real engine."""

import json
import time

import pytest
from django.db import transaction
from django.urls import reverse

from sandbox import selectors, services, tasks
from sandbox.models import Invocation
from tests.sandbox.factories import FunctionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SLOW_INIT = (
    "import time\n"
    "time.sleep(0.2)\n"
    "def lambda_handler(event, context):\n"
    "    print('hello from the worker')\n"
    "    return {'echo': event}\n"
)


def wait_for(invocation: Invocation, timeout: float = 60.0) -> Invocation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        invocation.refresh_from_db()
        if not invocation.is_pending:
            return invocation
        time.sleep(0.2)
    pytest.fail(f"invocation {invocation.pk} still {invocation.status} after {timeout} s")


def test_invocations_run_on_the_worker_cold_then_warm(celery_worker_process, learner, client):
    function = FunctionFactory(owner=learner, code=SLOW_INIT)
    first = services.invocation_start(
        function=function, event_text='{"n": 1}', requested_by=learner
    )
    first = wait_for(first)
    assert first.status == Invocation.Status.SUCCESS, first.failure_reason or first.error
    assert first.payload == {"echo": {"n": 1}}
    assert first.cold_start is True and first.init_duration_ms >= 200
    assert first.worker == celery_worker_process
    assert "hello from the worker" in first.log and "Init Duration" in first.log

    second = wait_for(
        services.invocation_start(function=function, event_text='{"n": 2}', requested_by=learner)
    )
    assert second.cold_start is False and second.init_duration_ms is None
    assert second.environment_id == first.environment_id

    # The worker announces itself; the page shows the finished result and its cost.
    assert selectors.sandbox_available()
    client.force_login(learner)
    html = client.get(second.get_absolute_url()).content.decode()
    assert "Warm start" in html and f"{second.billed_duration_ms} ms" in html


def test_redelivered_task_does_nothing(celery_worker_process, learner):
    function = FunctionFactory(owner=learner)
    invocation = wait_for(
        services.invocation_start(function=function, event_text="{}", requested_by=learner)
    )
    before = Invocation.objects.values().get(pk=invocation.pk)
    # The redelivered message, run to completion here so the assertion follows it, not a sleep.
    outcome = tasks.invocation_run.apply(args=[invocation.pk])
    assert outcome.successful()
    assert Invocation.objects.values().get(pk=invocation.pk) == before


def test_burst_on_the_worker_throttles_over_reserved_concurrency(celery_worker_process, learner):
    slow = "import time\ndef lambda_handler(event, context):\n    time.sleep(0.4)\n    return 1\n"
    function = FunctionFactory(owner=learner, code=slow, reserved_concurrency=2)
    experiment = services.burst_start(
        function=function, event_text="{}", count=4, requested_by=learner
    )
    for invocation in experiment.invocations.all():
        wait_for(invocation)
    statuses = list(experiment.invocations.values_list("status", flat=True))
    assert statuses.count("success") == 2 and statuses.count("throttled") == 2
    timeline = selectors.burst_timeline(experiment=experiment)
    assert len(timeline.rows) == 2 and timeline.cold == 2 and len(timeline.throttled) == 2


def test_without_a_worker_the_invocation_stays_queued(redis_url, learner, client):
    function = FunctionFactory(owner=learner)
    with transaction.atomic():
        invocation = services.invocation_start(
            function=function, event_text="{}", requested_by=learner
        )
    client.force_login(learner)
    response = client.post(
        reverse("sandbox:invoke", args=[function.pk]), {"event": "{}"}, HTTP_HX_REQUEST="true"
    )
    assert "sandbox is unavailable" in response.content.decode()
    invocation.refresh_from_db()
    assert invocation.status == Invocation.Status.QUEUED
    # Not lost: its task waits on the sandbox queue in Redis for a worker to come.
    import redis
    from django.conf import settings

    waiting = [
        json.loads(raw)["headers"]
        for raw in redis.Redis.from_url(redis_url).lrange(settings.CELERY_SANDBOX_QUEUE, 0, -1)
    ]
    assert {"task": "sandbox.tasks.invocation_run", "argsrepr": f"({invocation.pk},)"} in [
        {"task": h.get("task"), "argsrepr": h.get("argsrepr")} for h in waiting
    ]
    # Drop the queued messages so a later test's worker does not run them.
    from lambdalab.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("sandbox")


def test_console_invoke_answers_with_the_result_when_it_is_quick(
    celery_worker_process, learner, client
):
    """The console waits on Redis for the worker's result: no poll when it comes in time."""
    function = FunctionFactory(owner=learner)
    client.force_login(learner)
    response = client.post(
        reverse("sandbox:invoke", args=[function.pk]),
        {"event": '{"name": "Ada"}'},
        HTTP_HX_REQUEST="true",
    )
    invocation = Invocation.objects.get(function=function)
    assert invocation.status == Invocation.Status.SUCCESS
    triggers = response["HX-Trigger"]
    assert "invocationStarted" in triggers and "invocationFinished" in triggers
    html = response.content.decode()
    assert "Ada" in html and f"{invocation.billed_duration_ms} ms" in html


def test_healthz_says_how_the_worker_enforces_each_limit(celery_worker_process, client):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = client.get("/healthz").json()
        limits = body.get("sandbox", {}).get(celery_worker_process)
        if limits:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the worker's heartbeat carried no limits")
    assert limits["cgroup_version"] in ("v1", "v2")
    assert limits["enforcement"]["memory"].startswith("cgroup-")
    assert limits["enforcement"]["uid"] == "one host uid per environment"
    assert limits["learner_concurrency"] < limits["account_concurrency"]


SLEEPER = (
    "import time\n"
    "def lambda_handler(event, context):\n"
    "    time.sleep(event['s'])\n"
    "    return 'slept'\n"
)


def test_one_learner_holding_their_share_does_not_delay_another(celery_worker_process):
    from django.conf import settings

    from tests.factories import UserFactory

    a, b = UserFactory(), UserFactory()
    hog = FunctionFactory(owner=a, code=SLEEPER, timeout_s=30)
    quick = FunctionFactory(owner=b)
    share = settings.SANDBOX_LEARNER_CONCURRENCY
    held = [
        services.invocation_start(function=hog, event_text='{"s": 6}', requested_by=a)
        for _ in range(share + 2)
    ]
    time.sleep(1.5)  # A's share is running
    served = wait_for(services.invocation_start(function=quick, event_text="{}", requested_by=b))
    a_results = [wait_for(invocation) for invocation in held]
    assert served.status == Invocation.Status.SUCCESS
    assert served.finished_at < min(i.finished_at for i in a_results if i.status == "success")
    statuses = sorted(i.status for i in a_results)
    assert statuses.count("success") == share
    assert statuses.count("throttled") == 2
    throttled = [i for i in a_results if i.status == "throttled"]
    assert all("each learner" in (i.error or {}).get("errorMessage", "").lower() for i in throttled)
