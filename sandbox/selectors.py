"""Reads of the sandbox: who may see what, lists, costs and the figures behind the charts.

Every duration, memory figure and timestamp here comes from stored engine results; the
selectors only arrange them (and price them with sandbox.engine.pricing).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import mean
from typing import Any

import redis
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from lambdalab.permissions import is_instructor
from sandbox.engine import pricing
from sandbox.models import Experiment, Function, Invocation
from sandbox.worker import HEARTBEAT_PREFIX, heartbeat_client

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


def invocation_list(
    *, function: Function, status: str = "", start: str = "", limit: int = 50
) -> QuerySet[Invocation]:
    """The function's invocations, newest first; status filters one status, start
    "cold"/"warm" filters the kind of start. Console invocations only unless filtered."""
    invocations = function.invocations.filter(experiment__isnull=True)
    if status:
        invocations = invocations.filter(status=status)
    if start == "cold":
        invocations = invocations.filter(cold_start=True)
    elif start == "warm":
        invocations = invocations.filter(cold_start=False)
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


@dataclass
class TimelineBar:
    kind: str  # "init" or "invoke"
    x: float
    width: float
    start_ms: float
    duration_ms: float
    invocation_id: int
    label: str


@dataclass
class TimelineRow:
    environment_id: str
    y: float
    bars: list[TimelineBar] = field(default_factory=list)


@dataclass
class Timeline:
    """A concurrency-lab run laid out for an SVG: one row per execution environment."""

    rows: list[TimelineRow]
    throttled: list[Invocation]
    pending: int
    failed: int
    cold: int
    warm: int
    span_ms: float
    width: float
    height: float
    plot_left: float
    plot_width: float
    row_height: float
    ticks: list[tuple[float, str]]
    invocations: list[Invocation]
    throttle_y: float = 0.0
    throttle_marks: list[tuple[float, str]] = field(default_factory=list)


TIMELINE_WIDTH = 760.0
TIMELINE_LEFT = 120.0
TIMELINE_ROW = 28.0


def burst_timeline(*, experiment: Experiment) -> Timeline:
    """Lay out a burst: init and invoke bars per environment on a shared time axis (ms since
    the first thing started), throttled requests listed apart. Times are the engine's."""
    invocations = list(experiment.invocations.order_by("pk").defer("log", "config", "event"))
    ran = [i for i in invocations if i.invoke_started_at and i.environment_id]
    starts = [i.init_started_at or i.invoke_started_at for i in ran]
    origin = min((s for s in starts if s), default=0.0)
    span_ms = max(((i.invoke_ended_at or 0.0) - origin) * 1000 for i in ran) if ran else 0.0
    span_ms = max(span_ms, 1.0)
    plot_width = TIMELINE_WIDTH - TIMELINE_LEFT - 10
    scale = plot_width / span_ms

    rows: dict[str, TimelineRow] = {}
    for invocation in ran:
        row = rows.get(invocation.environment_id)
        if row is None:
            row = rows[invocation.environment_id] = TimelineRow(
                invocation.environment_id, 24 + len(rows) * TIMELINE_ROW
            )
        if invocation.init_started_at and invocation.init_ended_at:
            start = (invocation.init_started_at - origin) * 1000
            length = (invocation.init_ended_at - invocation.init_started_at) * 1000
            row.bars.append(
                TimelineBar(
                    "init",
                    TIMELINE_LEFT + start * scale,
                    max(length * scale, 1.5),
                    start,
                    length,
                    invocation.pk,
                    f"INIT {length:.1f} ms (invocation #{invocation.pk})",
                )
            )
        start = ((invocation.invoke_started_at or origin) - origin) * 1000
        length = (
            (invocation.invoke_ended_at or 0.0) - (invocation.invoke_started_at or 0.0)
        ) * 1000
        row.bars.append(
            TimelineBar(
                "invoke",
                TIMELINE_LEFT + start * scale,
                max(length * scale, 1.5),
                start,
                length,
                invocation.pk,
                f"invocation #{invocation.pk}: {invocation.duration_ms} ms "
                f"({'cold' if invocation.cold_start else 'warm'}, {invocation.status})",
            )
        )
    step = _nice_step(span_ms / 5)
    ticks = []
    value = 0.0
    while value <= span_ms + 1e-9:
        ticks.append((TIMELINE_LEFT + value * scale, f"{value:g} ms"))
        value += step
    throttled = [i for i in invocations if i.status == Invocation.Status.THROTTLED]
    throttle_y = 24 + len(rows) * TIMELINE_ROW
    marks = [
        (
            TIMELINE_LEFT + max(((i.invoke_started_at or origin) - origin) * 1000, 0.0) * scale,
            f"invocation #{i.pk} throttled ({(i.error or {}).get('Reason', 'TooManyRequests')})",
        )
        for i in throttled
    ]
    return Timeline(
        throttle_y=throttle_y,
        throttle_marks=marks,
        rows=list(rows.values()),
        throttled=throttled,
        pending=sum(1 for i in invocations if i.is_pending),
        failed=sum(1 for i in invocations if i.status == Invocation.Status.FAILED),
        cold=sum(1 for i in ran if i.cold_start),
        warm=sum(1 for i in ran if i.cold_start is False),
        span_ms=span_ms,
        width=TIMELINE_WIDTH,
        height=24 + (max(len(rows), 1) + (1 if throttled else 0)) * TIMELINE_ROW + 30,
        plot_left=TIMELINE_LEFT,
        plot_width=plot_width,
        row_height=TIMELINE_ROW - 8,
        ticks=ticks,
        invocations=invocations,
    )


def _nice_step(raw: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) at least raw, for axis ticks."""
    if raw <= 0:
        return 1.0
    power = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    while power < raw / 10:
        power *= 10
    for factor in (1, 2, 5, 10, 20, 50, 100):
        if power * factor >= raw:
            return power * factor
    return raw


@dataclass
class TuningPoint:
    memory_mb: int
    runs: int
    cold_init_ms: float | None
    avg_duration_ms: float | None
    avg_billed_ms: float | None
    cost_per_million: Decimal | None
    errors: int
    # Chart geometry (filled in by tuning_summary).
    x: float = 0.0
    duration_y: float = 0.0
    cost_y: float = 0.0


@dataclass
class TuningSummary:
    points: list[TuningPoint]
    pending: int
    width: float
    height: float
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    max_duration_ms: float
    max_cost: Decimal
    duration_path: str
    cost_path: str
    cheapest: TuningPoint | None
    fastest: TuningPoint | None


def tuning_summary(*, experiment: Experiment) -> TuningSummary:
    """Per memory size: average duration of the warm runs (or the only run), INIT of the cold
    one, and the cost of a million such invocations; plus the chart's geometry."""
    invocations = list(
        experiment.invocations.order_by("memory_size_mb", "pk").defer("log", "event")
    )
    arch = experiment.function.architecture
    points = []
    for size in experiment.memory_sizes:
        runs = [i for i in invocations if i.memory_size_mb == size]
        done = [
            i for i in runs if i.status == Invocation.Status.SUCCESS and i.duration_ms is not None
        ]
        warm = [i for i in done if not i.cold_start] or done
        cold = [i for i in done if i.cold_start]
        avg = mean(i.duration_ms or 0.0 for i in warm) if warm else None
        avg_billed = mean(float(i.billed_duration_ms or 0) for i in warm) if warm else None
        cost = (
            pricing.invocation_cost(
                duration_ms=avg, memory_mb=size, architecture=arch, bill_init=False
            )
            * 1_000_000
            if avg is not None
            else None
        )
        points.append(
            TuningPoint(
                memory_mb=size,
                runs=len(runs),
                cold_init_ms=cold[0].init_duration_ms if cold else None,
                avg_duration_ms=round(avg, 2) if avg is not None else None,
                avg_billed_ms=avg_billed,
                cost_per_million=cost.quantize(Decimal("0.0001")) if cost is not None else None,
                errors=sum(
                    1 for i in runs if not i.is_pending and i.status != Invocation.Status.SUCCESS
                ),
            )
        )
    width, height = 640.0, 300.0
    left, right, top, bottom = 70.0, width - 70.0, 20.0, height - 50.0
    measured = [p for p in points if p.avg_duration_ms is not None]
    max_duration = max((p.avg_duration_ms or 0.0 for p in measured), default=1.0) or 1.0
    max_cost = max((p.cost_per_million or Decimal(0) for p in measured), default=Decimal(1))
    max_cost = max_cost or Decimal(1)
    step = (right - left) / max(len(points) - 1, 1)
    for index, point in enumerate(points):
        point.x = left + index * step if len(points) > 1 else (left + right) / 2
        if point.avg_duration_ms is not None:
            point.duration_y = bottom - (point.avg_duration_ms / max_duration) * (bottom - top)
        if point.cost_per_million is not None:
            point.cost_y = bottom - float(point.cost_per_million / max_cost) * (bottom - top)
    return TuningSummary(
        points=points,
        pending=sum(1 for i in invocations if i.is_pending),
        width=width,
        height=height,
        plot_top=top,
        plot_bottom=bottom,
        plot_left=left,
        plot_right=right,
        max_duration_ms=max_duration,
        max_cost=max_cost,
        duration_path=_path([(p.x, p.duration_y) for p in measured]),
        cost_path=_path([(p.x, p.cost_y) for p in measured if p.cost_per_million is not None]),
        cheapest=min(measured, key=lambda p: p.cost_per_million or Decimal(0), default=None),
        fastest=min(measured, key=lambda p: p.avg_duration_ms or 0.0, default=None),
    )


def _path(points: list[tuple[float, float]]) -> str:
    return " ".join(
        f"{'M' if index == 0 else 'L'}{x:.1f},{y:.1f}" for index, (x, y) in enumerate(points)
    )


def report_card(*, invocation: Invocation) -> dict[str, Any] | None:
    """Geometry of the REPORT card: duration vs billed bar and the memory gauge."""
    if invocation.duration_ms is None or invocation.billed_duration_ms is None:
        return None
    billed = max(invocation.billed_duration_ms, 1)
    width = 300.0
    memory = invocation.memory_size_mb or 1
    used = invocation.max_memory_used_mb or 0
    fraction = min(used / memory, 1.0)
    return {
        "bar_width": width,
        "duration_width": round(width * min(invocation.duration_ms / billed, 1.0), 2),
        "memory_fraction_pct": round(fraction * 100, 1),
        "memory_width": round(width * fraction, 2),
        "memory_class": "gauge-bad"
        if fraction > 0.9
        else "gauge-warn"
        if fraction > 0.7
        else "gauge-ok",
    }


def user_pending_count(*, user: User) -> int:
    return Invocation.objects.filter(
        Q(requested_by=user) & Q(status__in=Invocation.PENDING)
    ).count()
