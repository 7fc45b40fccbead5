"""Our record of learners' resources, kept from the calls the gateway forwards and from the
console's own services, so configuration can be shown and re-created after moto restarts
(sandbox.aws.rebuild). Object and item contents are not recorded.

The gateway calls record() after every call moto answered with success; the operations that
create, change or delete configuration become rows: roles (ExecutionRole), buckets, tables
(keys, indexes, streams), queues (attributes, redrive policies), topics and subscriptions
(LabResource).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qs

from django.contrib.auth.models import User

from sandbox.aws import roles
from sandbox.aws.calls import Call, GatewayRequest, observe
from sandbox.aws.models import ExecutionRole, LabResource, ResourceKind

logger = logging.getLogger(__name__)

TABLE_KEYS = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "Tags",
)


RECORDED = frozenset(
    {
        "CreateRole",
        "UpdateAssumeRolePolicy",
        "PutRolePolicy",
        "DeleteRolePolicy",
        "DeleteRole",
        "CreateBucket",
        "DeleteBucket",
        "CreateTable",
        "UpdateTable",
        "DeleteTable",
        "CreateQueue",
        "SetQueueAttributes",
        "DeleteQueue",
        "CreateTopic",
        "DeleteTopic",
        "Subscribe",
        "Unsubscribe",
    }
)


def resource_record(*, owner: User, kind: str, name: str, spec: dict[str, Any]) -> LabResource:
    """Record (or replace) what a resource was made with."""
    resource, _ = LabResource.objects.update_or_create(
        owner=owner, kind=kind, name=name, defaults={"spec": spec}
    )
    return resource


def resource_forget(*, owner: User, kind: str, name: str) -> None:
    LabResource.objects.filter(owner=owner, kind=kind, name=name).delete()


def subscription_name(*, topic_arn: str, protocol: str, endpoint: str) -> str:
    return f"{topic_arn.rsplit(':', 1)[-1]}|{protocol}|{endpoint}"


def queue_attributes_merge(*, owner: User, name: str, attributes: dict[str, str]) -> None:
    resource = LabResource.objects.filter(owner=owner, kind=ResourceKind.QUEUE, name=name).first()
    if resource is None:
        return
    resource.spec = {
        **resource.spec,
        "Attributes": {**resource.spec.get("Attributes", {}), **attributes},
    }
    resource.save(update_fields=["spec", "updated_at"])


# ------------------------------------------------------------------------------------ parsing


def _form(request: GatewayRequest) -> dict[str, str]:
    values = parse_qs(request.target.partition("?")[2], keep_blank_values=True)
    values.update(parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return {key: items[0] for key, items in values.items()}


def _json(request: GatewayRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _is_json(request: GatewayRequest) -> bool:
    return any(name.lower() == "x-amz-target" for name, _ in request.headers)


def _pairs(form: dict[str, str], prefix: str, key: str, value: str) -> dict[str, str]:
    """Query-protocol maps: Attribute.1.Name / Attribute.1.Value, Attributes.entry.1.key ..."""
    out = {}
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.{key}$")
    for name, item in form.items():
        match = pattern.match(name)
        if match:
            out[item] = form.get(f"{prefix}.{match[1]}.{value}", "")
    return out


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _iam(call: Call, request: GatewayRequest, owner: User) -> None:
    form = _form(request)
    name = form.get("RoleName", "")
    if not name:
        return
    role = ExecutionRole.objects.filter(owner=owner, name=name).first()
    try:
        if call.operation == "CreateRole":
            trust = json.loads(form.get("AssumeRolePolicyDocument") or "{}") or None
            roles.role_save(
                owner=owner, name=name, description=form.get("Description", ""), trust_policy=trust
            )
        elif call.operation == "UpdateAssumeRolePolicy" and role is not None:
            role.trust_policy = json.loads(form.get("PolicyDocument") or "{}")
            role.save(update_fields=["trust_policy", "updated_at"])
        elif call.operation == "PutRolePolicy":
            role = role or roles.role_save(owner=owner, name=name)
            roles.role_put_policy(
                role=role, name=form.get("PolicyName", ""), document=form.get("PolicyDocument", "")
            )
        elif call.operation == "DeleteRolePolicy" and role is not None:
            roles.role_delete_policy(role=role, name=form.get("PolicyName", ""))
        elif call.operation == "DeleteRole" and role is not None:
            roles.role_delete(role=role)
    except (ValueError, roles.RoleError) as exc:
        # moto took it but the lab cannot enforce it: the role keeps what the lab understood.
        logger.warning("IAM %s on %s not recorded: %s", call.operation, name, exc)


def _s3(call: Call, owner: User) -> None:
    bucket = call.resource.removeprefix("arn:aws:s3:::")
    if call.operation == "CreateBucket":
        resource_record(owner=owner, kind=ResourceKind.BUCKET, name=bucket, spec={})
    elif call.operation == "DeleteBucket":
        resource_forget(owner=owner, kind=ResourceKind.BUCKET, name=bucket)


def _dynamodb(call: Call, request: GatewayRequest, owner: User) -> None:
    body = _json(request)
    name = str(body.get("TableName") or "")
    if call.operation == "CreateTable":
        spec = {key: body[key] for key in TABLE_KEYS if key in body}
        resource_record(owner=owner, kind=ResourceKind.TABLE, name=name, spec=spec)
    elif call.operation == "UpdateTable":
        resource = LabResource.objects.filter(
            owner=owner, kind=ResourceKind.TABLE, name=name
        ).first()
        if resource is not None:
            for key in ("StreamSpecification", "BillingMode", "ProvisionedThroughput"):
                if key in body:
                    resource.spec[key] = body[key]
            resource.save(update_fields=["spec", "updated_at"])
    elif call.operation == "DeleteTable":
        resource_forget(owner=owner, kind=ResourceKind.TABLE, name=name)


def _sqs(call: Call, request: GatewayRequest, owner: User) -> None:
    if _is_json(request):
        body = _json(request)
        name = str(body.get("QueueName") or _queue_name(str(body.get("QueueUrl") or "")))
        attributes = {str(k): str(v) for k, v in (body.get("Attributes") or {}).items()}
        tags = body.get("tags") or {}
    else:
        form = _form(request)
        name = form.get("QueueName") or _queue_name(form.get("QueueUrl", ""))
        attributes = _pairs(form, "Attribute", "Name", "Value")
        tags = _pairs(form, "Tag", "Key", "Value")
    if call.operation == "CreateQueue":
        spec = {"Attributes": attributes, "tags": tags}
        resource_record(owner=owner, kind=ResourceKind.QUEUE, name=name, spec=spec)
    elif call.operation == "SetQueueAttributes":
        queue_attributes_merge(owner=owner, name=name, attributes=attributes)
    elif call.operation == "DeleteQueue":
        resource_forget(owner=owner, kind=ResourceKind.QUEUE, name=name)


def _sns(call: Call, request: GatewayRequest, body: bytes, owner: User) -> None:
    form = _form(request)
    spec: dict[str, Any]
    if call.operation == "CreateTopic":
        spec = {"Attributes": _pairs(form, "Attributes.entry", "key", "value")}
        resource_record(owner=owner, kind=ResourceKind.TOPIC, name=form.get("Name", ""), spec=spec)
    elif call.operation == "DeleteTopic":
        name = form.get("TopicArn", "").rsplit(":", 1)[-1]
        resource_forget(owner=owner, kind=ResourceKind.TOPIC, name=name)
        LabResource.objects.filter(
            owner=owner, kind=ResourceKind.SUBSCRIPTION, name__startswith=f"{name}|"
        ).delete()
    elif call.operation == "Subscribe":
        found = re.search(rb"<SubscriptionArn>([^<]+)</SubscriptionArn>", body)
        spec = {
            "TopicArn": form.get("TopicArn", ""),
            "Protocol": form.get("Protocol", ""),
            "Endpoint": form.get("Endpoint", ""),
            "Attributes": _pairs(form, "Attributes.entry", "key", "value"),
            "arn": found[1].decode() if found else "",
        }
        name = subscription_name(
            topic_arn=str(spec["TopicArn"]),
            protocol=str(spec["Protocol"]),
            endpoint=str(spec["Endpoint"]),
        )
        resource_record(owner=owner, kind=ResourceKind.SUBSCRIPTION, name=name, spec=spec)
    elif call.operation == "Unsubscribe":
        LabResource.objects.filter(
            owner=owner, kind=ResourceKind.SUBSCRIPTION, spec__arn=form.get("SubscriptionArn", "")
        ).delete()


@observe
def record(call: Call, request: GatewayRequest, body: bytes, caller: Any) -> None:
    """Keep the configuration a successful call made, changed or removed."""
    if call.operation not in RECORDED:
        return
    owner = User.objects.filter(pk=caller.owner_id).first()
    if owner is None:
        return
    if call.service == "iam":
        _iam(call, request, owner)
    elif call.service == "s3":
        _s3(call, owner)
    elif call.service == "dynamodb":
        _dynamodb(call, request, owner)
    elif call.service == "sqs":
        _sqs(call, request, owner)
    elif call.service == "sns":
        _sns(call, request, body, owner)
