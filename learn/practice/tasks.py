"""Celery tasks of the practice app: thin, idempotent, taking ids."""

from celery import shared_task

from learn.practice import execution


@shared_task(name="learn.practice.tasks.grade_submission", acks_late=True)
def grade_submission(submission_id: int) -> str:
    """Grade a code challenge submission in the sandbox (runs on the sandbox queue)."""
    return str(execution.submission_grade(submission_id=submission_id).status)
