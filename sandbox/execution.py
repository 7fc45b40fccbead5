"""What the sandbox worker runs: the one place the web side and the learning side hand work to
the engine.

Celery tasks call the *_execute functions here; sandbox.services (the web's writes) only queue
them. Code challenges go through invoke(), which maps every way the sandbox can fail to run
code onto ExecutionFailed, exactly as an invocation records it in failure_reason. Nothing here
runs in the web process: the EnvironmentPool is created on first use, in the worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.db.models import Count
from django.utils import timezone

from lambdalab.json_input import JSONTooDeep, json_parse
from sandbox import heartbeats
from sandbox.engine import FunctionSpec, InvocationResult, JailUnavailable, SpecError
from sandbox.models import Experiment, Invocation

__all__ = [
    "MAX_RUNS_PER_SIZE",
    "TUNING_INVOCATIONS_PER_RUN",
    "TUNING_MEMORY_SIZES",
    "ExecutionFailed",
    "InvocationResult",
    "burst_execute",
    "function_retire",
    "invocation_execute",
    "invocation_fail",
    "invocation_handle",
    "invocation_interrupt",
    "invocation_store_result",
    "invocations_sweep_stale",
    "invoke",
    "tuning_execute",
]

logger = logging.getLogger(__name__)

TUNING_MEMORY_SIZES = (128, 256, 512, 1024, 1769, 3008)
MAX_RUNS_PER_SIZE = 5
# A tuning run at one size: a cold start in a fresh environment, then one warm invocation.
TUNING_INVOCATIONS_PER_RUN = 2


class ExecutionFailed(Exception):
    """The sandbox could not run the code at all (not the handler's own error).

    str() is the reason to show the learner, the same words an invocation's failure_reason
    holds.
    """


def invoke(
    *,
    config: Mapping[str, Any],
    event: Any,
    gate: Callable[[], None] | None = None,
    handle: str | None = None,
    qualifier: str = "",
) -> InvocationResult:
    """Run event through the function config describes (FunctionSpec.to_config()'s keys) in
    this process's EnvironmentPool, and return the engine's result.

    The handler's own failures (errors, timeouts, crashes, throttling) are results. Raises
    ExecutionFailed when nothing could be run: an invalid configuration, a worker whose jail
    does not work (code never runs unsandboxed), or any fault of the engine itself. gate, when
    given, is called by the engine once the invocation is admitted and its environment chosen,
    right before it runs (see EnvironmentPool.invoke's on_admitted). handle names the run for
    invocation_interrupt. qualifier is what the caller invoked through (the handler's
    context.invoked_function_arn ends with it; "" unqualified).
    """
    from sandbox.pool import get_pool

    try:
        spec = FunctionSpec.from_config(config)
    except SpecError as exc:
        raise ExecutionFailed(f"Invalid configuration: {exc}") from None
    try:
        return get_pool().invoke(
            spec, event, on_admitted=gate, handle=handle, qualifier=qualifier or None
        )
    except JailUnavailable as exc:
        raise ExecutionFailed(
            f"The sandbox cannot isolate code on this worker, so it ran nothing: {exc}"
        ) from None
    except Exception as exc:
        logger.exception("the engine failed to run %s", spec.name)
        raise ExecutionFailed(f"The sandbox failed: {exc!r}") from None


def invocation_handle(*, invocation_id: int) -> str:
    """The name an invocation runs under in the pool (EnvironmentPool.invoke's handle)."""
    return f"invocation-{invocation_id}"


def invocation_interrupt(*, invocation_id: int, reason: str) -> bool:
    """Stop the invocation if it runs in this process's pool: its processes are killed when
    this returns, and the task running it stores the result (status `stopped`, reason as the
    error message). False when it does not run here; the pool then stops it if it arrives
    within a minute (the stop overtook it between its claim and the engine)."""
    from sandbox.pool import pool_if_started

    pool = pool_if_started()
    if pool is None:
        return False  # not a sandbox worker, or one that has run nothing yet
    return pool.stop(invocation_handle(invocation_id=invocation_id), reason)


def function_retire(*, namespace: str, name: str) -> int:
    """End a deleted or reconfigured function's reservation and shut down its environments
    (and its tuning lab's) in this worker's pool. Returns how many were shut down."""
    from sandbox.pool import get_pool

    try:
        pool = get_pool()
    except JailUnavailable:
        return 0  # a worker that runs nothing holds no environments
    return pool.retire(namespace, name) + pool.retire(f"{namespace}/tuning", name)


# ---------------------------------------------------------------- invocations


def invocation_execute(
    *, invocation_id: int, worker: str = "", gate: Callable[[], None] | None = None
) -> Invocation | None:
    """Run a queued invocation through this process's EnvironmentPool and store the result.

    Idempotent: an invocation that is already finished is left alone; one found `running`
    (its worker died mid-run and the task came back) is marked failed rather than run twice,
    since user code may not be safe to repeat. Returns the invocation, or None if it is gone.
    gate, when given, is called once the invocation is claimed and just before it reaches the
    engine (a burst's barrier); started_at is then the moment it was released.
    """
    claimed = Invocation.objects.filter(pk=invocation_id, status=Invocation.Status.QUEUED).update(
        status=Invocation.Status.RUNNING,
        started_at=timezone.now(),
        worker=worker,
        attempts=1,
        updated_at=timezone.now(),
    )
    invocation = Invocation.objects.filter(pk=invocation_id).first()
    if invocation is None:
        return None
    if not claimed:
        if invocation.status == Invocation.Status.RUNNING:
            return invocation_fail(
                invocation=invocation,
                reason="The sandbox worker stopped while this invocation was running; "
                "it was not run again because handlers may not be safe to repeat.",
            )
        return invocation
    try:
        event = json_parse(invocation.event, what="The event")
    except JSONTooDeep as exc:
        return invocation_fail(invocation=invocation, reason=str(exc))
    except ValueError:
        return invocation_fail(invocation=invocation, reason="The event is not valid JSON.")

    def released() -> None:
        if gate is not None:
            gate()
            invocation.started_at = timezone.now()

    try:
        result = invoke(
            config=invocation.config,
            event=event,
            gate=released,
            handle=invocation_handle(invocation_id=invocation.pk),
            qualifier=invocation.qualifier,
        )
    except ExecutionFailed as exc:
        return invocation_fail(invocation=invocation, reason=str(exc))
    return invocation_store_result(invocation=invocation, result=result)


def invocation_store_result(*, invocation: Invocation, result: InvocationResult) -> Invocation:
    """Copy the engine's result onto the invocation (every figure comes from the engine)."""
    invocation.status = result.status
    invocation.request_id = result.request_id
    invocation.payload = result.payload
    invocation.error = result.error
    invocation.log = result.log
    invocation.duration_ms = result.duration_ms
    invocation.billed_duration_ms = result.billed_duration_ms
    invocation.billed_duration_with_init_ms = result.billed_duration_with_init_ms or None
    invocation.init_duration_ms = result.init_duration_ms
    invocation.max_memory_used_mb = result.max_memory_used_mb
    invocation.memory_size_mb = result.memory_size_mb
    invocation.cold_start = result.cold_start
    invocation.environment_id = result.environment_id or ""
    invocation.invoke_started_at = result.started_at or None
    invocation.invoke_ended_at = result.ended_at or None
    invocation.init_started_at = result.init_started_at
    invocation.init_ended_at = result.init_ended_at
    invocation.service_calls = result.service_calls
    if result.status == Invocation.Status.THROTTLED or (
        result.status == Invocation.Status.STOPPED and not result.environment_id
    ):
        # Refused (or stopped) before anything ran: no start (cold or warm), no duration, no
        # memory used, nothing billed. The engine's zeros would read as a 0 ms warm run.
        invocation.cold_start = None
        invocation.duration_ms = invocation.billed_duration_ms = None
        invocation.billed_duration_with_init_ms = invocation.max_memory_used_mb = None
    if result.status == Invocation.Status.STOPPED and result.error:
        reason = str(result.error.get("errorMessage", "")).rsplit(" Error: ", 1)[-1]
        when = "while it ran" if result.environment_id else "before it ran"
        invocation.failure_reason = f"{reason} {when}."
    invocation.finished_at = timezone.now()
    _write_patiently(
        lambda: invocation.save(update_fields=RESULT_FIELDS),
        what=f"the result of invocation {invocation.pk}",
    )
    return invocation


# What invocation_store_result writes: the result, not the event and code snapshot again.
RESULT_FIELDS = (
    "status",
    "request_id",
    "payload",
    "error",
    "log",
    "duration_ms",
    "billed_duration_ms",
    "billed_duration_with_init_ms",
    "init_duration_ms",
    "max_memory_used_mb",
    "memory_size_mb",
    "cold_start",
    "environment_id",
    "invoke_started_at",
    "invoke_ended_at",
    "init_started_at",
    "init_ended_at",
    "service_calls",
    "failure_reason",
    "started_at",
    "finished_at",
    "updated_at",
)


def invocation_fail(*, invocation: Invocation, reason: str) -> Invocation:
    """Mark an invocation the sandbox could not run (status `failed`) with the reason."""
    invocation.status = Invocation.Status.FAILED
    invocation.failure_reason = reason
    invocation.finished_at = timezone.now()
    _write_patiently(
        lambda: invocation.save(
            update_fields=["status", "failure_reason", "finished_at", "updated_at"]
        ),
        what=f"the failure of invocation {invocation.pk}",
    )
    return invocation


# Waits between attempts to store a result while the database is locked or its connection
# dropped (about half a minute in all): the code has run, and running it again is no option.
RESULT_WRITE_RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


def _write_patiently(write: Callable[[], object], *, what: str) -> None:
    """Run write(), again after each OperationalError or InterfaceError (a locked SQLite file,
    a PostgreSQL restart or dropped connection) with a fresh connection, and raise only when
    every retry failed; the stale sweep then fails the run with a reason."""
    for delay in (*RESULT_WRITE_RETRY_SECONDS, None):
        try:
            write()
            return
        except (OperationalError, InterfaceError) as exc:
            if delay is None or connection.in_atomic_block:
                raise
            logger.warning("could not store %s (%s); retrying in %.1f s", what, exc, delay)
            connection.close()
            time.sleep(delay)


def invocations_sweep_stale(*, now: datetime | None = None, worker: str | None = None) -> int:
    """Fail invocations left `running` by a worker that died; return how many.

    An invocation is stale when it has run longer than its timeout plus
    SANDBOX_STALE_GRACE_SECONDS (the engine always ends a run by its timeout), when the worker
    running it has stopped its heartbeat (heartbeats.workers_gone), or, given worker, when that
    worker (just restarted under the same name) owns it. Bursts and tuning runs get extra slack
    since their invocations wait for each other.
    """
    now = now or timezone.now()
    grace = settings.SANDBOX_STALE_GRACE_SECONDS
    running = Invocation.objects.filter(status=Invocation.Status.RUNNING)
    stale = [] if worker is None else list(running.filter(worker=worker))
    owners = set(running.exclude(worker="").values_list("worker", flat=True).distinct())
    gone = heartbeats.workers_gone(hostnames=owners - {worker})
    if gone:
        stale += list(running.filter(worker__in=gone).exclude(pk__in=[i.pk for i in stale]))
    for invocation in running.exclude(pk__in=[i.pk for i in stale]).only(
        "config", "started_at", "experiment_id"
    ):
        timeout_s = int(invocation.config.get("timeout_s", 900))
        # INIT may take up to 10 s before the handler's own timeout starts.
        limit = timeout_s + 10 + grace
        if invocation.experiment_id:
            limit *= MAX_RUNS_PER_SIZE * TUNING_INVOCATIONS_PER_RUN * len(TUNING_MEMORY_SIZES)
        if invocation.started_at and invocation.started_at < now - timedelta(seconds=limit):
            stale.append(invocation)
    reason = "The sandbox worker stopped while this invocation was running, so no result came back."
    return Invocation.objects.filter(
        pk__in=[i.pk for i in stale], status=Invocation.Status.RUNNING
    ).update(
        status=Invocation.Status.FAILED, failure_reason=reason, finished_at=now, updated_at=now
    )


# ---------------------------------------------------------------- experiments


# How long a burst's threads wait for each other at the starting line (claiming each
# invocation is a database write; SQLite serialises them).
BURST_GATE_TIMEOUT_S = 60.0


def _execute_in_thread(invocation_id: int, worker: str, barrier: threading.Barrier) -> None:
    waited = False

    def gate() -> None:
        nonlocal waited
        waited = True
        # Another thread giving up waiting breaks the barrier: fire anyway rather than not at all.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=BURST_GATE_TIMEOUT_S)

    try:
        invocation_execute(invocation_id=invocation_id, worker=worker, gate=gate)
    finally:
        if not waited:
            # Claimed nothing (already run, gone): still take a place, or the others wait.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=BURST_GATE_TIMEOUT_S)
        # Each thread opened its own database connection; do not leak it.
        connection.close()


def invocations_prune(*, keep: int | None = None) -> int:
    """Delete finished invocations beyond the newest `keep` of each function
    (SANDBOX_HISTORY_PER_FUNCTION); queued and running ones always stay. Returns how many."""
    keep = settings.SANDBOX_HISTORY_PER_FUNCTION if keep is None else keep
    finished = Invocation.objects.exclude(status__in=Invocation.PENDING)
    crowded = (
        finished.values("function_id")
        .annotate(count=Count("pk"))
        .filter(count__gt=keep)
        .values_list("function_id", flat=True)
    )
    deleted = 0
    for function_id in crowded:
        kept = finished.filter(function_id=function_id).order_by("-created_at", "-pk")[:keep]
        old = finished.filter(function_id=function_id).exclude(
            pk__in=list(kept.values_list("pk", flat=True))
        )
        deleted += old.delete()[1].get("sandbox.Invocation", 0)
    return deleted


def experiment_claim(*, experiment_id: int, worker: str) -> bool:
    """Take an experiment for this process, unless a live process already runs it.

    A tuning run can outlast the broker's visibility timeout, and Celery then hands the same
    task to a worker again, while the first run goes on. The experiment is claimed with a
    conditional update; a later delivery takes it over only when the process that holds it is
    gone (its worker's heartbeat has stopped, or the worker restarted with a new process).
    """
    me = f"{worker}#{os.getpid()}"
    if Experiment.objects.filter(pk=experiment_id, runner="").update(runner=me):
        return True
    holder = Experiment.objects.filter(pk=experiment_id).values_list("runner", flat=True).first()
    if holder is None or holder == me:
        return False  # gone, or being run by this very process
    holder_worker = holder.rsplit("#", 1)[0]
    if holder_worker != worker and heartbeats.worker_alive(hostname=holder_worker):
        return False
    return bool(Experiment.objects.filter(pk=experiment_id, runner=holder).update(runner=me))


def burst_execute(*, experiment_id: int, worker: str = "") -> None:
    """Fire every queued invocation of a burst at the same instant, one thread each.

    Each thread claims its invocation (a database write); the engine admits it (takes a warm
    environment or claims a cold one) and then it waits at a barrier; all run once all are
    admitted, as simultaneous requests do on Lambda: a warm environment serves one of them and
    the rest need environments of their own, however fast the handler is. Each invocation's
    started_at is the moment it was released (its admission on the timeline).

    One task holding N threads rather than N tasks: the worker's own thread count would
    otherwise cap how many run together, and the lab is about what happens at N.
    """
    if not experiment_claim(experiment_id=experiment_id, worker=worker):
        return
    ids = list(
        Invocation.objects.filter(
            experiment_id=experiment_id, status=Invocation.Status.QUEUED
        ).values_list("pk", flat=True)
    )
    if not ids:
        return
    barrier = threading.Barrier(len(ids))
    with ThreadPoolExecutor(max_workers=len(ids), thread_name_prefix="burst") as threads:
        list(threads.map(lambda pk: _execute_in_thread(pk, worker, barrier), ids))
    close_old_connections()


def tuning_execute(*, experiment_id: int, worker: str = "") -> None:
    """Run a tuning experiment's invocations one after another (smallest memory first), so
    no two compete for the CPU.

    They come in pairs (see TUNING_INVOCATIONS_PER_RUN): before the first of each pair the
    tuning namespace's environments of this function are shut down, so it is a cold start in a
    fresh environment and the second a warm invocation of that one. What each turned out to be
    is recorded from the engine's own cold_start, never assumed. At the end the last
    environment is shut down too: nothing invokes it again.
    """
    if not experiment_claim(experiment_id=experiment_id, worker=worker):
        return
    queued = list(
        Invocation.objects.filter(experiment_id=experiment_id)
        .order_by("memory_size_mb", "pk")
        .values_list("pk", "status", "memory_size_mb", "namespace", "config__name")
    )
    index_at_size: dict[int | None, int] = {}
    last: tuple[str, str] | None = None
    for pk, status, size, namespace, name in queued:
        # The position counts finished ones too, so a redelivered run keeps the pairs.
        index = index_at_size.get(size, 0)
        index_at_size[size] = index + 1
        if status != Invocation.Status.QUEUED:
            continue
        last = (namespace, str(name))
        if index % TUNING_INVOCATIONS_PER_RUN == 0:
            _retire_quietly(*last)
        invocation_execute(invocation_id=pk, worker=worker)
    if last is not None:
        _retire_quietly(*last)


def _retire_quietly(namespace: str, name: str) -> None:
    from sandbox.pool import get_pool

    with contextlib.suppress(JailUnavailable):
        get_pool().retire(namespace, name)
