"""Reads of study sessions: the plan for a new session, the active session, its summary, and
days, streaks and weeks in the learner's time zone. No writes here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db.models import Count, Q, Sum
from django.utils import timezone

from learn.models import Lesson, LessonProgress
from learn.practice.models import Answer, Question, QuestionType, ReviewCard, ReviewLog
from learn.study.localtime import LocalDate
from learn.study.models import (
    DayTotal,
    GoalKind,
    SessionStatus,
    StepKind,
    StepStatus,
    StudyProfile,
    StudySession,
    StudySpan,
    StudyStep,
)

# How long each kind of work takes, for sizing a session (minutes).
REVIEW_MINUTES = 0.5
QUESTION_MINUTES = 1.0
SANDBOX_MINUTES = 5
# Reviews never take more than this share of a session: new material must fit too.
REVIEW_SHARE = 0.4
MAX_NEW_QUESTIONS = 5


def zone_of(profile: StudyProfile | None) -> ZoneInfo:
    return ZoneInfo(profile.time_zone if profile else "UTC")


def profile_get(*, user: User) -> StudyProfile | None:
    return StudyProfile.objects.filter(user=user).first()


def local_today(*, zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zone).date()


# Planning -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    kind: str
    planned_minutes: int
    lesson: Lesson | None = None
    question_count: int = 0


def _next_lesson(*, user: User) -> Lesson | None:
    """The first published lesson in course order the learner has not completed."""
    done = LessonProgress.objects.filter(user=user, completed_at__isnull=False).values("lesson_id")
    return (
        Lesson.objects.filter(published=True)
        .exclude(pk__in=done)
        .select_related("module")
        .order_by("module__order", "order", "slug")
        .first()
    )


def session_plan(*, user: User, minutes: int, now: datetime | None = None) -> list[PlannedStep]:
    """What a session of `minutes` should hold, in order: due reviews first (at most a share of
    the time), then the next unfinished lesson, then new questions on it, then its sandbox
    exercise, each only while time is left. May be empty when nothing is left to do."""
    moment = now or timezone.now()
    budget = float(minutes)
    steps: list[PlannedStep] = []
    due = ReviewCard.objects.filter(
        user=user, due__lte=moment, question__current_version__isnull=False
    ).count()
    if due:
        count = min(due, max(1, int(minutes * REVIEW_SHARE / REVIEW_MINUTES)))
        planned = max(1, math.ceil(count * REVIEW_MINUTES))
        steps.append(PlannedStep(StepKind.REVIEWS, planned, question_count=count))
        budget -= planned
    lesson = _next_lesson(user=user)
    if lesson is not None and budget >= 1:
        # A long lesson still goes in: reading part of it is progress, and the next session
        # plans it again until it is marked complete.
        planned = max(1, min(lesson.estimated_minutes, int(budget)))
        steps.append(PlannedStep(StepKind.LESSON, planned, lesson=lesson))
        budget -= planned
    if lesson is not None and budget >= QUESTION_MINUTES:
        unseen = (
            Question.objects.filter(lesson=lesson, current_version__isnull=False)
            .exclude(type=QuestionType.CODE)
            .exclude(cards__user=user)
            .count()
        )
        count = min(unseen, MAX_NEW_QUESTIONS, int(budget / QUESTION_MINUTES))
        if count:
            planned = max(1, math.ceil(count * QUESTION_MINUTES))
            steps.append(
                PlannedStep(StepKind.QUESTIONS, planned, lesson=lesson, question_count=count)
            )
            budget -= planned
    if lesson is not None and lesson.try_it and budget >= SANDBOX_MINUTES - 1:
        steps.append(PlannedStep(StepKind.SANDBOX, SANDBOX_MINUTES, lesson=lesson))
    return steps


# The active session -------------------------------------------------------------------------


def session_active(*, user: User) -> StudySession | None:
    return StudySession.objects.filter(user=user, status=SessionStatus.ACTIVE).first()


def session_get(*, user: User, session_id: int) -> StudySession:
    """The learner's own session (another learner's id raises DoesNotExist)."""
    return StudySession.objects.get(user=user, pk=session_id)


def session_steps(*, session: StudySession) -> list[StudyStep]:
    return list(session.steps.select_related("lesson", "attempt"))


def step_current(steps: list[StudyStep]) -> StudyStep | None:
    return next((s for s in steps if s.status == StepStatus.PENDING), None)


def session_elapsed(*, session: StudySession, now: datetime | None = None) -> int:
    """Seconds credited, plus the running span up to now (what the timer shows)."""
    extra = 0
    if session.counting_since is not None and session.paused_at is None:
        from learn.study.services.sessions import MAX_GAP

        gap = (now or timezone.now()) - session.counting_since
        if gap <= MAX_GAP:
            extra = int(gap.total_seconds())
    return session.active_seconds + extra


@dataclass
class SessionSummary:
    seconds: int
    lessons_finished: list[Lesson]
    answered: int
    correct: int
    reviews: int
    next_due: list[tuple[date, int]]
    steps_done: int
    steps_total: int

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)

    @property
    def accuracy_percent(self) -> int | None:
        return round(100 * self.correct / self.answered) if self.answered else None


def session_summary(*, session: StudySession, zone: ZoneInfo) -> SessionSummary:
    """What the learner did between the session's start and end (or now)."""
    start, end = session.started_at, session.ended_at or timezone.now()
    lessons = [
        p.lesson
        for p in LessonProgress.objects.filter(
            user=session.user, completed_at__gte=start, completed_at__lte=end
        ).select_related("lesson")
    ]
    answers = Answer.objects.filter(
        item__attempt__user=session.user, answered_at__gte=start, answered_at__lte=end
    ).aggregate(n=Count("id"), ok=Count("id", filter=Q(correct=True)))
    reviews = ReviewLog.objects.filter(
        card__user=session.user, review_datetime__gte=start, review_datetime__lte=end
    ).count()
    steps = list(session.steps.values_list("status", flat=True))
    return SessionSummary(
        seconds=session.active_seconds,
        lessons_finished=lessons,
        answered=answers["n"],
        correct=answers["ok"],
        reviews=reviews,
        next_due=reviews_due_by_day(user=session.user, zone=zone, days=7),
        steps_done=sum(1 for s in steps if s == StepStatus.DONE),
        steps_total=len(steps),
    )


# Days, goals and streaks --------------------------------------------------------------------


class Day(NamedTuple):
    """One row of study.DayTotal, read as a tuple (a year of rows costs no model instances)."""

    answers: int
    correct: int
    reviews: int
    seconds: int


def day_totals(*, user: User) -> dict[date, Day]:
    """The learner's totals per local day (study.DayTotal, kept up to date as they study): one
    query over a row a day, whatever the number of answers, reviews and spans behind them."""
    rows = DayTotal.objects.filter(user=user).values_list(
        "day", "answers", "correct", "reviews", "seconds"
    )
    return {day: Day(*figures) for day, *figures in rows}


def seconds_by_day(*, user: User, zone: ZoneInfo) -> dict[date, int]:
    """Seconds studied per local day, over the whole history (one grouped query)."""
    rows = (
        StudySpan.objects.filter(user=user)
        .annotate(day=LocalDate("started_at", zone))
        .values("day")
        .annotate(total=Sum("seconds"))
        .order_by()
    )
    return {row["day"]: row["total"] for row in rows}


def reviews_by_day(*, user: User, zone: ZoneInfo) -> dict[date, int]:
    """Reviews rated per local day, over the whole history (one grouped query)."""
    rows = (
        ReviewLog.objects.filter(card__user=user)
        .annotate(day=LocalDate("review_datetime", zone))
        .values("day")
        .annotate(total=Count("id"))
        .order_by()
    )
    return {row["day"]: row["total"] for row in rows}


def reviews_due_by_day(
    *, user: User, zone: ZoneInfo, days: int = 14, now: datetime | None = None
) -> list[tuple[date, int]]:
    """Cards due on each of the next `days` local days (today includes the overdue ones)."""
    moment = now or timezone.now()
    today = moment.astimezone(zone).date()
    end_local = datetime.combine(today + timedelta(days=days), datetime.min.time(), tzinfo=zone)
    rows = (
        ReviewCard.objects.filter(
            user=user, due__lt=end_local, question__current_version__isnull=False
        )
        .annotate(day=LocalDate("due", zone))
        .values("day")
        .annotate(total=Count("id"))
        .order_by()
    )
    counts = {today + timedelta(days=n): 0 for n in range(days)}
    for row in rows:
        day = max(row["day"], today)
        counts[day] = counts.get(day, 0) + row["total"]
    return sorted(counts.items())


@dataclass
class GoalStatus:
    kind: str
    target: int
    today_value: int
    streak: int
    best_streak: int
    met_days: set[date] = field(default_factory=set)

    @property
    def met_today(self) -> bool:
        return self.today_value >= self.target

    @property
    def unit(self) -> str:
        return "min" if self.kind == GoalKind.MINUTES else "reviews"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.today_value / self.target)) if self.target else 0


def goal_status(
    *,
    profile: StudyProfile | None,
    seconds: dict[date, int],
    reviews: dict[date, int],
    today: date,
) -> GoalStatus:
    """The daily goal today and the streak of consecutive local days it was met.

    A streak still counts while today is not over: it runs up to yesterday until today's goal
    is met, then includes today.
    """
    kind = profile.goal_kind if profile else GoalKind.MINUTES
    target = profile.goal_target if profile else 15
    if kind == GoalKind.MINUTES:
        values = {day: s // 60 for day, s in seconds.items()}
    else:
        values = dict(reviews)
    met = {day for day, value in values.items() if value >= target}
    day = today if today in met else today - timedelta(days=1)
    streak = 0
    while day in met:
        streak += 1
        day -= timedelta(days=1)
    best = 0
    for start in met:
        if start - timedelta(days=1) in met:
            continue
        length = 0
        while start + timedelta(days=length) in met:
            length += 1
        best = max(best, length)
    return GoalStatus(
        kind=kind,
        target=target,
        today_value=values.get(today, 0),
        streak=streak,
        best_streak=best,
        met_days=met,
    )
