"""Full-text search over lessons and questions: one function, SQLite FTS5 or PostgreSQL."""

import html
import re
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, FloatField
from django.db.models.functions import Cast
from django.utils.safestring import SafeString, mark_safe

from learn.models import SearchDocument

START, STOP = (
    "\x02",
    "\x03",
)  # match delimiters from the database, turned into <mark> after escaping
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)
MAX_TOKENS = 8


@dataclass(frozen=True)
class SearchResult:
    kind: str  # "lesson" or "question"
    title_html: SafeString  # escaped, with <mark> around matches
    snippet_html: SafeString
    url: str
    lesson_slug: str


def _marked(text: str) -> SafeString:
    """Escape everything the database returned, then turn the delimiters into <mark>."""
    escaped = html.escape(text or "", quote=False)
    return mark_safe(escaped.replace(START, "<mark>").replace(STOP, "</mark>"))


def query_tokens(query: str) -> list[str]:
    """Words of the query; everything else (quotes, operators, punctuation) is ignored."""
    return _TOKEN_RE.findall(query.lower())[:MAX_TOKENS]


def search(*, query: str, limit: int = 30) -> list[SearchResult]:
    """Lessons, then questions, matching every word of `query` (as a prefix), best first.

    Returns [] for a query with no words. Titles and snippets come back escaped, with each
    matched word wrapped in <mark>.
    """
    tokens = query_tokens(query)
    if not tokens:
        return []
    if connection.vendor == "postgresql":
        return _search_postgresql(tokens=tokens, limit=limit)
    return _search_sqlite(tokens=tokens, limit=limit)


def _search_sqlite(*, tokens: list[str], limit: int) -> list[SearchResult]:
    # Each token quoted (so FTS5 syntax in the query is inert) and prefix-matched.
    match = " ".join(f'"{token}"*' for token in tokens)
    sql = (
        "SELECT d.kind, highlight(learn_searchdocument_fts, 0, %s, %s), "
        "snippet(learn_searchdocument_fts, 1, %s, %s, '…', 24), d.url, d.lesson_slug "
        "FROM learn_searchdocument_fts JOIN learn_searchdocument d "
        "ON d.id = learn_searchdocument_fts.rowid "
        "WHERE learn_searchdocument_fts MATCH %s "
        "ORDER BY CASE d.kind WHEN 'lesson' THEN 0 ELSE 1 END, "
        "bm25(learn_searchdocument_fts, 5.0, 1.0) LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [START, STOP, START, STOP, match, limit])
        rows = cursor.fetchall()
    return [
        SearchResult(
            kind=kind,
            title_html=_marked(title),
            snippet_html=_marked(snippet),
            url=url,
            lesson_slug=lesson_slug,
        )
        for kind, title, snippet, url, lesson_slug in rows
    ]


def _search_postgresql(*, tokens: list[str], limit: int) -> list[SearchResult]:
    from django.contrib.postgres.search import (
        SearchHeadline,
        SearchQuery,
        SearchRank,
        SearchVector,
    )

    # Tokens are \w+ only, so this raw tsquery cannot be malformed; ":*" makes each a prefix.
    raw = " & ".join(f"{token}:*" for token in tokens)
    tsquery = SearchQuery(raw, search_type="raw", config="english")
    vector = SearchVector("title", weight="A", config="english") + SearchVector(
        "body", weight="B", config="english"
    )
    marks: dict[str, Any] = {"start_sel": START, "stop_sel": STOP, "config": "english"}
    rows = (
        SearchDocument.objects.annotate(vector=vector)
        .filter(vector=tsquery)
        .annotate(
            rank=Cast(SearchRank(F("vector"), tsquery), FloatField()),
            title_marked=SearchHeadline("title", tsquery, highlight_all=True, **marks),
            snippet=SearchHeadline("body", tsquery, max_words=35, min_words=15, **marks),
        )
        .order_by("kind", "-rank")  # "lesson" sorts before "question"
        .values_list("kind", "title_marked", "snippet", "url", "lesson_slug")[:limit]
    )
    return [
        SearchResult(
            kind=kind,
            title_html=_marked(title),
            snippet_html=_marked(snippet),
            url=url,
            lesson_slug=lesson_slug,
        )
        for kind, title, snippet, url, lesson_slug in rows
    ]
