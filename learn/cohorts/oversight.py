"""The instructors' view of the sandbox: workers alive, warm environments, work in flight,
recent failures; and the two actions on it (stop a queued invocation, retire a function's
environments). Workers report their pool in their Redis heartbeat (sandbox/worker.py)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis
from django.contrib.admin.models import CHANGE
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from learn.cohorts.services import admin_log
from sandbox import services as sandbox_services
from sandbox.models import Function, Invocation
from sandbox.worker import HEARTBEAT_PREFIX, heartbeat_client

FAILED = (
    Invocation.Status.ERROR,
    Invocation.Status.TIMEOUT,
    Invocation.Status.OUT_OF_MEMORY,
    Invocation.Status.CRASH,
    Invocation.Status.THROTTLED,
    Invocation.Status.FAILED,
    Invocation.Status.STOPPED,
)
NAMESPACE_RE = re.compile(r"^user-(\d+)/fn-(\d+)")
STOPPED_REASON = "Stopped by an instructor"


@dataclass
class WarmFunction:
    function: Function | None
    namespace: str
    idle: int = 0
    busy: int = 0
    frozen: int = 0
    invocations: int = 0


@dataclass
class Worker:
    name: str
    seconds_ago: float
    stats: dict[str, Any]
    functions: list[WarmFunction] = field(default_factory=list)


def workers_alive() -> tuple[list[Worker], str]:
    """(workers with a fresh heartbeat, a problem reading Redis or "")."""
    try:
        client = heartbeat_client()
        keys = sorted(client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=100))
        beats = client.mget(keys) if keys else []
    except redis.RedisError as exc:
        return [], f"Redis did not answer: {exc}"
    workers = []
    namespaces: set[str] = set()
    now = time.time()
    for key, raw in zip(keys, beats, strict=True):
        if raw is None:
            continue
        try:
            beat = json.loads(raw)
        except ValueError:
            beat = {}
        worker = Worker(
            name=key.decode()[len(HEARTBEAT_PREFIX) :],
            seconds_ago=max(0.0, now - float(beat.get("at", now))),
            stats=beat.get("stats") or {},
        )
        grouped: dict[str, WarmFunction] = {}
        for env in beat.get("environments") or []:
            namespace = str(env.get("namespace", ""))
            namespaces.add(namespace)
            warm = grouped.setdefault(namespace, WarmFunction(function=None, namespace=namespace))
            state = env.get("state")
            if state in {"idle", "busy", "frozen"}:
                setattr(warm, state, getattr(warm, state) + 1)
            warm.invocations += int(env.get("invocations") or 0)
        worker.functions = list(grouped.values())
        workers.append(worker)
    ids = {int(m.group(2)) for ns in namespaces if (m := NAMESPACE_RE.match(ns))}
    functions = Function.objects.select_related("owner").in_bulk(ids)
    for worker in workers:
        for warm in worker.functions:
            match = NAMESPACE_RE.match(warm.namespace)
            warm.function = functions.get(int(match.group(2))) if match else None
    return workers, ""


def invocations_in_flight(*, limit: int = 100) -> QuerySet[Invocation]:
    return (
        Invocation.objects.filter(status__in=Invocation.PENDING)
        .select_related("function__owner")
        .order_by("created_at")[:limit]
    )


def recent_failures(*, hours: int = 24, limit: int = 30) -> QuerySet[Invocation]:
    since = timezone.now() - timedelta(hours=hours)
    return (
        Invocation.objects.filter(status__in=FAILED, created_at__gte=since)
        .select_related("function__owner")
        .order_by("-created_at")[:limit]
    )


def invocation_stop(*, invocation_id: int, actor: User) -> str:
    """Stop a learner's invocation, queued or running (sandbox.services.invocation_stop), and
    record it in the admin log. Returns what happened (a sandbox.services.StopOutcome value)."""
    outcome = sandbox_services.invocation_stop(invocation_id=invocation_id, reason=STOPPED_REASON)
    if outcome != sandbox_services.StopOutcome.FINISHED:
        invocation = Invocation.objects.get(pk=invocation_id)
        admin_log(actor=actor, obj=invocation, flag=CHANGE, message=f"Stopped ({outcome}).")
    return outcome


def environments_retire(*, function: Function, actor: User) -> Function:
    """Retire the function's warm environments: its next invocation is a cold start."""
    function = sandbox_services.function_force_cold_start(function=function)
    admin_log(actor=actor, obj=function, flag=CHANGE, message="Retired its warm environments.")
    return function
