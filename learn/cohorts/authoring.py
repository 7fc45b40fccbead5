"""Editing questions as a learner will see them: the current version's text and options are
edited directly, and saving makes a new version when anything a learner sees changed (old
attempts keep the version they were shown). Publishing is having a current version: an
unpublished question keeps its versions but is in no quiz, review or search."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.admin.models import CHANGE
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q, QuerySet

from learn.cohorts.bank import _match
from learn.cohorts.gift import decimal_text
from learn.cohorts.services import admin_log
from learn.practice import loader
from learn.practice.models import Question, QuestionType, QuestionVersion

EDITABLE_TYPES = (
    QuestionType.SINGLE,
    QuestionType.MULTIPLE,
    QuestionType.TRUE_FALSE,
    QuestionType.NUMERIC,
    QuestionType.SHORT,
)
STATUSES = {"": "Any status", "published": "Published", "unpublished": "Unpublished"}


def question_list(
    *, query: str = "", qtype: str = "", difficulty: str = "", tag: str = "", status: str = ""
) -> QuerySet[Question]:
    questions = (
        Question.objects.select_related("lesson", "current_version")
        .prefetch_related("tags")
        .annotate(version_count=Count("versions", distinct=True))
    )
    if query:
        questions = questions.filter(
            Q(slug__icontains=query)
            | Q(title__icontains=query)
            | Q(current_version__prompt_markdown__icontains=query)
        )
    if qtype:
        questions = questions.filter(type=qtype)
    if difficulty:
        questions = questions.filter(difficulty=difficulty)
    if tag:
        questions = questions.filter(tags__slug=tag)
    if status == "published":
        questions = questions.filter(current_version__isnull=False)
    elif status == "unpublished":
        questions = questions.filter(current_version__isnull=True)
    return questions.order_by("lesson__module__order", "lesson__order", "slug")


def latest_version(*, question: Question) -> QuestionVersion | None:
    return question.versions.order_by("-number").first()


def editing_version(*, question: Question) -> QuestionVersion | None:
    """What the editor starts from: the current version, or the newest if unpublished."""
    return question.current_version or latest_version(question=question)


def initial_of(*, question: Question) -> dict[str, Any]:
    """The editor form's initial values."""
    version = editing_version(question=question)
    initial: dict[str, Any] = {
        "title": question.title,
        "lesson": question.lesson.slug,
        "difficulty": question.difficulty,
        "interview": question.interview,
        "tags": ", ".join(t.slug for t in question.tags.all()),
    }
    if version is None:
        return initial
    initial.update(prompt=version.prompt_markdown, explanation=version.explanation_markdown)
    for n, choice in enumerate(version.choices.all()):
        initial.update(
            {
                f"choice_{n}_text": choice.text,
                f"choice_{n}_correct": choice.correct,
                f"choice_{n}_why": choice.why,
            }
        )
    if question.type == QuestionType.TRUE_FALSE:
        initial["answer"] = "true" if version.answer_bool else "false"
    if question.type == QuestionType.NUMERIC and version.numeric_answer is not None:
        initial["numeric_answer"] = decimal_text(version.numeric_answer)
        initial["numeric_tolerance"] = decimal_text(version.numeric_tolerance or Decimal(0))
        initial["numeric_unit"] = version.numeric_unit
    initial["key_points"] = "\n".join(k.text for k in version.key_points.all())
    return initial


def _meta(question: Question, cleaned: dict[str, Any], choice_rows: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "slug": question.slug,
        "type": question.type,
        "lesson": cleaned["lesson"],
        "tags": [t.strip() for t in cleaned["tags"].split(",") if t.strip()],
        "difficulty": cleaned["difficulty"],
        "interview": cleaned["interview"],
        "title": cleaned["title"],
    }
    if question.type in {QuestionType.SINGLE, QuestionType.MULTIPLE}:
        meta["choices"] = [
            {
                "text": cleaned[f"choice_{n}_text"],
                "correct": cleaned[f"choice_{n}_correct"],
                "why": cleaned[f"choice_{n}_why"],
            }
            for n in range(choice_rows)
            if cleaned.get(f"choice_{n}_text")
        ]
    elif question.type == QuestionType.TRUE_FALSE:
        meta["answer"] = cleaned["answer"] == "true"
    elif question.type == QuestionType.NUMERIC:
        meta["numeric"] = {
            "answer": cleaned["numeric_answer"],
            "tolerance": cleaned["numeric_tolerance"],
            "unit": cleaned["numeric_unit"],
        }
    elif question.type == QuestionType.SHORT:
        meta["key_points"] = [p.strip() for p in cleaned["key_points"].splitlines() if p.strip()]
    return meta


@dataclass
class SaveResult:
    outcome: str  # created, updated or unchanged (as the loader says)
    version: QuestionVersion | None


@transaction.atomic
def question_edit(
    *, question: Question, actor: User, cleaned: dict[str, Any], choice_rows: int
) -> SaveResult:
    """Save the editor's fields. Raises loader.QuestionFileError with what is wrong: the same
    rules as the Markdown files. A changed text or answer makes a new version; an unpublished
    question stays unpublished (its new version is what publishing will show)."""
    from learn.models import Lesson

    if question.type not in EDITABLE_TYPES:
        raise loader.QuestionFileError("code challenges are edited in their Markdown file")
    lessons = set(Lesson.objects.values_list("slug", flat=True))
    parsed = loader._parse_meta(_meta(question, cleaned, choice_rows), lesson_slugs=lessons)
    parsed.prompt = cleaned["prompt"].strip()
    parsed.explanation = cleaned["explanation"].strip()
    if not parsed.prompt:
        raise loader.QuestionFileError("the question text is empty")
    if not parsed.explanation:
        raise loader.QuestionFileError("the explanation is empty")
    published = question.current_version_id is not None
    outcome = loader.question_save(parsed=_match(parsed), source_path=question.source_path)
    question.refresh_from_db()
    version = question.current_version
    if not published:
        question.current_version = None
        question.save(update_fields=["current_version", "updated_at"])
    if outcome != "unchanged":
        number = f" (version {version.number})" if version else ""
        admin_log(actor=actor, obj=question, flag=CHANGE, message=f"Edited{number}.")
    return SaveResult(outcome=outcome, version=version)


def question_publish(*, question: Question, actor: User, published: bool) -> Question:
    """Publish (its newest version becomes current) or unpublish (no current version)."""
    if published and question.current_version_id is None:
        question.current_version = latest_version(question=question)
        if question.current_version is None:
            raise loader.QuestionFileError("the question has no version to publish")
    elif not published:
        question.current_version = None
    else:
        return question
    question.save(update_fields=["current_version", "updated_at"])
    admin_log(
        actor=actor,
        obj=question,
        flag=CHANGE,
        message="Published." if published else "Unpublished.",
    )
    return question


def version_text(version: QuestionVersion) -> list[str]:
    """A version as lines of text, the form the history diffs."""
    lines = ["Question:", *version.prompt_markdown.splitlines()]
    choices = list(version.choices.all())
    if choices:
        lines.append("Choices:")
        for choice in choices:
            mark = "[x]" if choice.correct else "[ ]"
            lines.append(f"{mark} {choice.text} (why: {choice.why})")
    if version.answer_bool is not None:
        lines.append(f"Answer: {'true' if version.answer_bool else 'false'}")
    if version.numeric_answer is not None:
        tolerance = decimal_text(version.numeric_tolerance or Decimal(0))
        answer = decimal_text(version.numeric_answer)
        lines.append(f"Answer: {answer} ± {tolerance} {version.numeric_unit}".rstrip())
    points = list(version.key_points.all())
    if points:
        lines.append("Key points:")
        lines.extend(f"- {p.text}" for p in points)
    lines += ["Explanation:", *version.explanation_markdown.splitlines()]
    return lines


@dataclass
class HistoryEntry:
    version: QuestionVersion
    current: bool
    diff: list[tuple[str, str]]  # (kind: add, remove, context, hunk; line) against the previous
    answers: int


def question_history(*, question: Question) -> list[HistoryEntry]:
    """Versions newest first, each with its diff from the one before and how often answered."""
    versions = list(
        question.versions.prefetch_related("choices", "key_points")
        .annotate(answer_count=Count("items__answer", distinct=True))
        .order_by("number")
    )
    entries = []
    previous: list[str] = []
    for version in versions:
        text = version_text(version)
        diff = []
        for line in list(difflib.unified_diff(previous, text, lineterm="", n=2))[2:]:
            kind = {"+": "add", "-": "remove", "@": "hunk"}.get(line[:1], "context")
            diff.append((kind, line))
        entries.append(
            HistoryEntry(
                version=version,
                current=version.pk == question.current_version_id,
                diff=diff,
                answers=version.answer_count,
            )
        )
        previous = text
    return list(reversed(entries))
