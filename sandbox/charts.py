"""Chart geometry for the console: the concurrency lab's timeline, the memory tuning chart and
the REPORT card's bars, as coordinates for inline SVG.

Pure functions of the figures the engine measured: no database, no Django. Each takes runs,
anything shaped like an Invocation (see Run), so the selectors pass model instances and the
tests plain objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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


@dataclass(frozen=True)
class Spread:
    """Several measurements of one figure: how many, their mean and their range."""

    n: int
    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread | None:
        """The spread of values (rounded to 0.01), or None when there are none."""
        numbers = list(values)
        if not numbers:
            return None
        return cls(
            n=len(numbers),
            mean=round(mean(numbers), 2),
            low=round(min(numbers), 2),
            high=round(max(numbers), 2),
        )

    def overlaps(self, other: Spread) -> bool:
        return self.low <= other.high and other.low <= self.high


@dataclass
class TuningPoint:
    memory_mb: int
    runs: int
    errors: int
    init: Spread | None  # Init Duration of the cold starts
    cold: Spread | None  # the cold starts' own invocation duration
    warm: Spread | None  # invocation duration in a warm environment
    # Per invocation at the chosen cold-start rate, INIT billed (since 1 Aug 2025), with the
    # range the runs' slowest and fastest give; and the same under the rule before.
    cost: Decimal | None = None
    cost_low: Decimal | None = None
    cost_high: Decimal | None = None
    cost_before_2025: Decimal | None = None

    @property
    def cost_per_million(self) -> Decimal | None:
        return None if self.cost is None else (self.cost * 1_000_000).quantize(Decimal("0.0001"))

    @property
    def cost_spread(self) -> Spread | None:
        if self.cost is None or self.cost_low is None or self.cost_high is None:
            return None
        million = 1_000_000
        return Spread(
            n=min(s.n for s in (self.init, self.cold, self.warm) if s is not None),
            mean=float(self.cost * million),
            low=float(self.cost_low * million),
            high=float(self.cost_high * million),
        )


@dataclass(frozen=True)
class Verdict:
    """What one figure says across the memory sizes, in words.

    best is the size with the lowest mean when it is lower beyond the noise of every other
    size; ties are the sizes within noise of the lowest mean (their runs' ranges overlap its
    range), as AWS Lambda Power Tuning reads its results rather than naming a winner by a hair.
    """

    figure: str
    best: int | None
    lowest: int | None
    ties: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class RangeBar:
    label: str
    x: float
    mean_y: float
    low_y: float
    high_y: float
    spread: Spread


@dataclass(frozen=True)
class RangeChart:
    """One figure per memory size: a dot at the mean and a line from the lowest run to the
    highest, on its own scale from 0."""

    key: str
    title: str
    unit: str
    bars: list[RangeBar]
    axis: list[tuple[str, float]]  # each memory size's label (in MB) and x
    maximum: float
    width: float = 320.0
    height: float = 200.0
    plot_left: float = 48.0
    plot_right: float = 312.0
    plot_top: float = 14.0
    plot_bottom: float = 170.0


@dataclass
class TuningSummary:
    points: list[TuningPoint]
    pending: int
    cold_start_rate: float
    charts: list[RangeChart]
    verdicts: list[Verdict]
    runs_per_size: int


# How much a duration may differ and still bill the same: Lambda bills in 1 ms steps.
BILLING_STEP_MS = 1.0


def tuning_summary(
    *,
    runs: Iterable[Run],
    memory_sizes: Iterable[int],
    architecture: str,
    cold_start_rate: float = 0.1,
) -> TuningSummary:
    """Per memory size: the spread of Init Duration over the cold starts, of invocation
    duration over the cold and the warm runs, and the cost per invocation when
    cold_start_rate (0..1) of invocations are cold; verdicts that say which differences are
    beyond noise; and three charts (INIT, warm duration, cost per million).

    Each run is priced on its own (billed duration rounded up per invocation, INIT included on
    cold starts since 1 Aug 2025); the cost's range takes every figure at its lowest, then at
    its highest. Raises ValueError for a rate outside 0..1.
    """
    if not 0.0 <= cold_start_rate <= 1.0:
        raise ValueError("cold_start_rate must be within 0..1")
    invocations = list(runs)
    sizes = list(memory_sizes)
    points = []
    for size in sizes:
        at_size = [i for i in invocations if i.memory_size_mb == size]
        done = [i for i in at_size if i.status == SUCCESS and i.duration_ms is not None]
        cold = [i for i in done if i.cold_start]
        warm = [i for i in done if not i.cold_start]
        point = TuningPoint(
            memory_mb=size,
            runs=len(at_size),
            errors=sum(1 for i in at_size if i.status not in PENDING and i.status != SUCCESS),
            init=Spread.of(i.init_duration_ms or 0.0 for i in cold),
            cold=Spread.of(i.duration_ms for i in cold),
            warm=Spread.of(i.duration_ms for i in warm),
        )
        _price(point, cold=cold, warm=warm, architecture=architecture, rate=cold_start_rate)
        points.append(point)
    charts_ = [
        _range_chart(
            "init", "Init Duration (cold starts)", "ms", [(p.memory_mb, p.init) for p in points]
        ),
        _range_chart(
            "warm", "Invocation duration (warm)", "ms", [(p.memory_mb, p.warm) for p in points]
        ),
        _range_chart(
            "cost",
            f"Cost per million at {cold_start_rate:.0%} cold starts",
            "$",
            [(p.memory_mb, p.cost_spread) for p in points],
        ),
    ]
    verdicts = [
        _verdict("Init Duration", [(p.memory_mb, p.init) for p in points], billing_step=False),
        _verdict("Invocation duration", [(p.memory_mb, p.warm) for p in points], billing_step=True),
        _verdict(
            "Cost",
            [(p.memory_mb, p.cost_spread) for p in points],
            billing_step=False,
            shown=lambda value: f"${value:.4f} per million",
        ),
    ]
    per_size = max(
        (len([i for i in invocations if i.memory_size_mb == s]) for s in sizes), default=0
    )
    return TuningSummary(
        points=points,
        pending=sum(1 for i in invocations if i.status in PENDING),
        cold_start_rate=cold_start_rate,
        charts=charts_,
        verdicts=verdicts,
        runs_per_size=per_size,
    )


def _run_cost(run: Run, *, memory_mb: int, architecture: str, bill_init: bool) -> Decimal:
    return pricing.invocation_cost(
        duration_ms=run.duration_ms,
        memory_mb=memory_mb,
        architecture=architecture,
        init_duration_ms=(run.init_duration_ms or 0.0) if run.cold_start else 0.0,
        bill_init=bill_init,
    )


def _price(
    point: TuningPoint, *, cold: list[Run], warm: list[Run], architecture: str, rate: float
) -> None:
    """Fill in point's costs. A size with no cold start (or no warm run) can only be priced at
    a rate that needs none of them."""
    if (rate > 0 and not cold) or (rate < 1 and not warm) or not (cold or warm):
        return

    def costs(runs: list[Run], bill_init: bool) -> list[Decimal]:
        return [
            _run_cost(r, memory_mb=point.memory_mb, architecture=architecture, bill_init=bill_init)
            for r in runs
        ]

    share = Decimal(str(rate))
    cold_now, warm_now = costs(cold, True), costs(warm, True)
    cold_then = costs(cold, False)

    def blend(cold_value: Decimal, warm_value: Decimal) -> Decimal:
        return share * cold_value + (1 - share) * warm_value

    def avg(values: list[Decimal]) -> Decimal:
        return sum(values, Decimal(0)) / len(values) if values else Decimal(0)

    point.cost = blend(avg(cold_now), avg(warm_now))
    point.cost_low = blend(min(cold_now, default=Decimal(0)), min(warm_now, default=Decimal(0)))
    point.cost_high = blend(max(cold_now, default=Decimal(0)), max(warm_now, default=Decimal(0)))
    point.cost_before_2025 = blend(avg(cold_then), avg(warm_now))


def _ms(value: float) -> str:
    return f"{value:g} ms"


def _verdict(
    figure: str,
    spreads: list[tuple[int, Spread | None]],
    *,
    billing_step: bool,
    shown: Callable[[float], str] = _ms,
) -> Verdict:
    measured = [(size, s) for size, s in spreads if s is not None]
    if not measured:
        return Verdict(figure, None, None, (), f"{figure}: nothing measured yet.")
    lowest_size, lowest = min(measured, key=lambda item: item[1].mean)
    others = [(size, s) for size, s in measured if size != lowest_size]
    if not others:
        return Verdict(figure, None, lowest_size, (), f"{figure}: only one size measured.")
    if min(s.n for _, s in measured) < 2:
        return Verdict(
            figure,
            None,
            lowest_size,
            (),
            f"{figure}: one run per size shows no spread, so no difference can be told from "
            "noise. Run each size at least twice.",
        )
    ties = tuple(size for size, s in others if s.overlaps(lowest))
    means = [s.mean for _, s in measured]
    if billing_step and max(means) - min(means) < BILLING_STEP_MS:
        text = (
            f"{figure}: every size is within {BILLING_STEP_MS:g} ms of the others "
            f"({min(means):g}-{max(means):g} ms), and Lambda bills in 1 ms steps, so no size is "
            "faster in any way that matters."
        )
        return Verdict(figure, None, lowest_size, tuple(size for size, _ in others), text)
    if len(ties) == len(others):
        text = (
            f"{figure}: within noise. Every size's runs overlap those of {lowest_size} MB, the "
            "lowest on average, so this run cannot say that any size is lower."
        )
        return Verdict(figure, None, lowest_size, ties, text)
    if ties:
        named = [f"{size} MB" for size in ties]
        names = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
        text = (
            f"{figure}: lowest at {lowest_size} MB ({shown(lowest.mean)} on average), but {names} "
            f"{'is' if len(ties) == 1 else 'are'} within noise of it (the runs overlap)."
        )
        return Verdict(figure, None, lowest_size, ties, text)
    text = (
        f"{figure}: lowest at {lowest_size} MB ({shown(lowest.mean)} on average), beyond the noise "
        "of every other size."
    )
    return Verdict(figure, lowest_size, lowest_size, (), text)


def _range_chart(
    key: str, title: str, unit: str, spreads: list[tuple[int, Spread | None]]
) -> RangeChart:
    chart = RangeChart(key=key, title=title, unit=unit, bars=[], axis=[], maximum=0.0)
    maximum = max((s.high for _, s in spreads if s is not None), default=0.0) or 1.0
    left, right = chart.plot_left, chart.plot_right
    top, bottom = chart.plot_top, chart.plot_bottom
    step = (right - left) / max(len(spreads), 1)

    def y(value: float) -> float:
        return round(bottom - value / maximum * (bottom - top), 1)

    bars = [
        RangeBar(
            label=f"{size} MB",
            x=round(left + step * (index + 0.5), 1),
            mean_y=y(s.mean),
            low_y=y(s.low),
            high_y=y(s.high),
            spread=s,
        )
        for index, (size, s) in enumerate(spreads)
        if s is not None
    ]
    axis = [
        (f"{size}", round(left + step * (index + 0.5), 1))
        for index, (size, _) in enumerate(spreads)
    ]
    return RangeChart(key=key, title=title, unit=unit, bars=bars, axis=axis, maximum=maximum)


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


# ---------------------------------------------------------------- the lab's AWS services

SERVICE_LABELS = {
    "s3": "S3",
    "dynamodb": "DynamoDB",
    "sqs": "SQS",
    "sns": "SNS",
    "events": "EventBridge",
    "iam": "IAM",
    "sts": "STS",
    "lambda": "Lambda",
}
TRACE_WIDTH = 300.0


def service_label(service: str) -> str:
    return SERVICE_LABELS.get(service, service or "unknown")


@dataclass(frozen=True)
class TraceRow:
    """One AWS call of an invocation, drawn as X-Ray draws a subsegment."""

    number: int
    service: str
    operation: str
    action: str
    resource: str
    outcome: str
    status: int | None
    ms: float
    offset_ms: float
    message: str
    x: float
    width: float


def call_trace(calls: Sequence[dict[str, Any]]) -> list[TraceRow]:
    """Rows and bar geometry (x and width out of TRACE_WIDTH) for an invocation's recorded
    calls. Everything in a record came from the engine or the gateway, but is checked here as
    data: a call without figures is drawn at 0 with no length."""

    def number(value: object) -> float:
        return float(value) if isinstance(value, int | float) and value >= 0 else 0.0

    records = [
        call for call in calls if isinstance(call, dict) and call.get("outcome") != "dropped"
    ]
    end = max((number(c.get("offset_ms")) + number(c.get("ms")) for c in records), default=0.0)
    scale = TRACE_WIDTH / end if end > 0 else 0.0
    rows = []
    for index, call in enumerate(records, 1):
        offset, ms = number(call.get("offset_ms")), number(call.get("ms"))
        status = call.get("status")
        rows.append(
            TraceRow(
                number=index,
                service=service_label(str(call.get("service") or "")),
                operation=str(call.get("operation") or "(unrecognised request)"),
                action=str(call.get("action") or ""),
                resource=str(call.get("resource") or ""),
                outcome=str(call.get("outcome") or "error"),
                status=status if isinstance(status, int) else None,
                ms=round(ms, 2),
                offset_ms=round(offset, 2),
                message=str(call.get("message") or ""),
                x=round(offset * scale, 2),
                width=round(max(ms * scale, 1.0), 2),
            )
        )
    return rows


@dataclass(frozen=True)
class MapNode:
    label: str
    detail: str
    y: int
    calls: int = 0
    denied: int = 0
    errors: int = 0


@dataclass(frozen=True)
class ServiceMap:
    """Trigger → function → services, laid out for an SVG of width MAP_WIDTH."""

    triggers: list[MapNode]
    services: list[MapNode]
    function_y: int
    height: int


MAP_ROW = 44


def service_map(
    *, triggers: Sequence[tuple[str, str]], services: Sequence[tuple[str, str, int, int, int]]
) -> ServiceMap:
    """Lay out the diagram: triggers as (label, detail); services as (label, operations,
    calls, denied, errors). Each column is centred on the tallest."""
    rows = max(len(triggers), len(services), 1)
    height = rows * MAP_ROW + 8

    def column(count: int) -> list[int]:
        top = (height - count * MAP_ROW) / 2
        return [int(top + i * MAP_ROW + 4) for i in range(count)]

    return ServiceMap(
        triggers=[
            MapNode(label=label, detail=detail, y=y)
            for (label, detail), y in zip(triggers, column(len(triggers)), strict=True)
        ],
        services=[
            MapNode(label=label, detail=detail, y=y, calls=calls, denied=denied, errors=errors)
            for (label, detail, calls, denied, errors), y in zip(
                services, column(len(services)), strict=True
            )
        ],
        function_y=column(1)[0],
        height=height,
    )
