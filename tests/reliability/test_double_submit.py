"""A form sent twice at the same moment (a double click, a retried request) leaves one row."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from learn.models import Bookmark, Note
from learn.practice.models import Answer, LearnerGoal
from learn.practice.services.attempts import quiz_start
from sandbox.models import Function
from tests.practice.factories import single_question

pytestmark = pytest.mark.django_db(transaction=True)


def twice_at_once(make_client: Callable[[], Client], url: str, data: dict[str, Any]) -> list[int]:
    """POST `data` to `url` from two threads released together; their status codes."""
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        client = make_client()
        try:
            barrier.wait(timeout=10)
            statuses.append(client.post(url, data).status_code)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return statuses


def as_user(user: User) -> Callable[[], Client]:
    def make() -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def test_an_answer_sent_twice_is_one_answer(learner: User) -> None:
    version = single_question()
    attempt = quiz_start(user=learner, lesson=version.question.lesson)
    item = attempt.items.get()
    choice = version.choices.filter(correct=True).get()
    statuses = twice_at_once(
        as_user(learner),
        f"/quiz/attempts/{attempt.pk}/answer/",
        {"item": item.pk, "choice": choice.pk},
    )
    assert all(status < 500 for status in statuses), statuses
    assert Answer.objects.filter(item=item).count() == 1


def test_a_sign_up_sent_twice_is_one_account() -> None:
    form = {"username": "twice", "password1": "a-Strong-pass-9x", "password2": "a-Strong-pass-9x"}
    statuses = twice_at_once(Client, "/accounts/signup/", form)
    assert statuses == [302, 302]
    assert User.objects.filter(username__iexact="twice").count() == 1


def test_a_new_function_sent_twice_is_one_function(learner: User) -> None:
    from sandbox.forms import FunctionCreateForm

    fields = FunctionCreateForm().fields.items()
    form = {name: field.initial for name, field in fields if field.initial is not None}
    form["name"] = "twice"
    statuses = twice_at_once(as_user(learner), "/sandbox/new/", form)
    assert all(status < 500 for status in statuses), statuses
    assert Function.objects.filter(owner=learner, name="twice").count() == 1


def test_a_bookmark_note_and_goal_sent_twice_are_one_each(learner: User) -> None:
    lesson = single_question().question.lesson
    lesson.published = True
    lesson.save()
    twice_at_once(as_user(learner), f"/lessons/{lesson.slug}/bookmark/", {"bookmarked": "1"})
    twice_at_once(as_user(learner), f"/lessons/{lesson.slug}/note/", {"text": "remember"})
    twice_at_once(as_user(learner), "/quiz/goal/", {"interview_date": "2027-03-01"})
    assert Bookmark.objects.filter(user=learner, lesson=lesson).count() == 1
    assert Note.objects.filter(user=learner, lesson=lesson).count() == 1
    assert LearnerGoal.objects.filter(user=learner).count() == 1
