"""Labs: what a lesson's try-it or a code challenge sets up in a learner's lab account (the
resources, the function's execution role and its trigger), the steps that fire it through the
real services, and the expectations of what the handler left behind.

A lab is plain data from the course content (the format is in learn/content/README.md):
`lab_check` validates it when the content loads; the rest runs it for one learner's function.
`{account}` in any string stands for the learner's lab account id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sandbox import services as sandbox_services
from sandbox.api import services as api_services
from sandbox.api.models import AsyncEvent
from sandbox.aws import roles
from sandbox.aws import services as aws_services
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import LabServicesUnavailable, lab_client
from sandbox.aws.models import ExecutionRole
from sandbox.models import Function, Invocation
from sandbox.results import invocation_wait_finished
from sandbox.triggers import services as trigger_services
from sandbox.triggers.models import EventSourceMapping, Trigger, TriggerKind

WAIT_S_DEFAULT = 20
WAIT_S_MAX = 60
ACCOUNT = "{account}"
TEMPLATES = {t.key for t in roles.TEMPLATES} - {"none"}
TRIGGER_KINDS = ("s3", "sqs", "sns", "rule", "schedule", "dynamodb", "url")
STREAM_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES", "OLD_IMAGE", "KEYS_ONLY")
# What each step and expectation takes: (required keys, optional keys).
STEPS: dict[str, tuple[set[str], set[str]]] = {
    "put_object": ({"bucket", "key"}, {"body"}),
    "delete_object": ({"bucket", "key"}, set()),
    "send_message": ({"queue", "body"}, set()),
    "publish": ({"topic", "message"}, {"subject"}),
    "put_events": ({"source", "detail_type", "detail"}, set()),
    "put_item": ({"table", "item"}, set()),
    "delete_item": ({"table", "key"}, set()),
    "fire_schedule": (set(), set()),
    "invoke": ({"event"}, set()),
}
EXPECTS: dict[str, tuple[set[str], set[str]]] = {
    "item": ({"table", "key"}, {"attributes"}),
    "no_item": ({"table", "key"}, set()),
    "items": ({"table", "count"}, set()),
    "object": ({"bucket", "key"}, {"body"}),
    "no_object": ({"bucket", "key"}, set()),
    "messages": ({"queue", "count"}, set()),
    "invocations": ({"count"}, {"status"}),
}
# Steps and triggers a challenge may not use: they need a learner at the page, not a grader.
LESSON_ONLY = {"url", "invoke"}
LAB_SID_PREFIX = "lab-"  # the resource policy statements a lab adds for its function URL


class LabError(ValueError):
    """A lab that is malformed (in the content) or could not be set up or run (in the lab's
    services); str() says what, for the author or the learner."""


# ------------------------------------------------------------------------------ checking


def _keys(where: str, value: Any, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LabError(f"{where} must be a mapping")
    missing = required - set(value)
    unknown = set(value) - required - optional
    if missing:
        raise LabError(f"{where} needs {', '.join(sorted(missing))}")
    if unknown:
        raise LabError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    return value


def _one_of(where: str, value: Any, shapes: dict[str, tuple[set[str], set[str]]]) -> str:
    if not isinstance(value, dict) or len(value) != 1:
        raise LabError(f"{where} must be one of {', '.join(shapes)}, as `kind: {{...}}`")
    ((kind, body),) = value.items()
    if kind not in shapes:
        raise LabError(f"{where}: no {kind!r}; use one of {', '.join(shapes)}")
    _keys(f"{where} ({kind})", body or {}, *shapes[kind])
    return str(kind)


def _names(where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise LabError(f"{where} must be a list of names")
    return value


def steps_check(steps: Any, *, for_challenge: bool = False) -> None:
    if not isinstance(steps, list) or not steps:
        raise LabError("steps must be a list of at least one step")
    for number, step in enumerate(steps, start=1):
        kind = _one_of(f"step {number}", step, STEPS)
        if for_challenge and kind in LESSON_ONLY:
            raise LabError(f"step {number}: a challenge cannot use {kind}")


def expect_check(expect: Any) -> None:
    if not isinstance(expect, list) or not expect:
        raise LabError("expect must be a list of at least one expectation")
    for number, item in enumerate(expect, start=1):
        kind = _one_of(f"expectation {number}", item, EXPECTS)
        body = item[kind]
        if "count" in body and (not isinstance(body["count"], int) or body["count"] < 0):
            raise LabError(f"expectation {number}: count must be a whole number")


def wait_check(wait_s: Any) -> int:
    if wait_s is None:
        return WAIT_S_DEFAULT
    if not isinstance(wait_s, int) or not 1 <= wait_s <= WAIT_S_MAX:
        raise LabError(f"wait_s must be a whole number of seconds from 1 to {WAIT_S_MAX}")
    return wait_s


def lab_check(lab: Any, *, for_challenge: bool = False) -> None:
    """Raise LabError naming the first problem of a lab from the content."""
    optional = {"buckets", "tables", "queues", "topics", "role", "trigger", "environment"}
    if not for_challenge:
        optional |= {"steps", "expect", "wait_s"}
    _keys("lab", lab, set(), optional)
    for bucket in _names("lab.buckets", lab.get("buckets", [])):
        if ACCOUNT not in bucket:
            raise LabError(f"bucket {bucket!r}: bucket names are global, put {ACCOUNT} in it")
    for table in lab.get("tables", []):
        _keys("a table", table, {"name", "key"}, {"sort_key", "stream"})
        if table.get("stream") not in (None, *STREAM_VIEWS):
            raise LabError(f"table {table['name']}: stream is one of {', '.join(STREAM_VIEWS)}")
    for queue in lab.get("queues", []):
        _keys(
            "a queue", queue, {"name"}, {"visibility_timeout_s", "dead_letter", "max_receive_count"}
        )
    _names("lab.topics", lab.get("topics", []))
    for policy in lab.get("role", []):
        _keys("a role policy", policy, {"template", "resource"}, set())
        if policy["template"] not in TEMPLATES:
            raise LabError(
                f"role template {policy['template']!r}: use {', '.join(sorted(TEMPLATES))}"
            )
    if "trigger" in lab:
        trigger = lab["trigger"]
        if (
            not isinstance(trigger, dict)
            or len(trigger) != 1
            or next(iter(trigger)) not in TRIGGER_KINDS
        ):
            raise LabError(f"lab.trigger is one of {', '.join(TRIGGER_KINDS)}, as `kind: {{...}}`")
        if for_challenge and next(iter(trigger)) in LESSON_ONLY:
            raise LabError("a challenge's lab cannot use a function URL")
    environment = lab.get("environment", {})
    if not isinstance(environment, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in environment.items()
    ):
        raise LabError("lab.environment maps names to strings")
    if "steps" in lab:
        steps_check(lab["steps"])
    if "expect" in lab:
        expect_check(lab["expect"])
    wait_check(lab.get("wait_s"))


def filled(value: Any, account_id: str) -> Any:
    """value with {account} replaced by account_id in every string."""
    if isinstance(value, str):
        return value.replace(ACCOUNT, account_id)
    if isinstance(value, list):
        return [filled(v, account_id) for v in value]
    if isinstance(value, dict):
        return {k: filled(v, account_id) for k, v in value.items()}
    return value


# ------------------------------------------------------------------------------ setting up


def _call(method: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise LabError(f"{error.get('Code')}: {error.get('Message')}") from None
    except (BotoCoreError, ParamValidationError) as exc:
        raise LabError(f"The lab's AWS services refused it: {exc}") from None


def _exists(method: Callable[..., Any], **kwargs: Any) -> bool:
    try:
        method(**kwargs)
    except ClientError:
        return False
    return True


def _resources_make(function: Function, lab: dict[str, Any], *, empty: bool) -> None:
    owner = function.owner
    account_id = account_for(owner)
    s3 = lab_client("s3", account_id=account_id)
    for bucket in lab.get("buckets", []):
        if not _exists(s3.head_bucket, Bucket=bucket):
            aws_services.bucket_create(owner=owner, name=bucket)
        elif empty:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for listed in page.get("Contents", []):
                    s3.delete_object(Bucket=bucket, Key=listed["Key"])
    dynamodb = lab_client("dynamodb", account_id=account_id)
    for table in lab.get("tables", []):
        there = _exists(dynamodb.describe_table, TableName=table["name"])
        if there and empty:
            # Deleting is the quickest way to empty a table; its stream goes with it, so the
            # trigger is made again after (_trigger_make).
            dynamodb.delete_table(TableName=table["name"])
            there = False
        if not there:
            aws_services.table_create(
                owner=owner,
                name=table["name"],
                partition_key=table["key"],
                sort_key=table.get("sort_key", ""),
                stream_view=table.get("stream", ""),
            )
    sqs = lab_client("sqs", account_id=account_id)
    for queue in lab.get("queues", []):
        aws_services.queue_create(
            owner=owner,
            name=queue["name"],
            visibility_timeout_s=queue.get("visibility_timeout_s", 30),
            dead_letter_queue=queue.get("dead_letter", ""),
            max_receive_count=queue.get("max_receive_count", 3),
        )
        if empty:
            for name in (queue["name"], queue.get("dead_letter")):
                if name:
                    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
                    sqs.purge_queue(QueueUrl=url)
    for topic in lab.get("topics", []):
        aws_services.topic_create(owner=owner, name=topic)


def _role_make(function: Function, policies: list[dict[str, str]]) -> ExecutionRole:
    """The function's own role (<function>-role) with exactly the lab's policies."""
    name = f"{function.name}-role"[:64]
    role = ExecutionRole.objects.filter(owner=function.owner, name=name).first()
    if role is None:
        role = aws_services.role_create(
            owner=function.owner, name=name, description=f"The execution role of {function.name}"
        )
    aws_services.role_template_apply(role=role, template="none")
    for policy in policies:
        aws_services.role_template_apply(
            role=role, template=policy["template"], resource_name=policy["resource"]
        )
    roles.function_role_set(function=function, role=role)
    return role


def _triggers_clear(function: Function) -> None:
    for trigger in Trigger.objects.filter(function=function):
        trigger_services.trigger_delete(trigger=trigger)
    for mapping in EventSourceMapping.objects.filter(function=function):
        trigger_services.mapping_delete(mapping=mapping)
    for config in function.url_configs.all():
        api_services.function_url_delete(config=config)
    for statement in function.policy.filter(sid__startswith=LAB_SID_PREFIX):
        api_services.permission_remove(statement=statement)


def _trigger_make(function: Function, trigger: dict[str, Any]) -> None:
    ((kind, options),) = trigger.items()
    options = options or {}
    account_id = account_for(function.owner)
    region = settings.LAB_REGION
    if kind == "s3":
        trigger_services.s3_trigger_create(
            function=function,
            bucket=options["bucket"],
            events=options.get("events"),
            prefix=options.get("prefix", ""),
            suffix=options.get("suffix", ""),
        )
    elif kind == "sqs":
        trigger_services.mapping_create(
            function=function,
            event_source_arn=f"arn:aws:sqs:{region}:{account_id}:{options['queue']}",
            batch_size=options.get("batch_size", 10),
            maximum_batching_window_s=options.get("batching_window_s", 0),
            report_batch_item_failures=options.get("report_batch_item_failures", False),
        )
    elif kind == "sns":
        trigger_services.sns_trigger_create(
            function=function, topic_arn=f"arn:aws:sns:{region}:{account_id}:{options['topic']}"
        )
    elif kind == "rule":
        trigger_services.rule_trigger_create(
            function=function, rule=options["name"], event_pattern=json.dumps(options["pattern"])
        )
    elif kind == "schedule":
        trigger_services.schedule_trigger_create(
            function=function, rule=options["name"], expression=options["expression"]
        )
    elif kind == "dynamodb":
        stream_arn = lab_client("dynamodb", account_id=account_id).describe_table(
            TableName=options["table"]
        )["Table"]["LatestStreamArn"]
        trigger_services.mapping_create(
            function=function,
            event_source_arn=stream_arn,
            batch_size=options.get("batch_size", 100),
            starting_position=options.get("starting_position", "LATEST"),
            bisect_batch_on_function_error=options.get("bisect_on_error", False),
        )
    elif kind == "url":
        auth = options.get("auth", "NONE")
        api_services.function_url_create(function=function, qualifier="$LATEST", auth_type=auth)
        if auth == "NONE":
            # Since October 2025 a public URL needs both permissions in the resource policy.
            for sid, action in (
                ("url", "lambda:InvokeFunctionUrl"),
                ("invoke", "lambda:InvokeFunction"),
            ):
                api_services.permission_add(
                    function=function,
                    qualifier="",
                    sid=f"{LAB_SID_PREFIX}{sid}",
                    action=action,
                    principal="*",
                    function_url_auth_type="NONE" if sid == "url" else "",
                    invoked_via_function_url=None if sid == "url" else True,
                )


def _quiesce(function: Function) -> None:
    """Let nothing of an earlier run reach the emptied lab: the function's pending asynchronous
    events end (no retry of an old event runs the new code) and its invocations still queued
    or running stop."""
    now = timezone.now()
    AsyncEvent.objects.filter(function=function, status=AsyncEvent.Status.QUEUED).update(
        status=AsyncEvent.Status.FAILED,
        destination_note="Ended: the lab was set up again for a new run.",
        finished_at=now,
    )
    pending = function.invocations.filter(status__in=Invocation.PENDING)
    for invocation_id in pending.values_list("pk", flat=True):
        sandbox_services.invocation_stop(
            invocation_id=invocation_id, reason="The lab was set up again for a new run."
        )


def lab_apply(*, function: Function, lab: dict[str, Any], empty: bool = False) -> None:
    """Set the lab up for function in its owner's account: make the resources that are
    missing (with empty, also empty those that exist, after ending what is left of earlier
    runs), give the function its own role with the lab's policies and the lab's environment,
    and make the lab's trigger its only one.

    Raises LabError for what the services refused, in their words.
    """
    lab = filled(lab, account_for(function.owner))
    if empty:
        _quiesce(function)
    try:
        with transaction.atomic():
            _resources_make(function, lab, empty=empty)
            _role_make(function, lab.get("role", []))
            if lab.get("environment", {}) != function.environment:
                sandbox_services.function_update_config(
                    function=function, environment=dict(lab.get("environment", {}))
                )
            _triggers_clear(function)
            if "trigger" in lab:
                _trigger_make(function, lab["trigger"])
    except (aws_services.ResourceError, roles.RoleError, LabServicesUnavailable) as exc:
        raise LabError(str(exc)) from None
    except ValidationError as exc:
        raise LabError(" ".join(exc.messages)) from None
    except ClientError as exc:
        raise LabError(str(exc)) from None


# ------------------------------------------------------------------------------ running


def _plain_item(item: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {k: serializer.serialize(_decimals(v)) for k, v in item.items()}


def _decimals(value: Any) -> Any:
    """JSON numbers as DynamoDB wants them (Decimal, never float)."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _step(function: Function, account_id: str, kind: str, options: dict[str, Any]) -> None:
    def client(service: str) -> Any:
        return lab_client(service, account_id=account_id)

    if kind == "put_object":
        _call(
            client("s3").put_object,
            Bucket=options["bucket"],
            Key=options["key"],
            Body=_text(options.get("body", "")).encode(),
        )
    elif kind == "delete_object":
        _call(client("s3").delete_object, Bucket=options["bucket"], Key=options["key"])
    elif kind == "send_message":
        sqs = client("sqs")
        url = _call(sqs.get_queue_url, QueueName=options["queue"])["QueueUrl"]
        _call(sqs.send_message, QueueUrl=url, MessageBody=_text(options["body"]))
    elif kind == "publish":
        extra = {"Subject": options["subject"]} if options.get("subject") else {}
        _call(
            client("sns").publish,
            TopicArn=f"arn:aws:sns:{settings.LAB_REGION}:{account_id}:{options['topic']}",
            Message=_text(options["message"]),
            **extra,
        )
    elif kind == "put_events":
        entry = {
            "Source": options["source"],
            "DetailType": options["detail_type"],
            "Detail": _text(options["detail"]),
            "EventBusName": "default",
        }
        _call(client("events").put_events, Entries=[entry])
    elif kind == "put_item":
        _call(
            client("dynamodb").put_item,
            TableName=options["table"],
            Item=_plain_item(options["item"]),
        )
    elif kind == "delete_item":
        _call(
            client("dynamodb").delete_item,
            TableName=options["table"],
            Key=_plain_item(options["key"]),
        )
    elif kind == "fire_schedule":
        if not trigger_services.schedule_fire_now(function=function):
            raise LabError("This function has no schedule to fire.")
    elif kind == "invoke":
        invocation = sandbox_services.invocation_start(
            function=function, event_text=_text(options["event"]), requested_by=function.owner
        )
        # One request after another, as a client of the URL would send them: the next step
        # may depend on what this one stored.
        invocation_wait_finished(invocation_id=invocation.pk, timeout_s=function.timeout_s + 15)


def steps_run(*, function: Function, steps: list[dict[str, Any]]) -> None:
    """Perform the steps in function's owner's account, in order, as the learner would (an
    upload, a message sent, an event put): the triggers take it from there.

    Raises LabError for a step the services refused, naming it.
    """
    account_id = account_for(function.owner)
    for number, step in enumerate(filled(steps, account_id), start=1):
        ((kind, options),) = step.items()
        try:
            _step(function, account_id, kind, options or {})
        except LabServicesUnavailable as exc:
            raise LabError(str(exc)) from None
        except LabError as exc:
            raise LabError(f"Step {number} ({describe_step(step)}) failed: {exc}") from None
        except (ValidationError, sandbox_services.LimitReached) as exc:
            raise LabError(f"Step {number} ({describe_step(step)}) was refused: {exc}") from None


def _brief(value: Any, limit: int = 90) -> str:
    text = _text(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def describe_step(step: dict[str, Any]) -> str:
    """One line saying what a step does, for the lesson page and errors."""
    ((kind, o),) = step.items()
    o = o or {}
    return {
        "put_object": lambda: f"upload {o.get('key')} to {o.get('bucket')}",
        "delete_object": lambda: f"delete {o.get('key')} from {o.get('bucket')}",
        "send_message": lambda: f"send {_text(o.get('body'))} to the queue {o.get('queue')}",
        "publish": lambda: f"publish {_text(o.get('message'))!r} to the topic {o.get('topic')}",
        "put_events": lambda: f"put a {o.get('detail_type')} event from {o.get('source')}",
        "put_item": lambda: f"put {_text(o.get('item'))} in the table {o.get('table')}",
        "delete_item": lambda: f"delete {_text(o.get('key'))} from the table {o.get('table')}",
        "fire_schedule": lambda: "fire the schedule now",
        "invoke": lambda: f"invoke the function with {_brief(o.get('event'))}",
    }[kind]()


# ------------------------------------------------------------------------------ expecting


@dataclass(frozen=True)
class Outcome:
    """Where a run of steps has got to: the expectations that do not hold yet, in words, and
    how much is still on its way to the handler: invocations since the steps began that are
    queued or running, and messages waiting in the trigger's queues (an SQS source's, visible
    or in flight until their visibility timeout; the relay queue of an S3, SNS or EventBridge
    trigger)."""

    problems: list[str]
    pending: int

    @property
    def settled(self) -> bool:
        return not self.problems and not self.pending


def _item_get(client: Any, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    found = _call(client.get_item, TableName=table, Key=_plain_item(key), ConsistentRead=True)
    if "Item" not in found:
        return None
    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in found["Item"].items()}


def _same(expected: Any, found: Any) -> bool:
    """Whether an attribute from DynamoDB (numbers as Decimal) is the expected JSON value."""
    return bool(_decimals(expected) == found)


def _key_text(key: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in key.items())


def _problem(
    function: Function, account_id: str, kind: str, o: dict[str, Any], since: datetime
) -> str:
    def client(service: str) -> Any:
        return lab_client(service, account_id=account_id)

    if kind in ("item", "no_item"):
        item = _item_get(client("dynamodb"), o["table"], o["key"])
        if kind == "no_item":
            return (
                f"the table {o['table']} should hold no item {_key_text(o['key'])}" if item else ""
            )
        if item is None:
            return f"no item {_key_text(o['key'])} in the table {o['table']}"
        wrong = [
            f"{name} is {_json(item.get(name))}, expected {_json(value)}"
            for name, value in (o.get("attributes") or {}).items()
            if name not in item or not _same(value, item[name])
        ]
        return f"item {_key_text(o['key'])}: " + "; ".join(wrong) if wrong else ""
    if kind == "items":
        count = _call(client("dynamodb").scan, TableName=o["table"], Select="COUNT")["Count"]
        if count != o["count"]:
            return f"the table {o['table']} holds {count} items, expected {o['count']}"
        return ""
    if kind in ("object", "no_object"):
        try:
            body = client("s3").get_object(Bucket=o["bucket"], Key=o["key"])["Body"].read()
        except ClientError:
            body = None
        if kind == "no_object":
            return f"{o['key']} should not be in {o['bucket']}" if body is not None else ""
        if body is None:
            return f"no object {o['key']} in {o['bucket']}"
        if "body" in o and body != _text(o["body"]).encode():
            return f"{o['key']} in {o['bucket']} does not hold the expected text"
        return ""
    if kind == "messages":
        sqs = client("sqs")
        url = _call(sqs.get_queue_url, QueueName=o["queue"])["QueueUrl"]
        counts = _call(
            sqs.get_queue_attributes,
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        count = sum(int(v) for v in counts.values())
        if count != o["count"]:
            return f"the queue {o['queue']} holds {count} messages, expected {o['count']}"
        return ""
    if kind == "invocations":
        finished = Invocation.objects.filter(function=function, created_at__gte=since).exclude(
            status__in=Invocation.PENDING
        )
        if o.get("status"):
            finished = finished.filter(status=o["status"])
        count = finished.count()
        if count != o["count"]:
            what = f"{o['status']} " if o.get("status") else ""
            return f"{count} {what}invocations since the steps began, expected {o['count']}"
        return ""
    raise LabError(f"no expectation {kind!r}")


def _json(value: Any) -> str:
    """A value read from DynamoDB as the author wrote it (5, not "5" or Decimal('5'))."""

    def plain(other: Any) -> Any:
        if isinstance(other, Decimal):
            return int(other) if other == other.to_integral_value() else float(other)
        if isinstance(other, set):
            return sorted(other, key=str)
        return str(other)

    return json.dumps(value, default=plain)


def outcome(*, function: Function, expect: list[dict[str, Any]], since: datetime) -> Outcome:
    """Check the expectations against the owner's account and the function's invocations
    since `since`. Raises LabError when the services cannot be asked."""
    account_id = account_for(function.owner)
    problems = []
    try:
        for item in filled(expect, account_id):
            ((kind, options),) = item.items()
            problem = _problem(function, account_id, kind, options, since)
            if problem:
                problems.append(problem)
    except LabServicesUnavailable as exc:
        raise LabError(str(exc)) from None
    pending = Invocation.objects.filter(
        function=function, created_at__gte=since, status__in=Invocation.PENDING
    ).count()
    return Outcome(problems=problems, pending=pending + _backlog(function, account_id))


def _backlog(function: Function, account_id: str) -> int:
    """Messages the function's triggers have yet to deliver (streams are not counted: their
    poller reads them within a second or two)."""
    queues = [m.queue_name for m in function.event_source_mappings.all() if not m.is_stream]
    relayed = Trigger.objects.filter(function=function).exclude(kind=TriggerKind.SCHEDULE)
    queues += [trigger.relay_queue for trigger in relayed]
    sqs = lab_client("sqs", account_id=account_id)
    count = 0
    for name in queues:
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            counts = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
        except ClientError:
            continue  # a queue the learner deleted holds nothing on its way
        count += sum(int(v) for v in counts.values())
    return count


def invocation_logs(*, function: Function, since: datetime, limit: int = 10) -> str:
    """The logs of function's invocations since `since`, oldest first, for a test result."""
    invocations = Invocation.objects.filter(function=function, created_at__gte=since).order_by("pk")
    return "\n".join(log for log in invocations.values_list("log", flat=True)[:limit] if log)


def lab_summary(lab: dict[str, Any]) -> list[str]:
    """What a lab sets up, one line each, for the lesson page ({account} left for the reader)."""
    lines = [f"S3 bucket {name}" for name in lab.get("buckets", [])]
    for table in lab.get("tables", []):
        stream = f", stream {table['stream']}" if table.get("stream") else ""
        lines.append(f"DynamoDB table {table['name']} (key {table['key']}{stream})")
    for queue in lab.get("queues", []):
        dead = queue.get("dead_letter")
        redrive = (
            f", dead-letter queue {dead} after {queue.get('max_receive_count', 3)} receives"
            if dead
            else ""
        )
        lines.append(f"SQS queue {queue['name']}{redrive}")
    lines += [f"SNS topic {name}" for name in lab.get("topics", [])]
    policies = ", ".join(f"{p['template']} on {p['resource']}" for p in lab.get("role", []))
    lines.append(f"Execution role: {policies or 'no permissions'}")
    if "trigger" in lab:
        ((kind, options),) = lab["trigger"].items()
        options = options or {}
        source = {
            "s3": lambda: f"S3 notifications of {options.get('bucket')}",
            "sqs": lambda: f"an SQS event source mapping on {options.get('queue')}",
            "sns": lambda: f"an SNS subscription to {options.get('topic')}",
            "rule": lambda: f"the EventBridge rule {options.get('name')}",
            "schedule": lambda: f"the schedule {options.get('expression')}",
            "dynamodb": lambda: f"the stream of the table {options.get('table')}",
            "url": lambda: f"a function URL (auth {options.get('auth', 'NONE')})",
        }[kind]()
        lines.append(f"Trigger: {source}")
    return lines


def describe_expectation(expectation: dict[str, Any]) -> str:
    """One line saying what an expectation asks of the handler, for a challenge's brief."""
    ((kind, o),) = expectation.items()
    o = o or {}
    key = _key_text(o.get("key") or {})
    attributes = ", ".join(f"{k} = {_json(v)}" for k, v in (o.get("attributes") or {}).items())
    return {
        "item": lambda: (
            f"the table {o.get('table')} holds the item {key}"
            + (f" with {attributes}" if attributes else "")
        ),
        "no_item": lambda: f"the table {o.get('table')} holds no item {key}",
        "items": lambda: f"the table {o.get('table')} holds {o.get('count')} items",
        "object": lambda: (
            f"{o.get('bucket')} holds {o.get('key')}"
            + (f" with the text {_text(o['body'])!r}" if "body" in o else "")
        ),
        "no_object": lambda: f"{o.get('bucket')} does not hold {o.get('key')}",
        "messages": lambda: f"the queue {o.get('queue')} holds {o.get('count')} messages",
        "invocations": lambda: f"{o.get('count')} {o.get('status', 'finished')} invocations",
    }[kind]()
