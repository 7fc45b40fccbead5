"""Reads of the sandbox: who may see what, lists, costs and the figures behind the charts.

Every duration, memory figure and timestamp here comes from stored engine results; the
selectors only arrange them (and price them with sandbox.engine.pricing).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Case, CharField, Count, F, Max, Q, QuerySet, Value, When
from django.db.models.fields.json import KT
from django.http import Http404

from lambdalab.permissions import is_instructor
from sandbox import charts
from sandbox.engine import pricing
from sandbox.heartbeats import HEARTBEAT_PREFIX, heartbeat_client
from sandbox.models import Experiment, Function, Invocation
from sandbox.triggers.models import TriggerKind

# ---------------------------------------------------------------- access


def function_list(*, owner: User) -> QuerySet[Function]:
    """The owner's functions with their invocation count and last invocation time."""
    return Function.objects.filter(owner=owner).annotate(
        invocation_count=Count("invocations"), last_invoked_at=Max("invocations__created_at")
    )


def function_name_free(*, owner: User, base: str) -> str:
    """`base`, or `base-2`, `base-3`... : the first name `owner` has no function by (64 chars)."""
    base = base[:64]
    taken = set(
        Function.objects.filter(owner=owner, name__startswith=base[:40]).values_list(
            "name", flat=True
        )
    )
    name, suffix = base, 2
    while name in taken:
        name = f"{base[: 64 - len(str(suffix)) - 1]}-{suffix}"
        suffix += 1
    return name


def function_for_lesson(*, owner: User, lesson_slug: str) -> Function | None:
    """The owner's most recent function made from a lesson's "Try it" block, if any."""
    return Function.objects.filter(owner=owner, lesson_slug=lesson_slug).order_by("-pk").first()


def function_list_all(*, viewer: User | AnonymousUser) -> QuerySet[Function]:
    """Every learner's functions, for instructors (who read them but cannot change them)."""
    if not is_instructor(viewer):
        raise Http404
    return (
        Function.objects.select_related("owner")
        .annotate(
            invocation_count=Count("invocations"), last_invoked_at=Max("invocations__created_at")
        )
        .order_by("owner__username", "name")
    )


@dataclass(frozen=True)
class FunctionAccess:
    function: Function
    can_edit: bool


def function_get(*, viewer: User | AnonymousUser, pk: int) -> FunctionAccess:
    """The function if viewer owns it (editable) or is an instructor (read-only); else 404.

    404 rather than 403 for other learners, so function ids reveal nothing.
    """
    function = Function.objects.select_related("owner").filter(pk=pk).first()
    if function is None:
        raise Http404
    if function.owner_id == viewer.pk:
        return FunctionAccess(function, can_edit=True)
    if is_instructor(viewer):
        return FunctionAccess(function, can_edit=False)
    raise Http404


def function_code_zip(*, function: Function) -> bytes:
    """The function's code as a .zip deployment package ("Download .zip" on Lambda).

    Entries carry a fixed date and mode 644, so the same code always zips to the same bytes,
    and uploading the result gives back the same files.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in function.files.all():
            info = zipfile.ZipInfo(file.path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, file.content.encode())
    return buffer.getvalue()


def function_name_taken(*, owner: User, name: str) -> bool:
    return Function.objects.filter(owner=owner, name=name).exists()


# ---------------------------------------------------------------- invocations


INVOCATION_SOURCES = {
    "console": "Console or API",
    "trigger": "A trigger",
    Experiment.Kind.BURST: "Concurrency lab",
    Experiment.Kind.TUNING: "Memory tuning",
}


def invocation_list(
    *, function: Function, status: str = "", start: str = "", source: str = "", limit: int = 50
) -> QuerySet[Invocation]:
    """Every invocation of the function, whatever started it, newest first: one record each,
    so History, the filters and the function list's count agree.

    status filters one status, start "cold"/"warm" the kind of start, source one of
    INVOCATION_SOURCES (the console and API, a trigger, or a lab experiment's kind). Each
    carries trigger_kind and trigger_source (None unless a trigger started it).
    """
    invocations = function.invocations.select_related("experiment").annotate(
        trigger_kind=Case(
            *(When(trigger__kind=kind, then=Value(label)) for kind, label in TriggerKind.choices),
            output_field=CharField(),
        ),
        trigger_source=F("trigger__source_arn"),
    )
    if source == "console":
        invocations = invocations.filter(experiment__isnull=True, trigger__isnull=True)
    elif source == "trigger":
        invocations = invocations.filter(trigger__isnull=False)
    elif source in INVOCATION_SOURCES:
        invocations = invocations.filter(experiment__kind=source)
    if status:
        invocations = invocations.filter(status=status)
    if start == "cold":
        invocations = invocations.filter(cold_start=True)
    elif start == "warm":
        invocations = invocations.filter(cold_start=False)
    # The version that ran (a published one when invoked through a version or an alias), read
    # in the database so the heavy config column (the code) stays deferred.
    invocations = invocations.annotate(ran_version=KT("config__version"))
    return invocations.defer("log", "config", "event", "payload")[:limit]


def invocation_get(*, function: Function, pk: int) -> Invocation:
    invocation = function.invocations.filter(pk=pk).first()
    if invocation is None:
        raise Http404
    return invocation


def invocation_latest(*, function: Function) -> Invocation | None:
    return function.invocations.filter(experiment__isnull=True).first()


def sandbox_available() -> bool:
    """Whether at least one sandbox worker has written its heartbeat in the last 15 s."""
    try:
        client = heartbeat_client()
        return any(True for _ in client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=100))
    except redis.RedisError:
        return False


_LIMIT_KEYS = (
    "cgroup_version",
    "enforcement",
    "account_concurrency",
    "unreserved_minimum",
    "learner_concurrency",
    "learner_provisioned",
    "memory_budget_mb",
    "learner_memory_mb",
)


def sandbox_limits() -> dict[str, Any]:
    """Each live sandbox worker's limits and how its pool enforces them (from heartbeats)."""
    workers: dict[str, Any] = {}
    try:
        client = heartbeat_client()
        for key in client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=100):
            raw = client.get(key)
            name = key.decode()[len(HEARTBEAT_PREFIX) :]
            try:
                stats = json.loads(raw or b"{}").get("stats", {})
                workers[name] = {key: stats[key] for key in _LIMIT_KEYS if key in stats}
            except (ValueError, AttributeError):
                workers[name] = {}
    except redis.RedisError:
        return {}
    return workers


# ---------------------------------------------------------------- money


@dataclass(frozen=True)
class CostLine:
    label: str
    cost: Decimal


@dataclass(frozen=True)
class InvocationCost:
    this_invocation: Decimal
    this_invocation_with_init: Decimal
    monthly: list[CostLine]
    monthly_invocations: int


def invocation_cost(*, invocation: Invocation, monthly_invocations: int) -> InvocationCost | None:
    """What Lambda would charge for this invocation, and for a month at that rate.

    Both billing rules: INIT free (before 1 Aug 2025) and INIT billed (since). None when the
    invocation did not run (queued, throttled, failed).
    """
    if invocation.duration_ms is None or invocation.memory_size_mb is None:
        return None
    if invocation.status in (Invocation.Status.THROTTLED, Invocation.Status.FAILED):
        return None
    arch = invocation.config.get("architecture", "x86_64")
    init_ms = invocation.init_duration_ms or 0.0
    cold_ratio = 1.0 if invocation.cold_start else 0.0
    common: dict[str, Any] = {
        "memory_mb": invocation.memory_size_mb,
        "architecture": arch,
    }
    monthly = []
    for free_tier in (False, True):
        for bill_init in (False, True):
            month = pricing.monthly_cost(
                invocations=monthly_invocations,
                avg_duration_ms=invocation.duration_ms,
                cold_start_ratio=cold_ratio,
                avg_init_duration_ms=init_ms,
                bill_init=bill_init,
                free_tier=free_tier,
                **common,
            )
            label = (
                f"{'with' if free_tier else 'without'} the free tier, "
                f"INIT {'billed (since Aug 2025)' if bill_init else 'free (before Aug 2025)'}"
            )
            monthly.append(CostLine(label, month.total))
    return InvocationCost(
        this_invocation=pricing.invocation_cost(
            duration_ms=invocation.duration_ms, init_duration_ms=init_ms, bill_init=False, **common
        ),
        this_invocation_with_init=pricing.invocation_cost(
            duration_ms=invocation.duration_ms, init_duration_ms=init_ms, bill_init=True, **common
        ),
        monthly=monthly,
        monthly_invocations=monthly_invocations,
    )


# ---------------------------------------------------------------- experiments


def experiment_get(*, function: Function, pk: int, kind: str) -> Experiment:
    experiment = function.experiments.filter(pk=pk, kind=kind).first()
    if experiment is None:
        raise Http404
    return experiment


def experiment_latest(*, function: Function, kind: str) -> Experiment | None:
    return function.experiments.filter(kind=kind).first()


def experiment_pending(*, experiment: Experiment) -> bool:
    return experiment.invocations.filter(status__in=Invocation.PENDING).exists()


def burst_timeline(*, experiment: Experiment) -> charts.Timeline:
    """A burst's invocations laid out for the concurrency lab's chart (see charts)."""
    invocations = experiment.invocations.order_by("pk").defer("log", "config", "event")
    return charts.burst_timeline(runs=list(invocations))


def tuning_summary(*, experiment: Experiment, cold_start_rate: float = 0.1) -> charts.TuningSummary:
    """A tuning run's figures per memory size, priced with cold_start_rate (0..1) of
    invocations cold, and its charts (see charts.tuning_summary)."""
    invocations = experiment.invocations.order_by("memory_size_mb", "pk").only(
        "pk",
        "status",
        "memory_size_mb",
        "cold_start",
        "duration_ms",
        "billed_duration_ms",
        "init_duration_ms",
    )
    return charts.tuning_summary(
        runs=list(invocations),
        memory_sizes=experiment.memory_sizes,
        architecture=experiment.function.architecture,
        cold_start_rate=cold_start_rate,
    )


def user_pending_count(*, user: User) -> int:
    return Invocation.objects.filter(
        Q(requested_by=user) & Q(status__in=Invocation.PENDING)
    ).count()


SERVICE_MAP_INVOCATIONS = 50  # recent invocations whose calls the function's diagram shows


def function_service_map(
    *, function: Function, recent: int = SERVICE_MAP_INVOCATIONS
) -> charts.ServiceMap | None:
    """The function's triggers and the services its recent invocations called (with how many
    calls, and how many were denied or failed); None when it has neither yet."""
    from sandbox.triggers.models import EventSourceMapping, InvocationTrigger, Trigger

    triggers: dict[tuple[str, str], None] = {}
    kinds = dict(TriggerKind.choices)
    for arn in EventSourceMapping.objects.filter(function=function).values_list(
        "event_source_arn", flat=True
    ):
        triggers[("SQS", arn.rsplit(":", 1)[-1])] = None
    for kind, arn in Trigger.objects.filter(function=function).values_list("kind", "source_arn"):
        triggers.setdefault((str(kinds.get(kind, kind)), arn.rsplit(":", 1)[-1]), None)
    for kind, arn in (
        InvocationTrigger.objects.filter(invocation__function=function)
        .order_by("-created_at")
        .values_list("kind", "source_arn")[:recent]
    ):
        triggers.setdefault((str(kinds.get(kind, kind)), arn.rsplit(":", 1)[-1]), None)
    counts: dict[str, dict[str, Any]] = {}
    recorded = (
        function.invocations.exclude(service_calls=[])
        .order_by("-created_at")
        .values_list("service_calls", flat=True)[:recent]
    )
    for calls in recorded:
        for call in calls if isinstance(calls, list) else []:
            if not isinstance(call, dict) or call.get("outcome") == "dropped":
                continue
            entry = counts.setdefault(
                str(call.get("service") or ""),
                {"operations": {}, "calls": 0, "denied": 0, "errors": 0},
            )
            entry["calls"] += 1
            entry["operations"][str(call.get("operation") or "")] = None
            if call.get("outcome") == "denied":
                entry["denied"] += 1
            elif call.get("outcome") != "allowed":
                entry["errors"] += 1
    if not triggers and not counts:
        return None
    services = [
        (
            charts.service_label(name),
            ", ".join(op for op in list(entry["operations"])[:3] if op),
            entry["calls"],
            entry["denied"],
            entry["errors"],
        )
        for name, entry in sorted(counts.items())
    ]
    return charts.service_map(triggers=list(triggers), services=services)
