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


def tuning_runs():
    return [
        run(1, memory_size_mb=128, cold_start=True, duration_ms=100.0, init_duration_ms=300.0),
        run(2, memory_size_mb=128, cold_start=False, duration_ms=40.0, billed_duration_ms=40),
        run(3, memory_size_mb=128, cold_start=False, duration_ms=60.0, billed_duration_ms=60),
        run(4, memory_size_mb=256, cold_start=True, duration_ms=30.0, init_duration_ms=150.0),
        run(5, memory_size_mb=256, cold_start=False, duration_ms=20.0, billed_duration_ms=20),
        run(6, "error", memory_size_mb=256, cold_start=False, duration_ms=5.0),
        run(7, "queued", memory_size_mb=512),
    ]


def test_tuning_summary_averages_the_warm_runs_and_prices_a_million():
    summary = charts.tuning_summary(
        runs=tuning_runs(), memory_sizes=[128, 256, 512], architecture="x86_64"
    )
    small, big, pending = summary.points
    assert (small.avg_duration_ms, small.avg_billed_ms, small.cold_init_ms) == (50.0, 50.0, 300.0)
    assert (big.avg_duration_ms, big.cold_init_ms, big.errors) == (20.0, 150.0, 1)
    assert pending.avg_duration_ms is None and pending.cost_per_million is None
    assert summary.pending == 1
    expected = pricing.invocation_cost(
        duration_ms=50.0, memory_mb=128, architecture="x86_64", bill_init=False
    )
    assert small.cost_per_million == (expected * 1_000_000).quantize(Decimal("0.0001"))
    assert summary.fastest is big and summary.cheapest is big


def test_tuning_chart_spaces_sizes_evenly_and_scales_each_line_to_its_maximum():
    summary = charts.tuning_summary(
        runs=tuning_runs(), memory_sizes=[128, 256, 512], architecture="x86_64"
    )
    small, big, pending = summary.points
    assert (small.x, big.x, pending.x) == (summary.plot_left, 320.0, summary.plot_right)
    assert small.duration_y == summary.plot_top  # the slowest reaches the top
    height = summary.plot_bottom - summary.plot_top
    assert big.duration_y == pytest.approx(summary.plot_bottom - 0.4 * height)
    assert small.cost_y == summary.plot_top
    assert summary.duration_path == f"M70.0,20.0 L320.0,{big.duration_y:.1f}"
    assert summary.cost_path.startswith("M70.0,20.0 L320.0,")


def test_a_single_size_sits_in_the_middle_and_nothing_measured_draws_nothing():
    one = charts.tuning_summary(runs=tuning_runs(), memory_sizes=[256], architecture="arm64")
    assert one.points[0].x == (one.plot_left + one.plot_right) / 2
    none = charts.tuning_summary(runs=[], memory_sizes=[128], architecture="x86_64")
    assert none.duration_path == "" and none.cheapest is None and none.fastest is None


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
