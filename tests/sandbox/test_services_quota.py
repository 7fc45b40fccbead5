"""sandbox/services.py enforces the learner's cohort quota (learn.cohorts.selectors)."""

import pytest
from django.core.exceptions import ValidationError

from learn.cohorts.models import SandboxQuota
from sandbox import services
from sandbox.models import Invocation
from tests.cohorts.factories import CohortFactory, member
from tests.sandbox.factories import FunctionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def quota(learner):
    cohort = CohortFactory()
    member(cohort, learner)
    return SandboxQuota.objects.create(
        cohort=cohort,
        invocations_per_minute=2,
        max_concurrent=5,
        max_memory_mb=256,
        max_timeout_s=10,
    )


def test_invocations_per_minute(learner, quota, django_capture_on_commit_callbacks) -> None:
    function = FunctionFactory(owner=learner)
    for _ in range(2):
        services.invocation_start(function=function, event_text="{}", requested_by=learner)
    with pytest.raises(services.LimitReached, match="2 invocations a minute"):
        services.invocation_start(function=function, event_text="{}", requested_by=learner)
    assert Invocation.objects.count() == 2


def test_concurrent_invocations(learner, quota) -> None:
    quota.invocations_per_minute = None
    quota.max_concurrent = 3
    quota.save()
    function = FunctionFactory(owner=learner)
    with pytest.raises(services.LimitReached, match="at most 3 can be in flight"):
        services.burst_start(function=function, event_text="{}", count=4, requested_by=learner)
    services.burst_start(function=function, event_text="{}", count=3, requested_by=learner)


def test_memory_and_timeout_a_learner_may_set(learner, quota) -> None:
    with pytest.raises(ValidationError) as caught:
        services.function_create(owner=learner, name="big", memory_mb=512)
    assert "256 MB" in caught.value.message_dict["memory_mb"][0]
    function = services.function_create(owner=learner, name="small", memory_mb=256, timeout_s=10)
    with pytest.raises(ValidationError) as caught:
        services.function_update_config(function=function, timeout_s=11)
    assert "at most 10 s" in caught.value.message_dict["timeout_s"][0]


def test_a_function_configured_before_the_quota_is_refused(learner, quota) -> None:
    function = FunctionFactory(owner=learner, memory_mb=1024)
    with pytest.raises(services.LimitReached, match="256 MB"):
        services.invocation_start(function=function, event_text="{}", requested_by=learner)
    small = FunctionFactory(owner=learner, memory_mb=128)
    with pytest.raises(services.LimitReached, match="256 MB"):
        services.tuning_start(
            function=small,
            event_text="{}",
            memory_sizes=[128, 512],
            runs_per_size=1,
            requested_by=learner,
        )
    assert not Invocation.objects.exists()


def test_learners_outside_a_cohort_keep_the_site_limits(learner) -> None:
    function = services.function_create(owner=learner, name="big", memory_mb=3008, timeout_s=900)
    assert function.memory_mb == 3008
