"""learn/study/services/totals.py: the per-day totals /progress/ reads, kept up to date as
answers, reviews and study time are written, and rebuilt from the history."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from learn.practice.models import Answer, Attempt, AttemptItem, ReviewCard
from learn.practice.services.reviews import card_review
from learn.study import selectors
from learn.study.models import DayTotal
from learn.study.services import profiles
from learn.study.services import sessions as svc
from learn.study.services.totals import day_totals_rebuild
from tests.practice.factories import single_question
from tests.study.history import history_build

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
# 23:30 UTC on 2 March is 00:30 on 3 March in Paris.
LATE = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)


def totals(user) -> dict[date, tuple[int, int, int, int]]:
    return {
        t.day: (t.answers, t.correct, t.reviews, t.seconds)
        for t in DayTotal.objects.filter(user=user)
    }


def answer(user, version, moment: datetime, correct: bool | None) -> Answer:
    attempt = Attempt.objects.create(user=user, started_at=moment)
    item = AttemptItem.objects.create(attempt=attempt, position=1, version=version)
    return Answer.objects.create(
        item=item, answered_at=moment, correct=correct, score=None if correct is None else 1.0
    )


def test_answers_count_on_the_learners_local_day_once_graded(student) -> None:
    version = single_question()
    answer(student, version, LATE, correct=True)
    answer(student, version, LATE + timedelta(minutes=5), correct=False)
    pending = answer(student, version, LATE + timedelta(minutes=6), correct=None)
    assert totals(student) == {date(2026, 3, 3): (2, 1, 0, 0)}  # Paris's 3 March, not UTC's 2nd

    # Graded later (a self-graded answer, a code challenge's result): counted then, once.
    pending.correct, pending.score = True, 1.0
    pending.save(update_fields=["correct", "score"])
    pending.save(update_fields=["correct", "score"])
    assert totals(student) == {date(2026, 3, 3): (3, 2, 0, 0)}


def test_reviews_and_heartbeat_time_are_counted_as_they_happen(course, student) -> None:
    question = course[0].questions.first()
    card = ReviewCard.objects.create(user=student, question=question, due=LATE)
    card_review(card=card, rating=3, suggested=3, now=LATE)
    assert totals(student)[date(2026, 3, 3)][2] == 1

    # A session running across Paris midnight: each day gets its share of the time.
    start = datetime(2026, 3, 3, 22, 59, 30, tzinfo=UTC)  # 23:59:30 in Paris
    session = svc.session_start(user=student, minutes=15, now=start)
    svc.session_heartbeat(
        session=session, visible=True, zone=PARIS, now=start + timedelta(seconds=15)
    )
    svc.session_heartbeat(
        session=session, visible=True, zone=PARIS, now=start + timedelta(seconds=45)
    )
    days = totals(student)
    assert days[date(2026, 3, 3)][3] == 30 and days[date(2026, 3, 4)][3] == 15
    assert selectors.seconds_by_day(user=student, zone=PARIS) == {
        date(2026, 3, 3): 30,
        date(2026, 3, 4): 15,
    }


def test_a_rebuild_gives_what_the_writes_kept_up_to_date(student) -> None:
    versions = [single_question() for _ in range(6)]
    history_build(user=student, versions=versions, answers=300, now=timezone.now())
    built = totals(student)
    DayTotal.objects.filter(user=student).update(answers=0, reviews=99)
    assert day_totals_rebuild(user_id=student.pk) == len(built)
    assert totals(student) == built
    # And what the rows say is what grouping the whole history by local day says.
    assert {d: t[3] for d, t in built.items() if t[3]} == selectors.seconds_by_day(
        user=student, zone=PARIS
    )
    assert {d: t[2] for d, t in built.items() if t[2]} == selectors.reviews_by_day(
        user=student, zone=PARIS
    )


def test_a_new_time_zone_rebuckets_the_history(student) -> None:
    answer(student, single_question(), LATE, correct=True)
    assert set(totals(student)) == {date(2026, 3, 3)}
    profiles.profile_update(
        user=student, time_zone="America/New_York", goal_kind="minutes", goal_target=15
    )
    assert totals(student) == {date(2026, 3, 2): (1, 1, 0, 0)}  # 18:30 on the 2nd there


def test_the_rebuild_command_backfills_every_learner_or_the_named_ones(student) -> None:
    answer(student, single_question(), LATE, correct=True)
    DayTotal.objects.all().delete()
    out = StringIO()
    call_command("study_totals_rebuild", stdout=out)
    assert out.getvalue().endswith(", 1 days of totals\n")
    assert totals(student) == {date(2026, 3, 3): (1, 1, 0, 0)}
    DayTotal.objects.all().delete()
    call_command("study_totals_rebuild", student.username, stdout=out)
    assert totals(student) == {date(2026, 3, 3): (1, 1, 0, 0)}


def test_the_data_migration_backfills_with_its_own_models(student) -> None:
    import importlib

    from django.apps import apps

    answer(student, single_question(), LATE, correct=False)
    DayTotal.objects.all().delete()
    migration = importlib.import_module("learn.study.migrations.0003_backfill_day_totals")
    migration.backfill(apps, None)
    assert totals(student) == {date(2026, 3, 3): (1, 0, 0, 0)}


def test_keeping_a_day_up_to_date_costs_a_few_queries_a_write(
    student, django_assert_max_num_queries
) -> None:
    version = single_question()
    first = answer(student, version, LATE, correct=True)
    # The save; then the item's learner, the time zone, the day's answers, the update.
    with django_assert_max_num_queries(5):
        first.save(update_fields=["correct"])
    with django_assert_max_num_queries(1):
        first.save(update_fields=["score"])  # nothing the totals count: the save alone
