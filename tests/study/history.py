"""A learner with a long history, built in bulk: attempts and answers, review cards and logs,
study sessions and spans spread over the last year. Used by the tests and bench/progress.py."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth.models import User

from learn.practice.models import (
    Answer,
    Attempt,
    AttemptItem,
    AttemptKind,
    AttemptStatus,
    QuestionVersion,
    ReviewCard,
    ReviewLog,
)
from learn.study.models import SessionStatus, StudySession, StudySpan
from learn.study.services.totals import day_totals_rebuild


def history_build(
    *,
    user: User,
    versions: list[QuestionVersion],
    answers: int,
    now: datetime,
    seed: int = 1,
) -> None:
    """`answers` answered quiz items (one attempt per len(versions) answers), a card per
    question with a review log per answer, and a 20-minute session on every other day."""
    rng = random.Random(seed)
    per_attempt = len(versions)
    attempts = []
    count = (answers + per_attempt - 1) // per_attempt
    for n in range(count):
        started = now - timedelta(minutes=(count - n) * 525_600 / count)
        attempts.append(
            Attempt(
                user=user,
                kind=AttemptKind.QUIZ,
                status=AttemptStatus.FINISHED,
                started_at=started,
                finished_at=started + timedelta(minutes=10),
            )
        )
    Attempt.objects.bulk_create(attempts)
    attempts = list(Attempt.objects.filter(user=user).order_by("started_at"))
    items = []
    for attempt in attempts:
        for position, version in enumerate(versions, start=1):
            if len(items) < answers:
                items.append(AttemptItem(attempt=attempt, position=position, version=version))
    AttemptItem.objects.bulk_create(items)
    items = list(
        AttemptItem.objects.filter(attempt__user=user).select_related("attempt", "version")
    )
    rows = []
    for item in items:
        correct = rng.random() < 0.7
        rows.append(
            Answer(
                item=item,
                answered_at=item.attempt.started_at + timedelta(seconds=item.position * 20),
                correct=correct,
                score=1.0 if correct else 0.0,
            )
        )
    Answer.objects.bulk_create(rows)
    cards = ReviewCard.objects.bulk_create(
        ReviewCard(
            user=user,
            question_id=version.question_id,
            state=2,
            stability=rng.uniform(1, 40),
            difficulty=rng.uniform(2, 8),
            due=now + timedelta(days=rng.uniform(-2, 13)),
            last_review=now - timedelta(days=rng.uniform(0, 10)),
        )
        for version in versions
    )
    card_by_question = {card.question_id: card for card in cards}
    ReviewLog.objects.bulk_create(
        ReviewLog(
            card=card_by_question[item.version.question_id],
            rating=3,
            review_datetime=item.attempt.started_at + timedelta(seconds=item.position * 20),
            due_after=now,
        )
        for item in items
    )
    sessions = StudySession.objects.bulk_create(
        StudySession(
            user=user,
            minutes=25,
            status=SessionStatus.FINISHED,
            end_reason="learner",
            started_at=now - timedelta(days=day, hours=3),
            ended_at=now - timedelta(days=day, hours=3) + timedelta(minutes=25),
            last_seen_at=now - timedelta(days=day, hours=3) + timedelta(minutes=25),
            active_seconds=20 * 60,
        )
        for day in range(1, 366, 2)
    )
    StudySpan.objects.bulk_create(
        StudySpan(
            session=session,
            user=user,
            started_at=session.started_at,
            ended_at=session.started_at + timedelta(minutes=20),
            seconds=20 * 60,
        )
        for session in sessions
    )
    # bulk_create sends no post_save: build the day totals the way the backfill does.
    day_totals_rebuild(user_id=user.pk)
