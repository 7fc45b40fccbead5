"""learn/cohorts/selectors.py: which quota applies to a learner."""

import pytest
from django.test import override_settings

from learn.cohorts.models import SandboxQuota
from learn.cohorts.selectors import Quota, sandbox_quota
from tests.cohorts.factories import CohortFactory, member

pytestmark = pytest.mark.django_db


@override_settings(
    SANDBOX_USER_INVOCATIONS_PER_MINUTE=60, SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS=20
)
def test_the_strictest_of_each_limit_applies(learner, instructor) -> None:
    assert sandbox_quota(user=learner) == Quota(60, 20, 10_240, 900)
    first, second = CohortFactory(owner=instructor), CohortFactory()
    member(first, learner)
    member(second, learner)
    SandboxQuota.objects.create(cohort=first, invocations_per_minute=10, max_memory_mb=1024)
    SandboxQuota.objects.create(cohort=second, invocations_per_minute=30, max_timeout_s=30)
    assert sandbox_quota(user=learner) == Quota(10, 20, 1024, 30)
    # A quota binds the cohort's members, not its instructor.
    assert sandbox_quota(user=instructor) == Quota(60, 20, 10_240, 900)
    SandboxQuota.objects.create(cohort=CohortFactory(), invocations_per_minute=1)
    assert sandbox_quota(user=learner).invocations_per_minute == 10


def test_a_run_of_the_learners_own_event_solves_no_challenge(learner) -> None:
    from learn.cohorts.selectors import learner_rows, learner_submissions
    from learn.practice.models import Submission, SubmissionKind, SubmissionStatus
    from tests.practice.factories import code_question

    cohort = CohortFactory()
    member(cohort, learner)
    version = code_question()
    Submission.objects.create(
        user=learner,
        version=version,
        code="x",
        kind=SubmissionKind.EVENT,
        event={},
        status=SubmissionStatus.PASSED,  # the handler ran without an error
    )
    (row,) = learner_rows(cohort=cohort)
    assert row.challenges_solved == 0
    assert learner_submissions(user=learner) == []
    Submission.objects.create(
        user=learner, version=version, code="x", status=SubmissionStatus.PASSED, tests_total=2
    )
    (row,) = learner_rows(cohort=cohort)
    assert row.challenges_solved == 1 and len(learner_submissions(user=learner)) == 1
