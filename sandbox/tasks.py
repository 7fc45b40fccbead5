"""Celery tasks of the sandbox (routed to the `sandbox` queue by CELERY_TASK_ROUTES).

Thin and idempotent: each takes an id and calls sandbox.execution; a redelivered task finds its
invocations already done and does nothing. Timeouts are the engine's job, not Celery's.
"""

from celery import shared_task

from sandbox import execution
from sandbox.results import invocation_announce_finished


def _worker_name(task: object) -> str:
    return str(getattr(getattr(task, "request", None), "hostname", "") or "")


@shared_task(bind=True, ignore_result=True)
def invocation_run(self: object, invocation_id: int) -> None:
    try:
        execution.invocation_execute(invocation_id=invocation_id, worker=_worker_name(self))
    finally:
        # Whatever happened is in the database now: wake the web request waiting for it.
        invocation_announce_finished(invocation_id=invocation_id)


@shared_task(bind=True, ignore_result=True)
def burst_run(self: object, experiment_id: int) -> None:
    execution.burst_execute(experiment_id=experiment_id, worker=_worker_name(self))


@shared_task(bind=True, ignore_result=True)
def tuning_run(self: object, experiment_id: int) -> None:
    execution.tuning_execute(experiment_id=experiment_id, worker=_worker_name(self))


@shared_task(ignore_result=True)
def invocations_sweep() -> int:
    return execution.invocations_sweep_stale()


@shared_task(ignore_result=True)
def function_retire(namespace: str, name: str) -> int:
    return execution.function_retire(namespace=namespace, name=name)
