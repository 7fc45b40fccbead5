"""Code challenges: a submission runs the learner's handler against hidden tests in the sandbox."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from learn.practice.models import (
    QuestionType,
    QuestionVersion,
    Submission,
    SubmissionStatus,
    TestResult,
)
from learn.practice.services.grading import PracticeError, output_matches, score_of
from learn.practice.services.reviews import card_ensure, utc

logger = logging.getLogger(__name__)

MAX_CODE_BYTES = 64 * 1024
CHALLENGE_MEMORY_MB = 128
CHALLENGE_TIMEOUT_S = 3


def submission_create(
    *,
    user: User,
    version: QuestionVersion,
    code: str,
    now: datetime | None = None,
) -> Submission:
    """Save the learner's code and queue it for grading once the transaction commits."""
    if version.question.type != QuestionType.CODE:
        raise PracticeError("Only code challenges can run tests.")
    if not code.strip():
        raise PracticeError("Write some code before running the tests.")
    if len(code.encode()) > MAX_CODE_BYTES:
        raise PracticeError(f"The code is over {MAX_CODE_BYTES // 1024} KB; keep it to one module.")
    submission = Submission.objects.create(
        user=user,
        version=version,
        code=code.replace("\r\n", "\n"),
        tests_total=version.tests.count(),
    )
    card_ensure(user=user, question=version.question, now=utc(now))
    transaction.on_commit(lambda: _enqueue(submission.pk))
    return submission


def _enqueue(submission_id: int) -> None:
    from learn.practice.tasks import grade_submission

    grade_submission.apply_async(args=[submission_id], queue=settings.CELERY_SANDBOX_QUEUE)


def _budget_problem(*, version: QuestionVersion, result: Any, warm_test: bool) -> str:
    problems = []
    billed_budget = version.budget_billed_duration_ms
    if billed_budget is not None and warm_test and result.billed_duration_ms > billed_budget:
        problems.append(
            f"billed {result.billed_duration_ms} ms on a warm invocation; the budget is "
            f"{billed_budget} ms"
        )
    memory_budget = version.budget_max_memory_mb
    if memory_budget is not None and result.max_memory_used_mb > memory_budget:
        problems.append(
            f"used {result.max_memory_used_mb} MB of memory; the budget is {memory_budget} MB"
        )
    return "; ".join(problems)


def _describe_failure(result: Any) -> str:
    if result.status == "success":
        return "the output is not what the test expects"
    if result.status == "timeout":
        return f"timed out after {CHALLENGE_TIMEOUT_S} s"
    if result.error:
        return f"{result.error.get('errorType', 'Error')}: {result.error.get('errorMessage', '')}"
    return result.status


def submission_grade(*, submission_id: int, now: datetime | None = None) -> Submission:
    """Run a submission's hidden tests, in order, in one warm environment, and store the results.

    Idempotent: a finished submission is returned as is, and a run interrupted half-way starts
    over. Never runs code outside the jail: when the sandbox is unavailable the submission is
    marked "could not run" with the reason.
    """
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update()
            .select_related("version__question")
            .get(pk=submission_id)
        )
        if submission.is_done:
            return submission
        submission.status = SubmissionStatus.RUNNING
        submission.save(update_fields=["status", "updated_at"])
        submission.results.all().delete()

    from sandbox.engine import FunctionSpec, JailUnavailable, SpecError
    from sandbox.pool import get_pool

    version = submission.version
    slug = version.question.slug
    tests = list(version.tests.order_by("order"))
    outcomes: list[bool] = []
    try:
        spec = FunctionSpec(
            name=f"challenge-{slug}"[:64],
            handler=version.handler or "app.handler",
            code={"app.py": submission.code},
            memory_mb=CHALLENGE_MEMORY_MB,
            timeout_s=CHALLENGE_TIMEOUT_S,
            namespace=f"user-{submission.user_id}/challenge-{slug}",
            # Part of the version key: each submission starts in fresh environments, so state a
            # previous run left in a warm environment cannot make its tests pass (or fail).
            environment={"LAMBDALAB_SUBMISSION": str(submission.pk)},
        )
        pool = get_pool()
        for position, test in enumerate(tests):
            result = pool.invoke(spec, test.event)
            matches = result.status == "success" and output_matches(
                expected=test.expected, payload=result.payload
            )
            budget = _budget_problem(version=version, result=result, warm_test=position > 0)
            passed = matches and not budget
            problem = "" if passed else (budget if matches else _describe_failure(result))
            TestResult.objects.create(
                submission=submission,
                test=test,
                order=position,
                passed=passed,
                status=result.status,
                output=result.payload if result.status == "success" else None,
                error=result.error,
                log=result.log[-8000:],
                billed_duration_ms=result.billed_duration_ms,
                max_memory_used_mb=result.max_memory_used_mb,
                cold_start=result.cold_start,
                within_budget=not budget,
                problem=problem,
            )
            outcomes.append(passed)
    except (JailUnavailable, SpecError, RuntimeError) as exc:
        logger.exception("submission %s could not run", submission.pk)
        submission.status = SubmissionStatus.ERROR
        submission.error = f"The sandbox could not run this submission: {exc}"
        submission.finished_at = utc(now)
        submission.save()
        return submission
    submission.tests_total = len(tests)
    submission.tests_passed = sum(outcomes)
    submission.grade = score_of(outcomes)
    submission.status = (
        SubmissionStatus.PASSED if outcomes and all(outcomes) else SubmissionStatus.FAILED
    )
    submission.finished_at = utc(now)
    submission.save()

    from learn.practice.services.attempts import submission_answer_graded

    submission_answer_graded(submission=submission, now=now)
    return submission
