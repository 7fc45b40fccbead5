"""Learners' records are read-only in the admin for instructors."""

import datetime

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from learn.practice.models import LearnerGoal
from learn.roles import LEARNER_RECORDS

pytestmark = pytest.mark.django_db

RECORD_MODELS = [
    apps.get_model(app_label, name)
    for app_label, names in LEARNER_RECORDS.items()
    for name in names
]


@pytest.mark.parametrize("model", RECORD_MODELS, ids=lambda m: m._meta.label)
def test_instructors_may_view_but_not_change_learner_records(instructor: User, model: type) -> None:
    request = RequestFactory().get("/admin/")
    request.user = instructor
    assert not instructor.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
    assert not instructor.has_perm(f"{model._meta.app_label}.delete_{model._meta.model_name}")
    assert not instructor.has_perm(f"{model._meta.app_label}.add_{model._meta.model_name}")
    model_admin = admin.site._registry.get(model)
    if model_admin is None:
        return  # not in the admin at all (bookmarks, notes): nothing to edit there
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert not model_admin.has_add_permission(request)
    for inline in model_admin.get_inline_instances(request):
        assert not inline.has_change_permission(request)
        assert not inline.has_delete_permission(request)


def test_an_instructor_posting_a_goal_change_changes_nothing(
    client: Client, instructor: User, learner: User
) -> None:
    goal = LearnerGoal.objects.create(user=learner, interview_date=datetime.date(2027, 1, 15))
    client.force_login(instructor)
    url = f"/admin/practice/learnergoal/{goal.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    response = client.post(url, {"user": learner.pk, "interview_date": "2030-01-01"})
    assert response.status_code == 403
    delete = client.post(f"/admin/practice/learnergoal/{goal.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    goal.refresh_from_db()
    assert goal.interview_date == datetime.date(2027, 1, 15)


def test_instructors_still_author_lessons(instructor: User) -> None:
    assert instructor.has_perm("learn.change_lesson")
    assert instructor.has_perm("practice.change_question")
