"""learn/selectors/search.py: one function over lessons and questions, with highlighted matches."""

import pytest

from learn.models import Lesson
from learn.selectors.search import search
from learn.services.search import search_index_rebuild
from tests.learn.factories import LessonFactory

pytestmark = pytest.mark.django_db


def test_lessons_and_questions_of_the_shipped_course_are_found(course) -> None:
    results = search(query="provisioned concurrency")
    kinds = [r.kind for r in results]
    assert "lesson" in kinds and "question" in kinds
    # Lessons come first.
    assert kinds == sorted(kinds, key=lambda kind: kind != "lesson")
    assert all("<mark>" in (r.title_html + r.snippet_html) for r in results)
    assert any(r.url == "/lessons/cold-starts/" for r in results)


def test_prefixes_match_and_every_word_must_match(db) -> None:
    LessonFactory(slug="a", title="Cold starts", body_markdown="Init Duration is reported once.")
    LessonFactory(slug="b", title="Pricing", body_markdown="GB-seconds and requests.")
    search_index_rebuild()

    assert [r.lesson_slug for r in search(query="durat")] == ["a"]
    assert [r.lesson_slug for r in search(query="cold pricing")] == []


def test_matches_are_marked_and_everything_else_is_escaped(db) -> None:
    LessonFactory(
        slug="x", title="Handlers <b>bold</b>", body_markdown="Handler `<script>alert(1)</script>`"
    )
    search_index_rebuild()

    [result] = search(query="handler")
    assert result.title_html.startswith("<mark>Handlers</mark>")
    assert "&lt;b&gt;" in result.title_html
    # SQLite shows the tag escaped; PostgreSQL's ts_headline drops tag-like text. Never raw.
    assert "<script" not in result.snippet_html
    assert "alert(1)" in result.snippet_html


@pytest.mark.parametrize("query", ['"', "AND OR NOT", "title:x", "*", "a OR", "(", "  "])
def test_search_syntax_in_the_query_is_harmless(db, query: str) -> None:
    LessonFactory(title="Anything")
    search_index_rebuild()
    assert isinstance(search(query=query), list)


def test_unpublished_lessons_are_not_found(db) -> None:
    LessonFactory(title="Secret draft", published=False)
    search_index_rebuild()
    assert search(query="secret") == []


def test_editing_in_the_admin_reindexes(db, instructor, client) -> None:
    lesson = LessonFactory(title="Original")
    search_index_rebuild()
    client.force_login(instructor)
    data = {
        "module": lesson.module.pk, "slug": lesson.slug, "title": "Renamed zebra",
        "order": 1, "summary": "S", "estimated_minutes": 5, "published": "on",
        "objectives": "[]", "takeaways": "[]", "try_it": "null", "body_markdown": "## Hi",
    }  # fmt: skip
    response = client.post(f"/admin/learn/lesson/{lesson.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert [r.lesson_slug for r in search(query="zebra")] == [lesson.slug]
    assert Lesson.objects.get(pk=lesson.pk).body_html.startswith('<h2 id="hi">')


def test_code_challenges_link_to_their_page(course) -> None:
    urls = {r.url for r in search(query="handler", limit=1000) if r.kind == "question"}
    assert any(url.startswith("/quiz/challenges/") for url in urls)
    assert any(url.startswith("/quiz/questions/") for url in urls)
