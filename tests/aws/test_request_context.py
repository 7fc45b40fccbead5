"""The condition context keys of a role session's request (sandbox/aws/request_context.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.aws.actions import operation_of
from sandbox.aws.request_context import leading_keys, request_context

ACCOUNT = "111122223333"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Notes"
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Session:
    account_id: str = ACCOUNT
    role_id: int = 7
    role_name: str = "worker"
    function_name: str = "notes"


def context(
    service: str,
    *,
    method: str = "POST",
    path: str = "/",
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    asked: list[str] | None = None,
) -> Any:
    headers = headers or {}
    operation = operation_of(
        service=service,
        method=method,
        path=path,
        query_string=query,
        headers=headers,
        body=body,
        region="us-east-1",
        account=ACCOUNT,
    )

    def partition_key(arn: str) -> str | None:
        if asked is not None:
            asked.append(arn)
        return "owner" if arn.startswith(TABLE) else None

    return request_context(
        operation=operation,
        resource=operation.resource,
        region="eu-west-1",
        session=Session(),
        query_string=query,
        headers=headers,
        body=body,
        now=NOW,
        partition_key=partition_key,
    )


def test_global_keys_of_an_assumed_role() -> None:
    found = dict(context("sqs", body=b"Action=ListQueues"))
    assert found == {
        "aws:requestedregion": "eu-west-1",
        "aws:principalarn": f"arn:aws:iam::{ACCOUNT}:role/worker",
        "aws:principalaccount": ACCOUNT,
        "aws:principaltype": "AssumedRole",
        "aws:userid": "AROA0000000000000007:notes",
        "aws:securetransport": "false",
        "aws:viaawsservice": "false",
        "aws:currenttime": "2026-12-02T03:00:00Z",
        "aws:epochtime": str(int(NOW.timestamp())),
    }
    assert "aws:sourceip" not in found and "aws:username" not in found


def test_s3_keys_come_from_the_listing_query_and_the_acl_header() -> None:
    listing = context("s3", method="GET", path="/b", query="list-type=2&prefix=home%2F&delimiter=/")
    assert (listing["s3:prefix"], listing["s3:delimiter"]) == ("home/", "/")
    assert "s3:max-keys" not in listing
    assert "s3:prefix" not in context("s3", method="GET", path="/b", query="list-type=2")
    put = context("s3", method="PUT", path="/b/k", headers={"x-amz-acl": "public-read"})
    assert put["s3:x-amz-acl"] == "public-read" and "s3:prefix" not in put


def dynamodb(operation: str, body: dict[str, Any], **kwargs: Any) -> Any:
    return context(
        "dynamodb",
        headers={"x-amz-target": f"DynamoDB_20120810.{operation}"},
        body=json.dumps(body).encode(),
        **kwargs,
    )


def test_leading_keys_are_the_partition_key_values_of_the_request() -> None:
    key = {"owner": {"S": "alice"}, "id": {"S": "bob"}}
    for operation, body in (
        ("GetItem", {"TableName": "Notes", "Key": key}),
        ("DeleteItem", {"TableName": "Notes", "Key": key}),
        ("UpdateItem", {"TableName": "Notes", "Key": key, "UpdateExpression": "SET a = :a"}),
        ("PutItem", {"TableName": "Notes", "Item": {**key, "text": {"S": "hi"}}}),
    ):
        assert dynamodb(operation, body)["dynamodb:leadingkeys"] == ["alice"]
    number = dynamodb("GetItem", {"TableName": "Notes", "Key": {"owner": {"N": "42"}}})
    assert number["dynamodb:leadingkeys"] == ["42"]


def test_leading_keys_of_a_query() -> None:
    expression = dynamodb(
        "Query",
        {
            "TableName": "Notes",
            "KeyConditionExpression": "(:o = #o) and id between :a and :b",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {
                ":o": {"S": "alice"},
                ":a": {"S": "a"},
                ":b": {"S": "b"},
            },
        },
    )
    assert expression["dynamodb:leadingkeys"] == ["alice"]
    legacy = dynamodb(
        "Query",
        {
            "TableName": "Notes",
            "KeyConditions": {
                "owner": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "bob"}]}
            },
        },
    )
    assert legacy["dynamodb:leadingkeys"] == ["bob"]


def test_leading_keys_of_batches_and_transactions_are_those_of_the_table_authorised() -> None:
    batch = {
        "RequestItems": {
            "Notes": [
                {"PutRequest": {"Item": {"owner": {"S": "alice"}, "id": {"S": "1"}}}},
                {"DeleteRequest": {"Key": {"owner": {"S": "bob"}, "id": {"S": "2"}}}},
            ],
            "Other": [{"PutRequest": {"Item": {"owner": {"S": "carol"}}}}],
        }
    }
    assert leading_keys(batch, operation="BatchWriteItem", table="Notes", partition="owner") == [
        "alice",
        "bob",
    ]
    gets = {"RequestItems": {"Notes": {"Keys": [{"owner": {"S": "dave"}}]}}}
    assert leading_keys(gets, operation="BatchGetItem", table="Notes", partition="owner") == [
        "dave"
    ]
    transaction = {
        "TransactItems": [
            {"Put": {"TableName": "Notes", "Item": {"owner": {"S": "erin"}}}},
            {"Delete": {"TableName": "Other", "Key": {"owner": {"S": "frank"}}}},
        ]
    }
    assert leading_keys(
        transaction, operation="TransactWriteItems", table="Notes", partition="owner"
    ) == ["erin"]


def test_leading_keys_are_worked_out_only_when_asked_for_and_absent_when_unknown() -> None:
    asked: list[str] = []
    found = dynamodb("GetItem", {"TableName": "Notes", "Key": {"owner": {"S": "a"}}}, asked=asked)
    assert found["aws:principaltype"] == "AssumedRole" and asked == []
    assert found.get("dynamodb:leadingkeys") == ["a"] and asked == [TABLE]
    unknown = dynamodb("GetItem", {"TableName": "Elsewhere", "Key": {"owner": {"S": "a"}}})
    assert unknown.get("dynamodb:leadingkeys") is None
    scan = dynamodb("Scan", {"TableName": "Notes", "Select": "COUNT"})
    assert scan.get("dynamodb:leadingkeys") is None and scan["dynamodb:select"] == "COUNT"


def test_odd_bodies_give_no_leading_keys_and_never_raise() -> None:
    for body in (
        {"TableName": "Notes", "Key": "owner"},
        {"TableName": "Notes", "Key": {"owner": {"S": 1}}},
        {"TableName": "Notes", "Key": {"owner": {"M": {}}}},
        {"RequestItems": {"Notes": {"Keys": 3}}},
        {"RequestItems": {"Notes": [1, {"PutRequest": 2}]}},
        {"TransactItems": 5},
        {"TransactItems": [{"Put": {"TableName": 1, "Item": 2}}]},
    ):
        for operation in ("GetItem", "BatchGetItem", "BatchWriteItem", "TransactWriteItems"):
            assert leading_keys(body, operation=operation, table="Notes", partition="owner") == []
    for body in (
        {"KeyConditionExpression": 3},
        {"KeyConditionExpression": "owner = :o", "ExpressionAttributeValues": []},
        {"KeyConditionExpression": "owner = :o", "ExpressionAttributeValues": {":o": "x"}},
        {"KeyConditions": {"owner": {"ComparisonOperator": "EQ", "AttributeValueList": 1}}},
        {"KeyConditions": {"owner": {"ComparisonOperator": "BEGINS_WITH"}}},
    ):
        assert leading_keys(body, operation="Query", table="Notes", partition="owner") == []
    garbage = context(
        "dynamodb", headers={"x-amz-target": "DynamoDB_20120810.PutItem"}, body=b"[not json"
    )
    assert garbage.get("dynamodb:leadingkeys") is None
