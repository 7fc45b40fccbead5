"""learn/cohorts/lesson_authoring.py and its views: the lesson editor's preview, saving, and
"Run it" in the instructor's own sandbox function."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.test import override_settings

from learn.models import Lesson
from sandbox.models import Function, Invocation
from tests.learn.factories import LessonFactory
from tests.learn.test_admin_lesson_form import post_data

pytestmark = pytest.mark.django_db


def edit_url(lesson: Lesson, tail: str = "") -> str:
    return f"/instructor/lessons/{lesson.slug}/edit/{tail}"


def test_learners_get_403_and_visitors_go_to_log_in(client, learner) -> None:
    lesson = LessonFactory()
    for method, tail in [("get", ""), ("post", ""), ("post", "preview/"), ("post", "run/")]:
        assert getattr(client, method)(edit_url(lesson, tail)).status_code == 302
    client.force_login(learner)
    for method, tail in [("get", ""), ("post", ""), ("post", "preview/"), ("post", "run/")]:
        assert getattr(client, method)(edit_url(lesson, tail)).status_code == 403


def test_the_editor_shows_the_saved_lesson_beside_its_preview(client, instructor) -> None:
    lesson = LessonFactory(body_markdown="## Cold starts\n\nThey **happen**.")
    client.force_login(instructor)
    page = client.get(edit_url(lesson)).content.decode()
    assert 'name="objectives_text"' in page and 'name="try_it_code"' in page
    assert 'id="lesson-preview"' in page
    assert "<strong>happen</strong>" in page  # rendered, not only in the textarea
    assert "By the end of this lesson you can" in page


def test_preview_renders_unsaved_fields_as_the_lesson_page_does(client, instructor) -> None:
    lesson = LessonFactory(title="Old title")
    client.force_login(instructor)
    data = post_data(
        lesson,
        title="A new title",
        body_markdown="## Part\n\nText with `code`.\n\n<script>alert(1)</script>",
    )
    response = client.post(edit_url(lesson, "preview/"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<article id="lesson-preview"')  # the partial only
    assert "A new title" in html and "<code>code</code>" in html
    assert "<script>" not in html  # the lessons' sanitiser ran
    assert "Explain cold starts." in html and "INIT runs once per environment." in html
    assert "Try it in the sandbox: Watch it warm up" in html
    assert 'class="highlight' in html  # the try-it code highlighted as on the lesson page
    lesson.refresh_from_db()
    assert lesson.title == "Old title"  # nothing saved


def test_preview_lists_what_is_wrong_and_still_renders(client, instructor) -> None:
    lesson = LessonFactory()
    client.force_login(instructor)
    data = post_data(lesson, try_it_event="{not json", body_markdown="Still **shown**")
    html = client.post(edit_url(lesson, "preview/"), data, HTTP_HX_REQUEST="true").content.decode()
    assert "Not JSON" in html
    assert "<strong>shown</strong>" in html


def test_saving_updates_the_lesson_its_version_and_the_admin_log(client, instructor) -> None:
    lesson = LessonFactory()
    before = lesson.content_version
    client.force_login(instructor)
    response = client.post(edit_url(lesson), post_data(lesson, body_markdown="## New\n\nBody."))
    assert response.status_code == 302
    lesson.refresh_from_db()
    assert lesson.body_markdown == "## New\n\nBody."
    assert lesson.objectives == ["Explain cold starts.", "Measure INIT."]
    assert lesson.try_it["files"] == {"app.py": "def handler(event, context):\n    return event\n"}
    assert lesson.content_version != before and "New" in lesson.body_html
    entry = LogEntry.objects.get(object_id=str(lesson.pk), user=instructor)
    assert entry.get_change_message() == "Edited in the lesson editor."


def test_an_invalid_save_changes_nothing(client, instructor) -> None:
    lesson = LessonFactory(title="Kept")
    client.force_login(instructor)
    response = client.post(edit_url(lesson), post_data(lesson, title="", try_it_event="[1,"))
    assert response.status_code == 400
    lesson.refresh_from_db()
    assert lesson.title == "Kept" and not LogEntry.objects.exists()


def test_run_it_invokes_the_block_as_the_instructors_own_function(client, instructor) -> None:
    lesson = LessonFactory()
    client.force_login(instructor)
    response = client.post(edit_url(lesson, "run/"), post_data(lesson), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="result"' in response.content.decode()  # the console's result panel
    function = Function.objects.get(owner=instructor, name=f"try-{lesson.slug}")
    assert {f.path: f.content for f in function.files.all()} == {
        "app.py": "def handler(event, context):\n    return event\n"
    }
    assert (function.memory_mb, function.timeout_s, function.lesson_slug) == (256, 3, lesson.slug)
    invocation = Invocation.objects.get(function=function)
    assert invocation.requested_by == instructor and json.loads(invocation.event) == {
        "name": "world"
    }

    # A second run reuses the function, with the code and settings as now typed.
    changed = post_data(
        lesson,
        try_it_code="def go(event, context):\n    return 2\n",
        try_it_handler="main.go",
        try_it_memory_mb="512",
        try_it_event='{"n": 2}',
    )
    client.post(edit_url(lesson, "run/"), changed, HTTP_HX_REQUEST="true")
    function.refresh_from_db()
    assert Function.objects.filter(owner=instructor).count() == 1
    assert {f.path for f in function.files.all()} == {"main.py"}
    assert (function.handler, function.memory_mb) == ("main.go", 512)
    latest = Invocation.objects.filter(function=function).latest("pk")
    assert json.loads(latest.event) == {"n": 2} and latest.config["memory_mb"] == 512
    lesson.refresh_from_db()
    assert lesson.try_it is None  # running saves nothing of the lesson


@override_settings(SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS=1)
def test_run_it_counts_toward_the_instructors_own_limits(client, instructor) -> None:
    lesson = LessonFactory()
    client.force_login(instructor)
    client.post(edit_url(lesson, "run/"), post_data(lesson), HTTP_HX_REQUEST="true")
    response = client.post(edit_url(lesson, "run/"), post_data(lesson), HTTP_HX_REQUEST="true")
    assert "at most 1 can be in flight" in response.content.decode()
    assert Invocation.objects.count() == 1


def test_run_it_without_code_or_with_a_bad_event_says_so(client, instructor) -> None:
    lesson = LessonFactory()
    client.force_login(instructor)
    no_code = client.post(edit_url(lesson, "run/"), post_data(lesson, try_it_code=""))
    assert no_code.status_code == 400 and "Write the handler" in no_code.content.decode()
    bad = client.post(
        edit_url(lesson, "run/"), post_data(lesson, try_it_event="{"), HTTP_HX_REQUEST="true"
    )
    assert "Not JSON" in bad.content.decode()
    assert not Invocation.objects.exists()


LAB = {
    "buckets": ["in-{account}"],
    "trigger": {"s3": {"bucket": "in-{account}"}},
    "steps": [{"put_object": {"bucket": "in-{account}", "key": "a.txt"}}],
}


def test_the_editor_keeps_a_lab_and_refuses_a_bad_one(client, instructor) -> None:
    lesson = LessonFactory()
    client.force_login(instructor)
    saved = client.post(edit_url(lesson), post_data(lesson, try_it_lab=json.dumps(LAB)))
    assert saved.status_code == 302
    lesson.refresh_from_db()
    assert lesson.try_it["lab"] == LAB
    # The editor shows it back, so saving other changes keeps it.
    assert "in-{account}" in client.get(edit_url(lesson)).content.decode()
    bad = {**LAB, "buckets": ["in"]}
    refused = client.post(edit_url(lesson), post_data(lesson, try_it_lab=json.dumps(bad)))
    assert "bucket names are global" in refused.content.decode()
    unreadable = client.post(edit_url(lesson), post_data(lesson, try_it_lab="{"))
    assert "Not JSON" in unreadable.content.decode()
    lesson.refresh_from_db()
    assert lesson.try_it["lab"] == LAB
