"""IAM Condition blocks (sandbox/aws/conditions.py) and their place in policy evaluation
(sandbox/aws/policies.py)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.aws.conditions import ConditionError, holds, problem
from sandbox.aws.policies import Decision, PolicyError, evaluate, validate

ROLE = "arn:aws:iam::111122223333:role/worker"
CONTEXT: dict[str, Any] = {
    "aws:requestedregion": "us-east-1",
    "aws:principalarn": ROLE,
    "aws:principalaccount": "111122223333",
    "aws:principaltype": "AssumedRole",
    "aws:securetransport": "false",
    "aws:currenttime": "2026-12-02T03:00:00Z",
    "aws:epochtime": "1796180400",
    "s3:max-keys": "50",
    "dynamodb:leadingkeys": ["alice", "bob"],
}


def check(operator: str, key: str, values: Any, context: dict[str, Any] | None = None) -> bool:
    return holds({operator: {key: values}}, CONTEXT if context is None else context)


@pytest.mark.parametrize(
    ("operator", "values", "expected"),
    [
        ("StringEquals", "us-east-1", True),
        ("StringEquals", "US-EAST-1", False),
        ("StringEquals", ["eu-west-1", "us-east-1"], True),  # values are ORed
        ("StringNotEquals", "us-east-1", False),
        ("StringNotEquals", ["eu-west-1", "eu-west-2"], True),
        ("StringNotEquals", ["eu-west-1", "us-east-1"], False),  # negated: none may match
        ("StringEqualsIgnoreCase", "US-East-1", True),
        ("StringNotEqualsIgnoreCase", "US-East-1", False),
        ("StringLike", "us-*", True),
        ("StringLike", "us-east-?", True),
        ("StringLike", "us-east-??", False),
        ("StringNotLike", "eu-*", True),
        ("StringNotLike", "*-1", False),
    ],
)
def test_string_operators(operator: str, values: Any, expected: bool) -> None:
    assert check(operator, "aws:RequestedRegion", values) is expected


def test_key_names_ignore_case_and_values_do_not() -> None:
    assert check("StringEquals", "AWS:REQUESTEDREGION", "us-east-1")
    assert not check("StringLike", "aws:requestedregion", "US-*")


@pytest.mark.parametrize(
    ("operator", "values", "expected"),
    [
        ("ArnEquals", ROLE, True),
        ("ArnLike", "arn:aws:iam::*:role/work*", True),
        ("ArnLike", "arn:aws:iam::111122223333:role/*", True),
        ("ArnLike", "arn:aws:iam::111122223333:user/*", False),
        # Wildcards do not cross the colons between the six parts.
        ("ArnLike", "arn:aws:*:role/worker", False),
        ("ArnLike", "arn:aws:iam::111122223333:ROLE/*", False),
        ("ArnNotEquals", ROLE, False),
        ("ArnNotLike", "arn:aws:iam::*:role/admin*", True),
        ("ArnEquals", "not-an-arn", False),
    ],
)
def test_arn_operators(operator: str, values: Any, expected: bool) -> None:
    assert check(operator, "aws:PrincipalArn", values) is expected


@pytest.mark.parametrize(
    ("operator", "values", "expected"),
    [
        ("NumericEquals", "50", True),
        ("NumericEquals", "50.0", True),
        ("NumericEquals", 50, True),  # JSON numbers are allowed, as IAM's grammar says
        ("NumericNotEquals", "50", False),
        ("NumericNotEquals", ["10", "20"], True),
        ("NumericLessThan", "100", True),
        ("NumericLessThan", "50", False),
        ("NumericLessThanEquals", "50", True),
        ("NumericGreaterThan", "10", True),
        ("NumericGreaterThan", "50", False),
        ("NumericGreaterThanEquals", "50", True),
        ("NumericEquals", "fifty", False),  # a value that is no number matches nothing
    ],
)
def test_numeric_operators(operator: str, values: Any, expected: bool) -> None:
    assert check(operator, "s3:max-keys", values) is expected


@pytest.mark.parametrize(
    ("operator", "values", "expected"),
    [
        ("DateEquals", "2026-12-02T03:00:00Z", True),
        ("DateEquals", "2026-12-02T04:00:00+01:00", True),
        ("DateNotEquals", "2026-12-02T03:00:00Z", False),
        ("DateLessThan", "2027-01-01T00:00:00Z", True),
        ("DateLessThan", "2026-12-01", False),
        ("DateLessThanEquals", "2026-12-02T03:00:00Z", True),
        ("DateGreaterThan", "2026-01-01", True),
        ("DateGreaterThan", "1896180400", False),  # epoch seconds, in 2030
        ("DateGreaterThanEquals", "1796180400", True),
    ],
)
def test_date_operators(operator: str, values: Any, expected: bool) -> None:
    assert check(operator, "aws:CurrentTime", values) is expected
    assert check(operator, "aws:EpochTime", values) is expected


def test_bool_null_and_ip_address() -> None:
    assert check("Bool", "aws:SecureTransport", "false")
    assert check("Bool", "aws:SecureTransport", False)
    assert not check("Bool", "aws:SecureTransport", "true")
    assert check("Null", "aws:SourceIp", "true")  # absent
    assert not check("Null", "aws:SourceIp", "false")
    assert check("Null", "aws:PrincipalArn", "false")  # present
    assert not check("Null", "aws:PrincipalArn", "true")
    # aws:SourceIp is absent for a function's calls: IpAddress never holds, and NotIpAddress,
    # a negated operator, holds as every negated operator does for an absent key.
    assert not check("IpAddress", "aws:SourceIp", "10.0.0.0/8")
    assert check("NotIpAddress", "aws:SourceIp", "10.0.0.0/8")
    with_ip = {**CONTEXT, "aws:sourceip": "10.1.2.3"}
    assert check("IpAddress", "aws:SourceIp", ["192.168.0.0/16", "10.0.0.0/8"], with_ip)
    assert not check("IpAddress", "aws:SourceIp", "10.1.2.4/32", with_ip)
    assert not check("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", with_ip)


def test_an_absent_key_fails_positive_operators_and_passes_negated_ones() -> None:
    for operator, value in (
        ("StringEquals", "x"),
        ("StringLike", "*"),
        ("ArnLike", "arn:*:*:*:*:*"),
        ("NumericLessThan", "1"),
        ("DateLessThan", "2030-01-01"),
        ("Bool", "false"),
    ):
        assert not check(operator, "aws:username", value)
    for operator, value in (
        ("StringNotEquals", "x"),
        ("StringNotEqualsIgnoreCase", "x"),
        ("StringNotLike", "*"),
        ("ArnNotEquals", ROLE),
        ("ArnNotLike", "arn:*:*:*:*:*"),
        ("NumericNotEquals", "1"),
        ("DateNotEquals", "2030-01-01"),
    ):
        assert check(operator, "aws:username", value)


def test_if_exists_holds_for_an_absent_key_and_checks_a_present_one() -> None:
    assert check("StringEqualsIfExists", "aws:username", "x")
    assert check("StringNotEqualsIfExists", "aws:username", "x")
    assert check("StringEqualsIfExists", "aws:RequestedRegion", "us-east-1")
    assert not check("StringEqualsIfExists", "aws:RequestedRegion", "eu-west-1")
    assert not check("StringNotEqualsIfExists", "aws:RequestedRegion", "us-east-1")
    assert check("NumericLessThanIfExists", "s3:max-keys", "100")


def test_set_qualifiers_on_a_multivalued_key() -> None:
    key = "dynamodb:LeadingKeys"
    assert check("ForAllValues:StringEquals", key, ["alice", "bob", "carol"])
    assert not check("ForAllValues:StringEquals", key, ["alice"])
    assert check("ForAnyValue:StringEquals", key, ["alice"])
    assert not check("ForAnyValue:StringEquals", key, ["carol"])
    assert check("ForAllValues:StringLike", key, ["*"])
    # Negated: every (or some) request value must match none of the policy's values.
    assert check("ForAllValues:StringNotEquals", key, ["carol"])
    assert not check("ForAllValues:StringNotEquals", key, ["alice"])
    assert check("ForAnyValue:StringNotEquals", key, ["alice"])
    assert not check("ForAnyValue:StringNotEquals", key, ["alice", "bob"])
    # Without a qualifier any request value may match; negated, none may.
    assert check("StringEquals", key, "bob")
    assert not check("StringNotEquals", key, "bob")


def test_set_qualifiers_on_an_absent_or_empty_key() -> None:
    # IAM's known trap: ForAllValues holds when there are no values at all.
    for context in ({}, {"dynamodb:leadingkeys": []}):
        assert check("ForAllValues:StringEquals", "dynamodb:LeadingKeys", "alice", context)
        assert check("ForAllValues:StringNotEquals", "dynamodb:LeadingKeys", "alice", context)
        assert not check("ForAnyValue:StringEquals", "dynamodb:LeadingKeys", "alice", context)
        assert not check("ForAnyValue:StringNotEquals", "dynamodb:LeadingKeys", "alice", context)
    assert check("Null", "dynamodb:LeadingKeys", "true", {"dynamodb:leadingkeys": []})


def test_keys_and_operators_are_anded() -> None:
    both = {
        "StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:PrincipalType": "AssumedRole"},
        "Bool": {"aws:SecureTransport": "false"},
    }
    assert holds(both, CONTEXT)
    assert not holds({**both, "Bool": {"aws:SecureTransport": "true"}}, CONTEXT)
    assert not holds(
        {"StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:PrincipalType": "User"}},
        CONTEXT,
    )
    assert holds({}, CONTEXT)


def test_policy_variables_are_filled_in_and_an_unresolved_one_matches_nothing() -> None:
    context = {**CONTEXT, "s3:prefix": "home/111122223333/notes"}
    assert check("StringLike", "s3:prefix", "home/${aws:PrincipalAccount}/*", context)
    assert not check("StringLike", "s3:prefix", "home/${aws:PrincipalType}/*", context)
    assert check(
        "StringEquals", "aws:PrincipalArn", "arn:aws:iam::${aws:PrincipalAccount}:role/worker"
    )
    # ${*} is a literal star, not a wildcard.
    assert not check("StringLike", "s3:prefix", "home/${*}", context)
    assert check("StringLike", "s3:prefix", "home/${*}", {"s3:prefix": "home/*"})
    # A default stands in for an absent key.
    assert check("StringLike", "s3:prefix", "home/${aws:username, '111122223333'}/*", context)
    # aws:username is absent for role sessions, and a multivalued key cannot be a variable:
    # either way the key is false, negated or not.
    for value in ("home/${aws:username}/*", "home/${dynamodb:LeadingKeys}/*"):
        assert not check("StringLike", "s3:prefix", value, context)
        assert not check("StringNotLike", "s3:prefix", value, context)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"StringEqual": {"aws:username": "x"}}, "Syntax errors in policy."),
        ({"ForSomeValues:StringEquals": {"aws:username": "x"}}, "Syntax errors in policy."),
        ({"StringEquals": "aws:username"}, "Syntax errors in policy."),
        ({"StringEquals": {"aws:username": {"nested": "x"}}}, "Syntax errors in policy."),
        ({"StringEquals": {"aws:username": None}}, "Syntax errors in policy."),
        ({"StringEquals": {"aws:username": [["x"]]}}, "Syntax errors in policy."),
        (["StringEquals"], "Syntax errors in policy."),
        ({"DateLessThan": {"aws:CurrentTime": "next tuesday"}}, "The policy failed legacy parsing"),
    ],
)
def test_malformed_conditions_are_refused_with_iams_words(condition: Any, message: str) -> None:
    assert problem(condition) == message
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": condition}
        ],
    }
    with pytest.raises(PolicyError, match=message.rstrip(".")):
        validate(document)
    with pytest.raises(ConditionError):
        holds(condition, CONTEXT)


def test_well_formed_conditions_are_accepted() -> None:
    for condition in (
        {"ForAnyValue:StringLikeIfExists": {"dynamodb:LeadingKeys": ["a*", "b"]}},
        {"NumericLessThan": {"s3:max-keys": 10}},
        {"Bool": {"aws:SecureTransport": True}},
        {"DateGreaterThan": {"aws:CurrentTime": ["2026-01-01", "1796180400"]}},
        {"Null": {"aws:SourceIp": "true"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    ):
        assert problem(condition) is None


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_a_condition_decides_whether_its_statement_applies() -> None:
    table = "arn:aws:dynamodb:us-east-1:111122223333:table/Orders"
    allow = doc(
        {
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": table,
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "alice"}},
        }
    )
    mine = {"dynamodb:leadingkeys": ["alice"]}
    theirs = {"dynamodb:leadingkeys": ["bob"]}
    assert evaluate([allow], action="dynamodb:GetItem", resource=table, context=mine) is (
        Decision.ALLOW
    )
    assert evaluate([allow], action="dynamodb:GetItem", resource=table, context=theirs) is (
        Decision.IMPLICIT_DENY
    )
    everything = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    outside = doc(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
        }
    )
    here = {"aws:requestedregion": "us-east-1"}
    there = {"aws:requestedregion": "eu-west-1"}
    assert evaluate([everything, outside], action="s3:GetObject", resource="x", context=here) is (
        Decision.ALLOW
    )
    assert evaluate([everything, outside], action="s3:GetObject", resource="x", context=there) is (
        Decision.EXPLICIT_DENY
    )


def test_a_condition_stored_malformed_only_refuses_more() -> None:
    # Documents saved before conditions were checked: an Allow with a broken Condition never
    # applies and a Deny with one always does, and neither raises.
    broken = {"StringEqual": {"aws:RequestedRegion": "us-east-1"}}
    allow = doc({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": broken})
    deny = doc({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": broken})
    everything = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert evaluate([allow], action="s3:GetObject", resource="x", context=CONTEXT) is (
        Decision.IMPLICIT_DENY
    )
    assert evaluate([everything, deny], action="s3:GetObject", resource="x", context=CONTEXT) is (
        Decision.EXPLICIT_DENY
    )


def test_policy_variables_in_resources() -> None:
    mine = "arn:aws:s3:::photos/111122223333/cat.jpg"
    theirs = "arn:aws:s3:::photos/444455556666/cat.jpg"
    allow = doc(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::photos/${aws:PrincipalAccount}/*",
        }
    )
    assert evaluate([allow], action="s3:GetObject", resource=mine, context=CONTEXT) is (
        Decision.ALLOW
    )
    assert evaluate([allow], action="s3:GetObject", resource=theirs, context=CONTEXT) is (
        Decision.IMPLICIT_DENY
    )
    # Without the key (aws:username, for a role) the resource matches nothing.
    by_name = doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::photos/${aws:username}/*"}
    )
    named = "arn:aws:s3:::photos/${aws:username}/x"
    assert evaluate([by_name], action="s3:GetObject", resource=named, context=CONTEXT) is (
        Decision.IMPLICIT_DENY
    )
    # A NotResource that cannot be filled keeps its statement from applying.
    everything = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny_others = doc(
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "NotResource": ["arn:aws:s3:::photos/${aws:PrincipalAccount}/*"],
        }
    )
    unknown = doc(
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::${aws:username}"}
    )
    assert evaluate(
        [everything, deny_others], action="s3:GetObject", resource=mine, context=CONTEXT
    ) is (Decision.ALLOW)
    assert (
        evaluate([everything, deny_others], action="s3:GetObject", resource=theirs, context=CONTEXT)
        is Decision.EXPLICIT_DENY
    )
    assert evaluate(
        [everything, unknown], action="s3:GetObject", resource=mine, context=CONTEXT
    ) is (Decision.ALLOW)
