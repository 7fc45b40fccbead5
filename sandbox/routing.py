"""Which sandbox worker runs a function: a queue per worker, chosen by consistent hashing.

Every sandbox worker consumes the shared `sandbox` queue and its own `sandbox.<hostname>`
(sandbox.worker adds it at start-up). A function's invocations go to the worker that owns it on
a hash ring of the live workers, so its warm environments are found again; when a worker's
heartbeat stops it leaves the ring, and only the functions it owned move (to the survivors,
where they cold-start once). With no worker known (none up, or Redis cannot tell) work goes on
the shared queue, which any worker takes: one worker (`make run`) behaves as before.

The workers are SANDBOX_WORKERS when set (node names, e.g. `sandbox1@host-a`), else every
worker with a fresh heartbeat; either way only live ones are on the ring.
"""

import bisect
import hashlib
import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from kombu.exceptions import KombuError

from sandbox import heartbeats

logger = logging.getLogger(__name__)

# Points per worker on the ring: enough that N workers share the functions within a few percent.
VIRTUAL_NODES = 64


class QueueUnavailable(Exception):
    """The broker (Redis) could not take the task: nothing was queued."""


def _point(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@lru_cache(maxsize=32)
def _ring(workers: tuple[str, ...]) -> tuple[list[int], list[str]]:
    points = sorted(
        (_point(f"{worker}#{n}"), worker) for worker in workers for n in range(VIRTUAL_NODES)
    )
    return [point for point, _ in points], [worker for _, worker in points]


def worker_for(*, key: str, workers: Sequence[str]) -> str | None:
    """The worker that owns key on the ring of workers (None when there are none).

    Adding or removing a worker moves only the keys of the arc it takes or leaves.
    """
    if not workers:
        return None
    points, owners = _ring(tuple(sorted(set(workers))))
    index = bisect.bisect(points, _point(key)) % len(points)
    return owners[index]


def live_workers() -> list[str]:
    """The sandbox workers to route to: SANDBOX_WORKERS (or all heartbeating ones), alive.

    Empty when none is alive or Redis cannot be asked.
    """
    try:
        alive = set(heartbeats.live_workers())
    except redis.RedisError:
        return []
    configured = settings.SANDBOX_WORKERS
    return sorted(alive & set(configured) if configured else alive)


def worker_queue(worker: str) -> str:
    """The queue only `worker` consumes."""
    return f"{settings.CELERY_SANDBOX_QUEUE}.{worker}"


def routing_key(*, function_id: int) -> str:
    return f"function:{function_id}"


def task_named(name: str) -> Any:
    """The task called `name` ("sandbox.api.tasks.async_event_retry") as a signature, to send
    from a module that the task's own module imports (tasks call back into their services):
    sent by name, so neither imports the other both ways."""
    return current_app.signature(name)


def task_send(task: Any, *, args: Sequence[Any], key: str, countdown: float | None = None) -> str:
    """Queue task(*args) on the queue of the worker that owns key, to run countdown seconds
    from now (None: at once); return that worker's name ("" for the shared queue). Raises
    QueueUnavailable when the broker cannot take it."""
    worker = worker_for(key=key, workers=live_workers()) or ""
    queue = worker_queue(worker) if worker else settings.CELERY_SANDBOX_QUEUE
    try:
        if countdown is None:
            task.apply_async(args=tuple(args), queue=queue, routing_key=queue)
        else:
            task.apply_async(args=tuple(args), queue=queue, routing_key=queue, countdown=countdown)
    except (KombuError, redis.RedisError, OSError) as exc:
        logger.warning("could not queue %s on %s: %s", task.name, queue, exc)
        raise QueueUnavailable(str(exc)) from exc
    return worker


def task_broadcast(task: Any, *, args: Sequence[Any]) -> None:
    """Queue task(*args) once for every live worker (each holds its own pool), or once on the
    shared queue when none is known. Logs and gives up when the broker is down: what it is used
    for (retiring warm environments) also happens by itself when they idle out."""
    workers = live_workers()
    queues = [worker_queue(worker) for worker in workers] or [settings.CELERY_SANDBOX_QUEUE]
    for queue in queues:
        try:
            task.apply_async(args=tuple(args), queue=queue, routing_key=queue)
        except (KombuError, redis.RedisError, OSError) as exc:
            logger.warning("could not queue %s on %s: %s", task.name, queue, exc)
            return
