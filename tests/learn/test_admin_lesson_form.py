"""learn/admin.py: lessons' objectives, takeaways and "Try it" edited as plain fields."""

import pytest

from learn.models import Lesson
from tests.learn.factories import LessonFactory

pytestmark = pytest.mark.django_db


def post_data(lesson: Lesson, **changes) -> dict:
    data = {
        "module": lesson.module_id,
        "slug": lesson.slug,
        "title": lesson.title,
        "order": lesson.order,
        "summary": lesson.summary,
        "estimated_minutes": lesson.estimated_minutes,
        "published": "on",
        "body_markdown": lesson.body_markdown,
        "objectives_text": "Explain cold starts.\n\n  Measure INIT.  ",
        "takeaways_text": "INIT runs once per environment.",
        "try_it_title": "Watch it warm up",
        "try_it_description": "Invoke twice.",
        "try_it_handler": "app.handler",
        "try_it_memory_mb": "256",
        "try_it_timeout_s": "3",
        "try_it_code": "def handler(event, context):\n    return event\n",
        "try_it_event": '{"name": "world"}',
    }
    data.update(changes)
    return data


def test_structured_fields_are_saved_as_the_lesson_json(client, instructor) -> None:
    lesson = LessonFactory()
    client.force_login(instructor)
    url = f"/admin/learn/lesson/{lesson.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="objectives_text"' in page and 'name="try_it"' not in page
    assert client.post(url, post_data(lesson)).status_code == 302
    lesson.refresh_from_db()
    assert lesson.objectives == ["Explain cold starts.", "Measure INIT."]
    assert lesson.takeaways == ["INIT runs once per environment."]
    assert lesson.try_it == {
        "title": "Watch it warm up",
        "description": "Invoke twice.",
        "handler": "app.handler",
        "memory_mb": 256,
        "timeout_s": 3,
        "files": {"app.py": "def handler(event, context):\n    return event\n"},
        "event": {"name": "world"},
    }
    assert "Explain cold starts." in client.get(url).content.decode()


def test_try_it_is_checked_like_the_content_files(client, instructor) -> None:
    lesson = LessonFactory()
    client.force_login(instructor)
    url = f"/admin/learn/lesson/{lesson.pk}/change/"
    response = client.post(url, post_data(lesson, try_it_event="{not json"))
    assert response.status_code == 200 and "Not JSON" in response.content.decode()
    response = client.post(url, post_data(lesson, try_it_handler="main.handler"))
    assert "needs a file named main.py" not in response.content.decode()  # the code is main.py
    lesson.refresh_from_db()
    assert lesson.try_it["files"] == {"main.py": "def handler(event, context):\n    return event\n"}


def test_no_code_means_no_try_it_block(client, instructor) -> None:
    lesson = LessonFactory(try_it={"title": "x"})
    client.force_login(instructor)
    client.post(f"/admin/learn/lesson/{lesson.pk}/change/", post_data(lesson, try_it_code=""))
    lesson.refresh_from_db()
    assert lesson.try_it is None
