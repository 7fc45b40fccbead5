"""Moodle GIFT, read and written. Plain Python: text in, loader.ParsedQuestion out (and back).

Supported: single choice ({=right ~wrong}), multiple choice (~%50%right ~%-100%wrong), true/false
({T}, {FALSE}), short answer ({=accepted =also}: the accepted answers become the key points a
learner checks their answer against), numeric ({#answer:tolerance}, {#min..max}, {#=answer:tol}),
the missing-word form (text {answers} more text: the blank becomes "_____"), ::names::, answer
feedback (#), general feedback (####: the explanation), $CATEGORY:, // comments and the
[markdown]/[html]/[plain]/[moodle] markers. Essays, descriptions, matching and partial-credit
numeric answers have no counterpart here and are rejected with that reason.

What GIFT cannot say is carried in comment tags before a question, as Moodle's own export does
with [id:] and [tag:]: // [id:slug] [lesson:lesson-slug] [difficulty:easy] [tag:x] [unit:USD]
[interview]. Without them: the slug comes from the name (or the text), the lesson from
$CATEGORY (its last part) or the importer's default, difficulty is medium, and the lesson's slug
is the only tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.text import slugify

from learn.practice.loader import SLUG_RE, TITLE_MAX, ParsedQuestion
from learn.practice.models import Difficulty, QuestionType

SPECIAL = "~=#{}:"
META_RE = re.compile(r"\[(id|tag|lesson|difficulty|unit|interview)(?::([^\]]*))?\]")
FORMAT_RE = re.compile(r"^\[(markdown|html|plain|moodle)\]", re.IGNORECASE)
WEIGHT_RE = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
BLANK = "_____"
SLUG_MAX = 50


class GiftError(ValueError):
    """A question that cannot be imported; the message says why."""


@dataclass
class GiftItem:
    """One question of a file: where it starts, and either what it says or why not."""

    line: int
    label: str
    parsed: ParsedQuestion | None = None
    error: str = ""


# ---------------------------------------------------------------- escaping


def escape(text: str) -> str:
    """Text safe inside GIFT: specials and backslashes escaped, newlines as \\n."""
    out = text.replace("\\", "\\\\")
    for char in SPECIAL:
        out = out.replace(char, "\\" + char)
    return out.replace("\r\n", "\n").replace("\n", "\\n")


def unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            following = text[i + 1]
            out.append("\n" if following == "n" else following)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _unescaped(text: str, target: str, start: int = 0) -> int:
    """Index of the first unescaped occurrence of target at or after start, or -1."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(target, i):
            return i
        i += 1
    return -1


def _split_unescaped(text: str, separators: str) -> list[tuple[str, str]]:
    """Split at unescaped separator characters: [(separator, text after it), ...]."""
    parts: list[tuple[str, str]] = []
    current, marker, i = [], "", 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if char in separators:
            if marker or "".join(current).strip():
                parts.append((marker, "".join(current)))
            marker, current = char, []
        else:
            current.append(char)
        i += 1
    if marker or "".join(current).strip():
        parts.append((marker, "".join(current)))
    return parts


# ---------------------------------------------------------------- reading


def gift_parse(text: str, *, lesson_slugs: set[str], default_lesson: str = "") -> list[GiftItem]:
    """Every question of a GIFT file, parsed or with the reason it cannot be."""
    items = []
    category = ""
    for line_number, block in _blocks(text):
        meta: dict[str, Any] = {"tags": []}
        body_lines = []
        first_body_line = 0
        for offset, line in enumerate(block):
            stripped = line.strip()
            if stripped.startswith("//"):
                for key, value in META_RE.findall(stripped):
                    if key == "tag":
                        meta["tags"].append(value.strip())
                    else:
                        meta[key] = value.strip() if value else True
            elif stripped.upper().startswith("$CATEGORY:"):
                category = stripped.split(":", 1)[1].strip().rstrip("/").split("/")[-1]
            else:
                first_body_line = first_body_line or line_number + offset
                body_lines.append(line)
        body = "\n".join(body_lines).strip()
        if not body:
            continue
        item = GiftItem(line=first_body_line, label=f"line {first_body_line}")
        try:
            item.parsed = _question(
                body,
                meta=meta,
                lesson=str(meta.get("lesson") or slugify(category) or default_lesson),
                lesson_slugs=lesson_slugs,
            )
            item.label = f"line {first_body_line} ({item.parsed.slug})"
        except GiftError as exc:
            item.error = str(exc)
        items.append(item)
    return items


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Questions are separated by blank lines; returns (first line number, lines)."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.replace("\r\n", "\n").lstrip("\ufeff").split("\n"), 1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _question(
    body: str, *, meta: dict[str, Any], lesson: str, lesson_slugs: set[str]
) -> ParsedQuestion:
    name = ""
    if body.startswith("::"):
        end = _unescaped(body, "::", 2)
        if end < 0:
            raise GiftError("the question name has no closing '::'")
        name, body = unescape(body[2:end]).strip(), body[end + 2 :].lstrip()
    body = FORMAT_RE.sub("", body, count=1)
    opening = _unescaped(body, "{")
    if opening < 0:
        raise GiftError("no answer block in braces: a description, which has no counterpart here")
    closing = _unescaped(body, "}", opening)
    if closing < 0:
        raise GiftError("the answer block has no closing '}'")
    head, answers, tail = body[:opening], body[opening + 1 : closing], body[closing + 1 :]
    prompt = unescape(head).strip()
    if tail.strip():
        prompt = f"{prompt} {BLANK} {unescape(tail).strip()}".strip()
    if not prompt:
        raise GiftError("the question has no text")
    qtype, explanation, data = _answers(answers.strip(), unit=str(meta.get("unit") or ""))
    if len(name) > TITLE_MAX:
        raise GiftError(f"the name is longer than {TITLE_MAX} characters")
    slug = str(meta.get("id") or slugify(name or prompt)[:SLUG_MAX].strip("-"))
    if not SLUG_RE.match(slug):
        raise GiftError(f"no usable slug: give the question // [id:some-slug] (not {slug!r})")
    if lesson not in lesson_slugs:
        raise GiftError(
            f"unknown lesson {lesson!r}: name one with // [lesson:slug], $CATEGORY: or the default"
            if lesson
            else "no lesson: name one with // [lesson:slug], $CATEGORY: or the default lesson"
        )
    tags = [slugify(t) for t in meta["tags"]] or [lesson]
    if not all(tags):
        raise GiftError("a [tag:] is empty")
    difficulty = str(meta.get("difficulty") or Difficulty.MEDIUM)
    if difficulty not in Difficulty.values:
        raise GiftError(f"difficulty must be one of {', '.join(Difficulty.values)}")
    return ParsedQuestion(
        slug=slug,
        type=qtype,
        lesson_slug=lesson,
        tags=list(dict.fromkeys(tags)),
        difficulty=difficulty,
        interview=meta.get("interview") is True,
        title=name,
        prompt=prompt,
        explanation=explanation,
        data=data,
    )


def _answers(text: str, *, unit: str) -> tuple[str, str, dict[str, Any]]:
    """(type, explanation, data) from the inside of the braces."""
    general = _unescaped(text, "####")
    explanation = ""
    if general >= 0:
        text, explanation = text[:general].strip(), unescape(text[general + 4 :]).strip()
    if not text:
        raise GiftError("an essay question (empty braces) has no counterpart here")
    if text.startswith("#"):
        return QuestionType.NUMERIC, explanation, _numeric(text[1:].strip(), unit=unit)
    truth = _split_unescaped(text, "#")[0][1].strip().upper()
    if truth in {"T", "TRUE", "F", "FALSE"}:
        return QuestionType.TRUE_FALSE, explanation, {"answer": truth.startswith("T")}
    if _unescaped(text, "->") >= 0:
        raise GiftError("matching questions have no counterpart here")
    parts = _split_unescaped(text, "=~")
    if parts and not parts[0][0]:
        raise GiftError("answers must start with = or ~")
    if all(marker == "=" for marker, _ in parts):
        points = [_strip_weight(_feedback_split(value)[0]) for _, value in parts]
        if not all(points):
            raise GiftError("a short answer is empty")
        if not explanation:
            explanation = "Accepted answers: " + "; ".join(points)
        return QuestionType.SHORT, explanation, {"key_points": points}
    return _choices(parts, explanation)


def _feedback_split(value: str) -> tuple[str, str]:
    cut = _unescaped(value, "#")
    if cut < 0:
        return unescape(value).strip(), ""
    return unescape(value[:cut]).strip(), unescape(value[cut + 1 :]).strip()


def _strip_weight(text: str) -> str:
    return WEIGHT_RE.sub("", text, count=1).strip()


def _choices(parts: list[tuple[str, str]], explanation: str) -> tuple[str, str, dict[str, Any]]:
    choices: list[dict[str, Any]] = []
    weighted = False
    for marker, value in parts:
        answer, why = _feedback_split(value)
        weight = WEIGHT_RE.match(answer)
        if weight:
            weighted = True
            answer = answer[weight.end() :].strip()
        correct = marker == "=" or (weight is not None and float(weight.group(1)) > 0)
        if not answer:
            raise GiftError("a choice is empty")
        choices.append({"text": answer, "correct": correct, "why": why})
    texts = [c["text"] for c in choices]
    if len(set(texts)) != len(texts):
        raise GiftError("two choices have the same text")
    if not 2 <= len(choices) <= 6:
        raise GiftError(f"a choice question needs 2 to 6 choices, not {len(choices)}")
    right = sum(1 for c in choices if c["correct"])
    if right == 0:
        raise GiftError("no correct choice")
    if right == len(choices):
        raise GiftError("every choice is correct; leave at least one wrong")
    qtype = QuestionType.MULTIPLE if weighted else QuestionType.SINGLE
    if qtype == QuestionType.SINGLE and right != 1:
        raise GiftError("more than one '=' answer: mark the correct ones ~%50% for multiple choice")
    return qtype, explanation, {"choices": choices}


def _number(text: str) -> Decimal:
    try:
        number = Decimal(unescape(text).strip())
    except InvalidOperation:
        raise GiftError(f"{text.strip()!r} is not a number") from None
    if not number.is_finite():
        raise GiftError("numbers must be finite")
    return number


def decimal_text(number: Decimal) -> str:
    """A Decimal without trailing zeros or exponent (12.5000 -> 12.5, 1E+2 -> 100)."""
    text = f"{number.normalize():f}"
    return "0" if text in {"-0", ""} else text


def _numeric(text: str, *, unit: str) -> dict[str, Any]:
    answers = _split_unescaped(text, "=")
    if len(answers) != 1:
        raise GiftError("numeric answers with partial credit have no counterpart here")
    value = _feedback_split(answers[0][1])[0]
    weight = WEIGHT_RE.match(value)
    if weight:
        if Decimal(weight.group(1)) != 100:
            raise GiftError("numeric answers with partial credit have no counterpart here")
        value = value[weight.end() :].strip()
    if ".." in value:
        low, high = (_number(v) for v in value.split("..", 1))
        if low > high:
            raise GiftError("the range's low end is above its high end")
        answer, tolerance = (low + high) / 2, (high - low) / 2
    elif ":" in value:
        raw_answer, raw_tolerance = value.split(":", 1)
        answer, tolerance = _number(raw_answer), _number(raw_tolerance)
    else:
        answer, tolerance = _number(value), Decimal(0)
    if tolerance < 0:
        raise GiftError("the tolerance must not be negative")
    return {"answer": decimal_text(answer), "tolerance": decimal_text(tolerance), "unit": unit}


# ---------------------------------------------------------------- writing


@dataclass
class GiftQuestion:
    """What gift_write needs of a question (built from the database by the caller)."""

    slug: str
    type: str
    lesson_slug: str
    tags: list[str]
    difficulty: str
    interview: bool
    title: str
    prompt: str
    explanation: str
    data: dict[str, Any] = field(default_factory=dict)


def _weight(count: int) -> str:
    return f"{100 / count:.5f}".rstrip("0").rstrip(".")


def gift_write(questions: list[GiftQuestion]) -> str:
    """GIFT text for these questions, grouped by lesson under $CATEGORY lines."""
    out: list[str] = []
    category = None
    for q in questions:
        if q.lesson_slug != category:
            category = q.lesson_slug
            out.append(f"$CATEGORY: $course$/lambda-lab/{category}\n")
        tags = " ".join(f"[tag:{t}]" for t in q.tags)
        extra = " [interview]" if q.interview else ""
        if q.type == QuestionType.NUMERIC and q.data.get("unit"):
            extra += f" [unit:{q.data['unit']}]"
        lines = [
            f"// [id:{q.slug}] [lesson:{q.lesson_slug}] [difficulty:{q.difficulty}] {tags}{extra}"
        ]
        name = f"::{escape(q.title)}::" if q.title else ""
        lines.append(f"{name}[markdown]{escape(q.prompt)} {{")
        lines.extend(_answer_lines(q))
        if q.explanation:
            lines.append(f"\t####{escape(q.explanation)}")
        lines.append("}")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def _answer_lines(q: GiftQuestion) -> list[str]:
    if q.type == QuestionType.TRUE_FALSE:
        return ["\tTRUE" if q.data["answer"] else "\tFALSE"]
    if q.type == QuestionType.NUMERIC:
        return [f"\t#{q.data['answer']}:{q.data['tolerance']}"]
    if q.type == QuestionType.SHORT:
        return [f"\t={escape(point)}" for point in q.data["key_points"]]
    choices = q.data["choices"]
    lines = []
    if q.type == QuestionType.SINGLE:
        for c in choices:
            marker = "=" if c["correct"] else "~"
            lines.append(
                f"\t{marker}{escape(c['text'])}" + (f"#{escape(c['why'])}" if c["why"] else "")
            )
        return lines
    right = _weight(sum(c["correct"] for c in choices))
    for c in choices:
        weight = right if c["correct"] else "-100"
        lines.append(
            f"\t~%{weight}%{escape(c['text'])}" + (f"#{escape(c['why'])}" if c["why"] else "")
        )
    return lines
