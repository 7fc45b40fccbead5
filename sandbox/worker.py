"""What a sandbox worker does when it starts and stops: check the jail, sweep, heartbeat; and
the `sandbox_stop` control command that stops one running invocation.

The web app cannot cheaply ask Celery whether a worker consumes the `sandbox` queue, so each
sandbox worker keeps a short-lived key in Redis fresh while it can run code; no key means the
console says the sandbox is unavailable (invocations stay queued until a worker comes).
"""

import contextlib
import json
import logging
import threading
import time
from typing import Any

import redis
from celery.signals import worker_ready, worker_shutdown
from celery.worker.control import control_command
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils.module_loading import import_string

from sandbox.heartbeats import HEARTBEAT_PREFIX, heartbeat_client

logger = logging.getLogger(__name__)

_stop = threading.Event()
_hostname: list[str] = []


def _sweep() -> None:
    """Fail work whose worker died mid-run (any live worker may do it for all): each of
    SANDBOX_STALE_SWEEPS, a function returning how many it marked."""
    close_old_connections()
    try:
        for path in settings.SANDBOX_STALE_SWEEPS:
            try:
                swept = import_string(path)()
            except DatabaseError as exc:
                logger.warning("stale sweep %s failed: %s", path, exc)
            else:
                if swept:
                    logger.warning("%s marked %d stale runs failed", path, swept)
    finally:
        close_old_connections()


def _pool_report() -> dict[str, Any]:
    """What the instructors' sandbox page shows of this worker's pool (never creates one)."""
    from sandbox import pool

    current = pool._pool
    if current is None:
        return {}
    try:
        return {"stats": current.stats(), "environments": current.environments()[:200]}
    except RuntimeError:  # shut down meanwhile
        return {}


def _beat(hostname: str) -> None:
    client = heartbeat_client()
    key = HEARTBEAT_PREFIX + hostname
    next_sweep = 0.0
    while not _stop.is_set():
        try:
            beat = {"at": time.time(), **_pool_report()}
            client.set(
                key, json.dumps(beat, default=str), ex=settings.SANDBOX_HEARTBEAT_TTL_SECONDS
            )
        except redis.RedisError as exc:
            logger.warning("sandbox heartbeat not written: %s", exc)
        # The heartbeat thread doubles as the periodic sweep, so no beat scheduler is needed.
        if time.monotonic() >= next_sweep:
            _sweep()
            next_sweep = time.monotonic() + settings.SANDBOX_SWEEP_INTERVAL_SECONDS
        _stop.wait(settings.SANDBOX_HEARTBEAT_INTERVAL_SECONDS)
    with contextlib.suppress(redis.RedisError):
        client.delete(key)


def _consumes_sandbox_queue(consumer: Any) -> bool:
    try:
        queues = set(consumer.app.amqp.queues.consume_from)
    except AttributeError:
        return True
    return settings.CELERY_SANDBOX_QUEUE in queues


@worker_ready.connect
def on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    from sandbox import execution, routing
    from sandbox.engine import JailUnavailable
    from sandbox.pool import get_pool

    if sender is None or not _consumes_sandbox_queue(sender):
        return
    hostname = str(getattr(sender, "hostname", "") or "")
    # This worker has just started: nothing can be running on it, whatever the database says.
    swept = execution.invocations_sweep_stale(worker=hostname)
    if swept:
        logger.warning("marked %d invocations of a previous run of %s failed", swept, hostname)
    try:
        get_pool()
    except JailUnavailable as exc:
        # Refuse the queue: its jobs stay queued for a worker whose jail works, and without a
        # heartbeat the console says the sandbox is unavailable. A task that slipped through
        # still fails with the reason (get_pool raises again) rather than run unsandboxed.
        logger.error("sandbox jail unavailable, this worker will run no code: %s", exc)
        with contextlib.suppress(Exception):  # the consumer may be shutting down already
            sender.cancel_task_queue(settings.CELERY_SANDBOX_QUEUE)
        return
    # Its own queue, where sandbox.routing sends the functions this worker owns on the ring;
    # consumed before the first heartbeat, so nothing is routed here that no one reads.
    own = routing.worker_queue(hostname)
    sender.add_task_queue(own, exchange=own, routing_key=own)
    _stop.clear()
    _hostname[:] = [hostname]
    threading.Thread(target=_beat, args=(hostname,), name="sandbox-heartbeat", daemon=True).start()


@worker_shutdown.connect
def on_worker_shutdown(**kwargs: Any) -> None:
    from sandbox.pool import shutdown_pool

    _stop.set()
    # Say at once that this worker is gone, rather than when the heartbeat expires.
    for hostname in _hostname:
        with contextlib.suppress(redis.RedisError):
            heartbeat_client().delete(HEARTBEAT_PREFIX + hostname)
    shutdown_pool()


@control_command(
    args=[("invocation_id", int), ("reason", str)],
    signature="<invocation_id> <reason>",
)
def sandbox_stop(state: Any, invocation_id: int, reason: str = "Stopped") -> dict[str, bool]:
    """Stop an invocation this worker runs (sent by sandbox.services.invocation_stop).

    A broadcast control message rather than a key the worker polls: it reaches the worker at
    once over the broker it already listens to, and the reply says whether it was there.
    Runs in the consumer's thread; the kill is synchronous and takes at most a few seconds.
    """
    from sandbox import execution

    stopped = execution.invocation_interrupt(invocation_id=int(invocation_id), reason=str(reason))
    if stopped:
        logger.warning("invocation %s stopped: %s", invocation_id, reason)
    return {"stopped": stopped}
