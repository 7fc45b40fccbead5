"""Fixtures for study sessions: a small course with questions, and a learner in a time zone."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User

from learn.models import Lesson
from learn.practice.models import ReviewCard
from learn.study.models import StudyProfile
from tests.factories import UserFactory
from tests.practice.factories import LessonFactory, ModuleFactory, single_question

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def course(db: None) -> list[Lesson]:
    """Two lessons in order: the first with three questions and a sandbox exercise."""
    module = ModuleFactory()
    first = LessonFactory(
        module=module,
        slug="first",
        order=1,
        estimated_minutes=6,
        try_it={"handler": "app.handler", "files": {}, "memory_mb": 128, "timeout_s": 3},
    )
    second = LessonFactory(module=module, slug="second", order=2, estimated_minutes=8)
    for _ in range(3):
        single_question(question__lesson=first)
    single_question(question__lesson=second)
    return [first, second]


@pytest.fixture
def student(db: None) -> User:
    user = UserFactory(username="study-learner")
    StudyProfile.objects.create(user=user, time_zone="Europe/Paris")
    return user


def make_due(user: User, lesson: Lesson, *, at: datetime = T0) -> ReviewCard:
    """A reviewed card of one of the lesson's questions, due at `at`."""
    question = lesson.questions.first()
    assert question is not None
    return ReviewCard.objects.create(
        user=user, question=question, due=at, last_review=at, stability=2.0, difficulty=5.0, state=2
    )
