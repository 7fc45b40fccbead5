"""learn/views/instructor.py and learn/admin.py: who may preview, edit and export lessons."""

import io
import zipfile

import pytest

from learn.models import Lesson
from tests.learn.factories import LessonFactory

pytestmark = pytest.mark.django_db


def test_instructor_page_links_to_authoring(client, instructor) -> None:
    LessonFactory(slug="cold")
    client.force_login(instructor)
    html = client.get("/instructor/").content.decode()
    assert "/admin/learn/lesson/" in html
    assert "/instructor/lessons/export/" in html
    assert "/instructor/lessons/cold/export/" in html


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/instructor/"),
        ("post", "/instructor/lessons/preview/"),
        ("get", "/instructor/lessons/export/"),
        ("get", "/instructor/lessons/cold/export/"),
    ],
)
def test_learners_are_refused_and_visitors_sent_to_login(client, learner, method, url) -> None:
    LessonFactory(slug="cold")
    response = getattr(client, method)(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(learner)
    assert getattr(client, method)(url).status_code == 403


def test_learners_cannot_edit_lessons_in_the_admin(client, learner) -> None:
    lesson = LessonFactory()
    learner.is_staff = True  # even staff without the Instructors group
    learner.save()
    client.force_login(learner)
    assert client.get(f"/admin/learn/lesson/{lesson.pk}/change/").status_code == 403


def test_preview_renders_through_the_sanitiser(client, instructor) -> None:
    client.force_login(instructor)
    markdown = "## Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n**bold**"
    response = client.post(
        "/instructor/lessons/preview/", {"body_markdown": markdown}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>bold</strong>" in html and '<h2 id="title">' in html
    assert "<script" not in html and "onerror" not in html
    assert "<html" not in html

    full = client.post("/instructor/lessons/preview/", {"body_markdown": markdown})
    assert "<html" in full.content.decode()


def test_admin_change_form_has_the_live_preview(client, instructor) -> None:
    lesson = LessonFactory()
    client.force_login(instructor)
    html = client.get(f"/admin/learn/lesson/{lesson.pk}/change/").content.decode()
    assert 'hx-post="/instructor/lessons/preview/"' in html
    assert 'id="lesson-preview"' in html
    assert "htmx-2.0.11.min.js" in html
    assert f"/instructor/lessons/{lesson.slug}/export/" in html


def test_export_one_lesson_as_markdown(client, instructor) -> None:
    LessonFactory(slug="cold", title="Cold starts", source_path="lessons/05-cold-starts.md")
    client.force_login(instructor)
    response = client.get("/instructor/lessons/cold/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert 'filename="05-cold-starts.md"' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("---\nslug: cold\ntitle: Cold starts\n")
    assert "## First part" in text


def test_export_all_and_admin_action_give_a_zip(client, instructor) -> None:
    lessons = [LessonFactory(), LessonFactory()]
    client.force_login(instructor)
    for response in (
        client.get("/instructor/lessons/export/"),
        client.post(
            "/admin/learn/lesson/",
            {"action": "export_markdown", "_selected_action": [lesson.pk for lesson in lessons]},
        ),
    ):
        assert response["Content-Type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        assert len(names) == 2 and all(n.startswith("lessons/") for n in names)


def test_shipped_course_exports_and_reloads_unchanged(course, client, instructor, tmp_path) -> None:
    from learn.services.content import CONTENT_ROOT, content_load

    client.force_login(instructor)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/instructor/lessons/export/").content))
    root = tmp_path / "content"
    (root / "questions").mkdir(parents=True)
    (root / "modules.yaml").write_text((CONTENT_ROOT / "modules.yaml").read_text())
    archive.extractall(root)

    report = content_load(root=root)

    lessons = [name for name in report.unchanged if name.startswith("lesson ")]
    assert report.ok and len(lessons) == Lesson.objects.count(), report.summary_lines()
