"""Server-rendered SVG charts for the progress page: no JavaScript, no external service.

Colours are CSS classes (static/css/study.css), never style attributes: the CSP forbids inline
styles. Every chart is an <svg role="img"> with a title, and every mark carries a <title> so the
numbers are there for screen readers and on hover. Plain Python string building: a year's
heatmap is ~370 rectangles, and templates would be slower for no gain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

CELL = 11
GAP = 2
HEAT_THRESHOLDS = (1, 10, 20, 40)  # activity points (minutes + reviews) for levels 1 to 4


def _svg(width: int, height: int, title: str, body: list[str], *, css: str = "chart") -> SafeString:
    # Safe: every text interpolated here and by the callers goes through escape().
    return mark_safe(
        f'<svg class="{css}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _empty(width: int, height: int, title: str, message: str) -> SafeString:
    return _svg(
        width,
        height,
        title,
        [
            f'<line class="axis" x1="0" y1="{height - 20}" x2="{width}" y2="{height - 20}"/>',
            f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle">'
            f"{escape(message)}</text>",
        ],
    )


def heat_level(points: int) -> int:
    return sum(1 for threshold in HEAT_THRESHOLDS if points >= threshold)


@dataclass(frozen=True)
class DayActivity:
    minutes: int = 0
    reviews: int = 0

    @property
    def points(self) -> int:
        return self.minutes + self.reviews


def heatmap(*, days: dict[date, DayActivity], today: date, weeks: int = 53) -> SafeString:
    """A year of days as squares, a column per week (Monday on top), shaded by activity."""
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    left, top = 28, 14
    body: list[str] = []
    for row, name in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        y = top + row * (CELL + GAP) + CELL - 2
        body.append(f'<text x="0" y="{y}">{name}</text>')
    month = None
    day = start
    total = 0
    while day <= today:
        column = (day - start).days // 7
        x = left + column * (CELL + GAP)
        if day.day <= 7 and day.weekday() == 0 and day.month != month:
            month = day.month
            body.append(f'<text x="{x}" y="10">{day:%b}</text>')
        activity = days.get(day, DayActivity())
        total += activity.points
        y = top + day.weekday() * (CELL + GAP)
        label = f"{day:%a %-d %b %Y}: {activity.minutes} min, {activity.reviews} reviews"
        body.append(
            f'<rect class="heat-{heat_level(activity.points)}" x="{x}" y="{y}" width="{CELL}" '
            f'height="{CELL}" rx="2" data-day="{day.isoformat()}">'
            f"<title>{escape(label)}</title></rect>"
        )
        day += timedelta(days=1)
    width = left + weeks * (CELL + GAP)
    height = top + 7 * (CELL + GAP)
    title = "Activity over the last year" + ("" if total else ": nothing yet")
    return _svg(width, height, title, body, css="chart chart-heatmap")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    title: str


def bars(*, items: Sequence[Bar], title: str, unit: str, empty: str) -> SafeString:
    """A bar chart with a label under every bar (or every other one when crowded)."""
    width, height, bottom, top = 320, 160, 20, 14
    if not items or not any(item.value for item in items):
        return _empty(width, height, title, empty)
    peak = max(item.value for item in items) or 1
    slot = width / len(items)
    bar_width = max(2.0, slot * 0.7)
    step = 1 if len(items) <= 14 else 2
    body = [
        f'<line class="axis" x1="0" y1="{height - bottom}" x2="{width}" y2="{height - bottom}"/>'
    ]
    body.append(f'<text x="0" y="10">max {peak:g} {escape(unit)}</text>')
    for n, item in enumerate(items):
        h = (height - bottom - top) * item.value / peak
        x = n * slot + (slot - bar_width) / 2
        y = height - bottom - h
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" height="{h:.1f}">'
            f"<title>{escape(item.title)}</title></rect>"
        )
        if n % step == 0:
            body.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                f"{escape(item.label)}</text>"
            )
    return _svg(width, height, title, body)


@dataclass(frozen=True)
class Point:
    label: str
    percent: float | None  # None: nothing answered that period (a gap in the line)
    title: str


def line(*, points: Sequence[Point], title: str, empty: str) -> SafeString:
    """A 0-100 % line chart; periods without data break the line."""
    width, height, bottom, top, left = 320, 160, 20, 10, 26
    if not any(p.percent is not None for p in points):
        return _empty(width, height, title, empty)
    plot_h = height - bottom - top
    slot = (width - left) / max(1, len(points))
    body = []
    for level in (0, 50, 100):
        y = top + plot_h * (1 - level / 100)
        body.append(f'<line class="axis" x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}"/>')
        body.append(f'<text x="0" y="{y + 3:.1f}">{level}%</text>')
    segments: list[list[str]] = [[]]
    step = max(1, len(points) // 6)
    for n, point in enumerate(points):
        x = left + slot * (n + 0.5)
        if n % step == 0:
            body.append(
                f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">'
                f"{escape(point.label)}</text>"
            )
        if point.percent is None:
            segments.append([])
            continue
        y = top + plot_h * (1 - point.percent / 100)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{escape(point.title)}</title></circle>"
        )
    for segment in segments:
        if len(segment) > 1:
            body.insert(0, f'<polyline class="line" points="{" ".join(segment)}"/>')
    return _svg(width, height, title, body)
