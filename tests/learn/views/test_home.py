"""learn/views/home.py: the landing page and /progress/."""

import pytest
from django.utils import timezone

from learn.models import LessonProgress
from tests.learn.factories import BookmarkFactory, LessonFactory, ModuleFactory

pytestmark = pytest.mark.django_db


def test_landing_without_progress_has_no_continue(client, learner) -> None:
    LessonFactory()
    client.force_login(learner)
    assert "Continue where you left off" not in client.get("/").content.decode()


def test_continue_skips_completed_lessons(client, learner) -> None:
    module = ModuleFactory()
    read = LessonFactory(module=module, slug="read", title="Read")
    done = LessonFactory(module=module, slug="done")
    now = timezone.now()
    LessonProgress.objects.create(user=learner, lesson=read, last_viewed_at=now)
    LessonProgress.objects.create(user=learner, lesson=done, last_viewed_at=now, completed_at=now)
    client.force_login(learner)
    html = client.get("/").content.decode()
    assert "Continue where you left off" in html and "/lessons/read/" in html


def test_progress_page_counts_per_module(client, learner) -> None:
    module = ModuleFactory(title="Foundations")
    lessons = [LessonFactory(module=module) for _ in range(3)]
    LessonProgress.objects.create(user=learner, lesson=lessons[0], completed_at=timezone.now())
    BookmarkFactory(user=learner, lesson=lessons[2])
    client.force_login(learner)
    html = client.get("/progress/").content.decode()
    assert "You have completed <strong>1</strong> of 3 lessons." in html
    assert '<progress max="3" value="1"' in html
    assert lessons[2].title in html.split("Bookmarks")[1]


def test_progress_page_needs_login(client) -> None:
    assert client.get("/progress/").status_code == 302


def test_progress_page_shows_reviews_due(client, learner) -> None:
    client.force_login(learner)
    response = client.get("/progress/")
    assert response.status_code == 200
    assert response.context["summary"].due == 0
    assert '<strong data-testid="reviews-due">0</strong>' in response.content.decode()
