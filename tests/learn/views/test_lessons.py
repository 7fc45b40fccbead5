"""learn/views/lessons.py via the test client: outline, lesson page, progress, bookmarks, notes."""

import pytest

from learn.models import Bookmark, LessonProgress, Note
from tests.learn.factories import LessonFactory, LessonProgressFactory, ModuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lessons() -> list:
    first = ModuleFactory(order=1)
    second = ModuleFactory(order=2)
    return [
        LessonFactory(module=first, order=1, slug="one"),
        LessonFactory(module=first, order=2, slug="two"),
        LessonFactory(module=second, order=1, slug="three"),
    ]


def test_outline_shows_modules_lessons_and_ticks(client, learner, lessons) -> None:
    LessonProgressFactory(user=learner, lesson=lessons[1], completed_at="2026-01-01T00:00Z")
    client.force_login(learner)
    response = client.get("/lessons/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('aria-label="Completed"') == 1
    assert html.index("/lessons/one/") < html.index("/lessons/two/") < html.index("/lessons/three/")


def test_outline_query_count_does_not_grow_with_lessons(
    client, learner, lessons, django_assert_num_queries
) -> None:
    client.force_login(learner)
    # session, user, modules, lessons (prefetch), completed ids, instructor check for the nav
    with django_assert_num_queries(6):
        client.get("/lessons/")
    for n in range(10):
        LessonFactory(module=lessons[0].module, order=10 + n)
    with django_assert_num_queries(6):
        client.get("/lessons/")


def test_outline_for_anonymous_visitors(client, lessons, django_assert_num_queries) -> None:
    with django_assert_num_queries(2):
        response = client.get("/lessons/")
    assert response.status_code == 200
    assert 'aria-label="Completed"' not in response.content.decode()


def test_lesson_page_has_toc_neighbours_and_practice_link(client, lessons) -> None:
    response = client.get("/lessons/two/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#first-part"' in html  # table of contents
    assert 'rel="prev"' in html and "/lessons/one/" in html
    assert 'rel="next"' in html and "/lessons/three/" in html
    assert "/quiz/?lesson=two" in html
    assert "About 7 min" in html
    assert "Explain something." in html and "Remember something." in html
    assert "Lesson 2 of 3" in html
    assert "Log in</a> to track your progress" in html


def test_unpublished_or_unknown_lessons_are_404(client) -> None:
    LessonFactory(slug="draft", published=False)
    assert client.get("/lessons/draft/").status_code == 404
    assert client.get("/lessons/nope/").status_code == 404


def test_try_it_block_links_to_the_sandbox(client) -> None:
    LessonFactory(
        slug="cold",
        try_it={
            "title": "Watch it",
            "description": "Run it **twice**.",
            "handler": "app.handler",
            "memory_mb": 256,
            "timeout_s": 3,
            "files": {"app.py": "def handler(event, context):\n    return event\n"},
            "event": {"name": "<world>"},
        },
    )
    html = client.get("/lessons/cold/").content.decode()
    assert "Try it in the sandbox: Watch it" in html
    assert "Run it <strong>twice</strong>." in html
    assert 'href="/sandbox/new/?lesson=cold"' in html
    assert '<span class="k">def</span>' in html
    assert "&lt;world&gt;" in html  # the event is shown, escaped
    assert "256 MB" in html


def test_opening_a_lesson_remembers_it_for_continue(client, learner, lessons) -> None:
    client.force_login(learner)
    client.get("/lessons/two/")
    home = client.get("/").content.decode()
    assert "Continue where you left off" in home and "/lessons/two/" in home


def test_mark_complete_with_a_plain_post(client, learner, lessons) -> None:
    client.force_login(learner)
    response = client.post("/lessons/one/complete/", {"completed": "1"})
    assert response.status_code == 302 and response["Location"] == "/lessons/one/"
    assert LessonProgress.objects.get(user=learner, lesson=lessons[0]).completed
    page = client.get("/lessons/one/").content.decode()
    assert "Mark as not complete" in page

    client.post("/lessons/one/complete/", {"completed": "0"})
    assert not LessonProgress.objects.get(user=learner, lesson=lessons[0]).completed


def test_mark_complete_with_htmx_returns_the_control_and_an_event(client, learner, lessons) -> None:
    client.force_login(learner)
    response = client.post("/lessons/one/complete/", {"completed": "1"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="progress-control"')
    assert "Mark as not complete" in html and "<html" not in html
    assert "lessonProgressChanged" in response["HX-Trigger"]
    assert '"completed": true' in response["HX-Trigger"]


def test_actions_need_a_signed_in_learner_and_post(client, lessons) -> None:
    response = client.post("/lessons/one/complete/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not LessonProgress.objects.exists()


def test_actions_refuse_get(client, learner, lessons) -> None:
    client.force_login(learner)
    assert client.get("/lessons/one/complete/").status_code == 405


def test_bookmark_plain_and_htmx(client, learner, lessons) -> None:
    client.force_login(learner)
    client.post("/lessons/one/bookmark/", {"bookmarked": "1"})
    assert Bookmark.objects.filter(user=learner, lesson=lessons[0]).exists()
    response = client.post("/lessons/one/bookmark/", {"bookmarked": "0"}, HTTP_HX_REQUEST="true")
    assert "☆ Bookmark" in response.content.decode()
    assert "lessonBookmarked" in response["HX-Trigger"]
    assert not Bookmark.objects.exists()


def test_notes_are_saved_shown_and_private(client, learner, lessons) -> None:
    client.force_login(learner)
    response = client.post("/lessons/one/note/", {"text": "Init is <billed> now"})
    assert response.status_code == 302
    assert Note.objects.get(user=learner).text == "Init is <billed> now"
    assert "Init is &lt;billed&gt; now" in client.get("/lessons/one/").content.decode()
    assert "Init is &lt;billed&gt; now" in client.get("/progress/").content.decode()

    client.logout()
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert "billed" not in client.get("/lessons/one/").content.decode()


def test_note_with_htmx_and_emptying_it_removes_it(client, learner, lessons) -> None:
    client.force_login(learner)
    response = client.post("/lessons/one/note/", {"text": "x"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Note saved." in response.content.decode()
    response = client.post("/lessons/one/note/", {"text": "  "}, HTTP_HX_REQUEST="true")
    assert not Note.objects.exists()
    assert "Note removed." in response.content.decode()
    assert "Note saved." not in response.content.decode()


def test_too_long_note_is_refused(client, learner, lessons) -> None:
    client.force_login(learner)
    response = client.post("/lessons/one/note/", {"text": "x" * 10_001}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "limited to 10,000 characters" in response.content.decode()
    assert not Note.objects.exists()


def test_try_it_creates_the_learners_own_sandbox_function(client, learner) -> None:
    from sandbox.models import Function

    LessonFactory(
        slug="cold",
        try_it={
            "title": "Watch it",
            "description": "Run it.",
            "handler": "app.handler",
            "memory_mb": 256,
            "timeout_s": 5,
            "files": {"app.py": "def handler(event, context):\n    return event\n"},
            "event": {"n": 1},
        },
    )
    client.force_login(learner)
    response = client.post("/lessons/cold/try/")
    function = Function.objects.get(owner=learner)
    assert response.status_code == 302 and response["Location"] == function.get_absolute_url()
    assert (function.lesson_slug, function.handler, function.memory_mb, function.timeout_s) == (
        "cold",
        "app.handler",
        256,
        5,
    )
    # Again reopens the learner's copy, edits and all, rather than making another.
    function.memory_mb = 512
    function.save(update_fields=["memory_mb"])
    again = client.post("/lessons/cold/try/")
    assert again["Location"] == function.get_absolute_url()
    assert list(Function.objects.filter(owner=learner).values_list("memory_mb", flat=True)) == [512]


def test_try_it_needs_login(client) -> None:
    LessonFactory(slug="cold")
    response = client.post("/lessons/cold/try/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_warm_lesson_page_costs_anonymous_readers_no_query(
    client, lessons, django_assert_num_queries
) -> None:
    client.get("/lessons/two/")
    with django_assert_num_queries(0):
        response = client.get("/lessons/two/")
    assert response.status_code == 200
    assert "/lessons/one/" in response.content.decode()  # neighbours come from the cache too


def test_reading_again_soon_reads_the_learners_state_and_writes_nothing(
    client, learner, lessons, django_assert_num_queries
) -> None:
    client.force_login(learner)
    client.get("/lessons/two/")
    first_view = LessonProgress.objects.get(user=learner, lesson=lessons[1]).last_viewed_at
    # session, user, instructor check, progress, bookmark, note: no UPDATE
    with django_assert_num_queries(6):
        client.get("/lessons/two/")
    assert LessonProgress.objects.get(user=learner, lesson=lessons[1]).last_viewed_at == first_view


def test_a_view_after_the_interval_is_recorded(client, learner, lessons) -> None:
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(hours=1)
    LessonProgressFactory(user=learner, lesson=lessons[0], last_viewed_at=long_ago)
    client.force_login(learner)
    client.get("/lessons/one/")
    assert LessonProgress.objects.get(user=learner, lesson=lessons[0]).last_viewed_at > long_ago


def test_editing_a_lesson_shows_at_once_despite_the_cache(client, lessons) -> None:
    client.get("/lessons/two/")
    lessons[1].title = "Renamed while cached"
    lessons[1].save()
    assert "Renamed while cached" in client.get("/lessons/two/").content.decode()
    lessons[0].published = False
    lessons[0].save()
    assert "/lessons/one/" not in client.get("/lessons/two/").content.decode()
