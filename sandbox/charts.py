"""Chart geometry for the console: the concurrency lab's timeline, the memory tuning chart and
the REPORT card's bars, as coordinates for inline SVG.

Pure functions of the figures the engine measured: no database, no Django. Each takes runs,
anything shaped like an Invocation (see Run), so the selectors pass model instances and the
tests plain objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import mean
from typing import Any

from sandbox.engine import pricing

# The statuses charts tell apart (Invocation.Status values).
SUCCESS = "success"
THROTTLED = "throttled"
FAILED = "failed"
PENDING = ("queued", "running")


# A run is one invocation as the engine measured it: a sandbox.models.Invocation, or anything
# with its attributes pk, status, error, environment_id, cold_start, duration_ms,
# billed_duration_ms, init_duration_ms, memory_size_mb, max_memory_used_mb and the engine's
# epoch-second timestamps init_started_at, init_ended_at, invoke_started_at, invoke_ended_at.
# (Any rather than a Protocol: mypy's Django plugin does not match model fields to one.)
Run = Any


# ---------------------------------------------------------------- concurrency timeline


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
    throttled: list[Run]
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
    invocations: list[Run]
    throttle_y: float = 0.0
    throttle_marks: list[tuple[float, str]] = field(default_factory=list)
    admission_y: float = 0.0
    admissions: list[tuple[float, str]] = field(default_factory=list)


TIMELINE_WIDTH = 760.0
TIMELINE_LEFT = 120.0
TIMELINE_TOP = 24.0
TIMELINE_ROW = 28.0
# The narrowest bar drawn, so a sub-millisecond run is still visible and has a tooltip.
MIN_BAR_WIDTH = 1.5


def burst_timeline(*, runs: Sequence[Run]) -> Timeline:
    """Lay out a burst: init and invoke bars per environment on a shared time axis (ms since
    the first thing started), throttled requests as marks on a row of their own.

    Rows are in the order environments first appear in runs; runs that did not reach an
    environment (queued, throttled, failed) draw no bar.
    """
    invocations = list(runs)
    ran = [i for i in invocations if i.invoke_started_at and i.environment_id]
    starts = [i.init_started_at or i.invoke_started_at for i in ran]
    # When each request was fired at the engine (a burst fires them together): the first row.
    fired = {
        i.pk: i.started_at.timestamp()
        for i in invocations
        if getattr(i, "started_at", None) and i.status not in PENDING
    }
    starts += list(fired.values())
    first_row = 1 if fired else 0  # the "requests fired" row, when there is something to show
    origin = min((s for s in starts if s), default=0.0)
    span_ms = max(((i.invoke_ended_at or 0.0) - origin) * 1000 for i in ran) if ran else 0.0
    span_ms = max(span_ms, 1.0)
    plot_width = TIMELINE_WIDTH - TIMELINE_LEFT - 10
    scale = plot_width / span_ms

    def bar(kind: str, start_ms: float, length_ms: float, run: Run, label: str) -> TimelineBar:
        return TimelineBar(
            kind,
            TIMELINE_LEFT + start_ms * scale,
            max(length_ms * scale, MIN_BAR_WIDTH),
            start_ms,
            length_ms,
            run.pk,
            label,
        )

    rows: dict[str, TimelineRow] = {}
    for run in ran:
        row = rows.get(run.environment_id)
        if row is None:
            row = rows[run.environment_id] = TimelineRow(
                run.environment_id, TIMELINE_TOP + (len(rows) + first_row) * TIMELINE_ROW
            )
        if run.init_started_at and run.init_ended_at:
            start = (run.init_started_at - origin) * 1000
            length = (run.init_ended_at - run.init_started_at) * 1000
            row.bars.append(
                bar("init", start, length, run, f"INIT {length:.1f} ms (invocation #{run.pk})")
            )
        start = ((run.invoke_started_at or origin) - origin) * 1000
        length = ((run.invoke_ended_at or 0.0) - (run.invoke_started_at or 0.0)) * 1000
        kind = "cold" if run.cold_start else "warm"
        row.bars.append(
            bar(
                "invoke",
                start,
                length,
                run,
                f"invocation #{run.pk}: {run.duration_ms} ms ({kind}, {run.status})",
            )
        )
    step = nice_step(span_ms / 5)
    ticks = []
    value = 0.0
    while value <= span_ms + 1e-9:
        ticks.append((TIMELINE_LEFT + value * scale, f"{value:g} ms"))
        value += step
    throttled = [i for i in invocations if i.status == THROTTLED]
    marks = [
        (
            TIMELINE_LEFT + max(((i.invoke_started_at or origin) - origin) * 1000, 0.0) * scale,
            f"invocation #{i.pk} throttled ({(i.error or {}).get('Reason', 'TooManyRequests')})",
        )
        for i in throttled
    ]
    admissions = [
        (
            TIMELINE_LEFT + max((moment - origin) * 1000, 0.0) * scale,
            f"invocation #{pk} fired at +{max((moment - origin) * 1000, 0.0):.1f} ms",
        )
        for pk, moment in fired.items()
    ]
    return Timeline(
        throttle_y=TIMELINE_TOP + (len(rows) + first_row) * TIMELINE_ROW,
        throttle_marks=marks,
        admission_y=TIMELINE_TOP,
        admissions=admissions,
        rows=list(rows.values()),
        throttled=throttled,
        pending=sum(1 for i in invocations if i.status in PENDING),
        failed=sum(1 for i in invocations if i.status == FAILED),
        cold=sum(1 for i in ran if i.cold_start),
        warm=sum(1 for i in ran if i.cold_start is False),
        span_ms=span_ms,
        width=TIMELINE_WIDTH,
        height=TIMELINE_TOP
        + (max(len(rows), 1) + first_row + (1 if throttled else 0)) * TIMELINE_ROW
        + 30,
        plot_left=TIMELINE_LEFT,
        plot_width=plot_width,
        row_height=TIMELINE_ROW - 8,
        ticks=ticks,
        invocations=invocations,
    )


def nice_step(raw: float) -> float:
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


# ---------------------------------------------------------------- memory tuning


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


TUNING_WIDTH, TUNING_HEIGHT = 640.0, 300.0


def tuning_summary(
    *, runs: Iterable[Run], memory_sizes: Iterable[int], architecture: str
) -> TuningSummary:
    """Per memory size: average duration of the warm runs (or the only run), INIT of the cold
    one, and the cost of a million such invocations at that average; plus the chart's geometry
    (both lines scaled to their own maximum, sizes evenly spaced left to right)."""
    invocations = list(runs)
    points = []
    for size in memory_sizes:
        at_size = [i for i in invocations if i.memory_size_mb == size]
        done = [i for i in at_size if i.status == SUCCESS and i.duration_ms is not None]
        warm = [i for i in done if not i.cold_start] or done
        cold = [i for i in done if i.cold_start]
        avg = mean(i.duration_ms or 0.0 for i in warm) if warm else None
        avg_billed = mean(float(i.billed_duration_ms or 0) for i in warm) if warm else None
        cost = (
            pricing.invocation_cost(
                duration_ms=avg, memory_mb=size, architecture=architecture, bill_init=False
            )
            * 1_000_000
            if avg is not None
            else None
        )
        points.append(
            TuningPoint(
                memory_mb=size,
                runs=len(at_size),
                cold_init_ms=cold[0].init_duration_ms if cold else None,
                avg_duration_ms=round(avg, 2) if avg is not None else None,
                avg_billed_ms=avg_billed,
                cost_per_million=cost.quantize(Decimal("0.0001")) if cost is not None else None,
                errors=sum(1 for i in at_size if i.status not in PENDING and i.status != SUCCESS),
            )
        )
    width, height = TUNING_WIDTH, TUNING_HEIGHT
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
        pending=sum(1 for i in invocations if i.status in PENDING),
        width=width,
        height=height,
        plot_top=top,
        plot_bottom=bottom,
        plot_left=left,
        plot_right=right,
        max_duration_ms=max_duration,
        max_cost=max_cost,
        duration_path=svg_path([(p.x, p.duration_y) for p in measured]),
        cost_path=svg_path([(p.x, p.cost_y) for p in measured if p.cost_per_million is not None]),
        cheapest=min(measured, key=lambda p: p.cost_per_million or Decimal(0), default=None),
        fastest=min(measured, key=lambda p: p.avg_duration_ms or 0.0, default=None),
    )


def svg_path(points: Sequence[tuple[float, float]]) -> str:
    """An SVG path through points: "M x,y L x,y ..." ("" for no points)."""
    return " ".join(
        f"{'M' if index == 0 else 'L'}{x:.1f},{y:.1f}" for index, (x, y) in enumerate(points)
    )


# ---------------------------------------------------------------- REPORT card


@dataclass(frozen=True)
class ReportCard:
    """The REPORT card's two bars: duration inside billed duration, and the memory gauge."""

    bar_width: float
    duration_width: float
    memory_fraction_pct: float
    memory_width: float
    memory_class: str  # gauge-ok, gauge-warn (over 70%), gauge-bad (over 90%)


REPORT_BAR_WIDTH = 300.0


def report_card(*, run: Run) -> ReportCard | None:
    """Geometry of the REPORT card, or None for a run that has no durations (not run)."""
    if run.duration_ms is None or run.billed_duration_ms is None:
        return None
    if run.status in (THROTTLED, FAILED):  # refused or never run: nothing to report
        return None
    billed = max(run.billed_duration_ms, 1)
    width = REPORT_BAR_WIDTH
    memory = run.memory_size_mb or 1
    used = run.max_memory_used_mb or 0
    fraction = min(used / memory, 1.0)
    if fraction > 0.9:
        memory_class = "gauge-bad"
    elif fraction > 0.7:
        memory_class = "gauge-warn"
    else:
        memory_class = "gauge-ok"
    return ReportCard(
        bar_width=width,
        duration_width=round(width * min(run.duration_ms / billed, 1.0), 2),
        memory_fraction_pct=round(fraction * 100, 1),
        memory_width=round(width * fraction, 2),
        memory_class=memory_class,
    )
