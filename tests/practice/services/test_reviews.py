from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from learn.practice.models import CardState, Rating, ReviewLog
from learn.practice.services.grading import PracticeError
from learn.practice.services.reviews import card_ensure, card_review, goal_set, retrievability
from tests.practice.factories import single_question

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def card(learner):
    return card_ensure(user=learner, question=single_question().question, now=T0)


def test_a_new_card_is_due_when_met(card):
    assert card.due == T0 and card.state == CardState.LEARNING and card.last_review is None


def test_card_ensure_is_idempotent(learner, card):
    assert (
        card_ensure(user=learner, question=card.question, now=T0 + timedelta(days=3)).pk == card.pk
    )


@pytest.mark.parametrize("rating", list(Rating))
def test_due_dates_move_as_ratings_say(learner, rating):
    question = single_question().question
    card = card_ensure(user=learner, question=question, now=T0)
    log = card_review(card=card, rating=rating, now=T0)
    card.refresh_from_db()
    assert card.due == log.due_after > T0
    assert card.last_review == T0
    assert card.due.utcoffset() == timedelta(0)


def test_better_ratings_push_the_card_further(learner):
    dues = {}
    for rating in Rating:
        card = card_ensure(user=learner, question=single_question().question, now=T0)
        dues[rating] = card_review(card=card, rating=rating, now=T0).due_after
    assert dues[Rating.AGAIN] <= dues[Rating.HARD] <= dues[Rating.GOOD] < dues[Rating.EASY]
    assert dues[Rating.EASY] - T0 >= timedelta(days=1)  # Easy graduates straight to review


def test_again_after_good_brings_a_review_card_back_soon(learner, card):
    card_review(card=card, rating=Rating.EASY, now=T0)
    card.refresh_from_db()
    later = card.due
    log = card_review(card=card, rating=Rating.AGAIN, now=later)
    card.refresh_from_db()
    assert card.state == CardState.RELEARNING
    assert log.due_after - later < timedelta(hours=1)


def test_times_are_stored_in_utc_whatever_zone_they_came_in(card):
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    card_review(card=card, rating=Rating.GOOD, now=paris)
    card.refresh_from_db()
    assert card.last_review == T0 and card.last_review.tzinfo is not None


def test_naive_datetimes_are_refused(card):
    with pytest.raises(ValueError):
        card_review(card=card, rating=Rating.GOOD, now=datetime(2025, 1, 1))


def test_invalid_rating_is_refused(card):
    with pytest.raises(PracticeError):
        card_review(card=card, rating=7, now=T0)


def test_retrievability_falls_with_time(card):
    assert retrievability(card=card, at=T0) == 0.0
    card_review(card=card, rating=Rating.EASY, now=T0)
    card.refresh_from_db()
    soon = retrievability(card=card, at=T0 + timedelta(days=1))
    late = retrievability(card=card, at=T0 + timedelta(days=60))
    assert 1.0 >= soon > late > 0.0


def test_goal_date_must_not_be_past(learner):
    with pytest.raises(PracticeError):
        goal_set(user=learner, interview_date=date(2025, 1, 1), today=date(2025, 2, 1))
    goal = goal_set(user=learner, interview_date=date(2025, 3, 1), today=date(2025, 2, 1))
    assert goal.interview_date == date(2025, 3, 1)
    assert goal_set(user=learner, interview_date=None).interview_date is None


def test_one_log_per_rating(card):
    card_review(card=card, rating=Rating.GOOD, now=T0)
    card_review(card=card, rating=Rating.GOOD, now=T0 + timedelta(minutes=10))
    assert ReviewLog.objects.filter(card=card).count() == 2


FIELDS = ("state", "step", "stability", "difficulty", "due", "last_review")


def snapshot(card):
    card.refresh_from_db()
    return {name: getattr(card, name) for name in FIELDS}


def test_undoing_a_rating_puts_the_card_back_exactly_as_it_was(card):
    from learn.practice.services.reviews import card_review_undo

    new = snapshot(card)
    card_review(card=card, rating=Rating.GOOD, now=T0)
    after_first = snapshot(card)
    second = card_review(card=card, rating=Rating.EASY, now=T0 + timedelta(minutes=12))
    card_review_undo(log=second)
    assert snapshot(card) == after_first
    assert card.logs.count() == 1
    card_review_undo(log=card.logs.get())
    assert snapshot(card) == new  # new again, due when it was rated


def test_only_a_cards_latest_rating_can_be_undone(card):
    from learn.practice.services.reviews import card_review_undo

    first = card_review(card=card, rating=Rating.GOOD, now=T0)
    card_review(card=card, rating=Rating.GOOD, now=T0 + timedelta(minutes=12))
    with pytest.raises(PracticeError, match="latest rating"):
        card_review_undo(log=first)
    assert card.logs.count() == 2
