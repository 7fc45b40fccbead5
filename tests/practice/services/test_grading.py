from decimal import Decimal

import pytest

from learn.practice.models import Rating
from learn.practice.services.grading import (
    MalformedAnswer,
    Response,
    grade_response,
    json_equal,
    numeric_correct,
    output_matches,
    parse_numeric,
    suggested_rating,
)
from tests.practice.factories import (
    multiple_question,
    numeric_question,
    short_question,
    single_question,
    true_false_question,
)

pytestmark = pytest.mark.django_db


def choice_ids(version, *texts):
    return [c.pk for c in version.choices.all() if c.text in texts]


def test_single_choice_right_and_wrong():
    version = single_question()
    right = grade_response(
        version=version, response=Response(choice_ids=choice_ids(version, "15 minutes"))
    )
    wrong = grade_response(
        version=version, response=Response(choice_ids=choice_ids(version, "1 hour"))
    )
    assert (right.correct, right.score) == (True, 1.0)
    assert (wrong.correct, wrong.score) == (False, 0.0)


def test_single_choice_refuses_two_picks_none_and_foreign_choices():
    version = single_question()
    other = single_question()
    with pytest.raises(MalformedAnswer, match="exactly one"):
        grade_response(
            version=version,
            response=Response(choice_ids=choice_ids(version, "15 minutes", "1 hour")),
        )
    with pytest.raises(MalformedAnswer, match="Pick an answer"):
        grade_response(version=version, response=Response())
    with pytest.raises(MalformedAnswer, match="not one of"):
        grade_response(
            version=version, response=Response(choice_ids=choice_ids(other, "15 minutes"))
        )


def test_multiple_choice_needs_the_exact_set_and_gives_partial_credit():
    version = multiple_question()
    exact = grade_response(
        version=version,
        response=Response(choice_ids=choice_ids(version, "S3", "SQS", "DynamoDB Streams")),
    )
    partial = grade_response(
        version=version, response=Response(choice_ids=choice_ids(version, "S3", "SQS"))
    )
    with_wrong = grade_response(
        version=version, response=Response(choice_ids=choice_ids(version, "S3", "A cron on EC2"))
    )
    assert exact.correct and exact.score == 1.0
    assert not partial.correct and partial.score == pytest.approx(2 / 3)
    assert not with_wrong.correct and with_wrong.score == 0.0


def test_true_false():
    version = true_false_question(answer=False)
    assert grade_response(version=version, response=Response(bool_value=False)).correct
    assert not grade_response(version=version, response=Response(bool_value=True)).correct
    with pytest.raises(MalformedAnswer):
        grade_response(version=version, response=Response())


@pytest.mark.parametrize(
    ("raw", "correct"),
    [
        ("12.5", True),
        ("12.49", True),  # exactly answer - tolerance: the edge is inside
        ("12.51", True),  # exactly answer + tolerance
        ("12.4899", False),
        ("12.5101", False),
        ("$12.50", True),
        (" 12.500 ", True),
    ],
)
def test_numeric_tolerance_edges(raw, correct):
    version = numeric_question(answer="12.5", tolerance="0.01")
    assert grade_response(version=version, response=Response(numeric_raw=raw)).correct is correct


def test_numeric_exact_with_zero_tolerance():
    assert numeric_correct(value=Decimal("1000"), answer=Decimal("1000"), tolerance=Decimal(0))
    assert not numeric_correct(
        value=Decimal("1000.0001"), answer=Decimal("1000"), tolerance=Decimal(0)
    )


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1,000", "1000"), ("1 000 000", "1000000"), ("-3", "-3"), ("1e3", "1000"), ("0.20", "0.20")],
)
def test_parse_numeric_accepts_what_people_type(raw, value):
    assert parse_numeric(raw) == Decimal(value)


@pytest.mark.parametrize("raw", ["", "twelve", "12,5", "1.2.3", "nan", "inf", "12 MB"])
def test_parse_numeric_refuses_malformed_numbers_with_a_clear_message(raw):
    with pytest.raises(MalformedAnswer) as error:
        parse_numeric(raw)
    assert "number" in str(error.value)


@pytest.mark.parametrize("raw", ["1e9999", "-1e20", "100000000000000"])
def test_parse_numeric_refuses_numbers_an_answer_cannot_store(raw):
    with pytest.raises(MalformedAnswer, match="too large a number"):
        parse_numeric(raw)


def test_parse_numeric_rounds_to_the_places_an_answer_stores():
    assert parse_numeric("1e-9999") == 0
    assert parse_numeric("99999999999999.12345678901") == Decimal("99999999999999.1234567890")


def test_short_answers_wait_for_a_self_grade():
    grade = grade_response(version=short_question(), response=Response(text="900 s"))
    assert grade.correct is None and grade.score is None


def test_suggested_rating():
    assert suggested_rating(correct=True, score=1.0) == Rating.GOOD
    assert suggested_rating(correct=False, score=0.5) == Rating.HARD
    assert suggested_rating(correct=False, score=0.0) == Rating.AGAIN


def test_json_equal_is_json_equality_not_python_equality():
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(True, 1)
    assert not json_equal({"ok": 1}, {"ok": True})
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})
    assert not json_equal("1", 1)


def test_proxy_body_is_parsed_when_the_test_expects_json():
    expected = {"statusCode": 200, "body": {"sum": 42}}
    assert output_matches(expected=expected, payload={"statusCode": 200, "body": '{"sum": 42}'})
    assert not output_matches(expected=expected, payload={"statusCode": 200, "body": {"sum": 42}})
    assert not output_matches(expected=expected, payload={"statusCode": 200, "body": "not json"})


# Differences between a handler's output and a test's expected output ------------------------


def test_output_differences_name_each_property_that_differs():
    from learn.practice.services.grading import output_differences

    expected = {"billed_ms": 854, "init_ms": 812.35, "items": [{"id": 1}, {"id": 2}], "cold": True}
    payload = {"billed_ms": 42, "items": [{"id": 1}, {"id": "2"}], "cold": True, "extra": 0}
    found = {(d.path(), d.kind) for d in output_differences(expected=expected, payload=payload)}
    assert found == {
        ("billed_ms", "value"),
        ("init_ms", "missing"),
        ("items[1].id", "type"),
        ("extra", "unexpected"),
    }
    assert output_differences(expected=expected, payload=expected) == []
    # true is not 1, as output_matches decides.
    (one,) = output_differences(expected={"ok": True}, payload={"ok": 1})
    assert (one.path(), one.kind) == ("ok", "type")


def test_a_proxy_body_that_is_not_a_string_is_the_difference():
    from learn.practice.services.grading import output_differences

    expected = {"statusCode": 200, "body": {"n": 1}}
    (found,) = output_differences(expected=expected, payload={"statusCode": 200, "body": {"n": 1}})
    assert found.path() == "body" and "should be a string" in found.describe(reveal=True)
    assert (
        output_differences(expected=expected, payload={"statusCode": 200, "body": '{"n": 1}'}) == []
    )


def test_a_hidden_difference_names_the_property_never_its_values_or_unknown_keys():
    from learn.practice.services.grading import known_keys, output_differences

    expected = {"charged": {"order-77": 25}, "count": 3, "ids": [1, 2, 3]}
    payload = {"charged": {"order-77": 26}, "count": 2, "ids": [1, 2]}
    known = known_keys(text="Return `{charged: {...}, count, ids}`.", samples=[{"count": 1}])
    hidden = [
        d.describe(reveal=False, known=known)
        for d in output_differences(expected=expected, payload=payload)
    ]
    assert hidden == [
        "`charged.*` has the wrong value",
        "`count` has the wrong value",
        "`ids` has the wrong number of items",
    ]
    assert not any("77" in line or "26" in line or "3" in line for line in hidden)
    shown = [
        d.describe(reveal=True) for d in output_differences(expected=expected, payload=payload)
    ]
    assert "`charged.order-77` is 26, expected 25" in shown
    assert "`ids` has 2 items, expected 3" in shown


def test_json_diff_lines_mark_what_only_one_side_has():
    from learn.practice.services.grading import json_diff_lines

    lines = json_diff_lines(expected={"a": 1, "b": 2}, actual={"a": 1, "b": 3})
    assert ("-", '  "b": 2') in lines and ("+", '  "b": 3') in lines
    assert (" ", '  "a": 1,') in lines
