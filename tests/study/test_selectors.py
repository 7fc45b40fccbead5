"""learn/study/selectors.py: session planning, summaries, days, goals and streaks."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from learn.models import LessonProgress
from learn.practice.models import ReviewCard, ReviewLog
from learn.study import selectors
from learn.study.models import GoalKind, StepKind, StudyProfile, StudySession, StudySpan
from tests.study.conftest import T0, make_due

pytestmark = pytest.mark.django_db


def kinds(plan):
    return [step.kind for step in plan]


def test_plan_puts_due_reviews_first_then_lesson_questions_and_sandbox(course, student) -> None:
    make_due(student, course[1], at=T0 - timedelta(hours=1))
    plan = selectors.session_plan(user=student, minutes=25, now=T0)
    assert kinds(plan) == [StepKind.REVIEWS, StepKind.LESSON, StepKind.QUESTIONS, StepKind.SANDBOX]
    assert plan[0].question_count == 1
    assert plan[1].lesson == course[0] and plan[1].planned_minutes == 6
    # The card already met on the second lesson does not change the first lesson's three.
    assert plan[2].lesson == course[0] and plan[2].question_count == 3
    assert sum(step.planned_minutes for step in plan) <= 25


def test_plan_without_due_reviews_starts_with_the_next_unfinished_lesson(course, student) -> None:
    LessonProgress.objects.create(user=student, lesson=course[0], completed_at=T0)
    plan = selectors.session_plan(user=student, minutes=15, now=T0)
    assert kinds(plan) == [StepKind.LESSON, StepKind.QUESTIONS]
    assert plan[0].lesson == course[1]


def test_cards_not_yet_due_are_not_planned(course, student) -> None:
    make_due(student, course[0], at=T0 + timedelta(minutes=1))
    assert StepKind.REVIEWS not in kinds(selectors.session_plan(user=student, minutes=15, now=T0))


def test_reviews_take_at_most_their_share_of_a_short_session(course, student) -> None:
    for question in [*course[0].questions.all(), *course[1].questions.all()]:
        ReviewCard.objects.create(user=student, question=question, due=T0, last_review=T0)
    plan = selectors.session_plan(user=student, minutes=15, now=T0)
    assert plan[0].kind == StepKind.REVIEWS and plan[0].question_count == 4
    # Every question of the first lesson is met: no "new questions" step, the lesson remains.
    assert kinds(plan)[1:] == [StepKind.LESSON, StepKind.SANDBOX]
    assert sum(step.planned_minutes for step in plan) <= 15


def test_longer_sessions_hold_more(course, student) -> None:
    plan_15 = selectors.session_plan(user=student, minutes=15, now=T0)
    plan_45 = selectors.session_plan(user=student, minutes=45, now=T0)
    assert sum(s.planned_minutes for s in plan_45) >= sum(s.planned_minutes for s in plan_15)
    assert StepKind.SANDBOX in kinds(plan_45)


def test_nothing_to_plan_when_everything_is_done(course, student) -> None:
    for lesson in course:
        LessonProgress.objects.create(user=student, lesson=lesson, completed_at=T0)
    assert selectors.session_plan(user=student, minutes=15, now=T0) == []


# Days and streaks --------------------------------------------------------------------------


def span(user, start: datetime, seconds: int) -> None:
    session = StudySession.objects.filter(user=user).first() or StudySession.objects.create(
        user=user, minutes=15, started_at=start, last_seen_at=start, status="finished"
    )
    StudySpan.objects.create(
        session=session,
        user=user,
        started_at=start,
        ended_at=start + timedelta(seconds=seconds),
        seconds=seconds,
    )


def status(user, zone: str, today: date, **profile):
    tz = ZoneInfo(zone)
    prof = StudyProfile(user=user, time_zone=zone, **profile)
    return selectors.goal_status(
        profile=prof,
        seconds=selectors.seconds_by_day(user=user, zone=tz),
        reviews=selectors.reviews_by_day(user=user, zone=tz),
        today=today,
    )


def test_the_same_instants_make_different_days_in_different_zones(student) -> None:
    # 23:30 UTC on three consecutive days: evening in London, next morning in Tokyo.
    for day in (1, 2, 3):
        span(student, datetime(2026, 6, day, 23, 30, tzinfo=UTC), 20 * 60)
    london = status(student, "Europe/London", date(2026, 6, 4), goal_target=15)
    tokyo = status(student, "Asia/Tokyo", date(2026, 6, 4), goal_target=15)
    # London (UTC+1 in June): 00:30 on the 2nd, 3rd, 4th: today's goal met, streak of 3.
    assert london.met_today and london.streak == 3
    # Tokyo (UTC+9): 08:30 on the 2nd, 3rd, 4th as well.
    assert tokyo.met_today and tokyo.streak == 3
    # In Los Angeles (UTC-7) the same spans fall on the 1st, 2nd and 3rd: today not yet met,
    # and the streak still runs up to yesterday.
    la = status(student, "America/Los_Angeles", date(2026, 6, 4), goal_target=15)
    assert not la.met_today and la.streak == 3 and la.today_value == 0
    la_later = status(student, "America/Los_Angeles", date(2026, 6, 5), goal_target=15)
    assert la_later.streak == 0 and la_later.best_streak == 3


def test_streak_across_the_spring_forward_night(student) -> None:
    # New York springs forward on Sunday 8 March 2026 at 02:00 (a 23-hour day).
    tz = ZoneInfo("America/New_York")
    for day in (7, 8, 9):
        span(student, datetime(2026, 3, day, 23, 45, tzinfo=tz), 20 * 60)
    result = status(student, "America/New_York", date(2026, 3, 10), goal_target=15)
    # 23:45 + 20 min crosses midnight, but the span belongs to the day it started.
    assert result.streak == 3
    assert result.met_days == {date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)}


def test_streak_across_the_fall_back_night(student) -> None:
    # New York falls back on Sunday 1 November 2026 (a 25-hour day): 00:30 and 23:30 local
    # are 24 hours apart plus the extra hour, and still one day.
    tz = ZoneInfo("America/New_York")
    span(student, datetime(2026, 11, 1, 0, 30, tzinfo=tz), 10 * 60)
    span(student, datetime(2026, 11, 1, 23, 30, tzinfo=tz), 10 * 60)
    span(student, datetime(2026, 10, 31, 12, 0, tzinfo=tz), 20 * 60)
    result = status(student, "America/New_York", date(2026, 11, 1), goal_target=15)
    assert result.today_value == 20 and result.met_today and result.streak == 2
    # In UTC the 23:30 local span is already 2 November (04:30 UTC): 1 Nov has only 10 min.
    utc = status(student, "UTC", date(2026, 11, 1), goal_target=15)
    assert utc.today_value == 10 and not utc.met_today and utc.streak == 1


def test_review_goal_counts_reviews_per_local_day(student, course) -> None:
    card = make_due(student, course[0])
    tz = ZoneInfo("Pacific/Auckland")
    for n in range(5):
        ReviewLog.objects.create(
            card=card,
            rating=3,
            review_datetime=datetime(2026, 4, 5, 1, n, tzinfo=tz),
            due_after=T0,
        )
    result = status(
        student, "Pacific/Auckland", date(2026, 4, 5), goal_kind=GoalKind.REVIEWS, goal_target=5
    )
    assert result.met_today and result.streak == 1 and result.unit == "reviews"
    # Auckland leaves daylight saving at 03:00 on 5 April 2026; in UTC those are 4 April.
    utc = status(student, "UTC", date(2026, 4, 4), goal_kind=GoalKind.REVIEWS, goal_target=5)
    assert utc.met_today


def test_reviews_due_by_day_puts_overdue_cards_today(student, course) -> None:
    tz = ZoneInfo("Europe/Paris")
    make_due(student, course[0], at=T0 - timedelta(days=3))
    second = course[1].questions.first()
    ReviewCard.objects.create(user=student, question=second, due=T0 + timedelta(days=2))
    days = selectors.reviews_due_by_day(user=student, zone=tz, days=14, now=T0)
    assert len(days) == 14
    assert days[0] == (date(2026, 3, 2), 1)
    assert days[2] == (date(2026, 3, 4), 1)
    assert sum(count for _, count in days) == 2


def test_local_dates_in_sqlite_match_zoneinfo_across_dst(student) -> None:
    """LocalDate's offset table gives the same day as Python's zoneinfo for instants around
    both 2026 changes in New York and for a half-hour zone."""
    from learn.study.localtime import LocalDate

    instants = [
        datetime(2026, 3, 8, 4, 59, tzinfo=UTC),  # 23:59 EST on the 7th
        datetime(2026, 3, 8, 5, 0, tzinfo=UTC),  # 00:00 EST on the 8th
        datetime(2026, 3, 9, 3, 59, tzinfo=UTC),  # 23:59 EDT on the 8th
        datetime(2026, 3, 9, 4, 0, tzinfo=UTC),  # 00:00 EDT on the 9th
        datetime(2026, 11, 2, 4, 59, tzinfo=UTC),  # 23:59 EST on 1 Nov
        datetime(2026, 11, 2, 5, 0, tzinfo=UTC),  # 00:00 EST on 2 Nov
    ]
    for instant in instants:
        span(student, instant, 60)
    for zone_name in ("America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"):
        zone = ZoneInfo(zone_name)
        got = sorted(
            StudySpan.objects.annotate(day=LocalDate("started_at", zone)).values_list(
                "started_at", "day"
            )
        )
        assert got == [(i, i.astimezone(zone).date()) for i in instants], zone_name
