"""Stopping a learner's running invocation from /instructor/sandbox/, through a real Redis, a
real Celery worker (threads pool) and the real engine."""

import time

import pytest

from sandbox.models import Invocation
from sandbox.services import invocation_start
from tests.sandbox.factories import FunctionFactory
from tests.sandbox.test_tasks import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LONG = (
    "import time\n"
    "def lambda_handler(event, context):\n"
    "    print('working on it', flush=True)\n"
    "    time.sleep(60)\n"
    "    return 'finished'\n"
)


def wait_running(invocation: Invocation, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        invocation.refresh_from_db()
        if invocation.status == Invocation.Status.RUNNING:
            return
        time.sleep(0.1)
    pytest.fail(f"invocation {invocation.pk} still {invocation.status}")


def test_an_instructor_stops_a_running_invocation_and_the_learner_sees_it(
    celery_worker_process, learner, instructor, client
):
    function = FunctionFactory(owner=learner, code=LONG)
    function.timeout_s = 120
    function.save()
    invocation = invocation_start(function=function, event_text="{}", requested_by=learner)
    wait_running(invocation)
    assert invocation.worker == celery_worker_process

    client.force_login(instructor)
    started = time.monotonic()
    response = client.post(f"/instructor/sandbox/invocations/{invocation.pk}/stop/", follow=True)
    html = response.content.decode()
    # Either the worker had it in the engine already, or it stops it on arrival.
    assert "stopped" in html or "about to start" in html
    invocation = wait_for(invocation, timeout=30)
    assert time.monotonic() - started < 30  # not its 120 s timeout
    assert invocation.status == Invocation.Status.STOPPED
    assert invocation.error["errorType"] == "Sandbox.Stopped"
    assert invocation.failure_reason.startswith("Stopped by an instructor")

    # The learner sees it on their console.
    client.force_login(learner)
    page = client.get(invocation.get_absolute_url()).content.decode()
    assert "Stopped by an instructor" in page and "data-stopped" in page

    # The worker goes on: the function's next invocation runs (in a new environment).
    function.files.update(content="def lambda_handler(event, context):\n    return 'again'\n")
    again = wait_for(invocation_start(function=function, event_text="{}", requested_by=learner))
    assert again.status == Invocation.Status.SUCCESS and again.payload == "again"
