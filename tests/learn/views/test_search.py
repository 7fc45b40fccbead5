"""learn/views/search.py: the search page and its htmx results partial."""

import pytest

from learn.services.search import search_index_rebuild
from tests.learn.factories import LessonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed() -> None:
    LessonFactory(slug="cold", title="Cold starts", body_markdown="Init Duration matters.")
    search_index_rebuild()


def test_search_page_highlights_matches(client, indexed) -> None:
    html = client.get("/search/", {"q": "init"}).content.decode()
    assert '<a href="/lessons/cold/">' in html
    assert "<mark>Init</mark> Duration" in html
    assert "<html" in html


def test_htmx_gets_only_the_results(client, indexed) -> None:
    response = client.get("/search/", {"q": "cold"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="search-results"')
    assert "<mark>Cold</mark> starts" in html
    assert "HX-Request" in response["Vary"]


def test_no_match_and_empty_query(client, indexed) -> None:
    assert "Nothing matches" in client.get("/search/", {"q": "zzzz"}).content.decode()
    response = client.get("/search/")
    assert response.status_code == 200 and "Nothing matches" not in response.content.decode()


def test_a_question_result_shows_its_whole_title_and_opens_the_question(client, learner) -> None:
    from learn.practice.models import Attempt
    from tests.practice.factories import single_question

    long_prompt = (
        "A function that reads from an SQS queue with a batch size of ten and a visibility "
        "timeout of thirty seconds keeps failing on one poison message, and the rest of every "
        "batch is retried with it: which setting lets the good messages in the batch succeed "
        "on their own?\n\nPick one."
    )
    version = single_question(prompt_markdown=long_prompt, prompt_html=f"<p>{long_prompt}</p>")
    search_index_rebuild()
    client.force_login(learner)
    html = client.get("/search/", {"q": "poison"}).content.decode()
    question = version.question
    assert f'<a href="/quiz/questions/{question.slug}/">' in html
    assert "succeed on their own?</a>" in html and "…</a>" not in html

    page = client.get(f"/quiz/questions/{question.slug}/").content.decode()
    assert "poison message" in page and "Answer it now" in page
    assert question.lesson.get_absolute_url() in page
    response = client.post(f"/quiz/questions/{question.slug}/")
    attempt = Attempt.objects.get(user=learner)
    assert response["Location"] == f"/quiz/attempts/{attempt.pk}/"
    assert [item.version_id for item in attempt.items.all()] == [version.pk]


def test_a_code_challenge_result_opens_the_challenge(client, learner) -> None:
    from tests.practice.factories import code_question

    question = code_question().question
    client.force_login(learner)
    response = client.get(f"/quiz/questions/{question.slug}/")
    assert response.status_code == 302
    assert response["Location"] == f"/quiz/challenges/{question.slug}/"
    assert client.get("/quiz/questions/no-such-question/").status_code == 404
