"""EventBridge schedule expressions and when they fall due."""

from datetime import UTC, datetime

import pytest

from sandbox.triggers.schedules import ScheduleError, next_due

NOW = datetime(2026, 12, 2, 0, 30, 20, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("expression", "due"),
    [
        ("rate(1 minute)", datetime(2026, 12, 2, 0, 31, tzinfo=UTC)),
        ("rate(5 minutes)", datetime(2026, 12, 2, 0, 31, tzinfo=UTC)),  # 00:01 plus six periods
        ("rate(2 hours)", datetime(2026, 12, 2, 2, 1, tzinfo=UTC)),
        ("cron(0 12 * * ? *)", datetime(2026, 12, 2, 12, 0, tzinfo=UTC)),
        ("cron(0/15 * * * ? *)", datetime(2026, 12, 2, 0, 45, tzinfo=UTC)),
        ("cron(15 10 ? * MON-FRI *)", datetime(2026, 12, 2, 10, 15, tzinfo=UTC)),
        ("cron(0 8 ? * 1 *)", datetime(2026, 12, 6, 8, 0, tzinfo=UTC)),  # 1 is Sunday
        ("cron(0 0 1 JUL-AUG ? 2027)", datetime(2027, 7, 1, 0, 0, tzinfo=UTC)),
        ("cron(30 0 2 12 ? 2026)", None),  # its only time has passed
    ],
)
def test_next_due(expression, due):
    anchor = datetime(2026, 12, 2, 0, 1, 40, tzinfo=UTC)
    assert next_due(expression, after=NOW, anchor=anchor) == due


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(0 minutes)", "positive"),
        ("rate(5 minute)", "rate\\(5 minutes\\)"),
        ("rate(1 weeks)", "rate\\(value unit\\)"),
        ("cron(0 12 * * *)", "six fields"),
        ("cron(0 12 * * * *)", "exactly one"),
        ("cron(0 12 L * ? *)", "L, W or #"),
        ("cron(61 12 * * ? *)", "out of range"),
    ],
)
def test_bad_expressions_say_why(expression, message):
    with pytest.raises(ScheduleError, match=message):
        next_due(expression, after=NOW, anchor=NOW)
