"""Celery tasks of the Lambda API: the retries of asynchronous invocations, the hook that
hears when an attempt has run, and starting provisioned environments (on the worker that owns
the function, where the services send it).

Thin and idempotent, as the sandbox's own tasks: each takes ids and calls sandbox.api.services,
which claims its step with a conditional update, so a task delivered twice acts once. Retries
run on the default queue: they only record and queue work, the sandbox queue runs it.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import task_postrun

logger = logging.getLogger(__name__)

INVOCATION_TASK = "sandbox.tasks.invocation_run"


@shared_task(ignore_result=True)
def async_event_retry(event_id: int, invoke_count: int, throttles: int) -> None:
    from sandbox.api import services

    services.async_event_retry(event_id=event_id, invoke_count=invoke_count, throttles=throttles)


@shared_task(ignore_result=True)
def provisioned_concurrency_apply(function_id: int, version_number: int) -> None:
    from sandbox.api import services

    services.provisioned_concurrency_apply(function_id=function_id, version_number=version_number)


@task_postrun.connect
def after_invocation(task: Any = None, args: Any = None, kwargs: Any = None, **extra: Any) -> None:
    """Once the worker has stored an invocation's result (and woken any waiter), retry or
    finish the asynchronous invocation it was an attempt of, if any.

    A signal rather than a call in sandbox.tasks: the sandbox knows nothing of the API.
    """
    if getattr(task, "name", "") != INVOCATION_TASK:
        return
    invocation_id = (args or [None])[0] if args else (kwargs or {}).get("invocation_id")
    if invocation_id is None:
        return
    from sandbox.api import services

    try:
        services.async_event_attempt_finished(invocation_id=int(invocation_id))
    except Exception:
        # The attempt's own result is stored already; only what follows it is lost.
        logger.exception("could not go on after invocation %s", invocation_id)
