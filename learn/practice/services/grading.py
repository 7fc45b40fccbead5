"""Grading rules for every question type. Pure functions: no database writes here."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models

from lambdalab.json_input import json_parse
from learn.practice.models import Answer, QuestionType, QuestionVersion, Rating, SelfGrade


class PracticeError(ValueError):
    """Something the learner can fix; the message is shown to them as is."""


class MalformedAnswer(PracticeError):
    pass


@dataclass
class Response:
    """What the learner submitted, before it is checked against the question."""

    choice_ids: list[int] = field(default_factory=list)
    bool_value: bool | None = None
    numeric_raw: str = ""
    text: str = ""
    code: str = ""


@dataclass
class Grade:
    correct: bool | None  # None: not known yet (self-grade or the sandbox will say)
    score: float | None
    numeric_value: Decimal | None = None


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")

# A numeric answer is kept in Answer.numeric_value. A number that column cannot hold would fail
# the insert (PostgreSQL) or, worse, be stored and then break every later read of the attempt
# (SQLite), so parse_numeric refuses it up front and rounds to the places the column keeps.
_STORED = Answer._meta.get_field("numeric_value")
assert isinstance(_STORED, models.DecimalField)
assert _STORED.max_digits is not None and _STORED.decimal_places is not None
NUMERIC_LIMIT = Decimal(10) ** (_STORED.max_digits - _STORED.decimal_places)
NUMERIC_STEP = Decimal(1).scaleb(-_STORED.decimal_places)


def parse_numeric(raw: str) -> Decimal:
    """Read a number as people type it: "12.5", "-3", "1,000", "1 000", "$0.20", "1e3".

    Raises MalformedAnswer for anything else (including a decimal comma, which is ambiguous)
    and for numbers too large to store; keeps at most the places an answer stores.
    """
    text = raw.strip().replace("\u00a0", " ")
    for prefix in ("$", "US$"):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
    text = text.replace(" ", "").replace("_", "")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not text:
        raise MalformedAnswer("Enter a number, such as 12.5.")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MalformedAnswer(
            f"{raw.strip()!r} is not a number. Use digits with a dot for decimals, such as 12.5."
        ) from None
    if not value.is_finite():
        raise MalformedAnswer("Enter a finite number.")
    if abs(value) >= NUMERIC_LIMIT:
        raise MalformedAnswer(
            f"{raw.strip()!r} is too large a number to be an answer here; check the digits."
        )
    return value.quantize(NUMERIC_STEP)


def numeric_correct(*, value: Decimal, answer: Decimal, tolerance: Decimal) -> bool:
    """Within answer ± tolerance, both edges included, in exact decimal arithmetic."""
    return abs(value - answer) <= tolerance


def grade_response(*, version: QuestionVersion, response: Response) -> Grade:
    """Check a response to a closed question; open types get correct=None.

    Raises MalformedAnswer when the response cannot be an answer to this question at all
    (no choice picked, a choice of another question, a number that is not one).
    """
    qtype = version.question.type
    if qtype in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        choices = list(version.choices.all())
        by_id = {c.pk: c for c in choices}
        picked = set(response.choice_ids)
        if not picked:
            raise MalformedAnswer("Pick an answer first.")
        if not picked <= by_id.keys():
            raise MalformedAnswer("That option is not one of this question's choices.")
        if qtype == QuestionType.SINGLE and len(picked) != 1:
            raise MalformedAnswer("Pick exactly one answer.")
        right = {c.pk for c in choices if c.correct}
        correct = picked == right
        # Partial credit for multiple choice: right picks minus wrong picks, never below 0.
        hits = len(picked & right) - len(picked - right)
        score = 1.0 if correct else max(0.0, hits / len(right))
        return Grade(correct=correct, score=score)
    if qtype == QuestionType.TRUE_FALSE:
        if response.bool_value is None:
            raise MalformedAnswer("Answer true or false.")
        correct = response.bool_value == version.answer_bool
        return Grade(correct=correct, score=1.0 if correct else 0.0)
    if qtype == QuestionType.NUMERIC:
        value = parse_numeric(response.numeric_raw)
        assert version.numeric_answer is not None and version.numeric_tolerance is not None
        correct = numeric_correct(
            value=value, answer=version.numeric_answer, tolerance=version.numeric_tolerance
        )
        return Grade(correct=correct, score=1.0 if correct else 0.0, numeric_value=value)
    if qtype == QuestionType.SHORT:
        return Grade(correct=None, score=None)
    if qtype == QuestionType.CODE:
        if not response.code.strip():
            raise MalformedAnswer("Write some code before running the tests.")
        return Grade(correct=None, score=None)
    raise MalformedAnswer(f"Unknown question type {qtype!r}.")


SELF_GRADE_SCORE = {SelfGrade.MISSED: 0.0, SelfGrade.PARTLY: 0.5, SelfGrade.GOT_IT: 1.0}


def suggested_rating(*, correct: bool | None, score: float | None) -> Rating:
    """The FSRS rating an answer suggests: wrong → Again, partly → Hard, right → Good."""
    if correct:
        return Rating.GOOD
    if score and score > 0:
        return Rating.HARD
    return Rating.AGAIN


# Code challenge comparison -------------------------------------------------------------------


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: unlike Python's ==, true is not 1 and 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def normalise_output(*, expected: Any, payload: Any) -> Any:
    """Parse a proxy response's body string when the test expects a JSON body (see README)."""
    if (
        isinstance(expected, dict)
        and isinstance(expected.get("body"), dict | list)
        and isinstance(payload, dict)
        and isinstance(payload.get("body"), str)
    ):
        try:
            return {**payload, "body": json_parse(payload["body"])}
        except ValueError:
            return payload
    return payload


def output_matches(*, expected: Any, payload: Any) -> bool:
    if (
        isinstance(expected, dict)
        and isinstance(expected.get("body"), dict | list)
        and isinstance(payload, dict)
        and not isinstance(payload.get("body"), str)
    ):
        return False  # a proxy response's body must be a string; a dict makes API Gateway 502
    return json_equal(normalise_output(expected=expected, payload=payload), expected)


def score_of(results: Iterable[bool]) -> float:
    outcomes = list(results)
    return sum(outcomes) / len(outcomes) if outcomes else 0.0


@dataclass(frozen=True)
class Difference:
    """One place where a handler's output differs from what a test expects.

    keys lead from the output to the property (dict keys and list indexes; empty for the whole
    output); kind is "missing", "unexpected", "type", "length" or "value".
    """

    keys: tuple[str | int, ...]
    kind: str
    expected: Any = None
    actual: Any = None

    def path(self, known: Iterable[str] | None = None) -> str:
        """The property as code reaches it: body.items[2].id. With known given (a hidden
        test), a key not in known shows as "*" since keys can be the test's own data."""
        allowed = None if known is None else set(known)
        text = ""
        for key in self.keys:
            if isinstance(key, int):
                text += f"[{key}]"
            else:
                shown = key if allowed is None or key in allowed else "*"
                text += f".{shown}" if text else shown
        return text

    def describe(self, *, reveal: bool, known: Iterable[str] = ()) -> str:
        """In words; with reveal=False (a hidden test) only the property, never its values,
        and only the keys in known (those the learner can read in the task)."""
        path = self.path(None if reveal else known)
        if not path:
            where = "the output"
        elif path.strip("*.[]0123456789") == "":
            where = "a property of the output"  # nothing of the path can be named
        else:
            where = f"`{path}`"
        if self.kind == "missing":
            return f"{where} is missing"
        if self.kind == "unexpected":
            return f"{where} is not expected in the output"
        if self.kind == "type":
            want, got = _json_type(self.expected), _json_type(self.actual)
            return f"{where} should be {want}, not {got}"
        if self.kind == "length":
            if reveal:
                count = len(self.actual)
                return (
                    f"{where} has {count} item{'s' * (count != 1)}, expected {len(self.expected)}"
                )
            return f"{where} has the wrong number of items"
        if reveal:
            return f"{where} is {_short(self.actual)}, expected {_short(self.expected)}"
        return f"{where} has the wrong value"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _same_kind(a: Any, b: Any) -> bool:
    return _json_type(a) == _json_type(b)


def output_differences(*, expected: Any, payload: Any, limit: int = 5) -> list[Difference]:
    """Where payload differs from expected, property by property (at most limit places), by
    the same rules as output_matches: JSON equality, and a proxy response's body compared as
    JSON when the test expects a JSON body (it must then be a string). Empty when they match."""
    found: list[Difference] = []
    if (
        isinstance(expected, dict)
        and isinstance(expected.get("body"), dict | list)
        and isinstance(payload, dict)
        and "body" in payload
        and not isinstance(payload.get("body"), str)
    ):
        found.append(Difference(("body",), "type", expected="JSON text", actual=payload["body"]))
    _walk(expected, normalise_output(expected=expected, payload=payload), (), found, limit)
    return found[:limit]


def _walk(
    expected: Any, actual: Any, keys: tuple[str | int, ...], found: list[Difference], limit: int
) -> None:
    if len(found) >= limit or json_equal(expected, actual):
        return
    if not _same_kind(expected, actual):
        found.append(Difference(keys, "type", expected, actual))
    elif isinstance(expected, dict):
        for key in expected:
            if key not in actual:
                found.append(Difference((*keys, key), "missing", expected[key]))
            else:
                _walk(expected[key], actual[key], (*keys, key), found, limit)
        for key in actual:
            if key not in expected:
                found.append(Difference((*keys, key), "unexpected"))
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            found.append(Difference(keys, "length", expected, actual))
        for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
            _walk(want, got, (*keys, index), found, limit)
    else:
        found.append(Difference(keys, "value", expected, actual))


def known_keys(*, text: str, samples: Iterable[Any]) -> set[str]:
    """Keys a learner can read: every key of the sample tests' expected outputs, and any word
    of the task's text (the Return: block names the output's properties)."""
    keys: set[str] = set(re.findall(r"[A-Za-z_][A-Za-z0-9_-]*", text))

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            keys.update(str(k) for k in value)
            for child in value.values():
                collect(child)
        elif isinstance(value, list):
            for child in value:
                collect(child)

    for sample in samples:
        collect(sample)
    return keys


def json_diff_lines(*, expected: Any, actual: Any) -> list[tuple[str, str]]:
    """A line diff of the two values as indented JSON, keys sorted: (mark, text) pairs with
    mark "-" (expected only), "+" (the output only) or " " (both)."""

    def lines(value: Any) -> list[str]:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()

    result = []
    for line in difflib.ndiff(lines(expected), lines(actual)):
        if line.startswith("? "):
            continue  # ndiff's hint lines
        result.append((line[0], line[2:]))
    return result
