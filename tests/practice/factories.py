"""Factories for the practice app: questions of each type, ready to answer."""

from decimal import Decimal
from typing import Any

import factory

from learn.models import Lesson, Module
from learn.practice.models import (
    Choice,
    CodeTest,
    KeyPoint,
    Question,
    QuestionType,
    QuestionVersion,
    Tag,
)


class ModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Module
        django_get_or_create = ("slug",)

    slug = "foundations"
    title = "Foundations"
    order = 1


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson
        django_get_or_create = ("slug",)

    module = factory.SubFactory(ModuleFactory)
    slug = factory.Sequence(lambda n: f"lesson-{n}")
    title = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    order = factory.Sequence(int)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"topic-{n}")


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"question-{n}")
    type = QuestionType.SINGLE
    lesson = factory.SubFactory(LessonFactory)
    difficulty = "easy"

    @factory.post_generation
    def tags(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        if create:
            for slug in extracted or ["limits"]:
                self.tags.add(TagFactory(slug=slug))


class QuestionVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuestionVersion

    question = factory.SubFactory(QuestionFactory)
    number = factory.Sequence(lambda n: n + 1)
    content_hash = factory.Sequence(lambda n: f"{n:064x}")
    prompt_markdown = "What is the answer?"
    prompt_html = "<p>What is the answer?</p>"
    explanation_markdown = "Because."
    explanation_html = "<p>Because.</p>"


def _publish(version: QuestionVersion) -> QuestionVersion:
    version.question.current_version = version
    version.question.save(update_fields=["current_version"])
    return version


def single_question(**kwargs: Any) -> QuestionVersion:
    version = QuestionVersionFactory(question__type=QuestionType.SINGLE, **kwargs)
    for order, (text, correct) in enumerate(
        [("15 minutes", True), ("5 minutes", False), ("1 hour", False)]
    ):
        Choice.objects.create(
            version=version, order=order, text=text, text_html=text, correct=correct, why="why"
        )
    return _publish(version)


def multiple_question(**kwargs: Any) -> QuestionVersion:
    version = QuestionVersionFactory(question__type=QuestionType.MULTIPLE, **kwargs)
    for order, (text, correct) in enumerate(
        [("S3", True), ("SQS", True), ("A cron on EC2", False), ("DynamoDB Streams", True)]
    ):
        Choice.objects.create(
            version=version, order=order, text=text, text_html=text, correct=correct, why="why"
        )
    return _publish(version)


def true_false_question(answer: bool = False, **kwargs: Any) -> QuestionVersion:
    return _publish(
        QuestionVersionFactory(question__type=QuestionType.TRUE_FALSE, answer_bool=answer, **kwargs)
    )


def numeric_question(
    answer: str = "12.5", tolerance: str = "0.01", **kwargs: Any
) -> QuestionVersion:
    return _publish(
        QuestionVersionFactory(
            question__type=QuestionType.NUMERIC,
            numeric_answer=Decimal(answer),
            numeric_tolerance=Decimal(tolerance),
            numeric_unit="USD",
            **kwargs,
        )
    )


def short_question(**kwargs: Any) -> QuestionVersion:
    version = QuestionVersionFactory(question__type=QuestionType.SHORT, **kwargs)
    KeyPoint.objects.create(version=version, order=0, text="Up to 900 seconds.")
    return _publish(version)


ECHO_SOLUTION = "def handler(event, context):\n    return {'echo': event['x']}\n"


def code_question(*, sample_first: bool = False, **kwargs: Any) -> QuestionVersion:
    """A challenge with two tests (echoes 1, echoes b), the first a sample when sample_first."""
    kwargs.setdefault("handler", "app.handler")
    kwargs.setdefault(
        "starter_code", "def handler(event, context):\n    raise NotImplementedError\n"
    )
    kwargs.setdefault("solution_code", ECHO_SOLUTION)
    version = QuestionVersionFactory(question__type=QuestionType.CODE, **kwargs)
    CodeTest.objects.create(
        version=version,
        order=0,
        name="echoes 1",
        event={"x": 1},
        expected={"echo": 1},
        sample=sample_first,
    )
    CodeTest.objects.create(
        version=version, order=1, name="echoes b", event={"x": "b"}, expected={"echo": "b"}
    )
    return _publish(version)
