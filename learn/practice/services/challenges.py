"""Code challenges, the web's side: saving a learner's submission and queueing it for grading.

The worker grades it (learn.practice.execution) by running the learner's handler against the
question's hidden tests in the sandbox.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import KombuError

from learn.practice import tasks
from learn.practice.models import (
    ChallengeRuntime,
    QuestionType,
    QuestionVersion,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from learn.practice.services.grading import PracticeError
from learn.practice.services.reviews import card_ensure, utc
from sandbox import services as sandbox_services

logger = logging.getLogger(__name__)

MAX_CODE_BYTES = 64 * 1024
# Where a Node.js answer starts: the question's starter is Python, the task and tests the same.
NODE_STARTER = """export const handler = async (event, context) => {
  // The same task and hidden tests as in Python: return what the tests expect.
  return null;
};
"""


def starter_code(*, version: QuestionVersion, runtime: str) -> str:
    """The code a learner starts from in runtime."""
    return NODE_STARTER if runtime == ChallengeRuntime.NODEJS24 else version.starter_code


def submission_create(
    *,
    user: User,
    version: QuestionVersion,
    code: str,
    runtime: str = ChallengeRuntime.PYTHON311,
    now: datetime | None = None,
) -> Submission:
    """Save the learner's code (in runtime's language) and queue it for grading once the
    transaction commits. Raises PracticeError for what the learner can fix."""
    submission = _queue(user=user, version=version, code=code, runtime=runtime)
    card_ensure(user=user, question=version.question, now=utc(now))
    return submission


def event_run_create(
    *,
    user: User,
    version: QuestionVersion,
    code: str,
    event_text: str,
    runtime: str = ChallengeRuntime.PYTHON311,
) -> Submission:
    """Queue one run of the learner's code with an event of their own (as the Lambda
    console's Test button does): its output and log come back whole; nothing is graded or
    scheduled. Raises PracticeError for an event that is not JSON, and as submission_create."""
    try:
        event = sandbox_services.event_parse(text=event_text)
    except ValidationError as exc:
        raise PracticeError(" ".join(exc.messages)) from None
    return _queue(
        user=user,
        version=version,
        code=code,
        runtime=runtime,
        kind=SubmissionKind.EVENT,
        event=event,
    )


def _queue(
    *,
    user: User,
    version: QuestionVersion,
    code: str,
    runtime: str,
    kind: str = SubmissionKind.TESTS,
    event: Any = None,
) -> Submission:
    if runtime not in ChallengeRuntime.values:
        raise PracticeError("Choose Python 3.11 or Node.js 24.")
    if version.question.type != QuestionType.CODE:
        raise PracticeError("Only code challenges can run tests.")
    if not code.strip():
        raise PracticeError("Write some code before running it.")
    if len(code.encode()) > MAX_CODE_BYTES:
        raise PracticeError(f"The code is over {MAX_CODE_BYTES // 1024} KB; keep it to one module.")
    with transaction.atomic():
        # Each submission runs in the sandbox: it counts toward the learner's fair share.
        sandbox_services.learner_lock(user=user)
        if version.lab is not None:
            _check_lab_run(user=user, version=version, runtime=runtime, kind=kind)
        try:
            sandbox_services.learner_capacity_check(user=user, adding=1)
        except sandbox_services.LimitReached as exc:
            raise PracticeError(str(exc)) from None
        submission = Submission.objects.create(
            user=user,
            version=version,
            code=code.replace("\r\n", "\n"),
            runtime=runtime,
            kind=kind,
            event=event,
            tests_total=version.tests.count() if kind == SubmissionKind.TESTS else 0,
        )
    transaction.on_commit(lambda: _enqueue(submission.pk))
    return submission


def _check_lab_run(*, user: User, version: QuestionVersion, runtime: str, kind: str) -> None:
    """A lab challenge runs in the learner's one function and lab: one grading at a time."""
    if kind != SubmissionKind.TESTS:
        raise PracticeError(
            "This challenge runs through its trigger: run the tests, or test your function "
            f"challenge-{version.question.slug} from its own page."
        )
    if runtime != ChallengeRuntime.PYTHON311:
        raise PracticeError("This challenge runs through a real trigger; answer it in Python.")
    running = Submission.objects.filter(
        user=user,
        version__question=version.question,
        kind=SubmissionKind.TESTS,
        status__in=(SubmissionStatus.QUEUED, SubmissionStatus.RUNNING),
    )
    if running.exists():
        raise PracticeError(
            "Your last run of this challenge is still going through its trigger; "
            "wait for its results first."
        )


QUEUE_UNAVAILABLE = (
    "The sandbox's queue (Redis) could not be reached, so the tests did not run. "
    "Run them again in a moment."
)


def _enqueue(submission_id: int) -> None:
    """Queue the grading; when the broker cannot take it, say so on the submission at once
    (and free the learner's slot) rather than leave it queued for a task that does not exist."""
    try:
        tasks.grade_submission.apply_async(
            args=[submission_id], queue=settings.CELERY_SANDBOX_QUEUE
        )
    except (KombuError, redis.RedisError, OSError):
        logger.warning("could not queue the grading of submission %s", submission_id)
        now = timezone.now()
        Submission.objects.filter(pk=submission_id, status=SubmissionStatus.QUEUED).update(
            status=SubmissionStatus.ERROR, error=QUEUE_UNAVAILABLE, finished_at=now, updated_at=now
        )
