"""Factories for cohorts, and quiz answers placed the way the practice app stores them."""

from datetime import datetime, timedelta

import factory
from django.contrib.auth.models import User

from learn.cohorts.models import Cohort, Membership
from learn.practice.models import Answer, Attempt, AttemptItem, AttemptKind, QuestionVersion
from tests.factories import InstructorFactory


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort

    owner = factory.SubFactory(InstructorFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")


def member(cohort: Cohort, user: User) -> User:
    Membership.objects.create(cohort=cohort, user=user)
    return user


def quiz(
    *,
    user: User,
    started_at: datetime,
    answers: list[tuple[QuestionVersion, float, int]],
    kind: str = AttemptKind.QUIZ,
) -> Attempt:
    """A finished attempt: (version, score, seconds spent) per item, in order."""
    attempt = Attempt.objects.create(
        user=user, kind=kind, started_at=started_at, finished_at=started_at, status="finished"
    )
    moment = started_at
    for position, (version, score, seconds) in enumerate(answers):
        item = AttemptItem.objects.create(attempt=attempt, position=position, version=version)
        moment = moment + timedelta(seconds=seconds)
        Answer.objects.create(item=item, answered_at=moment, correct=score == 1, score=score)
    return attempt
