"""Which IAM action and resource ARNs a request to one of the lab's services asks for.

No Django. S3 is REST (method and path, with a few sub-resources in the query); DynamoDB,
DynamoDB Streams, SQS (JSON protocol) and EventBridge name the operation in X-Amz-Target; SNS,
IAM, STS and the SQS query protocol in the form's Action; Lambda is REST (its API's paths).
The mapping follows the Service Authorization Reference for the operations a handler or a
learner typically calls; anything unmapped is still authorised, as `<service>:<Operation>` on
`*`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote


@dataclass(frozen=True)
class Operation:
    service: str  # the IAM service prefix: s3, dynamodb, sqs, sns, events, iam, sts
    name: str  # the API operation: GetObject, PutItem, SendMessage, ...
    action: str  # the IAM action: s3:GetObject, dynamodb:PutItem, ...
    resources: tuple[str, ...] = field(default=("*",))

    @property
    def resource(self) -> str:
        return self.resources[0] if self.resources else "*"


# (method, has key) -> operation; sub-resources in the query are looked up first.
_S3_BUCKET_SUB = {
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "notification": ("GetBucketNotification", "PutBucketNotification", None),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "cors": ("GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", None),
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", None),
    "location": ("GetBucketLocation", None, None),
    "versions": ("ListBucketVersions", None, None),
    "uploads": ("ListBucketMultipartUploads", None, None),
}
# The IAM action behind an S3 operation name, where the two differ.
_S3_ACTION = {
    "GetBucketCORS": "s3:GetBucketCORS",
    "GetLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "ListBucketVersions": "s3:ListBucketVersions",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "HeadObject": "s3:GetObject",
    "CopyObject": "s3:PutObject",
    "DeleteObjects": "s3:DeleteObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "ListBuckets": "s3:ListAllMyBuckets",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
    "DeleteObjectTagging": "s3:DeleteObjectTagging",
}


def _s3(method: str, path: str, query: Mapping[str, list[str]]) -> Operation:
    parts = path.lstrip("/").split("/", 1)
    bucket = unquote(parts[0]) if parts[0] else ""
    key = unquote(parts[1]) if len(parts) > 1 and parts[1] else ""
    method = method.upper()
    if not bucket:
        name = "ListBuckets"
        resource = "*"
    elif not key:
        resource = f"arn:aws:s3:::{bucket}"
        name = ""
        for sub, (get, put, delete) in _S3_BUCKET_SUB.items():
            if sub in query:
                name = {"GET": get, "HEAD": get, "PUT": put, "DELETE": delete}.get(method) or ""
                if method == "DELETE" and sub in ("notification", "versioning", "acl"):
                    name = ""
                break
        if not name:
            if method == "POST" and "delete" in query:
                name, resource = "DeleteObjects", f"arn:aws:s3:::{bucket}/*"
            else:
                name = {
                    "GET": "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects",
                    "HEAD": "HeadBucket",
                    "PUT": "CreateBucket",
                    "DELETE": "DeleteBucket",
                }.get(method, f"{method.title()}Bucket")
    else:
        resource = f"arn:aws:s3:::{bucket}/{key}"
        if "tagging" in query:
            name = {"GET": "GetObjectTagging", "PUT": "PutObjectTagging"}.get(
                method, "DeleteObjectTagging"
            )
        elif "acl" in query:
            name = "GetObjectAcl" if method == "GET" else "PutObjectAcl"
        elif "uploads" in query:
            name = "CreateMultipartUpload"
        elif "uploadId" in query:
            name = {
                "PUT": "UploadPart",
                "POST": "CompleteMultipartUpload",
                "DELETE": "AbortMultipartUpload",
                "GET": "ListParts",
            }.get(method, "UploadPart")
        else:
            name = {
                "GET": "GetObject",
                "HEAD": "HeadObject",
                "PUT": "PutObject",
                "DELETE": "DeleteObject",
            }.get(method, f"{method.title()}Object")
    action = _S3_ACTION.get(name, f"s3:{name}")
    return Operation(service="s3", name=name, action=action, resources=(resource,))


def _queue_arn(url: str, *, region: str, account: str) -> str:
    # https://sqs.us-east-1.amazonaws.com/123456789012/name, or the lab's http://host/123/name;
    # the URL's account is kept so a queue of another account is seen as one.
    parts = url.rstrip("/").rsplit("/", 2) if url else ["*"]
    name = parts[-1]
    if len(parts) == 3 and parts[1].isdigit() and len(parts[1]) == 12:
        account = parts[1]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _table_arns(body: dict[str, Any], *, region: str, account: str) -> tuple[str, ...]:
    prefix = f"arn:aws:dynamodb:{region}:{account}:table/"
    if isinstance(body.get("RequestItems"), dict):
        return tuple(prefix + name for name in body["RequestItems"]) or ("*",)
    if isinstance(body.get("TransactItems"), list):
        names = []
        for item in body["TransactItems"]:
            for request in item.values() if isinstance(item, dict) else []:
                if isinstance(request, dict) and request.get("TableName"):
                    names.append(prefix + str(request["TableName"]))
        return tuple(dict.fromkeys(names)) or ("*",)
    if body.get("StreamArn"):
        return (str(body["StreamArn"]),)
    if body.get("TableName"):
        table = str(body["TableName"])
        if table.startswith("arn:"):
            return (table,)
        index = body.get("IndexName")
        return (prefix + table + (f"/index/{index}" if index else ""),)
    if body.get("ResourceArn"):
        return (str(body["ResourceArn"]),)
    return ("*",)


_DYNAMODB_ACTION = {
    "TransactWriteItems": None,  # authorised per item: PutItem, UpdateItem, DeleteItem
    "TransactGetItems": "dynamodb:GetItem",
}


def _json(target: str, body: dict[str, Any], *, region: str, account: str) -> Operation:
    prefix, _, name = target.partition(".")
    if prefix.startswith("DynamoDBStreams"):
        service = "dynamodb"
        resources = _table_arns(body, region=region, account=account)
        if name == "ListStreams":
            resources = ("*",)
        return Operation(service, name, f"dynamodb:{name}", resources)
    if prefix.startswith("DynamoDB"):
        action = _DYNAMODB_ACTION.get(name, f"dynamodb:{name}")
        if name == "TransactWriteItems":
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
            first = next(
                (k for item in body.get("TransactItems", []) for k in item if k in kinds),
                "Put",
            )
            action = f"dynamodb:{kinds[first]}"
        if name in ("ListTables", "DescribeLimits", "DescribeEndpoints"):
            return Operation("dynamodb", name, f"dynamodb:{name}", ("*",))
        return Operation(
            "dynamodb", name, str(action), _table_arns(body, region=region, account=account)
        )
    if prefix == "AmazonSQS":
        if name in ("ListQueues", "CreateQueue"):
            queue = body.get("QueueName")
            resource = _queue_arn(str(queue), region=region, account=account) if queue else "*"
            return Operation("sqs", name, f"sqs:{name}", (resource,))
        source = body.get("QueueUrl") or body.get("SourceArn") or ""
        resource = (
            str(source)
            if str(source).startswith("arn:")
            else _queue_arn(str(source), region=region, account=account)
        )
        batched = {"SendMessageBatch": "sqs:SendMessage", "DeleteMessageBatch": "sqs:DeleteMessage"}
        return Operation("sqs", name, batched.get(name, f"sqs:{name}"), (resource,))
    if prefix == "AWSEvents":
        bus_arn = f"arn:aws:events:{region}:{account}:event-bus/"
        if name == "PutEvents":
            buses = [
                str(entry.get("EventBusName") or "default")
                for entry in body.get("Entries", [])
                if isinstance(entry, dict)
            ] or ["default"]
            return Operation(
                "events",
                name,
                "events:PutEvents",
                tuple(dict.fromkeys(b if b.startswith("arn:") else bus_arn + b for b in buses)),
            )
        rule = body.get("Name") if "Rule" in name else body.get("Rule")
        if rule:
            bus = str(body.get("EventBusName") or "default")
            middle = "" if bus == "default" else f"{bus}/"
            arn = f"arn:aws:events:{region}:{account}:rule/{middle}{rule}"
            return Operation("events", name, f"events:{name}", (arn,))
        if body.get("EventBusName") or "EventBus" in name:
            bus = str(body.get("EventBusName") or body.get("Name") or "default")
            return Operation("events", name, f"events:{name}", (bus_arn + bus,))
        return Operation("events", name, f"events:{name}", ("*",))
    service = prefix.split("_")[0].lower() or "unknown"
    return Operation(service, name, f"{service}:{name}", ("*",))


def _query(service: str, form: Mapping[str, list[str]], *, region: str, account: str) -> Operation:
    name = (form.get("Action") or [""])[0]

    def one(key: str) -> str:
        return (form.get(key) or [""])[0]

    resource = "*"
    if service == "sns":
        arn = one("TopicArn") or one("TargetArn") or one("ResourceArn")
        if not arn and name == "CreateTopic" and one("Name"):
            arn = f"arn:aws:sns:{region}:{account}:{one('Name')}"
        if not arn and one("SubscriptionArn"):
            arn = one("SubscriptionArn").rsplit(":", 1)[0]
        resource = arn or "*"
    elif service == "sqs":
        url = one("QueueUrl")
        if url or one("QueueName"):
            resource = _queue_arn(url or one("QueueName"), region=region, account=account)
        if name == "ListQueues":
            resource = "*"
    elif service == "iam":
        if one("RoleName"):
            resource = f"arn:aws:iam::{account}:role/{one('RoleName')}"
        elif one("PolicyArn"):
            resource = one("PolicyArn")
        elif one("UserName"):
            resource = f"arn:aws:iam::{account}:user/{one('UserName')}"
    elif service == "sts" and one("RoleArn"):
        resource = one("RoleArn")
    return Operation(service, name, f"{service}:{name}", (resource,))


# Lambda's REST paths (sandbox/api/urls.py serves them): (path, {method: operation}). The IAM
# action is lambda:<operation> but for Invoke's. Event source mappings and account settings
# name no function; the rest name the function of the path.
_LAMBDA_FN = r"/functions/(?P<name>[^/]+)"
_LAMBDA_PATHS: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = tuple(
    (re.compile(rf"^/(?:\d{{4}}-\d{{2}}-\d{{2}}){path}/?$"), methods)
    for path, methods in (
        ("/functions", {"GET": "ListFunctions", "POST": "CreateFunction"}),
        (_LAMBDA_FN, {"GET": "GetFunction", "DELETE": "DeleteFunction"}),
        (
            f"{_LAMBDA_FN}/configuration",
            {"GET": "GetFunctionConfiguration", "PUT": "UpdateFunctionConfiguration"},
        ),
        (f"{_LAMBDA_FN}/code", {"PUT": "UpdateFunctionCode"}),
        (f"{_LAMBDA_FN}/invocations", {"POST": "Invoke"}),
        (f"{_LAMBDA_FN}/versions", {"GET": "ListVersionsByFunction", "POST": "PublishVersion"}),
        (f"{_LAMBDA_FN}/aliases", {"GET": "ListAliases", "POST": "CreateAlias"}),
        (
            f"{_LAMBDA_FN}/aliases/(?P<alias>[^/]+)",
            {"GET": "GetAlias", "PUT": "UpdateAlias", "DELETE": "DeleteAlias"},
        ),
        (
            f"{_LAMBDA_FN}/concurrency",
            {
                "GET": "GetFunctionConcurrency",
                "PUT": "PutFunctionConcurrency",
                "DELETE": "DeleteFunctionConcurrency",
            },
        ),
        (
            f"{_LAMBDA_FN}/event-invoke-config",
            {
                "GET": "GetFunctionEventInvokeConfig",
                "PUT": "PutFunctionEventInvokeConfig",
                "POST": "UpdateFunctionEventInvokeConfig",
                "DELETE": "DeleteFunctionEventInvokeConfig",
            },
        ),
        (f"{_LAMBDA_FN}/event-invoke-config/list", {"GET": "ListFunctionEventInvokeConfigs"}),
        (
            f"{_LAMBDA_FN}/provisioned-concurrency",
            {
                "GET": "GetProvisionedConcurrencyConfig",
                "PUT": "PutProvisionedConcurrencyConfig",
                "DELETE": "DeleteProvisionedConcurrencyConfig",
            },
        ),
        (
            f"{_LAMBDA_FN}/url",
            {
                "GET": "GetFunctionUrlConfig",
                "POST": "CreateFunctionUrlConfig",
                "PUT": "UpdateFunctionUrlConfig",
                "DELETE": "DeleteFunctionUrlConfig",
            },
        ),
        (f"{_LAMBDA_FN}/urls", {"GET": "ListFunctionUrlConfigs"}),
        (f"{_LAMBDA_FN}/policy", {"GET": "GetPolicy", "POST": "AddPermission"}),
        (f"{_LAMBDA_FN}/policy/(?P<sid>[^/]+)", {"DELETE": "RemovePermission"}),
        (
            "/event-source-mappings",
            {"GET": "ListEventSourceMappings", "POST": "CreateEventSourceMapping"},
        ),
        (
            "/event-source-mappings/(?P<uuid>[^/]+)",
            {
                "GET": "GetEventSourceMapping",
                "PUT": "UpdateEventSourceMapping",
                "DELETE": "DeleteEventSourceMapping",
            },
        ),
        ("/account-settings", {"GET": "GetAccountSettings"}),
    )
)
_LAMBDA_ACTION = {"Invoke": "lambda:InvokeFunction"}
# A FunctionName: a name, a partial ARN (123456789012:function:name) or a full ARN, maybe with
# a qualifier; the ARN's account is kept so a function of another account is seen as one.
_LAMBDA_NAME = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:)?(?:(?P<account>\d{12}):function:)?"
    r"(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$"
)


def _lambda_arn(value: str, qualifier: str, *, region: str, account: str) -> str:
    match = _LAMBDA_NAME.match(value)
    if match is None:
        return f"arn:aws:lambda:{region}:{account}:function:{value}"
    qualifier = match["qualifier"] or qualifier
    arn = f"arn:aws:lambda:{region}:{match['account'] or account}:function:{match['name']}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _lambda(
    method: str, path: str, query: Mapping[str, list[str]], *, region: str, account: str
) -> Operation:
    for pattern, methods in _LAMBDA_PATHS:
        match = pattern.match(path)
        if match is None:
            continue
        name = methods.get(method.upper())
        if name is None:
            break
        groups = match.groupdict()
        resource = "*"
        if groups.get("name"):
            qualifier = groups.get("alias") or (query.get("Qualifier") or [""])[0]
            resource = _lambda_arn(
                unquote(groups["name"]), unquote(qualifier), region=region, account=account
            )
        return Operation("lambda", name, _LAMBDA_ACTION.get(name, f"lambda:{name}"), (resource,))
    # Not an operation of Lambda's API: the API answers it (UnknownOperationException).
    return Operation("lambda", "Unknown", "lambda:Unknown", ("*",))


def operation_of(
    *,
    service: str,
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    region: str,
    account: str,
) -> Operation:
    """The operation a request asks for. headers are lower-cased; path without the query."""
    if service == "s3":
        return _s3(method, path, parse_qs(query_string, keep_blank_values=True))
    if service == "lambda":
        query = parse_qs(query_string, keep_blank_values=True)
        return _lambda(method, path, query, region=region, account=account)
    target = headers.get("x-amz-target", "")
    if target:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        return _json(
            target, payload if isinstance(payload, dict) else {}, region=region, account=account
        )
    form = parse_qs(query_string, keep_blank_values=True)
    if method.upper() == "POST" and body:
        form = {**form, **parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)}
    return _query(service, form, region=region, account=account)
