"""Keep the full-text search rows (learn.SearchDocument) in step with lessons and questions."""

import html
import re

from django.db import connection, transaction
from django.urls import reverse
from django.utils.html import strip_tags

from learn.models import Lesson, SearchDocument
from learn.practice.models import Question
from learn.selectors.lessons import lesson_rendered

_PERMALINK_RE = re.compile(r'<a class="headerlink"[^>]*>.*?</a>', re.DOTALL)
_SPACE_RE = re.compile(r"\s+")
_HEADING_MARK_RE = re.compile(r"^#+\s*|[*_`]", re.MULTILINE)
_SENTENCE_END_RE = re.compile(r"[.?!:](?=\s|$)")
TITLE_MAX = SearchDocument._meta.get_field("title").max_length or 300


def html_to_text(*, fragment: str) -> str:
    """Readable plain text of rendered HTML (for indexing and snippets)."""
    text = html.unescape(strip_tags(_PERMALINK_RE.sub("", fragment)))
    # \x02 and \x03 delimit highlighted matches in search results: they must not occur in text.
    return _SPACE_RE.sub(" ", text.replace("\x02", "").replace("\x03", "")).strip()


def question_title(markdown_text: str) -> str:
    """The prompt's first paragraph, whole: a title cut mid-sentence says less than none."""
    paragraph: list[str] = []
    for line in markdown_text.splitlines():
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    title = _HEADING_MARK_RE.sub("", " ".join(paragraph)).strip()
    if len(title) <= TITLE_MAX:
        return title
    # Longer than the column holds: end at a sentence's end, or failing that at a word.
    ends = [m.end() for m in _SENTENCE_END_RE.finditer(title) if m.end() <= TITLE_MAX]
    if ends:
        return title[: ends[-1]].strip()
    return title[: TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"


def _question_url(question: Question) -> str:
    """Each question has a page; code challenges have theirs."""
    if question.type == "code":
        return reverse("practice_challenge", kwargs={"slug": question.slug})
    return reverse("practice_question", kwargs={"slug": question.slug})


def _documents() -> list[SearchDocument]:
    documents = []
    for lesson in Lesson.objects.filter(published=True):
        extra = " ".join([lesson.summary, *lesson.objectives, *lesson.takeaways])
        documents.append(
            SearchDocument(
                kind=SearchDocument.Kind.LESSON,
                key=lesson.slug,
                title=lesson.title,
                body=f"{extra} {html_to_text(fragment=lesson_rendered(lesson=lesson)[0])}",
                url=lesson.get_absolute_url(),
                lesson_slug=lesson.slug,
            )
        )
    questions = Question.objects.filter(
        lesson__published=True, current_version__isnull=False
    ).select_related("lesson", "current_version")
    for question in questions:
        version = question.current_version
        assert version is not None  # filtered above
        prompt = html_to_text(fragment=version.prompt_html)
        documents.append(
            SearchDocument(
                kind=SearchDocument.Kind.QUESTION,
                key=question.slug,
                title=question_title(version.prompt_markdown) or question.slug,
                body=f"{prompt} {html_to_text(fragment=version.explanation_html)}",
                url=_question_url(question),
                lesson_slug=question.lesson.slug,
            )
        )
    return documents


@transaction.atomic
def search_index_rebuild() -> int:
    """Replace every search row with the current published lessons and questions.

    The course is small (tens of lessons, hundreds of questions), so a full rebuild after each
    load or admin edit is simpler and safer than incremental updates. Returns the row count.
    """
    documents = _documents()
    SearchDocument.objects.all().delete()
    SearchDocument.objects.bulk_create(documents)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM learn_searchdocument_fts")
            cursor.execute(
                "INSERT INTO learn_searchdocument_fts (rowid, title, body) "
                "SELECT id, title, body FROM learn_searchdocument"
            )
    return len(documents)
