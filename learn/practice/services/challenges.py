"""Code challenges, the web's side: saving a learner's submission and queueing it for grading.

The worker grades it (learn.practice.execution) by running the learner's handler against the
question's hidden tests in the sandbox.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from learn.practice import tasks
from learn.practice.models import QuestionType, QuestionVersion, Submission
from learn.practice.services.grading import PracticeError
from learn.practice.services.reviews import card_ensure, utc

MAX_CODE_BYTES = 64 * 1024


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
    tasks.grade_submission.apply_async(args=[submission_id], queue=settings.CELERY_SANDBOX_QUEUE)
