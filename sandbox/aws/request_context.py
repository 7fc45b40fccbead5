"""The condition context keys of a request made with an execution role's session (no Django).

    request_context(*, operation, resource, region, session, query_string, headers, body, now,
                    partition_key) -> RequestContext

Global keys, as IAM sets them for an assumed role: aws:RequestedRegion (the region the request
is signed for), aws:PrincipalArn (the role's ARN, not the session's), aws:PrincipalAccount,
aws:PrincipalType ("AssumedRole"), aws:userid ("<role id>:<function name>"),
aws:SecureTransport (false: the lab's endpoints are plain HTTP), aws:CurrentTime,
aws:EpochTime and aws:ViaAWSService (false). aws:SourceIp is absent: a function's calls reach
the gateway through the jail's socket, not from an address. aws:username is absent, as it is
for every role session.

Service keys read from the request: s3:prefix, s3:delimiter and s3:max-keys (ListObjects,
ListObjectsV2; each only when the query has it), s3:x-amz-acl (when the header is sent),
dynamodb:LeadingKeys (the partition key values of GetItem, PutItem, UpdateItem, DeleteItem,
Query, and the batch and transaction forms, for the table being authorised), dynamodb:Select
and dynamodb:ReturnValues. dynamodb:LeadingKeys needs the table's partition key name, which the
caller supplies (`partition_key(table_or_index_arn)`), and is worked out only when a policy asks
for it. Every other key is absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs

from sandbox.aws.actions import Operation

Value = str | list[str]


class SessionLike(Protocol):
    """What a role session says about its caller (sandbox.aws.roles.Session)."""

    @property
    def account_id(self) -> str: ...
    @property
    def role_id(self) -> int: ...
    @property
    def role_name(self) -> str: ...
    @property
    def function_name(self) -> str: ...


class RequestContext(Mapping[str, Value]):
    """Context keys (lower-cased) whose values are worked out when first asked for."""

    def __init__(
        self, values: dict[str, Value], lazy: dict[str, Callable[[], Value | None]]
    ) -> None:
        self._values = values
        self._lazy = lazy

    def __getitem__(self, key: str) -> Value:
        if key not in self._values and key in self._lazy:
            found = self._lazy.pop(key)()
            if found is not None:
                self._values[key] = found
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        for key in list(self._lazy):
            self.get(key)
        return iter(self._values)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def global_keys(*, region: str, session: SessionLike, now: datetime) -> dict[str, Value]:
    account = session.account_id
    return {
        "aws:requestedregion": region,
        "aws:principalarn": f"arn:aws:iam::{account}:role/{session.role_name}",
        "aws:principalaccount": account,
        "aws:principaltype": "AssumedRole",
        "aws:userid": f"AROA{session.role_id:016d}:{session.function_name}",
        "aws:securetransport": "false",
        "aws:viaawsservice": "false",
        "aws:currenttime": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(now.timestamp())),
    }


def _s3_keys(
    operation: Operation, query_string: str, headers: Mapping[str, str]
) -> dict[str, Value]:
    keys: dict[str, Value] = {}
    if operation.name in ("ListObjects", "ListObjectsV2"):
        query = parse_qs(query_string, keep_blank_values=True)
        for name in ("prefix", "delimiter", "max-keys"):
            if name in query:
                keys[f"s3:{name}"] = query[name][0]
    if "x-amz-acl" in headers:
        keys["s3:x-amz-acl"] = headers["x-amz-acl"]
    return keys


def _scalar(value: Any) -> str | None:
    """A key attribute's value as IAM compares it: the string, number or base64 binary."""
    if isinstance(value, dict) and len(value) == 1:
        kind, inner = next(iter(value.items()))
        if kind in ("S", "N", "B") and isinstance(inner, str):
            return inner
    return None


def _key_maps(body: dict[str, Any], table: str) -> list[dict[str, Any]]:
    """Every Key or Item the request names in `table`."""
    found: list[dict[str, Any]] = []

    def add(request: Any, names_table: bool) -> None:
        if not isinstance(request, dict):
            return
        if names_table and str(request.get("TableName", "")).rsplit("/", 1)[-1] != table:
            return
        for field in ("Key", "Item"):
            if isinstance(request.get(field), dict):
                found.append(request[field])

    add(body, names_table=True)
    items = body.get("RequestItems")
    if isinstance(items, dict) and isinstance(items.get(table), dict | list):
        entry = items[table]
        if isinstance(entry, dict):  # BatchGetItem: {"Keys": [...]}
            found.extend(k for k in _list(entry.get("Keys")) if isinstance(k, dict))
        else:  # BatchWriteItem: [{"PutRequest": {"Item"}}, {"DeleteRequest": {"Key"}}]
            for write in entry:
                for request in write.values() if isinstance(write, dict) else []:
                    add(request, names_table=False)
    for item in _list(body.get("TransactItems")):
        for request in item.values() if isinstance(item, dict) else []:
            add(request, names_table=True)
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_EQUALITY = re.compile(r"(#?[\w.\-]+|:[\w\-]+)\s*=\s*(#?[\w.\-]+|:[\w\-]+)")


def _query_values(body: dict[str, Any], partition: str) -> list[str]:
    """The partition key value a Query's key condition names (or its KeyConditions)."""
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    if not isinstance(partition, str):
        return []
    expression = body.get("KeyConditionExpression")
    out: list[str] = []
    if isinstance(expression, str) and isinstance(names, dict) and isinstance(values, dict):
        for left, right in _EQUALITY.findall(expression):
            if left.startswith(":"):
                left, right = right, left
            name = names.get(left, left) if left.startswith("#") else left
            if name == partition and right.startswith(":"):
                scalar = _scalar(values.get(right))
                if scalar is not None:
                    out.append(scalar)
    legacy = body.get("KeyConditions")
    if isinstance(legacy, dict) and isinstance(legacy.get(partition), dict):
        condition = legacy[partition]
        if condition.get("ComparisonOperator") == "EQ":
            for value in _list(condition.get("AttributeValueList")):
                scalar = _scalar(value)
                if scalar is not None:
                    out.append(scalar)
    return out


def leading_keys(body: dict[str, Any], *, operation: str, table: str, partition: str) -> list[str]:
    """The partition key values a DynamoDB request reads or writes in `table`."""
    if operation == "Query":
        return _query_values(body, partition)
    values = [_scalar(keys.get(partition)) for keys in _key_maps(body, table)]
    return list(dict.fromkeys(v for v in values if v is not None))


_ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _dynamodb(
    operation: Operation,
    resource: str,
    body: bytes,
    partition_key: Callable[[str], str | None],
) -> tuple[dict[str, Value], dict[str, Callable[[], Value | None]]]:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    keys: dict[str, Value] = {}
    for field, key in (("Select", "dynamodb:select"), ("ReturnValues", "dynamodb:returnvalues")):
        if isinstance(payload.get(field), str):
            keys[key] = payload[field]
    if operation.name not in _ITEM_OPERATIONS or ":table/" not in resource:
        return keys, {}
    table = resource.split(":table/", 1)[1].split("/", 1)[0]

    def leading() -> Value | None:
        partition = partition_key(resource)
        if partition is None:
            return None
        return leading_keys(payload, operation=operation.name, table=table, partition=partition)

    return keys, {"dynamodb:leadingkeys": leading}


def request_context(
    *,
    operation: Operation,
    resource: str,
    region: str,
    session: SessionLike,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    partition_key: Callable[[str], str | None],
) -> RequestContext:
    """The context keys of one request, authorised against one of its resources."""
    values = global_keys(region=region, session=session, now=now)
    lazy: dict[str, Callable[[], Value | None]] = {}
    if operation.service == "s3":
        values.update(_s3_keys(operation, query_string, headers))
    elif operation.service == "dynamodb":
        keys, lazy = _dynamodb(operation, resource, body, partition_key)
        values.update(keys)
    return RequestContext(values, lazy)
