"""Celery tasks of the triggers (routed to the `sandbox` queue: a poller runs the function in
the worker's own EnvironmentPool, as the sandbox's invocation task does; an event source
mapping's links go to the queue of the worker that owns its function, sandbox.routing).

Why a chain of tasks rather than a beat task per poll: a beat tick every few seconds would add
its interval to every message's latency, and one poll per tick could not keep up with a busy
queue. Each link long-polls the queue (TRIGGERS_SQS_WAIT_SECONDS), runs the batch and sends the
next link straight away, so a message reaches the handler as soon as SQS hands it out; the lease
in leases.py keeps one chain per slot, and the beat's watchdog restarts a chain that a worker
restart broke.
"""

import logging

from celery import shared_task
from django.conf import settings

from sandbox.triggers import services

logger = logging.getLogger(__name__)


def _worker_name(task: object) -> str:
    return str(getattr(getattr(task, "request", None), "hostname", "") or "")


@shared_task(bind=True, ignore_result=True)
def sqs_poll(self: object, mapping_id: int, slot: int, token: str) -> None:
    try:
        delay = services.poller_step(
            mapping_id=mapping_id, slot=slot, token=token, worker=_worker_name(self)
        )
    except Exception:
        # The chain goes on (messages not deleted come back by themselves); the lease says
        # whether it is still this chain's at the next link.
        logger.exception("SQS poller of mapping %s failed", mapping_id)
        delay = float(settings.TRIGGERS_SQS_BACKOFF_SECONDS)
    if delay is not None:
        services.poller_continue(mapping_id=mapping_id, slot=slot, token=token, delay=delay)


@shared_task(ignore_result=True)
def sqs_pollers_ensure() -> int:
    return services.pollers_ensure()


@shared_task(bind=True, ignore_result=True)
def relay_poll(self: object, trigger_id: int, token: str) -> None:
    try:
        delay = services.relay_step(trigger_id=trigger_id, token=token)
    except Exception:
        logger.exception("relay of trigger %s failed", trigger_id)
        delay = float(settings.TRIGGERS_SQS_BACKOFF_SECONDS)
    if delay is not None:
        relay_poll.apply_async((trigger_id, token), countdown=delay or None)


@shared_task(ignore_result=True)
def schedules_fire() -> int:
    return services.schedules_fire()
