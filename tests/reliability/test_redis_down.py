"""Redis stopped and started again (empty): the site keeps working, the sandbox says no clearly,
nothing is lost, and the work resumes.

gunicorn and a sandbox worker run as real processes on a Redis of this test's own, which the
test stops; every request is bounded (Browser.TIMEOUT_SECONDS), so a hang fails the test.
"""

import json
from unittest import mock

import pytest
import redis

from learn.practice.models import Answer
from learn.practice.services.attempts import quiz_start
from sandbox.heartbeats import HEARTBEAT_PREFIX
from sandbox.models import Invocation
from sandbox.services import QUEUE_UNAVAILABLE
from tests.practice.factories import single_question
from tests.reliability.conftest import Browser, finished, wait_until
from tests.sandbox.factories import FunctionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_redis_outage_refuses_sandbox_work_clearly_and_loses_nothing(
    private_redis, web, workers, learner
):
    version = single_question()
    lesson = version.question.lesson
    lesson.published = True
    lesson.save()
    attempt = quiz_start(user=learner, lesson=lesson)
    item = attempt.items.get()
    choice = version.choices.get(correct=True)
    function = FunctionFactory(owner=learner)
    server = web(redis_url=private_redis.url)
    browser = Browser(server, learner)

    # Queued while no worker is up: its task sits in Redis, and Redis is about to lose it.
    queued = browser.post(f"/sandbox/{function.pk}/invoke/", {"event": '{"n": 1}'})
    assert queued.status == 302, queued.status
    waiting = Invocation.objects.get(function=function)
    assert waiting.status == Invocation.Status.QUEUED

    private_redis.stop()
    for path in ("/", "/lessons/", f"/lessons/{lesson.slug}/", "/quiz/review/"):
        assert browser.get(path).status == 200, path
    answered = browser.post(
        f"/quiz/attempts/{attempt.pk}/answer/", {"item": str(item.pk), "choice": str(choice.pk)}
    )
    assert answered.status < 400, answered.text[:500]
    assert Answer.objects.filter(item=item).count() == 1

    health = browser.get("/healthz")
    assert health.status == 503
    report = json.loads(health.text)
    assert report["status"] == "degraded" and report["checks"]["redis"] != "ok"

    page = browser.get(f"/sandbox/{function.pk}/")
    assert page.status == 200 and "sandbox is unavailable" in page.text
    refused = browser.post(f"/sandbox/{function.pk}/invoke/", {"event": '{"n": 2}'})
    assert refused.status < 500, refused.text[:500]
    during = Invocation.objects.filter(function=function).latest("pk")
    assert during.status == Invocation.Status.FAILED
    assert during.failure_reason == QUEUE_UNAVAILABLE
    shown = browser.get(refused.location) if refused.location else refused
    assert "could not be reached" in shown.text

    # Back, empty. The invocation queued before the outage is sent again by the worker's
    # sweep; new ones run as usual.
    private_redis.start()
    worker = workers(on_redis=private_redis.url, SANDBOX_REQUEUE_SECONDS="2")
    waiting = finished(waiting)
    assert waiting.status == Invocation.Status.SUCCESS, waiting.failure_reason
    assert waiting.worker == worker.name
    assert browser.post(f"/sandbox/{function.pk}/invoke/", {"event": '{"n": 3}'}).status < 500
    after = finished(Invocation.objects.filter(function=function).latest("pk"))
    assert after.status == Invocation.Status.SUCCESS, after.failure_reason
    assert browser.get("/healthz").status in (200, 503)  # its worker ping is cached briefly

    # Redis restarts under a running worker: the worker reconnects and takes work again.
    private_redis.stop()
    private_redis.start()
    beat = redis.Redis.from_url(private_redis.url)
    wait_until("the worker to beat again", lambda: beat.exists(HEARTBEAT_PREFIX + worker.name))
    assert browser.post(f"/sandbox/{function.pk}/invoke/", {"event": '{"n": 4}'}).status < 500
    last = finished(Invocation.objects.filter(function=function).latest("pk"))
    assert last.status == Invocation.Status.SUCCESS, last.failure_reason
    assert last.payload == {"hello": "world"}
    assert Invocation.objects.filter(status__in=Invocation.PENDING).count() == 0


def test_a_code_challenge_run_the_broker_refuses_says_so_at_once(learner):
    from kombu.exceptions import OperationalError

    from learn.practice import tasks as practice_tasks
    from learn.practice.models import SubmissionStatus
    from learn.practice.services.challenges import QUEUE_UNAVAILABLE, submission_create
    from tests.practice.factories import code_question

    version = code_question()
    with mock.patch.object(
        practice_tasks.grade_submission, "apply_async", side_effect=OperationalError("refused")
    ):
        submission = submission_create(user=learner, version=version, code="def handler(e, c): 1")
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.ERROR
    assert submission.error == QUEUE_UNAVAILABLE and submission.finished_at is not None
