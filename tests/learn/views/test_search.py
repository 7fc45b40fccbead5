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
