"""learn/cohorts/gift.py: reading every construct, and writing what it reads."""

from decimal import Decimal
from pathlib import Path

import pytest

from learn.cohorts.gift import (
    GiftQuestion,
    decimal_text,
    escape,
    gift_parse,
    gift_write,
    unescape,
)

EVERY = (Path(__file__).parent / "data" / "every_construct.gift").read_text()
LESSONS = {"limits", "pricing"}


def parsed():
    return gift_parse(EVERY, lesson_slugs=LESSONS)


def by_slug():
    return {item.parsed.slug: item.parsed for item in parsed() if item.parsed}


def test_every_construct_is_read() -> None:
    questions = by_slug()
    assert set(questions) == {
        "max-timeout",
        "event-sources",
        "tmp-default",
        "tf-true",
        "tf-false",
        "price-numeric",
        "range-numeric",
        "exact-numeric",
        "short-timeout",
        "escapes",
    }
    single = questions["max-timeout"]
    assert (single.type, single.title, single.difficulty, single.interview) == (
        "single",
        "Longest timeout",
        "easy",
        True,
    )
    assert single.tags == ["timeouts", "limits"] and single.lesson_slug == "limits"
    assert single.prompt == "What is the **longest** timeout a function can have?"
    assert single.explanation == "The maximum is 900 s: 15 minutes."
    assert single.data["choices"][0] == {
        "text": "15 minutes",
        "correct": True,
        "why": "Yes: 900 seconds.",
    }
    assert [c["correct"] for c in single.data["choices"]] == [True, False, False]

    multiple = questions["event-sources"]
    assert multiple.type == "multiple" and multiple.difficulty == "medium"
    assert [c["correct"] for c in multiple.data["choices"]] == [True, True, False]

    blank = questions["tmp-default"]
    assert blank.prompt == "The default size of /tmp is _____ unless you change it."
    assert blank.tags == ["limits"] and blank.type == "single"

    assert questions["tf-true"].data == {"answer": True}
    assert questions["tf-true"].explanation == "Since December 2020."
    assert questions["tf-false"].data == {"answer": False}

    assert questions["price-numeric"].data == {
        "answer": "0.0000166667",
        "tolerance": "0.0000000001",
        "unit": "USD",
    }
    assert questions["range-numeric"].data == {"answer": "6", "tolerance": "1", "unit": ""}
    assert questions["exact-numeric"].data == {"answer": "3", "tolerance": "0", "unit": ""}

    short = questions["short-timeout"]
    assert short.type == "short"
    assert short.data == {"key_points": ["Task timed out", "timeout"]}
    assert short.explanation == "Accepted answers: Task timed out; timeout"

    escapes = questions["escapes"]
    assert escapes.prompt == (
        'Which is valid JSON: {"a": 1} or {a = 1}? Use a \\ and a # too.\nSecond line.'
    )
    assert escapes.data["choices"][0] == {
        "text": '{"a": 1}',
        "correct": True,
        "why": "Keys are quoted ~ always.",
    }


def test_what_cannot_be_imported_is_rejected_with_the_reason() -> None:
    errors = [(item.line, item.error) for item in parsed() if item.error]
    reasons = [error for _, error in errors]
    assert len(errors) == 5
    assert "essay" in reasons[0]
    assert "matching" in reasons[1]
    assert "partial credit" in reasons[2]
    assert "unknown lesson 'nope'" in reasons[3]
    assert "description" in reasons[4]
    assert errors[0][0] == EVERY.split("\n").index("Explain cold starts. {}") + 1


def test_without_a_lesson_the_default_is_used_or_the_question_refused() -> None:
    text = "Is it? {T}"
    (item,) = gift_parse(text, lesson_slugs=LESSONS)
    assert "no lesson" in item.error
    (item,) = gift_parse(text, lesson_slugs=LESSONS, default_lesson="pricing")
    assert item.parsed.lesson_slug == "pricing" and item.parsed.slug == "is-it"


def test_single_choice_needs_one_right_answer() -> None:
    (item,) = gift_parse("Q {=a =b ~c}", lesson_slugs=LESSONS, default_lesson="limits")
    assert "more than one '='" in item.error
    (item,) = gift_parse("Q {~a ~b}", lesson_slugs=LESSONS, default_lesson="limits")
    assert item.error == "no correct choice"


def as_question(p) -> GiftQuestion:
    return GiftQuestion(
        slug=p.slug,
        type=p.type,
        lesson_slug=p.lesson_slug,
        tags=p.tags,
        difficulty=p.difficulty,
        interview=p.interview,
        title=p.title,
        prompt=p.prompt,
        explanation=p.explanation,
        data=p.data,
    )


def test_writing_what_was_read_reads_back_the_same() -> None:
    first = [item.parsed for item in parsed() if item.parsed]
    text = gift_write([as_question(p) for p in first])
    again = [item.parsed for item in gift_parse(text, lesson_slugs=LESSONS)]
    assert [p.content_hash for p in again] == [p.content_hash for p in first]
    assert [(p.slug, p.tags, p.title, p.difficulty, p.interview, p.lesson_slug) for p in again] == [
        (p.slug, p.tags, p.title, p.difficulty, p.interview, p.lesson_slug) for p in first
    ]
    assert gift_write([as_question(p) for p in again]) == text


@pytest.mark.parametrize(
    "text", ["plain", "a:b", "{x}", "~=#", "back\\slash", "two\nlines", "\\n literally", "::"]
)
def test_escape_round_trips(text) -> None:
    assert unescape(escape(text)) == text
    assert "\n" not in escape(text)


def test_decimal_text_drops_trailing_zeros() -> None:
    assert decimal_text(Decimal("12.5000000000")) == "12.5"
    assert decimal_text(Decimal("100.0000000000")) == "100"
    assert decimal_text(Decimal("0E-10")) == "0"
