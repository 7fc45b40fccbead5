"""IAM policy evaluation (sandbox/aws/policies.py) and how requests map to actions
(sandbox/aws/actions.py)."""

from __future__ import annotations

import json

import pytest

from sandbox.aws.actions import operation_of
from sandbox.aws.policies import Decision, PolicyError, evaluate, validate

TABLE = "arn:aws:dynamodb:us-east-1:111122223333:table/Orders"


def doc(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_actions_and_resources_match_with_wildcards() -> None:
    policy = doc({"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": TABLE[:-3] + "*"})
    assert evaluate([policy], action="dynamodb:GetItem", resource=TABLE) is Decision.ALLOW
    assert evaluate([policy], action="DynamoDB:getitem", resource=TABLE) is Decision.ALLOW
    assert evaluate([policy], action="dynamodb:PutItem", resource=TABLE) is Decision.IMPLICIT_DENY
    # Resources are case-sensitive; ? is one character.
    assert evaluate([policy], action="dynamodb:GetItem", resource=TABLE.upper()) is (
        Decision.IMPLICIT_DENY
    )
    one = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/?.txt"})
    assert evaluate([one], action="s3:GetObject", resource="arn:aws:s3:::b/a.txt") is Decision.ALLOW
    assert evaluate([one], action="s3:GetObject", resource="arn:aws:s3:::b/ab.txt") is (
        Decision.IMPLICIT_DENY
    )


def test_explicit_deny_wins_and_nothing_is_allowed_by_default() -> None:
    allow = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = doc({"Effect": "Deny", "Action": ["sqs:Delete*"], "Resource": "*"})
    assert evaluate([], action="sqs:SendMessage", resource="*") is Decision.IMPLICIT_DENY
    assert evaluate([allow, deny], action="sqs:DeleteQueue", resource="x") is (
        Decision.EXPLICIT_DENY
    )
    assert evaluate([allow, deny], action="sqs:SendMessage", resource="x") is Decision.ALLOW


def test_not_action_not_resource_and_conditions() -> None:
    everything_but_iam = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert evaluate([everything_but_iam], action="s3:GetObject", resource="x") is Decision.ALLOW
    assert evaluate([everything_but_iam], action="iam:CreateRole", resource="x") is (
        Decision.IMPLICIT_DENY
    )
    not_here = doc({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"})
    assert evaluate([not_here], action="s3:GetObject", resource="arn:aws:s3:::secret/k") is (
        Decision.IMPLICIT_DENY
    )
    conditional = doc(
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        }
    )
    assert evaluate([conditional], action="s3:GetObject", resource="x") is Decision.IMPLICIT_DENY


def test_malformed_documents_are_refused() -> None:
    validate(doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))
    for bad in (
        "nope",
        {"Version": "2012-10-17"},
        doc({"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}),
        doc({"Effect": "Allow", "Action": "s3:*"}),
        doc({"Effect": "Allow", "Action": "GetObject", "Resource": "*"}),
    ):
        with pytest.raises(PolicyError):
            validate(bad)


@pytest.mark.parametrize(
    ("service", "method", "path", "query", "headers", "body", "expected"),
    [
        ("s3", "GET", "/", "", {}, b"", ("s3:ListAllMyBuckets", "*")),
        ("s3", "PUT", "/b", "", {}, b"", ("s3:CreateBucket", "arn:aws:s3:::b")),
        ("s3", "GET", "/b", "list-type=2", {}, b"", ("s3:ListBucket", "arn:aws:s3:::b")),
        ("s3", "HEAD", "/b/a%20b", "", {}, b"", ("s3:GetObject", "arn:aws:s3:::b/a b")),
        (
            "s3",
            "PUT",
            "/b/k",
            "partNumber=1&uploadId=x",
            {},
            b"",
            ("s3:PutObject", "arn:aws:s3:::b/k"),
        ),
        (
            "s3",
            "PUT",
            "/b",
            "notification",
            {},
            b"",
            ("s3:PutBucketNotification", "arn:aws:s3:::b"),
        ),
        (
            "dynamodb",
            "POST",
            "/",
            "",
            {"x-amz-target": "DynamoDB_20120810.Query"},
            json.dumps({"TableName": "Orders", "IndexName": "byDate"}).encode(),
            ("dynamodb:Query", TABLE + "/index/byDate"),
        ),
        (
            "sqs",
            "POST",
            "/",
            "",
            {"x-amz-target": "AmazonSQS.SendMessageBatch"},
            json.dumps({"QueueUrl": "http://h/111122223333/jobs"}).encode(),
            ("sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:jobs"),
        ),
        (
            "events",
            "POST",
            "/",
            "",
            {"x-amz-target": "AWSEvents.PutEvents"},
            json.dumps({"Entries": [{"Source": "x"}]}).encode(),
            ("events:PutEvents", "arn:aws:events:us-east-1:111122223333:event-bus/default"),
        ),
        (
            "sns",
            "POST",
            "/",
            "",
            {},
            b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A111122223333%3At",
            ("sns:Publish", "arn:aws:sns:us-east-1:111122223333:t"),
        ),
        (
            "iam",
            "POST",
            "/",
            "",
            {},
            b"Action=PutRolePolicy&RoleName=r",
            ("iam:PutRolePolicy", "arn:aws:iam::111122223333:role/r"),
        ),
    ],
)
def test_requests_map_to_iam_actions_and_resources(
    service: str,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    expected: tuple[str, str],
) -> None:
    operation = operation_of(
        service=service,
        method=method,
        path=path,
        query_string=query,
        headers=headers,
        body=body,
        region="us-east-1",
        account="111122223333",
    )
    assert (operation.action, operation.resource) == expected
