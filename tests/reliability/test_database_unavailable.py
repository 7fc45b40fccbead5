"""The database locked or its connection dropped for a while: a clear page, no half-made writes,
and no result of code that has run is lost."""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client

from learn.practice.models import Answer, ReviewLog
from learn.practice.services.attempts import quiz_start
from sandbox import execution, services
from sandbox.models import Invocation
from tests.practice.factories import single_question
from tests.reliability.conftest import finished, wait_until
from tests.sandbox.factories import FunctionFactory, InvocationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_answer_cut_off_half_way_is_not_half_saved_and_the_page_says_try_again(learner):
    version = single_question()
    attempt = quiz_start(user=learner, lesson=version.question.lesson)
    item = attempt.items.get()
    choice = version.choices.get(correct=True)
    client = Client()
    client.force_login(learner)
    url = f"/quiz/attempts/{attempt.pk}/answer/"
    form = {"item": item.pk, "choice": choice.pk}

    # The answer row is written, then scheduling its review finds the database gone.
    with mock.patch(
        "learn.practice.services.attempts.card_review",
        side_effect=OperationalError("database is locked"),
    ):
        response = client.post(url, form)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "database is busy" in response.content.decode()
    assert not Answer.objects.filter(item=item).exists()
    assert not ReviewLog.objects.filter(card__user=learner).exists()

    # Answering again works, once.
    assert client.post(url, form).status_code < 400
    assert Answer.objects.filter(item=item).count() == 1
    assert ReviewLog.objects.filter(card__user=learner).count() == 1


def test_storing_a_result_is_retried_with_a_fresh_connection(learner):
    invocation = InvocationFactory(
        function=FunctionFactory(owner=learner), status=Invocation.Status.RUNNING
    )
    real_save = Invocation.save
    failures = iter([OperationalError("server closed the connection"), None])

    def flaky(self: Invocation, *args: object, **kwargs: object) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        real_save(self, *args, **kwargs)

    with (
        mock.patch.object(Invocation, "save", flaky),
        mock.patch.object(execution.time, "sleep") as slept,
    ):
        execution.invocation_fail(invocation=invocation, reason="why")
    assert slept.call_count == 1
    invocation.refresh_from_db()
    assert invocation.status == Invocation.Status.FAILED and invocation.failure_reason == "why"


@contextmanager
def database_interrupted() -> Iterator[None]:
    """SQLite: another process holds the write lock. PostgreSQL: every other connection to
    the test database is terminated now, and again when this ends."""
    if connection.vendor == "sqlite":
        holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    terminate = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with connection.cursor() as cursor:
        cursor.execute(terminate)
    yield
    with connection.cursor() as cursor:
        cursor.execute(terminate)


@pytest.mark.integration
def test_a_result_is_stored_once_the_database_is_back(workers, learner):
    # The worker waits 1 s for a SQLite lock, so the held lock outlasts several of its tries.
    workers(SQLITE_TIMEOUT_SECONDS="1")
    slow = "import time\ndef lambda_handler(event, context):\n    time.sleep(3)\n    return 42\n"
    function = FunctionFactory(owner=learner, code=slow, timeout_s=30)
    invocation = services.invocation_start(function=function, event_text="{}", requested_by=learner)

    def running() -> bool:
        invocation.refresh_from_db()
        return invocation.status == Invocation.Status.RUNNING

    wait_until("the invocation to start", running)
    with database_interrupted():
        # Held past the handler's end, so the worker's first writes of the result fail.
        time.sleep(6)
    invocation = finished(invocation)
    assert invocation.status == Invocation.Status.SUCCESS, invocation.failure_reason
    assert invocation.payload == 42
