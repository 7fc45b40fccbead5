"""Celery tasks of the practice app: thin, idempotent, taking ids."""

from datetime import datetime

from celery import shared_task

from learn.practice import execution


@shared_task(name="learn.practice.tasks.grade_submission", acks_late=True)
def grade_submission(submission_id: int) -> str:
    """Grade a code challenge submission in the sandbox (runs on the sandbox queue)."""
    return str(execution.submission_grade(submission_id=submission_id).status)


@shared_task(name="learn.practice.tasks.lab_test_wait", acks_late=True)
def lab_test_wait(
    submission_id: int, index: int, since: str, settled_once: bool, quiet_since: str | None = None
) -> None:
    """Look once more at a lab challenge test's expectations (it sends itself again)."""
    execution.lab_test_wait(
        submission_id=submission_id,
        index=index,
        since=datetime.fromisoformat(since),
        settled_once=settled_once,
        quiet_since=datetime.fromisoformat(quiet_since) if quiet_since else None,
    )
