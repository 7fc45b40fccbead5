"""Writes of the Resources console: each makes the resource in the learner's lab account
(moto) and records its configuration (sandbox.aws.records), as the gateway does for calls
made with the learner's keys or a handler's role."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import IO, Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError, ParamValidationError
from django.conf import settings
from django.contrib.auth.models import User

from sandbox.aws import records, roles
from sandbox.aws.accounts import account_for
from sandbox.aws.models import ExecutionRole, ResourceKind
from sandbox.aws.rebuild import role_rebuild
from sandbox.aws.selectors import (
    RELAY_QUEUE_PREFIX,
    ResourceMissing,
    client,
    is_relay_queue,
    queue_view,
)
from sandbox.models import Function

REDRIVE_MAX_MESSAGES = 1000


class ResourceError(ValueError):
    """What the service said no to, in its own words (e.g. BucketAlreadyExists)."""


def _aws(method: Any, **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ResourceError(f"{error.get('Code')}: {error.get('Message')}") from None
    except ParamValidationError as exc:
        # Refused by boto3 before it was sent (an empty or too long name, a bad type).
        raise ResourceError(str(exc.kwargs.get("report", exc)).strip()) from None


# ------------------------------------------------------------------------------------ S3


def bucket_create(*, owner: User, name: str) -> None:
    _aws(client("s3", owner=owner).create_bucket, Bucket=name)
    records.resource_record(owner=owner, kind=ResourceKind.BUCKET, name=name, spec={})


def bucket_delete(*, owner: User, name: str) -> None:
    _aws(client("s3", owner=owner).delete_bucket, Bucket=name)
    records.resource_forget(owner=owner, kind=ResourceKind.BUCKET, name=name)


def object_upload(
    *, owner: User, bucket: str, key: str, data: IO[bytes], content_type: str = ""
) -> None:
    """Put an object (an upload from the browser). Raises ResourceError."""
    if not key or len(key.encode()) > 1024:
        raise ResourceError("An object key is 1 to 1,024 bytes.")
    extra = {"ContentType": content_type} if content_type else {}
    _aws(client("s3", owner=owner).put_object, Bucket=bucket, Key=key, Body=data.read(), **extra)


def object_delete(*, owner: User, bucket: str, key: str) -> None:
    _aws(client("s3", owner=owner).delete_object, Bucket=bucket, Key=key)


# ------------------------------------------------------------------------------------ DynamoDB


def table_create(
    *,
    owner: User,
    name: str,
    partition_key: str,
    partition_type: str = "S",
    sort_key: str = "",
    sort_type: str = "S",
    stream_view: str = "",
) -> None:
    """An on-demand table with a partition key, an optional sort key and an optional stream."""
    keys = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": partition_key, "AttributeType": partition_type}]
    if sort_key:
        keys.append({"AttributeName": sort_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": sort_key, "AttributeType": sort_type})
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": attributes,
        "BillingMode": "PAY_PER_REQUEST",
    }
    if stream_view:
        spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream_view}
    _aws(client("dynamodb", owner=owner).create_table, **spec)
    records.resource_record(owner=owner, kind=ResourceKind.TABLE, name=name, spec=spec)


def _item(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise ResourceError(f"The item is not JSON: {exc}") from None
    if not isinstance(value, dict) or not value:
        raise ResourceError("An item is a JSON object with at least its key attributes.")
    serializer = TypeSerializer()
    try:
        return {k: serializer.serialize(v) for k, v in value.items()}
    except TypeError as exc:
        raise ResourceError(str(exc)) from None


def item_put(*, owner: User, table: str, item_json: str) -> None:
    """Put (create or replace) an item given as plain JSON ({"id": "1", "n": 2})."""
    _aws(client("dynamodb", owner=owner).put_item, TableName=table, Item=_item(item_json))


def item_delete(*, owner: User, table: str, key_json: str) -> None:
    _aws(client("dynamodb", owner=owner).delete_item, TableName=table, Key=_item(key_json))


# ------------------------------------------------------------------------------------ SQS


def queue_create(
    *,
    owner: User,
    name: str,
    visibility_timeout_s: int = 30,
    dead_letter_queue: str = "",
    max_receive_count: int = 3,
) -> None:
    """A standard queue; with dead_letter_queue, that queue is made too and named in a redrive
    policy (failed messages move there after max_receive_count receives)."""
    for queue in (name, dead_letter_queue):
        if is_relay_queue(queue):
            raise ResourceError(
                f"Queue names starting with {RELAY_QUEUE_PREFIX} are kept for the lab's triggers."
            )
    sqs = client("sqs", owner=owner)
    attributes = {"VisibilityTimeout": str(visibility_timeout_s)}
    if dead_letter_queue:
        if dead_letter_queue == name:
            raise ResourceError("A queue cannot be its own dead-letter queue.")
        dlq_url = _aws(sqs.create_queue, QueueName=dead_letter_queue)["QueueUrl"]
        records.resource_record(
            owner=owner, kind=ResourceKind.QUEUE, name=dead_letter_queue, spec={"Attributes": {}}
        )
        dlq_arn = _aws(sqs.get_queue_attributes, QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
        )
    _aws(sqs.create_queue, QueueName=name, Attributes=attributes)
    records.resource_record(
        owner=owner, kind=ResourceKind.QUEUE, name=name, spec={"Attributes": attributes}
    )


def message_send(*, owner: User, queue: str, body: str) -> str:
    if not body:
        raise ResourceError("A message needs a body.")
    view = queue_view(owner=owner, name=queue)
    return str(
        _aws(client("sqs", owner=owner).send_message, QueueUrl=view.url, MessageBody=body)[
            "MessageId"
        ]
    )


def queue_redrive(*, owner: User, dead_letter_queue: str) -> int:
    """Move the dead-letter queue's messages back to the queue that sent them there (the first
    queue whose redrive policy names it); returns how many moved. moto has no message move task,
    so the messages are received, sent again and deleted, ten at a time."""
    view = queue_view(owner=owner, name=dead_letter_queue)
    if not view.sources:
        raise ResourceError(f"No queue sends its failed messages to {dead_letter_queue}.")
    sqs = client("sqs", owner=owner)
    target = queue_view(owner=owner, name=view.sources[0]).url
    moved = 0
    while moved < REDRIVE_MAX_MESSAGES:
        received = _aws(
            sqs.receive_message,
            QueueUrl=view.url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=30,
        ).get("Messages", [])
        if not received:
            break
        for message in received:
            extra = {}
            if message.get("MessageAttributes"):
                extra["MessageAttributes"] = message["MessageAttributes"]
            _aws(sqs.send_message, QueueUrl=target, MessageBody=message["Body"], **extra)
            _aws(sqs.delete_message, QueueUrl=view.url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def queue_purge(*, owner: User, queue: str) -> None:
    _aws(client("sqs", owner=owner).purge_queue, QueueUrl=queue_view(owner=owner, name=queue).url)


# ------------------------------------------------------------------------------------ SNS


def topic_create(*, owner: User, name: str) -> str:
    arn = str(_aws(client("sns", owner=owner).create_topic, Name=name)["TopicArn"])
    records.resource_record(
        owner=owner, kind=ResourceKind.TOPIC, name=name, spec={"Attributes": {}}
    )
    return arn


def topic_publish(*, owner: User, topic: str, message: str, subject: str = "") -> str:
    if not message:
        raise ResourceError("A message needs a body.")
    arn = f"arn:aws:sns:{settings.LAB_REGION}:{account_for(owner)}:{topic}"
    extra = {"Subject": subject} if subject else {}
    sns = client("sns", owner=owner)
    return str(_aws(sns.publish, TopicArn=arn, Message=message, **extra)["MessageId"])


# ------------------------------------------------------------------------------------ roles


def _sync(role: ExecutionRole) -> None:
    """Give moto the role as we have it (IAM's own API answers from there)."""
    role.refresh_from_db()  # drops policies prefetched before this change
    iam = client("iam", owner=role.owner)
    names = {p.name for p in role.policies.all()}
    try:
        existing = iam.list_role_policies(RoleName=role.name).get("PolicyNames", [])
    except ClientError:
        existing = []
    for stale in set(existing) - names:
        iam.delete_role_policy(RoleName=role.name, PolicyName=stale)
    role_rebuild(role, account_id=account_for(role.owner))


def role_create(*, owner: User, name: str, description: str = "") -> ExecutionRole:
    if ExecutionRole.objects.filter(owner=owner, name=name).exists():
        raise ResourceError(f"EntityAlreadyExists: Role with name {name} already exists.")
    try:
        role = roles.role_save(owner=owner, name=name, description=description)
    except roles.RoleError as exc:
        raise ResourceError(str(exc)) from None
    _sync(role)
    return role


def template_policy_name(template: str, resource_name: str) -> str:
    """The inline policy a template adds: named after it and its resource, so applying the
    same one again replaces it rather than adding a copy."""
    return f"{template}-{resource_name}"[:128] if resource_name else template


def role_template_apply(
    *, role: ExecutionRole, template: str, resource_name: str = ""
) -> ExecutionRole:
    """Add a template's policy to the role, beside those it has, as IAM's "Add permissions"
    does ("none" removes every policy instead)."""
    needs = {t.key: t.needs for t in roles.TEMPLATES}
    if template not in needs:
        raise ResourceError(f"No policy template '{template}'.")
    if needs[template] and not resource_name:
        raise ResourceError(f"This template needs the {needs[template]} it applies to.")
    if template == "none":
        role.policies.all().delete()
    else:
        document = roles.template_document(
            template, account_id=account_for(role.owner), name=resource_name
        )
        roles.role_put_policy(
            role=role, name=template_policy_name(template, resource_name), document=document
        )
    _sync(role)
    return role


def role_policy_save(*, role: ExecutionRole, name: str, document: str) -> ExecutionRole:
    try:
        roles.role_put_policy(role=role, name=name or "inline", document=document)
    except roles.RoleError as exc:
        raise ResourceError(f"{exc.code}: {exc}") from None
    _sync(role)
    return role


def role_policy_delete(*, role: ExecutionRole, name: str) -> ExecutionRole:
    roles.role_delete_policy(role=role, name=name)
    _sync(role)
    return role


def role_assign(*, role: ExecutionRole, function_id: int) -> Function:
    function = Function.objects.filter(owner=role.owner, pk=function_id).first()
    if function is None:
        raise ResourceMissing("No such function of yours.")
    roles.function_role_set(function=function, role=role)
    return function
