"""Two learners, one sandbox: no setting or burst of one learner's can hurt the other."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from django.test import override_settings

from learn.practice.models import Submission, SubmissionStatus
from sandbox import services
from sandbox.engine.pool import reservation_message
from sandbox.models import Function, Invocation
from tests.factories import UserFactory
from tests.practice.factories import code_question
from tests.sandbox.factories import FunctionFactory, InvocationFactory

LIMITS = {
    "SANDBOX_ACCOUNT_CONCURRENCY": 10,
    "SANDBOX_UNRESERVED_MINIMUM": 1,
    "SANDBOX_LEARNER_CONCURRENCY": 5,
    "SANDBOX_LEARNER_PROVISIONED": 2,
}


@pytest.fixture
def two_learners(db):
    return UserFactory(), UserFactory()


@override_settings(**LIMITS)
def test_a_reservation_past_the_learner_share_is_refused(two_learners):
    a, _ = two_learners
    function = FunctionFactory(owner=a)
    with pytest.raises(ValidationError) as refused:
        services.function_update_config(function=function, reserved_concurrency=6)
    assert "Each learner may reserve at most 5" in str(refused.value)
    function.refresh_from_db()
    assert function.reserved_concurrency is None


@override_settings(**LIMITS)
def test_reservations_of_all_learners_leave_the_unreserved_minimum(two_learners):
    a, b = two_learners
    a_fn, b_fn = FunctionFactory(owner=a), FunctionFactory(owner=b)
    services.function_update_config(function=a_fn, reserved_concurrency=5)
    with pytest.raises(ValidationError) as refused:
        services.function_update_config(function=b_fn, reserved_concurrency=5)
    message = refused.value.message_dict["reserved_concurrency"][0]
    assert message.startswith(reservation_message(1))
    assert "4 can still be reserved" in message
    # A reservation ends with its function.
    services.function_delete(function=a_fn)
    services.function_update_config(function=b_fn, reserved_concurrency=5)
    assert Function.objects.get(pk=b_fn.pk).reserved_concurrency == 5


@override_settings(**LIMITS)
def test_provisioned_environments_are_capped_per_learner(two_learners):
    a, b = two_learners
    first, second = FunctionFactory(owner=a), FunctionFactory(owner=a)
    services.function_update_config(function=first, provisioned_concurrency=2)
    with pytest.raises(ValidationError) as refused:
        services.function_update_config(function=second, provisioned_concurrency=1)
    assert "at most 2 provisioned environments" in str(refused.value)
    other = FunctionFactory(owner=b)
    services.function_update_config(function=other, provisioned_concurrency=2)


def test_deleting_or_reconfiguring_retires_the_environments(
    learner, django_capture_on_commit_callbacks
):
    function = FunctionFactory(owner=learner)
    namespace, name = function.namespace, function.name
    with (
        mock.patch.object(services.routing, "live_workers", return_value=["a@h", "b@h"]),
        mock.patch.object(services.tasks.function_retire, "apply_async") as retire,
    ):
        # Every worker holds its own pool: each is told.
        with django_capture_on_commit_callbacks(execute=True):
            services.function_update_config(function=function, memory_mb=256)
        assert [call.kwargs for call in retire.call_args_list] == [
            {"args": (namespace, name), "queue": f"sandbox.{w}", "routing_key": f"sandbox.{w}"}
            for w in ("a@h", "b@h")
        ]
        retire.reset_mock()
        with django_capture_on_commit_callbacks(execute=True):
            services.function_delete(function=function)
        assert [call.kwargs["args"] for call in retire.call_args_list] == [(namespace, name)] * 2


@override_settings(SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS=2)
def test_code_challenge_submissions_count_toward_the_share(learner):
    version = code_question()
    Submission.objects.create(
        user=learner, version=version, code="x", status=SubmissionStatus.RUNNING
    )
    function = FunctionFactory(owner=learner)
    InvocationFactory(function=function, requested_by=learner, status=Invocation.Status.QUEUED)
    with pytest.raises(services.LimitReached, match="queued or running"):
        services.invocation_start(function=function, event_text="{}", requested_by=learner)


@pytest.mark.django_db(transaction=True)
@override_settings(SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS=20)
def test_the_in_flight_cap_holds_under_concurrent_requests():
    learner = UserFactory()
    function = FunctionFactory(owner=learner)

    def start(_: int) -> bool:
        try:
            services.invocation_start(function=function, event_text="{}", requested_by=learner)
        except services.LimitReached:
            return False
        finally:
            close_old_connections()
        return True

    with (
        mock.patch.object(services.tasks.invocation_run, "apply_async"),
        ThreadPoolExecutor(max_workers=8) as executor,
    ):
        started = sum(executor.map(start, range(40)))
    assert started == 20
    assert Invocation.objects.filter(requested_by=learner).count() == 20


@pytest.mark.django_db(transaction=True)
@override_settings(SANDBOX_USER_MAX_FUNCTIONS=5)
def test_the_function_count_holds_under_concurrent_requests():
    learner = UserFactory()

    def create(n: int) -> bool:
        try:
            services.function_create(owner=learner, name=f"fn-{n}")
        except services.LimitReached:
            return False
        finally:
            close_old_connections()
        return True

    with ThreadPoolExecutor(max_workers=8) as executor:
        created = sum(executor.map(create, range(16)))
    assert created == 5
    assert Function.objects.filter(owner=learner).count() == 5
