"""Spaced repetition with FSRS: one card per learner and question met, a log row per rating."""

from __future__ import annotations

from datetime import UTC, date, datetime

import fsrs
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from learn.practice.models import (
    Answer,
    Attempt,
    AttemptKind,
    LearnerGoal,
    Question,
    Rating,
    ReviewCard,
    ReviewLog,
)
from learn.practice.services.grading import PracticeError


def scheduler() -> fsrs.Scheduler:
    # No fuzzing: a learner who rates the same way twice sees the same next date, and tests
    # can pin due dates. Anki's fuzz only spreads load across days for large decks.
    return fsrs.Scheduler(enable_fuzzing=False)


def schedules_on_answer(attempt: Attempt) -> bool:
    """Whether answering in attempt rates the card: in quizzes and mocks the answer itself
    does; in reviews the learner rates."""
    return attempt.kind in (AttemptKind.QUIZ, AttemptKind.MOCK)


def utc(moment: datetime | None) -> datetime:
    """Aware UTC datetimes only: fsrs compares them with its own UTC values."""
    value = moment or timezone.now()
    if timezone.is_naive(value):
        raise ValueError("naive datetime; pass an aware one")
    return value.astimezone(UTC)


def to_fsrs(card: ReviewCard) -> fsrs.Card:
    return fsrs.Card(
        card_id=card.pk,
        state=fsrs.State(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=utc(card.due),
        last_review=utc(card.last_review) if card.last_review else None,
    )


def card_ensure(*, user: User, question: Question, now: datetime | None = None) -> ReviewCard:
    """The learner's card for a question, created (new, due now) the first time they meet it."""
    moment = utc(now)
    try:
        with transaction.atomic():
            card, _ = ReviewCard.objects.get_or_create(
                user=user, question=question, defaults={"due": moment}
            )
    except IntegrityError:  # a concurrent request created it first
        card = ReviewCard.objects.get(user=user, question=question)
    return card


@transaction.atomic
def card_review(
    *,
    card: ReviewCard,
    rating: Rating | int,
    now: datetime | None = None,
    answer: Answer | None = None,
    suggested: Rating | int | None = None,
    review_duration_ms: int | None = None,
) -> ReviewLog:
    """Rate a card and move its due date as FSRS says.

    Idempotent per answer: rating the same answer again (double submit, back button) returns
    the first log and leaves the card alone.
    """
    if rating not in Rating.values:
        raise PracticeError("Rate with Again, Hard, Good or Easy.")
    if answer is not None:
        existing = ReviewLog.objects.filter(answer=answer).first()
        if existing is not None:
            return existing
    moment = utc(now)
    card = ReviewCard.objects.select_for_update().get(pk=card.pk)
    updated, _log = scheduler().review_card(
        to_fsrs(card), fsrs.Rating(int(rating)), review_datetime=moment
    )
    card.state = int(updated.state)
    card.step = updated.step
    card.stability = updated.stability
    card.difficulty = updated.difficulty
    card.due = updated.due
    card.last_review = updated.last_review
    card.save()
    return ReviewLog.objects.create(
        card=card,
        rating=int(rating),
        suggested_rating=int(suggested) if suggested is not None else None,
        review_datetime=moment,
        review_duration_ms=review_duration_ms,
        due_after=card.due,
        answer=answer,
    )


@transaction.atomic
def card_review_undo(*, log: ReviewLog) -> ReviewCard:
    """Take back one rating: delete log and put its card back as it was before.

    The card is rebuilt by replaying its remaining ratings on a new card: the scheduler does
    not fuzz (see scheduler()), so the same ratings at the same times give the same card. A
    card with no rating left is new again, due when the undone rating was given. Raises
    PracticeError when the card was rated again after log (only its latest can be undone).
    """
    card = ReviewCard.objects.select_for_update().get(pk=log.card_id)
    latest = card.logs.order_by("-review_datetime", "-pk").first()
    if latest is None or latest.pk != log.pk:
        raise PracticeError("Only a card's latest rating can be undone.")
    undone_at = utc(log.review_datetime)
    log.delete()
    rebuilt = fsrs.Card(card_id=card.pk, due=undone_at)
    for earlier in card.logs.order_by("review_datetime", "pk"):
        rebuilt, _ = scheduler().review_card(
            rebuilt, fsrs.Rating(earlier.rating), review_datetime=utc(earlier.review_datetime)
        )
    card.state = int(rebuilt.state)
    card.step = rebuilt.step
    card.stability = rebuilt.stability
    card.difficulty = rebuilt.difficulty
    card.due = rebuilt.due
    card.last_review = rebuilt.last_review
    card.save()
    return card


def rating_intervals(*, card: ReviewCard, now: datetime | None = None) -> dict[int, str]:
    """For each rating, when the card would next be due if rated so now ("10 min", "3 d"), as
    Anki shows on its buttons. Nothing is saved."""
    moment = utc(now)
    intervals = {}
    for rating in Rating.values:
        updated, _ = scheduler().review_card(
            to_fsrs(card), fsrs.Rating(int(rating)), review_datetime=moment
        )
        seconds = max((updated.due - moment).total_seconds(), 0.0)
        if seconds < 3600:
            label = f"{max(round(seconds / 60), 1)} min"
        elif seconds < 86400:
            label = f"{round(seconds / 3600)} h"
        elif seconds < 86400 * 60:
            label = f"{round(seconds / 86400)} d"
        else:
            label = f"{seconds / (86400 * 30):.1f} mo"
        intervals[int(rating)] = label
    return intervals


def retrievability(*, card: ReviewCard, at: datetime | None = None) -> float:
    """The probability, 0 to 1, that the learner recalls the card at a moment (0 if never rated)."""
    if card.last_review is None:
        return 0.0
    return float(scheduler().get_card_retrievability(to_fsrs(card), utc(at)))


def cards_with_last_rating(cards: QuerySet[ReviewCard]) -> QuerySet[ReviewCard]:
    """`cards` with each one's latest rating as `last_rating` (None if never rated)."""
    latest = ReviewLog.objects.filter(card=OuterRef("pk")).order_by("-review_datetime", "-pk")
    return cards.annotate(last_rating=Subquery(latest.values("rating")[:1]))


def recall(*, card: ReviewCard, at: datetime | None = None) -> float:
    """How well the learner knows a card, 0 to 1: what readiness is made of, everywhere.

    FSRS's retrievability, except that a card whose latest answer was wrong (rated Again) is
    not known: right after any rating FSRS's recall probability is 100%, which would score a
    question just answered wrong as mastered. Never-rated cards are 0. Pass cards from
    cards_with_last_rating() to avoid a query per card.
    """
    if card.last_review is None:
        return 0.0
    if hasattr(card, "last_rating"):
        last = card.last_rating
    else:
        latest = card.logs.order_by("-review_datetime", "-pk")
        last = latest.values_list("rating", flat=True).first()
    if last == Rating.AGAIN:
        return 0.0
    return retrievability(card=card, at=at)


def goal_set(*, user: User, interview_date: date | None, today: date | None = None) -> LearnerGoal:
    """Set (or clear, with None) the learner's target interview date; it must not be past."""
    current = today or timezone.now().date()
    if interview_date is not None and interview_date < current:
        raise PracticeError("Pick an interview date from today onwards.")
    goal, _ = LearnerGoal.objects.update_or_create(
        user=user, defaults={"interview_date": interview_date}
    )
    return goal
