"""Reads for the Resources console: what is in the learner's lab account, asked of moto (the
configuration is also in our records; contents only in moto)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError
from django.contrib.auth.models import User
from django.db.models import QuerySet

from sandbox.aws.accounts import account_for
from sandbox.aws.clients import LabServicesUnavailable, lab_client
from sandbox.aws.models import ExecutionRole

ITEMS_SHOWN = 50
OBJECTS_SHOWN = 200
# The queues triggers relay their events through (sandbox.triggers.models.Trigger): they live in
# the learner's account, where moto's S3, SNS and EventBridge can deliver to them, but they are
# the lab's plumbing, not the learner's, so the console neither lists nor touches them.
RELAY_QUEUE_PREFIX = "lambdalab-trigger-"


class ResourceMissing(LookupError):
    """The learner has no such bucket, table, queue, topic or role."""


class RelayQueue(ResourceMissing):
    """The queue is one of the lab's own trigger relay queues (RELAY_QUEUE_PREFIX)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name} is the lab's own relay queue for one of your triggers: it is not shown in "
            "the console and cannot be changed here. Edit or delete the trigger instead."
        )


class ServicesDown(RuntimeError):
    """The lab's services are not running or not reachable."""


def is_relay_queue(name: str) -> bool:
    return name.startswith(RELAY_QUEUE_PREFIX)


def client(service: str, *, owner: User) -> Any:
    try:
        return lab_client(service, account_id=account_for(owner))
    except LabServicesUnavailable as exc:
        raise ServicesDown(str(exc)) from None


def _call(method: Any, **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except BotoCoreError as exc:
        raise ServicesDown(f"The lab's AWS services are not reachable ({exc}).") from None


@dataclass
class Overview:
    account_id: str
    buckets: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    queues: list[dict[str, Any]] = field(default_factory=list)
    topics: list[dict[str, str]] = field(default_factory=list)


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def resources_overview(*, owner: User) -> Overview:
    """The learner's buckets, tables, queues (with message counts) and topics."""
    overview = Overview(account_id=account_for(owner))
    s3, dynamodb = client("s3", owner=owner), client("dynamodb", owner=owner)
    sqs, sns = client("sqs", owner=owner), client("sns", owner=owner)
    overview.buckets = [b["Name"] for b in _call(s3.list_buckets).get("Buckets", [])]
    overview.tables = _call(dynamodb.list_tables).get("TableNames", [])
    for url in _call(sqs.list_queues).get("QueueUrls", []):
        if is_relay_queue(queue_name(url)):
            continue
        attributes = _call(
            sqs.get_queue_attributes,
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        overview.queues.append(
            {
                "name": queue_name(url),
                "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
                "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            }
        )
    overview.queues.sort(key=lambda q: q["name"])
    overview.topics = sorted(
        (
            {"arn": t["TopicArn"], "name": t["TopicArn"].rsplit(":", 1)[-1]}
            for t in _call(sns.list_topics).get("Topics", [])
        ),
        key=lambda t: t["name"],
    )
    return overview


def bucket_objects(*, owner: User, bucket: str, prefix: str = "") -> list[dict[str, Any]]:
    s3 = client("s3", owner=owner)
    try:
        listed = _call(s3.list_objects_v2, Bucket=bucket, Prefix=prefix, MaxKeys=OBJECTS_SHOWN)
    except ClientError:
        raise ResourceMissing(f"No bucket {bucket} in your account.") from None
    return [
        {"key": o["Key"], "size": o["Size"], "modified": o["LastModified"]}
        for o in listed.get("Contents", [])
    ]


def object_download(*, owner: User, bucket: str, key: str) -> dict[str, Any]:
    """GetObject's answer: Body (a stream), ContentType, ContentLength."""
    try:
        return dict(_call(client("s3", owner=owner).get_object, Bucket=bucket, Key=key))
    except ClientError:
        raise ResourceMissing(f"No object {key} in {bucket}.") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


@dataclass
class TableView:
    name: str
    keys: list[dict[str, str]]
    stream: str
    items: list[dict[str, Any]]
    item_count: int

    @property
    def key_names(self) -> list[str]:
        return [k["AttributeName"] for k in self.keys]


def table_view(*, owner: User, table: str) -> TableView:
    """The table's key schema, stream and its first items as plain JSON."""
    dynamodb = client("dynamodb", owner=owner)
    try:
        described = _call(dynamodb.describe_table, TableName=table)["Table"]
    except ClientError:
        raise ResourceMissing(f"No table {table} in your account.") from None
    scanned = _call(dynamodb.scan, TableName=table, Limit=ITEMS_SHOWN)
    deserializer = TypeDeserializer()
    items = []
    for raw in scanned.get("Items", []):
        plain = _plain({k: deserializer.deserialize(v) for k, v in raw.items()})
        key = {
            name: plain.get(name) for name in (k["AttributeName"] for k in described["KeySchema"])
        }
        items.append({"item": plain, "json": json.dumps(plain, indent=2), "key": json.dumps(key)})
    stream = described.get("StreamSpecification") or {}
    return TableView(
        name=table,
        keys=described["KeySchema"],
        stream=stream.get("StreamViewType", "") if stream.get("StreamEnabled") else "",
        items=items,
        item_count=len(items),
    )


@dataclass
class QueueView:
    name: str
    url: str
    arn: str
    visible: int
    in_flight: int
    attributes: dict[str, str]
    dead_letter: dict[str, Any] | None  # where failed messages go: name, maxReceiveCount, counts
    sources: list[str]  # queues whose dead-letter queue this is


def queue_view(*, owner: User, name: str) -> QueueView:
    """A queue of the learner's, with its dead-letter queue and the queues it is one for.

    Raises ResourceMissing for a queue the account lacks, RelayQueue for a trigger's relay queue.
    """
    if is_relay_queue(name):
        raise RelayQueue(name)
    sqs = client("sqs", owner=owner)
    try:
        url = _call(sqs.get_queue_url, QueueName=name)["QueueUrl"]
    except ClientError:
        raise ResourceMissing(f"No queue {name} in your account.") from None
    attributes = _call(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"])["Attributes"]
    dead_letter = None
    if attributes.get("RedrivePolicy"):
        policy = json.loads(attributes["RedrivePolicy"])
        dlq = str(policy.get("deadLetterTargetArn", "")).rsplit(":", 1)[-1]
        dlq_url = _call(sqs.get_queue_url, QueueName=dlq)["QueueUrl"]
        counts = _call(
            sqs.get_queue_attributes,
            QueueUrl=dlq_url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]
        dead_letter = {
            "name": dlq,
            "max_receive_count": policy.get("maxReceiveCount"),
            "visible": int(counts.get("ApproximateNumberOfMessages", 0)),
        }
    sources = []
    for other in _call(sqs.list_queues).get("QueueUrls", []):
        if other == url or is_relay_queue(queue_name(other)):
            continue
        answer = _call(sqs.get_queue_attributes, QueueUrl=other, AttributeNames=["RedrivePolicy"])
        redrive = answer.get("Attributes", {}).get("RedrivePolicy")
        if redrive and json.loads(redrive).get("deadLetterTargetArn") == attributes["QueueArn"]:
            sources.append(queue_name(other))
    return QueueView(
        name=name,
        url=url,
        arn=attributes["QueueArn"],
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        attributes=attributes,
        dead_letter=dead_letter,
        sources=sources,
    )


def role_list(*, owner: User) -> QuerySet[ExecutionRole]:
    return (
        ExecutionRole.objects.filter(owner=owner)
        .prefetch_related("policies", "functions__function")
        .order_by("name")
    )


def role_get(*, owner: User, name: str) -> ExecutionRole:
    role = role_list(owner=owner).filter(name=name).first()
    if role is None:
        raise ResourceMissing(f"No role {name} in your account.")
    return role
