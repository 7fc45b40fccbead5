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
