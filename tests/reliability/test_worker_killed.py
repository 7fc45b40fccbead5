"""A sandbox worker SIGKILLed mid-invocation: the run ends `failed` with the reason, never stuck.

Real Redis, real Celery worker processes, the real engine: the invocation is running inside
the worker's jail when the worker is killed; a second worker's sweep notices the first one's
heartbeat has stopped and fails the run; the learner's in-flight slot is free again and a new
invocation of the same function runs on the survivor.
"""

import pytest
from django.test import Client
from django.urls import reverse

from sandbox import services
from sandbox.models import Invocation
from tests.reliability.conftest import finished, wait_until
from tests.sandbox.factories import FunctionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SLEEPY = (
    "import time\n"
    "def lambda_handler(event, context):\n"
    "    if event.get('sleep'):\n"
    "        time.sleep(event['sleep'])\n"
    "    return {'done': True}\n"
)


def test_a_killed_worker_leaves_no_invocation_running_and_the_next_one_works(workers, learner):
    first_worker = workers()
    function = FunctionFactory(owner=learner, code=SLEEPY, timeout_s=60)
    client = Client()
    client.force_login(learner)
    client.post(reverse("sandbox:invoke", args=[function.pk]), {"event": '{"sleep": 45}'})
    stuck = Invocation.objects.get(function=function)

    def running() -> bool:
        stuck.refresh_from_db()
        return stuck.status == Invocation.Status.RUNNING

    wait_until("the invocation to start on the worker", running)
    assert stuck.worker == first_worker.name

    first_worker.kill()
    survivor = workers()
    stuck = finished(stuck)
    assert stuck.status == Invocation.Status.FAILED
    assert "sandbox worker stopped while this invocation was running" in stuck.failure_reason
    assert stuck.finished_at is not None

    # The slot is free: the learner may fill their whole in-flight allowance again.
    from learn.cohorts.selectors import sandbox_quota

    services.learner_capacity_check(user=learner, adding=sandbox_quota(user=learner).max_concurrent)
    # The page says what happened, and a resubmission runs on the survivor.
    page = client.get(stuck.get_absolute_url()).content.decode()
    assert "sandbox worker stopped" in page
    client.post(reverse("sandbox:invoke", args=[function.pk]), {"event": "{}"})
    again = finished(Invocation.objects.filter(function=function).latest("pk"))
    assert again.status == Invocation.Status.SUCCESS, again.failure_reason or again.error
    assert again.payload == {"done": True}
    assert again.worker == survivor.name
    assert not Invocation.objects.filter(status__in=Invocation.PENDING).exists()


def test_an_async_attempt_whose_worker_was_killed_goes_to_its_failure_destination(workers, learner):
    import json

    from sandbox.api import services as api_services
    from sandbox.api.models import AsyncEvent
    from sandbox.aws.accounts import account_for

    first_worker = workers()
    function = FunctionFactory(owner=learner, code=SLEEPY, timeout_s=60)
    sink = FunctionFactory(owner=learner, name="sink", code=SLEEPY)
    api_services.event_invoke_config_put(
        function=function,
        qualifier="$LATEST",
        maximum_retry_attempts=0,
        on_failure=f"arn:aws:lambda:us-east-1:{account_for(learner)}:function:sink",
    )
    event = api_services.async_invoke(
        function=function, requested_by=learner, event_text='{"sleep": 45}'
    )
    attempt = event.current
    assert attempt is not None

    def running() -> bool:
        attempt.refresh_from_db()
        return attempt.status == Invocation.Status.RUNNING

    wait_until("the attempt to start on the worker", running)
    first_worker.kill()
    workers()
    assert finished(attempt).status == Invocation.Status.FAILED

    def settled() -> bool:
        event.refresh_from_db()
        return event.status != AsyncEvent.Status.QUEUED

    wait_until("the asynchronous invocation to settle", settled, timeout=30)
    assert (event.status, event.invoke_count) == (AsyncEvent.Status.FAILED, 1)
    delivered = wait_until(
        "the failure record to reach the destination",
        lambda: Invocation.objects.filter(function=sink).first(),
    )
    record = json.loads(delivered.event)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert "sandbox worker stopped" in record["responsePayload"]["errorMessage"]
    assert finished(delivered).status == Invocation.Status.SUCCESS
