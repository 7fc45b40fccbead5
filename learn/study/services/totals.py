"""Per-learner, per-local-day totals (study.DayTotal): kept up to date as answers, reviews and
study time are written, and rebuilt from those rows when needed (a backfill, a change of time
zone).

A refresh recomputes a day's figure from its source rows instead of adding to the counters, so
it is right however often it runs and whichever write path triggered it (the practice app's
services, a grading worker, the admin, tests): the receivers in learn.study.signals call it
after every save of an Answer, a ReviewLog or a StudySpan (for that figure only: four
queries), and the session heartbeat calls it after its bulk span updates, which send no
signal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum

from learn.study.localtime import LocalDate


@dataclass(frozen=True)
class Sources:
    """The models totals are computed from (the live ones, or a migration's historical ones)."""

    day_total: Any
    answer: Any
    review_log: Any
    study_span: Any
    profile: Any

    @classmethod
    def live(cls) -> Sources:
        from learn.practice.models import Answer, ReviewLog
        from learn.study.models import DayTotal, StudyProfile, StudySpan

        return cls(DayTotal, Answer, ReviewLog, StudySpan, StudyProfile)


def _zone(sources: Sources, user_id: int) -> ZoneInfo:
    name = (
        sources.profile.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first()
    )
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, end


FIELDS = ("answers", "reviews", "seconds")  # "answers" covers correct too


def _day_values(
    sources: Sources, user_id: int, start: datetime, end: datetime, what: str
) -> dict[str, int]:
    if what == "answers":
        graded = sources.answer.objects.filter(
            item__attempt__user_id=user_id,
            correct__isnull=False,
            answered_at__gte=start,
            answered_at__lt=end,
        ).aggregate(n=Count("id"), ok=Count("id", filter=Q(correct=True)))
        return {"answers": graded["n"] or 0, "correct": graded["ok"] or 0}
    if what == "reviews":
        reviews = sources.review_log.objects.filter(
            card__user_id=user_id, review_datetime__gte=start, review_datetime__lt=end
        ).count()
        return {"reviews": reviews}
    seconds = sources.study_span.objects.filter(
        user_id=user_id, started_at__gte=start, started_at__lt=end
    ).aggregate(total=Sum("seconds"))["total"]
    return {"seconds": seconds or 0}


def day_totals_refresh(
    *,
    user_id: int,
    moments: Iterable[datetime],
    what: Iterable[str] = FIELDS,
    sources: Sources | None = None,
) -> None:
    """Recompute the learner's totals of the local days holding `moments` (UTC instants):
    the figures named by `what` (FIELDS), each from its own rows (a query each), then one
    update (an insert for a new day)."""
    sources = sources or Sources.live()
    zone = _zone(sources, user_id)
    for day in sorted({moment.astimezone(zone).date() for moment in moments}):
        start, end = _bounds(day, zone)
        values: dict[str, int] = {}
        for name in what:
            values.update(_day_values(sources, user_id, start, end, name))
        rows = sources.day_total.objects.filter(user_id=user_id, day=day)
        if rows.update(**values) or not any(values.values()):
            continue
        try:
            with transaction.atomic():
                sources.day_total.objects.create(user_id=user_id, day=day, **values)
        except IntegrityError:  # another write made the day's row meanwhile
            rows.update(**values)


def _grouped(queryset: Any, column: str, zone: ZoneInfo, **aggregates: Any) -> list[dict]:
    return list(
        queryset.annotate(day=LocalDate(column, zone))
        .values("day")
        .annotate(**aggregates)
        .order_by()
    )


@transaction.atomic
def day_totals_rebuild(*, user_id: int, sources: Sources | None = None) -> int:
    """Replace all the learner's totals with ones computed from the whole history, by local
    day in their current time zone (three grouped queries). Returns how many days they cover.
    """
    sources = sources or Sources.live()
    zone = _zone(sources, user_id)
    days: dict[date, dict[str, int]] = {}

    def put(day: date, **values: int) -> None:
        row = days.setdefault(day, {"answers": 0, "correct": 0, "reviews": 0, "seconds": 0})
        row.update(values)

    answers = sources.answer.objects.filter(item__attempt__user_id=user_id, correct__isnull=False)
    for row in _grouped(
        answers, "answered_at", zone, n=Count("id"), ok=Count("id", filter=Q(correct=True))
    ):
        put(row["day"], answers=row["n"], correct=row["ok"])
    reviews = sources.review_log.objects.filter(card__user_id=user_id)
    for row in _grouped(reviews, "review_datetime", zone, n=Count("id")):
        put(row["day"], reviews=row["n"])
    spans = sources.study_span.objects.filter(user_id=user_id)
    for row in _grouped(spans, "started_at", zone, total=Sum("seconds")):
        if row["total"]:
            put(row["day"], seconds=row["total"])
    sources.day_total.objects.filter(user_id=user_id).delete()
    sources.day_total.objects.bulk_create(
        sources.day_total(user_id=user_id, day=day, **values) for day, values in days.items()
    )
    return len(days)


def day_totals_rebuild_all(*, sources: Sources | None = None) -> tuple[int, int]:
    """Rebuild every learner's totals (the backfill); returns (learners, days)."""
    sources = sources or Sources.live()
    user_model = sources.profile._meta.get_field("user").related_model
    learners = days = 0
    for user_id in user_model.objects.values_list("pk", flat=True).iterator():
        days += day_totals_rebuild(user_id=user_id, sources=sources)
        learners += 1
    return learners, days
