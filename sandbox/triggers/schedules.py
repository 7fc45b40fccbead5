"""EventBridge schedule expressions, rate(...) and cron(...), and when they are next due.

Plain Python: AWS's cron has its own dialect (six fields with a year, `?` for "no specific
value", days of the week 1-7 from Sunday), so it is parsed here rather than by a Unix cron
library. `L`, `W` and `#` are refused with a message saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^()]+)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_SEARCH_DAYS = 366 * 5


class ScheduleError(ValueError):
    """Not a schedule expression EventBridge (or this lab) accepts; str() says why."""


def _values(
    field: str, low: int, high: int, names: dict[str, int] | None = None
) -> set[int] | None:
    """The values a cron field allows, None for any (`*` or `?`)."""
    if field in ("*", "?"):
        return None
    bare = field.upper()
    for name in names or {}:
        bare = bare.replace(name, "")
    if any(mark in bare for mark in ("L", "W", "#")):
        raise ScheduleError("The lab's schedules do not support L, W or # in cron expressions.")
    allowed: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleError(f"Bad step in cron field {field!r}.")
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(part, names)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ScheduleError(f"Cron field {field!r} is out of range {low}-{high}.")
        allowed.update(range(start, end + 1, step))
    return allowed


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(f"Cron value {text!r} is not a number.")
    return int(text)


@dataclass(frozen=True)
class Cron:
    minutes: set[int] | None
    hours: set[int] | None
    days_of_month: set[int] | None
    months: set[int] | None
    days_of_week: set[int] | None
    years: set[int] | None

    def _day_matches(self, day: datetime) -> bool:
        if self.years is not None and day.year not in self.years:
            return False
        if self.months is not None and day.month not in self.months:
            return False
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        # datetime: Monday is 0; AWS: Sunday is 1.
        aws_weekday = (day.weekday() + 1) % 7 + 1
        return self.days_of_week is None or aws_weekday in self.days_of_week

    def next_after(self, moment: datetime) -> datetime | None:
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        hours = sorted(self.hours) if self.hours is not None else range(24)
        minutes = sorted(self.minutes) if self.minutes is not None else range(60)
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in hours:
                    for minute in minutes:
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def next_after(self, moment: datetime, *, anchor: datetime) -> datetime:
        anchor = anchor.replace(second=0, microsecond=0)
        if moment < anchor:
            return anchor
        periods = (moment - anchor) // self.period + 1
        return anchor + periods * self.period


def parse(expression: str) -> Cron | Rate:
    """The schedule an expression describes. Raises ScheduleError."""
    expression = expression.strip()
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate["value"]), rate["unit"].rstrip("s")
        if value < 1:
            raise ScheduleError("A rate must be a positive number.")
        if (value == 1) != (not rate["unit"].endswith("s")):
            raise ScheduleError(f"Write rate(1 {unit}) or rate({max(value, 2)} {unit}s).")
        return Rate(period=timedelta(seconds=value * _UNITS[unit]))
    cron = _CRON.match(expression)
    if not cron:
        raise ScheduleError(
            "A schedule is rate(value unit) or cron(min hour day month weekday year)."
        )
    fields = cron["fields"].split()
    if len(fields) != 6:
        raise ScheduleError(
            "cron(...) takes six fields: minutes hours day-of-month month day-of-week year."
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            "Give ? for exactly one of day-of-month and day-of-week, as EventBridge requires."
        )
    return Cron(
        minutes=_values(minute, 0, 59),
        hours=_values(hour, 0, 23),
        days_of_month=_values(dom, 1, 31),
        months=_values(month, 1, 12, _MONTHS),
        days_of_week=_values(dow, 1, 7, _DAYS),
        years=_values(year, 1970, 2199),
    )


def next_due(expression: str, *, after: datetime, anchor: datetime) -> datetime | None:
    """When the schedule is next due strictly after `after` (UTC); a rate counts from anchor."""
    schedule = parse(expression)
    after = after.astimezone(UTC)
    if isinstance(schedule, Rate):
        return schedule.next_after(after, anchor=anchor.astimezone(UTC))
    return schedule.next_after(after)
