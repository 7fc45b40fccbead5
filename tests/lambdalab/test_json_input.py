import json

import pytest

from lambdalab.json_input import MAX_JSON_DEPTH, JSONTooDeep, json_depth, json_parse


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('"[[[{"', 0),
        ("[]", 1),
        ('{"a": [1, {"b": "]]]"}]}', 3),
        ('["\\"[", [[]]]', 3),
        (b"[[1]]", 2),
    ],
)
def test_json_depth_counts_nesting_outside_strings(text, depth):
    assert json_depth(text) == depth


def test_deep_json_is_refused_before_parsing_without_recursion():
    with pytest.raises(JSONTooDeep, match="The event is nested 5,000 levels deep"):
        json_parse("[" * 5000, what="The event")
    with pytest.raises(JSONTooDeep):
        json_parse(b"[" * 100_000 + b"]" * 100_000)


def test_json_at_the_limit_parses_and_bad_json_raises_decode_errors():
    deepest = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json_depth(json.dumps(json_parse(deepest))) == MAX_JSON_DEPTH
    with pytest.raises(JSONTooDeep):
        json_parse("[" + deepest + "]")
    assert json_parse('{"many": ' + json.dumps([[1]] * 500) + "}")["many"][0] == [1]
    with pytest.raises(json.JSONDecodeError):
        json_parse("{nope")
