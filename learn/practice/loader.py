"""Import the question bank from learn/content/questions/<lesson>/<slug>.md.

Called by `manage.py load_content` after lessons are loaded. Each file is validated strictly for
its type; a bad file is reported with its path and the problem and the rest still load. Loading
is idempotent: a question whose content is unchanged keeps its version, an edited one gets a new
version (old attempts keep pointing at the one they saw), and nothing is ever deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction

from learn.content_report import LoadReport
from learn.front_matter import FrontMatterError, front_matter_split
from learn.models import Lesson
from learn.practice.models import (
    AttemptItem,
    Choice,
    CodeTest,
    Difficulty,
    FollowUp,
    KeyPoint,
    Question,
    QuestionType,
    QuestionVersion,
    Tag,
)
from learn.services.rendering import markdown_render, markdown_render_inline
from sandbox import labs

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HANDLER_RE = re.compile(r"^app\.[A-Za-z_][A-Za-z0-9_]*$")
EXPLANATION_RE = re.compile(r"^## Explanation[ \t]*$", re.MULTILINE)

COMMON_KEYS = {"slug", "type", "lesson", "tags", "difficulty", "interview", "title"}
TITLE_MAX = 120
TYPE_KEYS: dict[str, set[str]] = {
    QuestionType.SINGLE: {"choices"},
    QuestionType.MULTIPLE: {"choices"},
    QuestionType.TRUE_FALSE: {"answer"},
    QuestionType.NUMERIC: {"numeric"},
    QuestionType.SHORT: {"key_points", "follow_ups"},
    QuestionType.CODE: {"code"},
}
BUDGET_KEYS = {"billed_duration_ms", "max_memory_mb"}
FOLLOW_UPS_MAX = 5


class QuestionFileError(ValueError):
    """A question file that cannot be loaded; the message says what is wrong."""


@dataclass
class ParsedQuestion:
    """A validated question file, ready to be written."""

    slug: str
    type: str
    lesson_slug: str
    tags: list[str]
    difficulty: str
    interview: bool
    title: str
    prompt: str
    explanation: str
    # The version-defining content, type by type; also what the content hash is computed from.
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        payload = {
            "type": self.type,
            "prompt": self.prompt,
            "explanation": self.explanation,
            "data": self.data,
        }
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def load_questions(*, root: Path, report: LoadReport) -> None:
    """Load every root/questions/**/*.md into the database, reporting file by file."""
    question_dir = root / "questions"
    if not question_dir.is_dir():
        report.error(str(question_dir), "no questions directory")
        return
    lessons = set(Lesson.objects.values_list("slug", flat=True))
    seen: dict[str, str] = {}
    for path in sorted(question_dir.rglob("*.md")):
        name = _display_path(path, root)
        try:
            parsed = parse_question_file(path, lesson_slugs=lessons)
            if parsed.slug in seen:
                raise QuestionFileError(
                    f"slug {parsed.slug!r} is already used by {seen[parsed.slug]}"
                )
            seen[parsed.slug] = name
            outcome = question_save(parsed=parsed, source_path=name)
        except QuestionFileError as exc:
            report.error(name, str(exc))
            continue
        getattr(report, outcome).append(f"question {parsed.slug}")


def _display_path(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def parse_question_file(path: Path, *, lesson_slugs: set[str]) -> ParsedQuestion:
    """Read and validate one file. Raises QuestionFileError with the first problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"cannot read the file: {exc}") from None
    try:
        meta, body = front_matter_split(text)
    except FrontMatterError as exc:
        raise QuestionFileError(str(exc)) from None
    parsed = _parse_meta(meta, lesson_slugs=lesson_slugs)
    if parsed.slug != path.stem:
        raise QuestionFileError(f"slug {parsed.slug!r} does not match the file name {path.name!r}")
    if path.parent.name != parsed.lesson_slug:
        raise QuestionFileError(
            f"lesson {parsed.lesson_slug!r} does not match the folder {path.parent.name!r}"
        )
    parts = EXPLANATION_RE.split(body, maxsplit=1)
    parsed.prompt = parts[0].strip()
    parsed.explanation = parts[1].strip() if len(parts) == 2 else ""
    if not parsed.prompt:
        raise QuestionFileError("the prompt (the body before '## Explanation') is empty")
    if not parsed.explanation:
        what = "model answer" if parsed.type == QuestionType.SHORT else "explanation"
        raise QuestionFileError(f"no '## Explanation' section with the {what}")
    return parsed


def _parse_meta(meta: dict[str, Any], *, lesson_slugs: set[str]) -> ParsedQuestion:
    slug = meta.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise QuestionFileError(f"slug must be lowercase letters, digits and dashes, not {slug!r}")
    qtype = meta.get("type")
    if qtype not in QuestionType.values:
        raise QuestionFileError(
            f"unknown type {qtype!r}; expected one of {', '.join(QuestionType.values)}"
        )
    unknown = set(meta) - COMMON_KEYS - TYPE_KEYS[qtype]
    if unknown:
        raise QuestionFileError(
            f"keys not allowed for a {qtype} question: {', '.join(sorted(unknown))}"
        )
    lesson = meta.get("lesson")
    if not isinstance(lesson, str) or lesson not in lesson_slugs:
        raise QuestionFileError(f"unknown lesson slug {lesson!r}")
    raw_tags = meta.get("tags")
    # YAML reads a tag such as 504 as a number; it is still a fine slug.
    tags = (
        [str(t) for t in raw_tags or [] if isinstance(t, str | int) and not isinstance(t, bool)]
        if isinstance(raw_tags, list)
        else []
    )
    if not tags or len(tags) != len(raw_tags or []) or not all(SLUG_RE.match(t) for t in tags):
        raise QuestionFileError("tags must be a non-empty list of slugs such as [limits, timeouts]")
    difficulty = meta.get("difficulty")
    if difficulty not in Difficulty.values:
        raise QuestionFileError(
            f"difficulty must be one of {', '.join(Difficulty.values)}, not {difficulty!r}"
        )
    interview = meta.get("interview", False)
    if not isinstance(interview, bool):
        raise QuestionFileError("interview must be true or false")
    title = meta.get("title", "")
    if not isinstance(title, str) or len(title) > TITLE_MAX:
        raise QuestionFileError(f"title must be text of at most {TITLE_MAX} characters")
    if qtype == QuestionType.CODE and not title.strip():
        raise QuestionFileError("a code challenge needs a title (it names the challenge in lists)")
    parsed = ParsedQuestion(
        slug=slug,
        type=qtype,
        lesson_slug=lesson,
        tags=list(dict.fromkeys(tags)),
        difficulty=difficulty,
        interview=interview,
        title=title.strip(),
        prompt="",
        explanation="",
    )
    parsed.data = _TYPE_PARSERS[qtype](meta)
    return parsed


def _parse_choices(meta: dict[str, Any], *, single: bool) -> dict[str, Any]:
    choices = meta.get("choices")
    if not isinstance(choices, list) or not 3 <= len(choices) <= 6:
        raise QuestionFileError("choices must be a list of 3 to 6 options")
    cleaned = []
    for number, choice in enumerate(choices, start=1):
        if not isinstance(choice, dict) or set(choice) - {"text", "correct", "why"}:
            raise QuestionFileError(f"choice {number} must have only text, correct and why")
        text = choice.get("text")
        if not isinstance(text, str | int | float) or isinstance(text, bool) or not str(text):
            raise QuestionFileError(f"choice {number} has no text")
        if not isinstance(choice.get("correct"), bool):
            raise QuestionFileError(f"choice {number}: correct must be true or false")
        why = choice.get("why")
        if not isinstance(why, str) or not why.strip():
            raise QuestionFileError(f"choice {number} has no 'why' explaining it")
        cleaned.append({"text": str(text), "correct": choice["correct"], "why": why.strip()})
    texts = [c["text"] for c in cleaned]
    if len(set(texts)) != len(texts):
        raise QuestionFileError("two choices have the same text")
    correct = sum(c["correct"] for c in cleaned)
    if correct == 0:
        raise QuestionFileError("no correct choice")
    if single and correct != 1:
        raise QuestionFileError(
            f"a single choice question needs exactly one correct choice, not {correct}"
        )
    if not single and correct == len(cleaned):
        raise QuestionFileError("every choice is correct; leave at least one wrong")
    return {"choices": cleaned}


def _parse_true_false(meta: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(meta.get("answer"), bool):
        raise QuestionFileError("a true_false question needs answer: true or answer: false")
    return {"answer": meta["answer"]}


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise QuestionFileError(f"{what} must be a number, not {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise QuestionFileError(f"{what} must be a number, not {value!r}") from None
    if not number.is_finite():
        raise QuestionFileError(f"{what} must be a finite number")
    return number


def _parse_numeric(meta: dict[str, Any]) -> dict[str, Any]:
    numeric = meta.get("numeric")
    if not isinstance(numeric, dict):
        raise QuestionFileError("a numeric question needs numeric: {answer, tolerance, unit}")
    unknown = set(numeric) - {"answer", "tolerance", "unit"}
    if unknown:
        raise QuestionFileError(f"unknown numeric keys: {', '.join(sorted(unknown))}")
    if "answer" not in numeric:
        raise QuestionFileError("numeric.answer is missing")
    if "tolerance" not in numeric:
        raise QuestionFileError("numeric.tolerance is missing (use 0 for an exact answer)")
    answer = _decimal(numeric["answer"], "numeric.answer")
    tolerance = _decimal(numeric["tolerance"], "numeric.tolerance")
    if tolerance < 0:
        raise QuestionFileError("numeric.tolerance must not be negative")
    unit = numeric.get("unit", "")
    if not isinstance(unit, str):
        raise QuestionFileError("numeric.unit must be text")
    return {"answer": str(answer), "tolerance": str(tolerance), "unit": unit}


def _parse_short(meta: dict[str, Any]) -> dict[str, Any]:
    points = meta.get("key_points")
    if (
        not isinstance(points, list)
        or not points
        or not all(isinstance(p, str) and p.strip() for p in points)
    ):
        raise QuestionFileError("a short question needs key_points: a non-empty list of text")
    data: dict[str, Any] = {"key_points": [p.strip() for p in points]}
    if "follow_ups" in meta:
        follow_ups = meta["follow_ups"]
        if (
            not isinstance(follow_ups, list)
            or not 1 <= len(follow_ups) <= FOLLOW_UPS_MAX
            or not all(isinstance(f, str) and f.strip() for f in follow_ups)
        ):
            raise QuestionFileError(
                f"follow_ups must be a list of 1 to {FOLLOW_UPS_MAX} questions (text)"
            )
        # Only present when authored, so questions without follow-ups keep their content hash.
        data["follow_ups"] = [f.strip() for f in follow_ups]
    return data


def _parse_code(meta: dict[str, Any]) -> dict[str, Any]:
    code = meta.get("code")
    if not isinstance(code, dict):
        raise QuestionFileError("a code question needs code: {handler, starter, solution, tests}")
    unknown = set(code) - {"handler", "starter", "solution", "tests", "budget", "lab"}
    if unknown:
        raise QuestionFileError(f"unknown code keys: {', '.join(sorted(unknown))}")
    handler = code.get("handler", "app.handler")
    if not isinstance(handler, str) or not HANDLER_RE.match(handler):
        raise QuestionFileError(f"code.handler must be app.<function>, not {handler!r}")
    for key in ("starter", "solution"):
        if not isinstance(code.get(key), str) or not code[key].strip():
            raise QuestionFileError(f"code.{key} is missing")
    tests = code.get("tests")
    if not isinstance(tests, list) or not tests:
        raise QuestionFileError("a code challenge needs at least one test in code.tests")
    cleaned_tests: list[dict[str, Any]] = []
    lab = code.get("lab")
    if lab is not None:
        try:
            labs.lab_check(lab, for_challenge=True)
        except labs.LabError as exc:
            raise QuestionFileError(f"code.lab: {exc}") from None
    for number, test in enumerate(tests, start=1):
        cleaned = _parse_lab_test(number, test) if lab is not None else _parse_test(number, test)
        if test.get("sample"):
            # Tests run in order in one warm environment: a sample after a hidden test could
            # show, in its output or log, what the handler kept of that hidden event.
            if any(not earlier.get("sample") for earlier in cleaned_tests):
                raise QuestionFileError(
                    f"test {number} ({cleaned['name']}): sample tests come before hidden ones"
                )
            # Only when set, so hidden tests keep their content hash.
            cleaned["sample"] = True
        cleaned_tests.append(cleaned)
    budget = code.get("budget") or {}
    if not isinstance(budget, dict) or set(budget) - BUDGET_KEYS:
        raise QuestionFileError("code.budget may only set billed_duration_ms and max_memory_mb")
    for key, value in budget.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise QuestionFileError(f"code.budget.{key} must be a positive whole number")
    parsed = {
        "handler": handler,
        "starter": code["starter"],
        "solution": code["solution"],
        "tests": cleaned_tests,
        "budget": budget,
    }
    if lab is not None:
        # Only when set, so challenges without a lab keep their content hash.
        parsed["lab"] = lab
    return parsed


def _test_name(number: int, test: Any, keys: set[str]) -> str:
    if not isinstance(test, dict) or set(test) - keys:
        raise QuestionFileError(f"test {number} must have only {', '.join(sorted(keys))}")
    if not isinstance(test.get("sample", False), bool):
        raise QuestionFileError(f"test {number}: sample is true or false")
    if not isinstance(test.get("name"), str) or not test["name"].strip():
        raise QuestionFileError(f"test {number} has no name")
    return str(test["name"]).strip()


def _parse_test(number: int, test: Any) -> dict[str, Any]:
    name = _test_name(number, test, {"name", "event", "expected", "sample"})
    if "event" not in test or "expected" not in test:
        raise QuestionFileError(f"test {number} ({name}) needs event and expected")
    return {"name": name, "event": test["event"], "expected": test["expected"]}


def _parse_lab_test(number: int, test: Any) -> dict[str, Any]:
    """A test of a lab challenge: steps performed in the learner's lab account, and what the
    handler, run by the lab's trigger, must have left (stored as the test's event and
    expected output)."""
    name = _test_name(number, test, {"name", "steps", "expect", "wait_s", "sample"})
    try:
        labs.steps_check(test.get("steps"), for_challenge=True)
        labs.expect_check(test.get("expect"))
        wait_s = labs.wait_check(test.get("wait_s"))
    except labs.LabError as exc:
        raise QuestionFileError(f"test {number} ({name}): {exc}") from None
    return {
        "name": name,
        "event": {"steps": test["steps"], "wait_s": wait_s},
        "expected": {"expect": test["expect"]},
    }


_TYPE_PARSERS = {
    QuestionType.SINGLE: lambda meta: _parse_choices(meta, single=True),
    QuestionType.MULTIPLE: lambda meta: _parse_choices(meta, single=False),
    QuestionType.TRUE_FALSE: _parse_true_false,
    QuestionType.NUMERIC: _parse_numeric,
    QuestionType.SHORT: _parse_short,
    QuestionType.CODE: _parse_code,
}


@transaction.atomic
def question_save(*, parsed: ParsedQuestion, source_path: str = "") -> str:
    """Create or update a question from a parsed file.

    Returns "created", "updated" or "unchanged" (the LoadReport list it belongs in). A new
    QuestionVersion is made only when the content hash is new; going back to an earlier text
    makes that earlier version current again rather than duplicating it.
    """
    lesson = Lesson.objects.get(slug=parsed.lesson_slug)
    question = Question.objects.filter(slug=parsed.slug).first()
    created = question is None
    if question is None:
        question = Question(slug=parsed.slug)
    fields = {
        "type": parsed.type,
        "lesson_id": lesson.pk,
        "difficulty": parsed.difficulty,
        "interview": parsed.interview,
        "title": parsed.title,
        "source_path": source_path,
    }
    changed = created or any(getattr(question, k) != v for k, v in fields.items())
    if (
        not created
        and question.type != parsed.type
        and AttemptItem.objects.filter(version__question=question).exists()
    ):
        # Changing the type under existing answers would make them ungradable.
        raise QuestionFileError(
            f"type changed from {question.type} to {parsed.type} after learners answered "
            "it; give the new question a new slug"
        )
    for key, value in fields.items():
        setattr(question, key, value)
    question.save()

    tags = [Tag.objects.get_or_create(slug=slug)[0] for slug in parsed.tags]
    if set(question.tags.values_list("slug", flat=True)) != set(parsed.tags):
        question.tags.set(tags)
        changed = True

    digest = parsed.content_hash
    version = question.versions.filter(content_hash=digest).first()
    if version is None:
        version = _version_create(question=question, parsed=parsed, digest=digest)
        changed = True
    if question.current_version_id != version.pk:
        question.current_version = version
        question.save(update_fields=["current_version", "updated_at"])
        changed = True
    if created:
        return "created"
    return "updated" if changed else "unchanged"


def _version_create(*, question: Question, parsed: ParsedQuestion, digest: str) -> QuestionVersion:
    last = question.versions.order_by("-number").values_list("number", flat=True).first() or 0
    data = parsed.data
    version = QuestionVersion(
        question=question,
        number=last + 1,
        content_hash=digest,
        prompt_markdown=parsed.prompt,
        prompt_html=markdown_render(text=parsed.prompt).html,
        explanation_markdown=parsed.explanation,
        explanation_html=markdown_render(text=parsed.explanation).html,
    )
    if parsed.type == QuestionType.TRUE_FALSE:
        version.answer_bool = data["answer"]
    elif parsed.type == QuestionType.NUMERIC:
        version.numeric_answer = Decimal(data["answer"])
        version.numeric_tolerance = Decimal(data["tolerance"])
        version.numeric_unit = data["unit"]
    elif parsed.type == QuestionType.CODE:
        version.handler = data["handler"]
        version.starter_code = data["starter"]
        version.solution_code = data["solution"]
        version.budget_billed_duration_ms = data["budget"].get("billed_duration_ms")
        version.budget_max_memory_mb = data["budget"].get("max_memory_mb")
        version.lab = data.get("lab")
    version.save()
    if "choices" in data:
        Choice.objects.bulk_create(
            Choice(
                version=version,
                order=order,
                text=choice["text"],
                text_html=markdown_render_inline(text=choice["text"]),
                correct=choice["correct"],
                why=choice["why"],
            )
            for order, choice in enumerate(data["choices"])
        )
    if "key_points" in data:
        KeyPoint.objects.bulk_create(
            KeyPoint(version=version, order=order, text=text)
            for order, text in enumerate(data["key_points"])
        )
    if "follow_ups" in data:
        FollowUp.objects.bulk_create(
            FollowUp(version=version, order=order, text=text)
            for order, text in enumerate(data["follow_ups"])
        )
    if "tests" in data:
        CodeTest.objects.bulk_create(
            CodeTest(
                version=version,
                order=order,
                name=test["name"],
                event=test["event"],
                expected=test["expected"],
                sample=test.get("sample", False),
            )
            for order, test in enumerate(data["tests"])
        )
    return version
