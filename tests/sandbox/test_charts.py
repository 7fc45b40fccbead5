"""sandbox/charts.py: chart geometry from plain figures, no database."""

import ast
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from sandbox import charts
from sandbox.engine import pricing

T0 = 1_700_000_000.0  # an epoch second; only differences matter


def run(pk, status="success", **figures):
    values = {
        "pk": pk,
        "status": status,
        "error": None,
        "environment_id": "",
        "cold_start": None,
        "duration_ms": None,
        "billed_duration_ms": None,
        "init_duration_ms": None,
        "memory_size_mb": 128,
        "max_memory_used_mb": None,
        "init_started_at": None,
        "init_ended_at": None,
        "invoke_started_at": None,
        "invoke_ended_at": None,
    }
    return SimpleNamespace(**(values | figures))


def test_charts_import_neither_django_nor_models():
    tree = ast.parse(Path(charts.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name for name in imported if name and name.startswith(("django", "sandbox.models"))}


# ---------------------------------------------------------------- burst timeline


def burst():
    cold = run(
        1,
        environment_id="env-a",
        cold_start=True,
        duration_ms=100.0,
        init_started_at=T0,
        init_ended_at=T0 + 0.2,
        invoke_started_at=T0 + 0.2,
        invoke_ended_at=T0 + 0.3,
    )
    other = run(
        2,
        environment_id="env-b",
        cold_start=True,
        duration_ms=100.0,
        init_started_at=T0 + 0.1,
        init_ended_at=T0 + 0.3,
        invoke_started_at=T0 + 0.3,
        invoke_ended_at=T0 + 0.4,
    )
    warm = run(
        3,
        environment_id="env-a",
        cold_start=False,
        duration_ms=50.0,
        invoke_started_at=T0 + 0.3,
        invoke_ended_at=T0 + 0.35,
    )
    throttled = run(
        4, "throttled", error={"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
    )
    return [cold, other, warm, throttled, run(5, "queued"), run(6, "failed")]


def test_burst_timeline_draws_a_row_per_environment_on_a_shared_axis():
    timeline = charts.burst_timeline(runs=burst())
    assert [row.environment_id for row in timeline.rows] == ["env-a", "env-b"]
    assert timeline.span_ms == pytest.approx(400.0)
    scale = timeline.plot_width / 400.0
    first, second = timeline.rows
    assert [(bar.kind, bar.invocation_id) for bar in first.bars] == [
        ("init", 1),
        ("invoke", 1),
        ("invoke", 3),
    ]
    init, invoke, reused = first.bars
    assert init.x == pytest.approx(charts.TIMELINE_LEFT)
    assert init.width == pytest.approx(200.0 * scale)
    assert invoke.x == pytest.approx(charts.TIMELINE_LEFT + 200.0 * scale)
    assert reused.start_ms == pytest.approx(300.0) and reused.duration_ms == pytest.approx(50.0)
    assert "warm" in reused.label and "#3" in reused.label
    assert second.y == first.y + charts.TIMELINE_ROW
    assert second.bars[0].x == pytest.approx(charts.TIMELINE_LEFT + 100.0 * scale)


def test_burst_timeline_counts_and_marks_what_did_not_run():
    timeline = charts.burst_timeline(runs=burst())
    assert (timeline.cold, timeline.warm, timeline.pending, timeline.failed) == (2, 1, 1, 1)
    assert [i.pk for i in timeline.throttled] == [4]
    ((x, label),) = timeline.throttle_marks
    assert x == charts.TIMELINE_LEFT  # never started: marked at the burst's start
    assert "ReservedFunctionConcurrentInvocationLimitExceeded" in label
    assert timeline.throttle_y == charts.TIMELINE_TOP + 2 * charts.TIMELINE_ROW
    # Two environment rows, the throttled row, and the axis below.
    assert timeline.height == charts.TIMELINE_TOP + 3 * charts.TIMELINE_ROW + 30
    assert len(timeline.invocations) == 6


def test_burst_timeline_ticks_are_round_and_span_the_axis():
    timeline = charts.burst_timeline(runs=burst())
    labels = [label for _, label in timeline.ticks]
    assert labels == ["0 ms", "100 ms", "200 ms", "300 ms", "400 ms"]
    assert timeline.ticks[-1][0] == pytest.approx(charts.TIMELINE_LEFT + timeline.plot_width)


def test_a_sub_millisecond_run_still_draws_a_visible_bar():
    quick = run(
        1,
        environment_id="env",
        cold_start=False,
        duration_ms=0.01,
        invoke_started_at=T0,
        invoke_ended_at=T0 + 0.00001,
    )
    long = run(
        2, environment_id="env", cold_start=False, invoke_started_at=T0, invoke_ended_at=T0 + 10
    )
    (row,) = charts.burst_timeline(runs=[quick, long]).rows
    assert row.bars[0].width == charts.MIN_BAR_WIDTH


def test_an_empty_burst_has_one_empty_row_of_height():
    timeline = charts.burst_timeline(runs=[run(1, "queued")])
    assert timeline.rows == [] and timeline.span_ms == 1.0 and timeline.pending == 1
    assert timeline.height == charts.TIMELINE_TOP + charts.TIMELINE_ROW + 30


@pytest.mark.parametrize(
    ("raw", "step"), [(0, 1.0), (-3, 1.0), (0.3, 0.5), (3, 5), (12, 20), (80, 100), (200, 200)]
)
def test_nice_step_is_one_two_or_five_times_a_power_of_ten(raw, step):
    assert charts.nice_step(raw) == pytest.approx(step)


# ---------------------------------------------------------------- memory tuning


def pair(pk, size, init, cold, warm, status="success"):
    """One tuning run at a size: a cold start, then a warm invocation."""
    return [
        run(
            pk,
            status,
            memory_size_mb=size,
            cold_start=True,
            duration_ms=cold,
            init_duration_ms=init,
        ),
        run(pk + 1, status, memory_size_mb=size, cold_start=False, duration_ms=warm),
    ]


def tuning_runs():
    """INIT falls clearly with memory; the warm invocation is sub-millisecond noise."""
    return [
        *pair(1, 128, 1650.0, 30.0, 0.21),
        *pair(3, 128, 1590.0, 28.0, 0.17),
        *pair(5, 128, 1710.0, 31.0, 0.24),
        *pair(7, 1024, 210.0, 4.0, 0.19),
        *pair(9, 1024, 240.0, 5.0, 0.22),
        *pair(11, 1024, 230.0, 4.5, 0.18),
        *pair(13, 1769, 128.0, 3.0, 0.20),
        *pair(15, 1769, 150.0, 3.5, 0.23),
        *pair(17, 1769, 135.0, 2.5, 0.17),
        run(19, "error", memory_size_mb=1769, cold_start=False, duration_ms=5.0),
        run(20, "queued", memory_size_mb=3008),
    ]


def summary_of(rate=0.1, runs=None, sizes=(128, 1024, 1769, 3008)):
    return charts.tuning_summary(
        runs=tuning_runs() if runs is None else runs,
        memory_sizes=list(sizes),
        architecture="x86_64",
        cold_start_rate=rate,
    )


def test_tuning_summary_keeps_init_and_invocation_apart_with_their_spread():
    small, _, big, pending = summary_of().points
    assert small.init == charts.Spread(n=3, mean=1650.0, low=1590.0, high=1710.0)
    assert small.cold == charts.Spread(n=3, mean=29.67, low=28.0, high=31.0)
    assert small.warm == charts.Spread(n=3, mean=0.21, low=0.17, high=0.24)
    assert (big.init.low, big.init.high, big.errors) == (128.0, 150.0, 1)
    assert pending.init is None and pending.warm is None and pending.cost is None
    assert summary_of().pending == 1


def test_cost_blends_cold_starts_billed_with_init_and_warm_invocations_at_the_chosen_rate():
    small = summary_of(rate=0.25).points[0]
    cold = [
        pricing.invocation_cost(duration_ms=d, memory_mb=128, init_duration_ms=i, bill_init=True)
        for i, d in ((1650.0, 30.0), (1590.0, 28.0), (1710.0, 31.0))
    ]
    warm = pricing.invocation_cost(duration_ms=0.2, memory_mb=128)  # any warm run bills 1 ms
    expected = Decimal("0.25") * sum(cold) / 3 + Decimal("0.75") * warm
    assert small.cost == expected
    assert small.cost_low == Decimal("0.25") * min(cold) + Decimal("0.75") * warm
    assert small.cost_high == Decimal("0.25") * max(cold) + Decimal("0.75") * warm
    # Before 1 Aug 2025 INIT was free: the cold starts bill only their own 28-31 ms.
    then = [
        pricing.invocation_cost(duration_ms=d, memory_mb=128, bill_init=False)
        for d in (30.0, 28.0, 31.0)
    ]
    assert small.cost_before_2025 == Decimal("0.25") * sum(then) / 3 + Decimal("0.75") * warm
    assert small.cost > small.cost_before_2025


def test_with_no_cold_starts_chosen_only_the_warm_invocations_cost():
    never, always = summary_of(rate=0.0).points[0], summary_of(rate=1.0).points[0]
    assert never.cost == pricing.invocation_cost(duration_ms=0.2, memory_mb=128)
    assert always.cost > 1000 * (never.cost - pricing.REQUEST_PRICE)
    with pytest.raises(ValueError):
        summary_of(rate=1.5)


def test_verdicts_name_a_clear_winner_and_call_overlapping_runs_noise():
    init, warm, cost = summary_of().verdicts
    # 1769 MB's INIT (128-150 ms) overlaps neither 1024 MB's (210-240) nor 128 MB's.
    assert (init.best, init.ties) == (1769, ())
    assert "beyond the noise" in init.text
    # Warm runs of 0.17-0.24 ms: no fastest, and all bill the same 1 ms.
    assert warm.best is None and {warm.lowest, *warm.ties} == {128, 1024, 1769}
    assert "1 ms steps" in warm.text
    assert cost.lowest is not None


def test_overlapping_ranges_are_within_noise_of_the_lowest():
    runs = [
        *pair(1, 128, 300.0, 20.0, 10.0),
        *pair(3, 128, 320.0, 22.0, 14.0),
        *pair(5, 256, 310.0, 15.0, 12.0),
        *pair(7, 256, 330.0, 16.0, 13.0),
        *pair(9, 512, 100.0, 5.0, 30.0),
        *pair(11, 512, 110.0, 6.0, 31.0),
    ]
    init, warm, _ = summary_of(runs=runs, sizes=(128, 256, 512)).verdicts
    assert (init.best, init.lowest) == (512, 512)
    # 128 MB is lowest on average (12 ms), but 256 MB's 12-13 ms overlap its 10-14 ms.
    assert (warm.best, warm.lowest, warm.ties) == (None, 128, (256,))
    assert "256 MB is within noise" in warm.text


def test_one_run_per_size_cannot_tell_a_difference_from_noise():
    runs = [*pair(1, 128, 300.0, 20.0, 10.0), *pair(3, 256, 150.0, 10.0, 5.0)]
    init, warm, cost = summary_of(runs=runs, sizes=(128, 256)).verdicts
    assert init.best is None and warm.best is None and cost.best is None
    assert "at least twice" in init.text


def test_range_charts_put_each_size_in_its_slot_and_scale_to_the_highest_run():
    init_chart, _, cost_chart = summary_of().charts
    assert [label for label, _ in init_chart.axis] == ["128", "1024", "1769", "3008"]
    assert init_chart.maximum == 1710.0
    small = init_chart.bars[0]
    assert small.high_y == init_chart.plot_top  # the highest run reaches the top
    assert small.low_y > small.mean_y > small.high_y
    assert len(init_chart.bars) == 3  # 3008 MB has nothing measured yet
    assert cost_chart.unit == "$" and cost_chart.bars[0].spread.mean > 0
    assert "10% cold starts" in cost_chart.title


def test_nothing_measured_draws_nothing_and_says_so():
    none = summary_of(runs=[], sizes=(128,))
    assert all(not chart.bars for chart in none.charts)
    assert all(verdict.best is None for verdict in none.verdicts)
    assert "nothing measured" in none.verdicts[0].text


def test_svg_path_moves_then_draws_lines():
    assert charts.svg_path([(1, 2), (3.25, 4)]) == "M1.0,2.0 L3.2,4.0"
    assert charts.svg_path([]) == ""


# ---------------------------------------------------------------- REPORT card


def test_report_card_draws_duration_inside_billed_duration():
    card = charts.report_card(
        run=run(1, duration_ms=27.55, billed_duration_ms=28, max_memory_used_mb=41)
    )
    assert card.bar_width == charts.REPORT_BAR_WIDTH
    assert card.duration_width == round(300 * 27.55 / 28, 2)
    assert (card.memory_fraction_pct, card.memory_class) == (32.0, "gauge-ok")
    assert card.memory_width == round(300 * 41 / 128, 2)


@pytest.mark.parametrize(
    ("used", "css"), [(89, "gauge-ok"), (90, "gauge-warn"), (115, "gauge-warn"), (116, "gauge-bad")]
)
def test_report_card_memory_gauge_warns_past_70_and_90_percent(used, css):
    card = charts.report_card(
        run=run(1, duration_ms=1.0, billed_duration_ms=1, max_memory_used_mb=used)
    )
    assert card.memory_class == css


def test_report_card_caps_what_overflows_and_skips_what_did_not_run():
    card = charts.report_card(
        run=run(1, duration_ms=5.0, billed_duration_ms=0, max_memory_used_mb=200)
    )
    assert card.duration_width == 300.0 and card.memory_width == 300.0
    assert card.memory_fraction_pct == 100.0
    assert charts.report_card(run=run(1, "throttled")) is None


def test_burst_timeline_marks_when_each_request_was_fired():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    fired = datetime.fromtimestamp(1000.0, tz=UTC)
    runs = [
        SimpleNamespace(
            pk=pk,
            status="success",
            error=None,
            environment_id=f"env-{pk}",
            cold_start=True,
            duration_ms=10.0,
            billed_duration_ms=10,
            init_duration_ms=5.0,
            memory_size_mb=128,
            max_memory_used_mb=40,
            started_at=fired,
            init_started_at=1000.001,
            init_ended_at=1000.006,
            invoke_started_at=1000.006,
            invoke_ended_at=1000.016,
        )
        for pk in (1, 2)
    ]
    timeline = charts.burst_timeline(runs=runs)
    assert [x for x, _ in timeline.admissions] == [charts.TIMELINE_LEFT] * 2
    assert "fired at +0.0 ms" in timeline.admissions[0][1]
    # The environments' rows sit under the row of requests.
    assert timeline.rows[0].y == charts.TIMELINE_TOP + charts.TIMELINE_ROW


def test_call_trace_draws_each_call_on_the_phase_timeline_and_tolerates_junk():
    rows = charts.call_trace(
        [
            {
                "service": "s3",
                "operation": "GetObject",
                "outcome": "allowed",
                "ms": 10,
                "offset_ms": 0,
            },
            {
                "service": "dynamodb",
                "operation": "PutItem",
                "outcome": "denied",
                "ms": 10,
                "offset_ms": 20,
            },
            {"outcome": "error", "status": 400, "ms": "junk", "offset_ms": -5},
            "not a call",
            {"outcome": "dropped", "count": 3},
        ]
    )
    assert [(r.service, r.operation, r.outcome) for r in rows] == [
        ("S3", "GetObject", "allowed"),
        ("DynamoDB", "PutItem", "denied"),
        ("unknown", "(unrecognised request)", "error"),
    ]
    assert [r.x for r in rows] == [0.0, 200.0, 0.0]
    assert rows[0].width == 100.0 and rows[2].width == 1.0
    assert charts.call_trace([]) == []
