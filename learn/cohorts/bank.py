"""Import and export of the question bank: Moodle GIFT and the project's Markdown files.

An import runs the same code whether it is a dry run or not: a dry run does every write inside
a transaction and rolls it back, so what it lists is exactly what the real import would do.
Questions are matched by slug; unchanged content keeps its version (importing the same file
twice changes nothing), changed content gets a new version, and nothing is ever deleted.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.admin.models import ADDITION, CHANGE
from django.contrib.auth.models import User
from django.db import transaction

from learn.cohorts.gift import GiftItem, GiftQuestion, decimal_text, gift_parse, gift_write
from learn.cohorts.services import admin_log
from learn.front_matter import FrontMatterError, front_matter_split
from learn.models import Lesson
from learn.practice import loader
from learn.practice.models import Question, QuestionType, QuestionVersion

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ZIP_FILES = 2000
ACTIONS = ("create", "update", "unchanged", "reject")


@dataclass
class ImportRow:
    label: str
    slug: str
    action: str  # create, update, unchanged or reject
    reason: str


class _DryRun(Exception):
    pass


# ---------------------------------------------------------------- reading files


def markdown_parse(*, name: str, data: bytes, lesson_slugs: set[str]) -> list[GiftItem]:
    """Questions in the learn/content format: one .md file, or a .zip of them (any layout)."""
    if name.lower().endswith(".zip"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            return [GiftItem(line=0, label=name, error="not a zip file")]
        members = [
            m
            for m in archive.infolist()
            if m.filename.endswith(".md") and not m.is_dir() and "__MACOSX" not in m.filename
        ][:MAX_ZIP_FILES]
        if sum(m.file_size for m in members) > 4 * MAX_UPLOAD_BYTES:
            return [GiftItem(line=0, label=name, error="the zip unpacks to more than 20 MB")]
        return [
            _markdown_item(m.filename, archive.read(m), lesson_slugs)
            for m in sorted(members, key=lambda m: m.filename)
        ]
    return [_markdown_item(name, data, lesson_slugs)]


def _markdown_item(name: str, data: bytes, lesson_slugs: set[str]) -> GiftItem:
    item = GiftItem(line=0, label=name)
    try:
        meta, body = front_matter_split(data.decode("utf-8"))
        # The loader's own validation, so an import accepts exactly what load_content does.
        parsed = loader._parse_meta(meta, lesson_slugs=lesson_slugs)
    except UnicodeDecodeError:
        item.error = "not UTF-8 text"
        return item
    except (FrontMatterError, loader.QuestionFileError) as exc:
        item.error = str(exc)
        return item
    parts = loader.EXPLANATION_RE.split(body, maxsplit=1)
    parsed.prompt = parts[0].strip()
    parsed.explanation = parts[1].strip() if len(parts) == 2 else ""
    if not parsed.prompt:
        item.error = "the prompt (the body before '## Explanation') is empty"
    elif not parsed.explanation:
        item.error = "no '## Explanation' section"
    else:
        item.parsed = parsed
        item.label = f"{name} ({parsed.slug})"
    return item


def items_parse(
    *, name: str, data: bytes, file_format: str, default_lesson: str = ""
) -> list[GiftItem]:
    """The questions of an uploaded file, in "gift" or "markdown" format."""
    lessons = set(Lesson.objects.values_list("slug", flat=True))
    if file_format == "markdown":
        return markdown_parse(name=name, data=data, lesson_slugs=lessons)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [GiftItem(line=0, label=name, error="not UTF-8 text")]
    return gift_parse(text, lesson_slugs=lessons, default_lesson=default_lesson)


# ---------------------------------------------------------------- importing


@dataclass
class _Matched(loader.ParsedQuestion):
    """A parsed question whose content equals a stored version's: it keeps that version's hash.

    The hash is taken over the source's text, so 1.0 in a YAML file and 1 in a GIFT file would
    differ although they are the same answer; comparing content avoids a needless new version.
    """

    matched_hash: str = ""

    @property
    def content_hash(self) -> str:
        return self.matched_hash


def _same_content(version: QuestionVersion, parsed: loader.ParsedQuestion) -> bool:
    data = parsed.data
    if (version.prompt_markdown, version.explanation_markdown) != (
        parsed.prompt,
        parsed.explanation,
    ):
        return False
    if parsed.type in {QuestionType.SINGLE, QuestionType.MULTIPLE}:
        stored = [(c.text, c.correct, c.why) for c in version.choices.all()]
        return stored == [(c["text"], c["correct"], c["why"]) for c in data["choices"]]
    if parsed.type == QuestionType.TRUE_FALSE:
        return version.answer_bool == data["answer"]
    if parsed.type == QuestionType.NUMERIC:
        return (version.numeric_answer, version.numeric_tolerance, version.numeric_unit) == (
            Decimal(data["answer"]),
            Decimal(data["tolerance"]),
            data["unit"],
        )
    if parsed.type == QuestionType.SHORT:
        follow_ups = [f.text for f in version.follow_ups.all()]
        return [k.text for k in version.key_points.all()] == data["key_points"] and (
            follow_ups == data.get("follow_ups", [])
        )
    return False  # code challenges: the hash alone decides


def _carry_follow_ups(parsed: loader.ParsedQuestion) -> None:
    """GIFT has no follow-up questions: keep the current version's rather than drop them."""
    if parsed.type != QuestionType.SHORT or "follow_ups" in parsed.data:
        return
    current = (
        Question.objects.filter(slug=parsed.slug, type=QuestionType.SHORT)
        .values_list("current_version", flat=True)
        .first()
    )
    if current is None:
        return
    texts = list(
        QuestionVersion.objects.filter(pk=current)
        .values_list("follow_ups__text", flat=True)
        .exclude(follow_ups__text=None)
        .order_by("follow_ups__order")
    )
    if texts:
        parsed.data["follow_ups"] = texts


def _match(parsed: loader.ParsedQuestion) -> loader.ParsedQuestion:
    """The parsed question, or a copy keeping the hash of a stored version with equal content."""
    _carry_follow_ups(parsed)
    versions = QuestionVersion.objects.filter(
        question__slug=parsed.slug, question__type=parsed.type
    ).prefetch_related("choices", "key_points", "follow_ups")
    for version in versions:
        if version.content_hash != parsed.content_hash and _same_content(version, parsed):
            fields = {f: getattr(parsed, f) for f in parsed.__dataclass_fields__}
            return _Matched(**fields, matched_hash=version.content_hash)
    return parsed


def _plan(parsed: loader.ParsedQuestion) -> tuple[str, str]:
    """(action, reason) the save will amount to, worked out before it happens."""
    question = (
        Question.objects.filter(slug=parsed.slug)
        .select_related("lesson", "current_version")
        .first()
    )
    if question is None:
        return "create", f"new {parsed.type} question"
    reasons = []
    version = question.versions.filter(content_hash=parsed.content_hash).first()
    if version is None:
        reasons.append("the text, answers or explanation changed: a new version")
    elif question.current_version_id != version.pk:
        reasons.append(f"back to version {version.number}")
    for field, new in (
        ("difficulty", parsed.difficulty),
        ("title", parsed.title),
        ("interview", parsed.interview),
        ("type", parsed.type),
    ):
        if getattr(question, field) != new:
            reasons.append(f"{field} {getattr(question, field)!r} → {new!r}")
    if question.lesson.slug != parsed.lesson_slug:
        reasons.append(f"lesson {question.lesson.slug} → {parsed.lesson_slug}")
    if set(question.tags.values_list("slug", flat=True)) != set(parsed.tags):
        reasons.append("tags changed")
    if not reasons:
        return "unchanged", "same as the bank"
    return "update", "; ".join(reasons)


def bank_import(
    *, items: list[GiftItem], actor: User, dry_run: bool, source: str
) -> list[ImportRow]:
    """Create or update the questions of items (from items_parse); reject the bad ones.

    With dry_run nothing is kept. Each created or updated question is logged in the admin log.
    """
    rows: list[ImportRow] = []
    try:
        with transaction.atomic():
            seen: dict[str, str] = {}
            for item in items:
                if item.parsed is None:
                    rows.append(ImportRow(item.label, "", "reject", item.error))
                    continue
                parsed = item.parsed
                if parsed.slug in seen:
                    rows.append(
                        ImportRow(
                            item.label,
                            parsed.slug,
                            "reject",
                            f"slug also used at {seen[parsed.slug]}",
                        )
                    )
                    continue
                seen[parsed.slug] = item.label
                parsed = _match(parsed)
                action, reason = _plan(parsed)
                existing = (
                    Question.objects.filter(slug=parsed.slug)
                    .values_list("source_path", flat=True)
                    .first()
                )
                try:
                    outcome = loader.question_save(
                        parsed=parsed,
                        source_path=existing if existing is not None else f"import: {source}"[:300],
                    )
                except loader.QuestionFileError as exc:
                    rows.append(ImportRow(item.label, parsed.slug, "reject", str(exc)))
                    continue
                rows.append(ImportRow(item.label, parsed.slug, action, reason))
                if not dry_run and outcome != "unchanged":
                    question = Question.objects.get(slug=parsed.slug)
                    admin_log(
                        actor=actor,
                        obj=question,
                        flag=ADDITION if outcome == "created" else CHANGE,
                        message=f"Imported from {source}: {reason}.",
                    )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return rows


# ---------------------------------------------------------------- exporting


def _gift_question(question: Question, version: QuestionVersion) -> GiftQuestion:
    data: dict = {}
    if question.type in {QuestionType.SINGLE, QuestionType.MULTIPLE}:
        data["choices"] = [
            {"text": c.text, "correct": c.correct, "why": c.why} for c in version.choices.all()
        ]
    elif question.type == QuestionType.TRUE_FALSE:
        data["answer"] = bool(version.answer_bool)
    elif question.type == QuestionType.NUMERIC:
        data["answer"] = decimal_text(version.numeric_answer or Decimal(0))
        data["tolerance"] = decimal_text(version.numeric_tolerance or Decimal(0))
        data["unit"] = version.numeric_unit
    elif question.type == QuestionType.SHORT:
        data["key_points"] = [k.text for k in version.key_points.all()]
    return GiftQuestion(
        slug=question.slug,
        type=question.type,
        lesson_slug=question.lesson.slug,
        tags=[t.slug for t in question.tags.all()],
        difficulty=question.difficulty,
        interview=question.interview,
        title=question.title,
        prompt=version.prompt_markdown,
        explanation=version.explanation_markdown,
        data=data,
    )


def bank_export_gift(*, questions: list[Question] | None = None) -> tuple[str, list[Question]]:
    """(GIFT text of the current versions, the code challenges GIFT cannot hold)."""
    if questions is None:
        questions = list(
            Question.objects.filter(current_version__isnull=False)
            .select_related("lesson", "current_version")
            .prefetch_related("tags", "current_version__choices", "current_version__key_points")
        )
    skipped = [q for q in questions if q.type == QuestionType.CODE]
    exported = [
        _gift_question(q, q.current_version)
        for q in questions
        if q.type != QuestionType.CODE and q.current_version is not None
    ]
    return gift_write(exported), skipped
