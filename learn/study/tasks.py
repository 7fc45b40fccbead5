"""Celery tasks of the study app: thin and idempotent."""

from celery import shared_task

from learn.study.services.sessions import sessions_expire_inactive


@shared_task(name="learn.study.tasks.expire_inactive_sessions")
def expire_inactive_sessions() -> int:
    """End sessions idle for too long. Every read of a session ends it lazily too, so this
    tidies sessions nobody comes back to; Celery beat runs it (CELERY_BEAT_SCHEDULE)."""
    return sessions_expire_inactive()
