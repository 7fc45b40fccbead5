"""Writes of the triggers: event source mappings and the poller that feeds them to functions.

An SQS mapping is polled by a chain of Celery tasks on the sandbox worker (see tasks.py): each
link receives one batch from the learner's queue in the lab's moto server, runs it through the
function synchronously on that worker, deletes what succeeded and leaves the rest to come back
after the queue's visibility timeout, where moto's redrive policy moves it to the DLQ after
maxReceiveCount receives, as SQS does.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sandbox import execution, routing
from sandbox import services as sandbox_services
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import LabServicesUnavailable, lab_client
from sandbox.models import Function, Invocation
from sandbox.results import invocation_announce_finished
from sandbox.triggers import events, leases, schedules
from sandbox.triggers.models import (
    LOOP_LIMIT,
    S3_EVENTS,
    SQS_BATCH_SIZE_MAX_WITHOUT_WINDOW,
    EventSourceMapping,
    InvocationTrigger,
    Trigger,
    TriggerKind,
)

logger = logging.getLogger(__name__)

_SQS_ARN = re.compile(
    r"^arn:aws:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[\w-]{1,80}(\.fifo)?)$"
)
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# How far around an invocation's run an event its source sent still counts as its doing.
LINEAGE_SLACK_S = 1.0


class MappingConflict(Exception):
    """The function already has a mapping of that source; str() names it."""


# ---------------------------------------------------------------- mappings


_STREAM_ARN = re.compile(
    r"^arn:aws:dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):table/[\w.-]+/stream/\S+$"
)


def _check_stream(*, function: Function, event_source_arn: str) -> None:
    match = _STREAM_ARN.match(event_source_arn)
    missing = ValidationError(
        {"event_source_arn": f"There is no stream {event_source_arn} in your lab account."}
    )
    if match is None or match["account"] != account_for(function.owner):
        raise missing
    try:
        lab_client("dynamodbstreams", account_id=match["account"]).describe_stream(
            StreamArn=event_source_arn
        )
    except (ClientError, ParamValidationError):
        raise missing from None


def _check_source(*, function: Function, event_source_arn: str) -> None:
    if (event_source_arn or "").startswith("arn:aws:dynamodb:"):
        _check_stream(function=function, event_source_arn=event_source_arn)
        return
    match = _SQS_ARN.match(event_source_arn or "")
    if match is None:
        raise ValidationError(
            {
                "event_source_arn": "Give the ARN of an SQS queue (arn:aws:sqs:region:account:"
                "name) or of a DynamoDB stream."
            }
        )
    if match["account"] != account_for(function.owner) or match["region"] != settings.LAB_REGION:
        raise ValidationError(
            {"event_source_arn": f"There is no queue {event_source_arn} in your lab account."}
        )
    if match["name"].startswith(Trigger.RELAY_QUEUE_PREFIX):
        # A mapping would take the trigger's events from its relay.
        raise ValidationError(
            {
                "event_source_arn": f"{match['name']} is the lab's own relay queue for one of "
                "your triggers; map a queue of your own."
            }
        )
    try:
        lab_client("sqs", account_id=match["account"]).get_queue_url(QueueName=match["name"])
    except ClientError:
        raise ValidationError(
            {"event_source_arn": f"There is no queue {event_source_arn} in your lab account."}
        ) from None


def _check_batching(mapping: EventSourceMapping) -> None:
    if (
        mapping.batch_size > SQS_BATCH_SIZE_MAX_WITHOUT_WINDOW
        and mapping.maximum_batching_window_s < 1
        and not mapping.starting_position
    ):
        raise ValidationError(
            {
                "batch_size": "Maximum batch window in seconds must be greater than 0 if maximum "
                "batch size is greater than 10"
            }
        )
    mapping.full_clean(exclude=["function"])


def mapping_create(
    *,
    function: Function,
    event_source_arn: str,
    batch_size: int = 10,
    maximum_batching_window_s: int = 0,
    report_batch_item_failures: bool = False,
    enabled: bool = True,
    starting_position: str = "",
    bisect_batch_on_function_error: bool = False,
    maximum_retry_attempts: int = -1,
) -> EventSourceMapping:
    """Map an SQS queue of the function owner's lab account to the function.

    Raises ValidationError for a source that is not one of the owner's queues or batching out of
    Lambda's limits, MappingConflict if the function already polls that queue. Polling starts
    once the transaction commits.
    """
    _check_source(function=function, event_source_arn=event_source_arn)
    stream = event_source_arn.startswith("arn:aws:dynamodb:")
    if stream and starting_position not in ("TRIM_HORIZON", "LATEST"):
        raise ValidationError(
            {
                "starting_position": "A DynamoDB stream needs StartingPosition TRIM_HORIZON "
                "or LATEST."
            }
        )
    if not stream and starting_position:
        raise ValidationError(
            {"starting_position": "StartingPosition is not valid for SQS event sources."}
        )
    mapping = EventSourceMapping(
        function=function,
        event_source_arn=event_source_arn,
        starting_position=starting_position,
        bisect_batch_on_function_error=bisect_batch_on_function_error,
        maximum_retry_attempts=maximum_retry_attempts,
        stream_position=_stream_latest(event_source_arn) if starting_position == "LATEST" else {},
        batch_size=batch_size,
        maximum_batching_window_s=maximum_batching_window_s,
        report_batch_item_failures=report_batch_item_failures,
        enabled=enabled,
        state=EventSourceMapping.State.CREATING if enabled else EventSourceMapping.State.DISABLED,
    )
    _check_batching(mapping)
    existing = EventSourceMapping.objects.filter(
        function=function, event_source_arn=event_source_arn
    ).first()
    if existing is not None:
        raise MappingConflict(
            f'An event source mapping with SQS arn (" {event_source_arn} ") and function '
            f'(" {function.name} ") already exists. Please update or delete the existing mapping '
            f"with UUID {existing.uuid}"
        )
    try:
        with transaction.atomic():
            mapping.save()
    except IntegrityError:
        raise MappingConflict(
            f"The function {function.name} already has a mapping of {event_source_arn}."
        ) from None
    if enabled:
        transaction.on_commit(lambda: poller_start(mapping_id=mapping.pk, slot=0))
    return mapping


def mapping_update(
    *,
    mapping: EventSourceMapping,
    function: Function | None = None,
    batch_size: int | None = None,
    maximum_batching_window_s: int | None = None,
    report_batch_item_failures: bool | None = None,
    enabled: bool | None = None,
) -> EventSourceMapping:
    """Change a mapping; None leaves a setting as it is. Raises ValidationError."""
    if function is not None:
        if function.owner_id != mapping.function.owner_id:
            raise ValidationError({"function": "That function is not yours."})
        mapping.function = function
    if batch_size is not None:
        mapping.batch_size = batch_size
    if maximum_batching_window_s is not None:
        mapping.maximum_batching_window_s = maximum_batching_window_s
    if report_batch_item_failures is not None:
        mapping.report_batch_item_failures = report_batch_item_failures
    starting = False
    if enabled is not None and enabled != mapping.enabled:
        mapping.enabled = enabled
        # Disabling takes effect at the poller's next batch; there is nothing to wait for.
        mapping.state = (
            EventSourceMapping.State.ENABLING if enabled else EventSourceMapping.State.DISABLED
        )
        starting = enabled
    _check_batching(mapping)
    try:
        with transaction.atomic():
            mapping.save()
    except IntegrityError:
        raise MappingConflict("That function already has a mapping of this queue.") from None
    if starting:
        transaction.on_commit(lambda: poller_start(mapping_id=mapping.pk, slot=0))
    return mapping


def mapping_delete(*, mapping: EventSourceMapping) -> None:
    """Stop polling (at the poller's next batch) and forget the mapping."""
    mapping.delete()


# ---------------------------------------------------------------- lineage


def _sent_at(message: dict[str, Any]) -> datetime | None:
    sent = message.get("Attributes", {}).get("SentTimestamp")
    if not sent or not str(sent).isdigit():
        return None
    return datetime.fromtimestamp(int(sent) / 1000, tz=UTC)


def lineage_depth(*, function: Function, source_arn: str, sent_at: datetime | None) -> int:
    """Which round of a loop source → function → same source an event sent at sent_at is.

    Lambda follows its own trace header through the SDK; here the event's source is matched
    with what the function was doing when the source sent it: an event the source sent while
    an invocation of this function that the same source triggered was running is taken to be
    that invocation's doing (one round deeper). An upload of the learner's own that lands while
    the function runs counts too, which only matters if it happens LOOP_LIMIT times in a row.
    """
    if sent_at is None:
        return 1
    slack = timedelta(seconds=LINEAGE_SLACK_S)
    parent = (
        InvocationTrigger.objects.filter(
            invocation__function=function,
            source_arn=source_arn,
            loop_stopped=False,
            invocation__started_at__lte=sent_at + slack,
        )
        .filter(
            Q(invocation__finished_at__gte=sent_at - slack)
            | Q(invocation__finished_at__isnull=True, invocation__started_at__isnull=False)
        )
        .order_by("-depth")
        .values_list("depth", flat=True)
        .first()
    )
    return parent + 1 if parent else 1


def loop_message(*, kind: str, source_arn: str, depth: int) -> str:
    return (
        f"Lambda stopped a recursive loop: this {TriggerKind(kind).label} event from "
        f"{source_arn} is the {depth}th in a chain where the function's own writes trigger it "
        f"again (the limit is {LOOP_LIMIT} rounds). The event was not run. Write the result "
        "somewhere else (another bucket, queue or topic, or a different prefix the trigger "
        "does not match)."
    )


def _stop_loop(
    *,
    function: Function,
    kind: str,
    source_arn: str,
    event: dict[str, Any],
    depth: int,
    mapping: EventSourceMapping | None = None,
    note: str = "",
    outcome: dict[str, Any] | None = None,
) -> Invocation:
    """Record the event Lambda would not run, with the reason (and note, what became of it)
    where the learner looks."""
    with transaction.atomic():
        invocation = sandbox_services.invocation_start(
            function=function,
            event_text=json.dumps(event),
            requested_by=function.owner,
            enqueue=False,
        )
        InvocationTrigger.objects.create(
            invocation=invocation,
            kind=kind,
            source_arn=source_arn,
            mapping=mapping,
            records=len(event.get("Records", [event])),
            depth=depth,
            loop_stopped=True,
            outcome=outcome or {},
        )
    reason = loop_message(kind=kind, source_arn=source_arn, depth=depth)
    return execution.invocation_fail(
        invocation=invocation, reason=f"{reason} {note}" if note else reason
    )


def _dead_letter_queue(client: Any, *, queue_url: str) -> str | None:
    """The URL of the queue's dead-letter queue (its redrive policy's target), or None."""
    attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    policy = attributes.get("Attributes", {}).get("RedrivePolicy")
    if not policy:
        return None
    target = str(json.loads(policy).get("deadLetterTargetArn") or "")
    if not target:
        return None
    try:
        return str(client.get_queue_url(QueueName=target.rsplit(":", 1)[-1])["QueueUrl"])
    except ClientError:
        return None  # the dead-letter queue was deleted since


def _stop_looping_batch(
    client: Any,
    *,
    mapping: EventSourceMapping,
    queue_url: str,
    messages: list[dict[str, Any]],
    event: dict[str, Any],
    depth: int,
) -> Invocation:
    """Stop a batch of a recursive loop as Lambda does: its messages go to the queue's
    dead-letter queue when it has one, and are dropped otherwise; either way they leave the
    queue, so the loop ends."""
    note = "Its messages were dropped: the queue has no dead-letter queue."
    outcome: dict[str, Any] = {"dropped": [m["MessageId"] for m in messages]}
    try:
        dlq_url = _dead_letter_queue(client, queue_url=queue_url)
        if dlq_url is not None:
            _send(client, queue_url=dlq_url, messages=messages)
            name = dlq_url.rstrip("/").rsplit("/", 1)[-1]
            note = f"Its messages went to the queue's dead-letter queue, {name}."
            outcome = {"dead_lettered": outcome["dropped"], "dead_letter_queue": name}
    except (ClientError, BotoCoreError):
        logger.warning("could not move a looping batch to its dead-letter queue", exc_info=True)
        note = "Its messages were dropped: the dead-letter queue could not take them."
    _delete(client, queue_url=queue_url, messages=messages)
    return _stop_loop(
        function=mapping.function,
        kind=TriggerKind.SQS,
        source_arn=mapping.event_source_arn,
        event=event,
        depth=depth,
        mapping=mapping,
        note=note,
        outcome=outcome,
    )


# ---------------------------------------------------------------- the poller


def _esm(mapping_id: int, slot: int) -> str:
    return f"esm:{mapping_id}:{slot}"


def poll_wait_s() -> int:
    return max(0, min(20, settings.TRIGGERS_SQS_WAIT_SECONDS))


def lease_ttl_s(mapping: EventSourceMapping) -> int:
    # Long enough for one batch: gathering it, INIT, the handler's timeout, deleting.
    return poll_wait_s() + mapping.maximum_batching_window_s + mapping.function.timeout_s + 10 + 60


def poller_slots(mapping: EventSourceMapping) -> int:
    """How many batches of this mapping may run at once: no more than the function's
    concurrency (its reservation, else the learner's share) allows, as Lambda scales pollers."""
    function = mapping.function
    limit = (
        function.reserved_concurrency
        if function.reserved_concurrency is not None
        else settings.SANDBOX_LEARNER_CONCURRENCY
    )
    return max(0, min(limit, settings.TRIGGERS_SQS_MAX_POLLERS))


def _task(name: str) -> Any:
    # sandbox.triggers.tasks calls back into this module (a poll sends the next): sent by name.
    return routing.task_named(f"sandbox.triggers.tasks.{name}")


def poller_start(*, mapping_id: int, slot: int) -> bool:
    """Start the poller chain of a mapping's slot unless one runs. Returns whether it started."""
    mapping = EventSourceMapping.objects.select_related("function").filter(pk=mapping_id).first()
    if mapping is None or not mapping.enabled or slot >= poller_slots(mapping):
        return False
    token = leases.lease_take(name=_esm(mapping_id, slot), ttl_s=lease_ttl_s(mapping))
    if token is None:
        return False
    if not _poll_send(mapping, slot=slot, token=token):
        leases.lease_release(name=_esm(mapping_id, slot), token=token)
        return False
    return True


def _poll_send(
    mapping: EventSourceMapping, *, slot: int, token: str, countdown: float | None = None
) -> bool:
    """Queue one link of a poller chain on the worker that owns the mapping's function, as its
    invocations are (sandbox.routing): the poller runs the batches there, in that worker's pool,
    so they find the function's warm environments. With no live worker known it goes on the
    shared queue. False when the broker cannot take it (the lease then lapses and the
    watchdog, pollers_ensure, starts the chain again)."""
    try:
        routing.task_send(
            _task("sqs_poll"),
            args=[mapping.pk, slot, token],
            key=routing.routing_key(function_id=mapping.function_id),
            countdown=countdown,
        )
    except routing.QueueUnavailable:
        return False
    return True


def poller_continue(*, mapping_id: int, slot: int, token: str, delay: float) -> bool:
    """Send the next link of a poller chain, delay seconds from now, to the mapping's function's
    worker (the owner may have changed since the last link). False when it was not sent."""
    mapping = EventSourceMapping.objects.filter(pk=mapping_id).first()
    if mapping is None:
        return False
    return _poll_send(mapping, slot=slot, token=token, countdown=delay or None)


def pollers_ensure() -> int:
    """Start the first poller of every enabled mapping and the relay of every trigger that has
    none (after a worker restart, or a lease that expired). Returns how many were started."""
    started = 0
    for mapping_id in EventSourceMapping.objects.filter(enabled=True).values_list("pk", flat=True):
        if not leases.lease_held(name=_esm(mapping_id, 0)):
            started += poller_start(mapping_id=mapping_id, slot=0)
    return started + relays_ensure()


@dataclass
class Batch:
    """What one poll did."""

    received: int = 0
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    throttled: bool = False
    error: str = ""
    invocation_id: int | None = None


def _receive(client: Any, *, queue_url: str, mapping: EventSourceMapping) -> list[dict[str, Any]]:
    """Up to batch_size messages: one long poll, then more until the batching window closes."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + mapping.maximum_batching_window_s
    wait = poll_wait_s()
    while len(messages) < mapping.batch_size:
        answer = client.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, mapping.batch_size - len(messages)),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        got = answer.get("Messages", [])
        messages.extend(got)
        remaining = deadline - time.monotonic()
        if not messages or remaining <= 0:
            break
        if not got:
            wait = max(0, min(20, int(remaining)))
            if wait == 0:
                break
        else:
            wait = 0
    return messages


def _failed_ids(
    mapping: EventSourceMapping, invocation: Invocation, message_ids: set[str]
) -> set[str]:
    if invocation.status != Invocation.Status.SUCCESS:
        return message_ids
    if not mapping.report_batch_item_failures:
        return set()
    failed = events.sqs_batch_item_failures(invocation.payload, message_ids=message_ids)
    return message_ids if failed is None else failed


def poll_once(*, mapping_id: int, worker: str = "") -> Batch | None:
    """Receive one batch of the mapping's queue and run it through the function, here and now.

    Returns None when the mapping is gone or disabled (the poller stops), else what happened.
    Messages that succeed are deleted; the others stay in flight until their visibility
    timeout ends. The invocation counts toward the learner's share like any other: when the
    learner is at their limit the batch is made visible again at once, unprocessed.
    """
    mapping = (
        EventSourceMapping.objects.select_related("function__owner").filter(pk=mapping_id).first()
    )
    if mapping is None or not mapping.enabled:
        return None
    if mapping.state != EventSourceMapping.State.ENABLED:
        EventSourceMapping.objects.filter(pk=mapping.pk).update(
            state=EventSourceMapping.State.ENABLED
        )
    if mapping.is_stream:
        return _poll_stream(mapping, worker=worker)
    batch = Batch()
    try:
        client = lab_client("sqs", account_id=mapping.account_id)
        queue_url = client.get_queue_url(QueueName=mapping.queue_name)["QueueUrl"]
        messages = _receive(client, queue_url=queue_url, mapping=mapping)
    except (ClientError, BotoCoreError, LabServicesUnavailable) as exc:
        batch.error = str(exc)
        EventSourceMapping.objects.filter(pk=mapping.pk).update(
            state_reason=f"Could not read the queue: {exc}"[:256]
        )
        return batch
    batch.received = len(messages)
    if not messages:
        return batch
    function = mapping.function
    event = events.sqs_event(
        messages, queue_arn=mapping.event_source_arn, region=settings.LAB_REGION
    )
    by_id = {message["MessageId"]: message for message in messages}
    depth = max(
        lineage_depth(
            function=function, source_arn=mapping.event_source_arn, sent_at=_sent_at(message)
        )
        for message in messages
    )
    if depth > LOOP_LIMIT:
        stopped = _stop_looping_batch(
            client,
            mapping=mapping,
            queue_url=queue_url,
            messages=messages,
            event=event,
            depth=depth,
        )
        batch.invocation_id = stopped.pk
        batch.deleted = list(by_id)
        return batch
    try:
        with transaction.atomic():
            invocation = sandbox_services.invocation_start(
                function=function,
                event_text=json.dumps(event),
                requested_by=function.owner,
                enqueue=False,
            )
            trigger = InvocationTrigger.objects.create(
                invocation=invocation,
                kind=TriggerKind.SQS,
                source_arn=mapping.event_source_arn,
                mapping=mapping,
                records=len(messages),
                depth=depth,
            )
    except (sandbox_services.LimitReached, ValidationError) as exc:
        batch.throttled = True
        batch.error = str(exc)
        _release(client, queue_url=queue_url, messages=messages)
        return batch
    batch.invocation_id = invocation.pk
    try:
        finished = execution.invocation_execute(invocation_id=invocation.pk, worker=worker)
    finally:
        invocation_announce_finished(invocation_id=invocation.pk)
    failed = _failed_ids(mapping, finished or invocation, set(by_id))
    succeeded = [message_id for message_id in by_id if message_id not in failed]
    try:
        _delete(client, queue_url=queue_url, messages=[by_id[i] for i in succeeded])
    except (ClientError, BotoCoreError) as exc:
        batch.error = str(exc)
    batch.deleted = succeeded
    batch.failed = sorted(failed)
    trigger.outcome = {"deleted": succeeded, "failed": batch.failed}
    trigger.save(update_fields=["outcome", "updated_at"])
    EventSourceMapping.objects.filter(pk=mapping.pk).update(
        last_processing_result="OK" if not failed else "PROBLEM: Function call failed",
        state_reason="",
    )
    return batch


def _delete(client: Any, *, queue_url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        client.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
                for n, message in enumerate(chunk)
            ],
        )


def _send(client: Any, *, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Send copies of received messages (body and attributes) to another queue."""
    for start in range(0, len(messages), 10):
        entries = []
        for n, message in enumerate(messages[start : start + 10]):
            entry: dict[str, Any] = {"Id": str(n), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            group = message.get("Attributes", {}).get("MessageGroupId")
            if group:  # a FIFO queue's dead-letter queue is FIFO too
                entry.update(MessageGroupId=group, MessageDeduplicationId=message["MessageId"])
            entries.append(entry)
        answer = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if answer.get("Failed"):
            raise ClientError(
                {"Error": {"Code": "BatchEntryFailed", "Message": str(answer["Failed"])}},
                "SendMessageBatch",
            )


def _release(client: Any, *, queue_url: str, messages: list[dict[str, Any]]) -> None:
    try:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            client.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {
                        "Id": str(n),
                        "ReceiptHandle": message["ReceiptHandle"],
                        "VisibilityTimeout": 0,
                    }
                    for n, message in enumerate(chunk)
                ],
            )
    except (ClientError, BotoCoreError):
        logger.warning("could not make a throttled batch visible again", exc_info=True)


def poller_step(*, mapping_id: int, slot: int, token: str, worker: str = "") -> float | None:
    """One link of a poller chain: renew the lease, poll one batch, scale.

    Returns the delay before the next link, or None when the chain ends (the mapping is gone or
    disabled, the lease is another chain's, or an extra slot found the queue empty).
    """
    mapping = EventSourceMapping.objects.select_related("function").filter(pk=mapping_id).first()
    if mapping is None or not mapping.enabled or slot >= poller_slots(mapping):
        leases.lease_release(name=_esm(mapping_id, slot), token=token)
        return None
    ttl = lease_ttl_s(mapping)
    if not leases.lease_renew(name=_esm(mapping_id, slot), token=token, ttl_s=ttl):
        return None
    batch = poll_once(mapping_id=mapping_id, worker=worker)
    if batch is None:
        leases.lease_release(name=_esm(mapping_id, slot), token=token)
        return None
    if batch.received == 0 and slot > 0 and not batch.error:
        # Scale in: only the first poller waits on an empty queue.
        leases.lease_release(name=_esm(mapping_id, slot), token=token)
        return None
    if batch.received >= mapping.batch_size and not batch.throttled:
        # A full batch: the queue has a backlog, so scale out by one poller (up to the limit).
        poller_start(mapping_id=mapping_id, slot=slot + 1)
    if batch.throttled or batch.error:
        return settings.TRIGGERS_SQS_BACKOFF_SECONDS
    if mapping.is_stream and batch.received == 0:
        return STREAM_IDLE_POLL_S  # GetRecords does not wait for records as SQS does
    return 0.0


# ---------------------------------------------------------------- S3 and SNS triggers


RELAY_LEASE_SLACK_S = 60


def _queue_arn(account_id: str, name: str) -> str:
    return f"arn:aws:sqs:{settings.LAB_REGION}:{account_id}:{name}"


def _relay_queue_create(trigger: Trigger, *, ensure: bool = True) -> str:
    """The trigger's queue in the learner's account; returns its ARN."""
    sqs = lab_client("sqs", account_id=trigger.account_id, ensure=ensure)
    sqs.create_queue(QueueName=trigger.relay_queue, Attributes={"VisibilityTimeout": "30"})
    return _queue_arn(trigger.account_id, trigger.relay_queue)


def bucket_notifications_sync(*, account_id: str, bucket: str, ensure: bool = True) -> None:
    """Point the bucket's notification configuration at the queues of its S3 triggers,
    keeping whatever else the learner configured there."""
    s3 = lab_client("s3", account_id=account_id, ensure=ensure)
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    config.pop("ResponseMetadata", None)
    queues = [
        entry
        for entry in config.get("QueueConfigurations", [])
        if not str(entry.get("Id", "")).startswith("lambdalab-")
    ]
    for trigger in Trigger.objects.filter(
        kind=TriggerKind.S3, account_id=account_id, source_arn=f"arn:aws:s3:::{bucket}"
    ):
        entry: dict[str, Any] = {
            "Id": trigger.configuration_id,
            "QueueArn": _queue_arn(account_id, trigger.relay_queue),
            "Events": list(trigger.events),
        }
        rules = [
            {"Name": name, "Value": value}
            for name, value in (("prefix", trigger.prefix), ("suffix", trigger.suffix))
            if value
        ]
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        queues.append(entry)
    config["QueueConfigurations"] = queues
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)


def s3_trigger_create(
    *,
    function: Function,
    bucket: str,
    events: list[str] | None = None,
    prefix: str = "",
    suffix: str = "",
) -> Trigger:
    """Invoke function (asynchronously, with Lambda's S3 event) when objects of one of the
    owner's buckets are created or removed, filtered by key prefix and suffix.

    Raises ValidationError for a bucket that is not in the owner's lab account or an event
    type S3 does not send.
    """
    account_id = account_for(function.owner)
    chosen = list(events or ["s3:ObjectCreated:*"])
    unknown = [name for name in chosen if name not in S3_EVENTS]
    if unknown:
        raise ValidationError({"events": f"S3 sends no {', '.join(unknown)} events."})
    try:
        lab_client("s3", account_id=account_id).head_bucket(Bucket=bucket)
    except (ClientError, ParamValidationError):
        raise ValidationError(
            {"bucket": f"There is no bucket {bucket} in your lab account."}
        ) from None
    with transaction.atomic():
        trigger = Trigger(
            function=function,
            kind=TriggerKind.S3,
            source_arn=f"arn:aws:s3:::{bucket}",
            account_id=account_id,
            events=chosen,
            prefix=prefix,
            suffix=suffix,
        )
        trigger.full_clean(exclude=["function"])
        trigger.save()
        _relay_queue_create(trigger)
        bucket_notifications_sync(account_id=account_id, bucket=bucket)
        transaction.on_commit(lambda: relay_start(trigger_id=trigger.pk))
    return trigger


def sns_trigger_create(*, function: Function, topic_arn: str) -> Trigger:
    """Subscribe function to one of the owner's SNS topics (asynchronous invokes with Lambda's
    SNS event). Raises ValidationError for a topic not in the owner's lab account."""
    account_id = account_for(function.owner)
    sns = lab_client("sns", account_id=account_id)
    if topic_arn.split(":")[4:5] != [account_id]:
        raise ValidationError({"topic_arn": f"There is no topic {topic_arn} in your lab account."})
    try:
        sns.get_topic_attributes(TopicArn=topic_arn)
    except (ClientError, ParamValidationError):
        raise ValidationError(
            {"topic_arn": f"There is no topic {topic_arn} in your lab account."}
        ) from None
    with transaction.atomic():
        trigger = Trigger.objects.create(
            function=function, kind=TriggerKind.SNS, source_arn=topic_arn, account_id=account_id
        )
        queue_arn = _relay_queue_create(trigger)
        trigger.subscription_arn = sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn
        )["SubscriptionArn"]
        trigger.save(update_fields=["subscription_arn", "updated_at"])
        transaction.on_commit(lambda: relay_start(trigger_id=trigger.pk))
    return trigger


def trigger_delete(*, trigger: Trigger) -> None:
    """Stop the trigger: its notification or subscription and its queue go with it."""
    pk, kind = trigger.pk, trigger.kind
    queue = trigger.relay_queue
    with transaction.atomic():
        trigger.delete()
        try:
            if kind == TriggerKind.S3:
                bucket_notifications_sync(account_id=trigger.account_id, bucket=trigger.source_name)
            elif trigger.subscription_arn:
                lab_client("sns", account_id=trigger.account_id).unsubscribe(
                    SubscriptionArn=trigger.subscription_arn
                )
            elif kind in (TriggerKind.EVENTBRIDGE, TriggerKind.SCHEDULE):
                rule = trigger.source_arn.rsplit("/", 1)[-1]
                client = lab_client("events", account_id=trigger.account_id)
                bus = trigger.bus_name or "default"
                if kind == TriggerKind.EVENTBRIDGE:
                    client.remove_targets(
                        Rule=rule, EventBusName=bus, Ids=[trigger.configuration_id]
                    )
                client.delete_rule(Name=rule, EventBusName=bus)
            if kind == TriggerKind.SCHEDULE:
                return
            sqs = lab_client("sqs", account_id=trigger.account_id)
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"])
        except ClientError:
            # The bucket, topic or queue went already (deleted by the learner).
            logger.info("trigger %s: nothing left to undo in the lab's services", pk)


def relay_start(*, trigger_id: int) -> bool:
    """Start the trigger's relay unless one runs. Returns whether it started."""
    trigger = Trigger.objects.select_related("function").filter(pk=trigger_id).first()
    if trigger is None:
        return False
    token = leases.lease_take(name=f"relay:{trigger_id}", ttl_s=poll_wait_s() + RELAY_LEASE_SLACK_S)
    if token is None:
        return False
    _task("relay_poll").delay(trigger_id, token)
    return True


def relays_ensure() -> int:
    started = 0
    relayed = Trigger.objects.exclude(kind=TriggerKind.SCHEDULE)
    for trigger_id in relayed.values_list("pk", flat=True):
        if not leases.lease_held(name=f"relay:{trigger_id}"):
            started += relay_start(trigger_id=trigger_id)
    return started


def _relay_event(trigger: Trigger, body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict):
        return None
    if trigger.kind == TriggerKind.S3:
        return events.s3_event(body, account_id=trigger.account_id)
    if trigger.kind == TriggerKind.EVENTBRIDGE:
        return events.eventbridge_event(
            body, account_id=trigger.account_id, region=settings.LAB_REGION
        )
    return events.sns_event(body, subscription_arn=trigger.subscription_arn)


def relay_once(*, trigger_id: int) -> Batch | None:
    """Turn what the trigger's queue holds into asynchronous invokes of its function.

    Returns None when the trigger is gone. A message is deleted once its invoke is queued (the
    asynchronous invoke retries on its own from there); past the learner's limits it comes
    back after TRIGGERS_SQS_BACKOFF_SECONDS, as Lambda retries a throttled event.
    """
    trigger = Trigger.objects.select_related("function__owner").filter(pk=trigger_id).first()
    if trigger is None:
        return None
    batch = Batch()
    try:
        sqs = lab_client("sqs", account_id=trigger.account_id)
        queue_url = sqs.get_queue_url(QueueName=trigger.relay_queue)["QueueUrl"]
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=poll_wait_s(),
            AttributeNames=["SentTimestamp"],
        ).get("Messages", [])
    except (ClientError, BotoCoreError, LabServicesUnavailable) as exc:
        batch.error = str(exc)
        return batch
    batch.received = len(messages)
    function = trigger.function
    for message in messages:
        try:
            body = json.loads(message.get("Body", ""))
        except ValueError:
            body = None
        event = _relay_event(trigger, body)
        depth = 1
        if event is not None:
            depth = lineage_depth(
                function=function, source_arn=trigger.source_arn, sent_at=_sent_at(message)
            )
        if event is not None and depth > LOOP_LIMIT:
            _stop_loop(
                function=function,
                kind=trigger.kind,
                source_arn=trigger.source_arn,
                event=event,
                depth=depth,
            )
        elif event is not None:
            try:
                _async_invoke_from(
                    trigger,
                    event,
                    records=len(event.get("Records", [event])),
                    depth=depth,
                )
            except (sandbox_services.LimitReached, ValidationError) as exc:
                batch.throttled = True
                batch.error = str(exc)
                sqs.change_message_visibility(
                    QueueUrl=queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=settings.TRIGGERS_SQS_BACKOFF_SECONDS,
                )
                continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        batch.deleted.append(message["MessageId"])
    return batch


def _async_invoke_from(
    trigger: Trigger, event: dict[str, Any], *, records: int = 1, depth: int = 1
) -> None:
    """Queue an asynchronous invocation of the trigger's function with event (retries and
    destinations apply) and record what started it. Raises LimitReached or ValidationError
    when the learner's limits refuse it."""
    from sandbox.api import services as api_services

    function = trigger.function
    with transaction.atomic():
        queued = api_services.async_invoke(
            function=function, requested_by=function.owner, event_text=json.dumps(event)
        )
        if queued.current is not None:
            InvocationTrigger.objects.create(
                invocation=queued.current,
                kind=trigger.kind,
                source_arn=trigger.source_arn,
                records=records,
                depth=depth,
            )


def invocation_trigger_carry(previous: Invocation, retry: Invocation) -> None:
    """Record on a retry of a triggered asynchronous invocation what triggered the first attempt:
    a retry is the same event from the same source, in the same round of any loop."""
    label = InvocationTrigger.objects.filter(invocation=previous).first()
    if label is None:
        return
    InvocationTrigger.objects.create(
        invocation=retry,
        kind=label.kind,
        source_arn=label.source_arn,
        mapping=label.mapping,
        records=label.records,
        depth=label.depth,
    )


def relay_step(*, trigger_id: int, token: str) -> float | None:
    """One link of a relay chain; returns the delay before the next, or None to stop."""
    name = f"relay:{trigger_id}"
    if not leases.lease_renew(name=name, token=token, ttl_s=poll_wait_s() + RELAY_LEASE_SLACK_S):
        return None
    batch = relay_once(trigger_id=trigger_id)
    if batch is None:
        leases.lease_release(name=name, token=token)
        return None
    if batch.error:
        return settings.TRIGGERS_SQS_BACKOFF_SECONDS
    return 0.0


# ---------------------------------------------------------------- EventBridge


def _rule_name_check(name: str) -> None:
    if not re.fullmatch(r"[\.\-_A-Za-z0-9]{1,64}", name or ""):
        raise ValidationError({"rule": "A rule name is 1-64 letters, digits, dots, - or _."})


def rule_trigger_create(
    *, function: Function, rule: str, event_pattern: str, bus_name: str = "default"
) -> Trigger:
    """Invoke function (asynchronously, with the event as EventBridge sends it) for every event
    put on the bus that matches event_pattern: the rule is made in the owner's lab account.

    Raises ValidationError for a bad name or pattern (EventBridge's own message).
    """
    _rule_name_check(rule)
    try:
        json.loads(event_pattern)
    except ValueError:
        raise ValidationError({"event_pattern": "The event pattern is not JSON."}) from None
    account_id = account_for(function.owner)
    events_client = lab_client("events", account_id=account_id)
    with transaction.atomic():
        trigger = Trigger.objects.create(
            function=function,
            kind=TriggerKind.EVENTBRIDGE,
            source_arn=f"arn:aws:events:{settings.LAB_REGION}:{account_id}:rule/{rule}",
            account_id=account_id,
            event_pattern=event_pattern,
            bus_name=bus_name,
        )
        queue_arn = _relay_queue_create(trigger)
        try:
            events_client.put_rule(Name=rule, EventPattern=event_pattern, EventBusName=bus_name)
            events_client.put_targets(
                Rule=rule,
                EventBusName=bus_name,
                Targets=[{"Id": trigger.configuration_id, "Arn": queue_arn}],
            )
        except ClientError as exc:
            raise ValidationError({"event_pattern": exc.response["Error"]["Message"]}) from None
        transaction.on_commit(lambda: relay_start(trigger_id=trigger.pk))
    return trigger


def schedule_trigger_create(*, function: Function, rule: str, expression: str) -> Trigger:
    """Invoke function on a schedule, rate(...) or cron(...) in UTC, with EventBridge's
    Scheduled Event; fired by Celery beat (schedules_fire). Raises ValidationError."""
    _rule_name_check(rule)
    now = timezone.now()
    try:
        due = schedules.next_due(expression, after=now, anchor=now)
    except schedules.ScheduleError as exc:
        raise ValidationError({"expression": str(exc)}) from None
    if due is None:
        raise ValidationError({"expression": "This schedule is never due again."})
    account_id = account_for(function.owner)
    with transaction.atomic():
        trigger = Trigger.objects.create(
            function=function,
            kind=TriggerKind.SCHEDULE,
            source_arn=f"arn:aws:events:{settings.LAB_REGION}:{account_id}:rule/{rule}",
            account_id=account_id,
            schedule_expression=expression.strip(),
            next_due=due,
        )
        try:
            # So the learner's account shows the rule; moto itself never fires it.
            lab_client("events", account_id=account_id).put_rule(
                Name=rule, ScheduleExpression=expression.strip()
            )
        except ClientError as exc:
            raise ValidationError({"expression": exc.response["Error"]["Message"]}) from None
    return trigger


def scheduled_event(trigger: Trigger, *, due: datetime) -> dict[str, Any]:
    """The event EventBridge sends a function for a schedule due at `due`."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{trigger.source_arn}@{due.isoformat()}")),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": trigger.account_id,
        "time": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": settings.LAB_REGION,
        "resources": [trigger.source_arn],
        "detail": {},
    }


def schedules_fire(*, now: datetime | None = None) -> int:
    """Invoke every schedule that is due (the beat runs this every minute). Returns how many
    fired.

    Each due time fires once however many ticks run at once: a tick claims it by moving
    next_due on with a conditional update, and only the tick whose update took fires. A
    schedule whose due times were missed (no beat running) fires once, for the latest, and
    goes on from now, as EventBridge does not catch up either.
    """
    now = now or timezone.now()
    fired = 0
    due_now = Trigger.objects.filter(kind=TriggerKind.SCHEDULE, next_due__lte=now).select_related(
        "function__owner"
    )
    for trigger in due_now:
        due = trigger.next_due
        assert due is not None
        try:
            following = schedules.next_due(
                trigger.schedule_expression, after=now, anchor=trigger.created_at
            )
        except schedules.ScheduleError:
            following = None
        latest_due = _latest_due(trigger, due=due, now=now)
        with transaction.atomic():
            if not Trigger.objects.filter(pk=trigger.pk, next_due=due).update(
                next_due=following, updated_at=now
            ):
                continue  # another tick fired it
            event = scheduled_event(trigger, due=latest_due)
            try:
                _async_invoke_from(trigger, event)
            except (sandbox_services.LimitReached, ValidationError) as exc:
                logger.info("schedule %s skipped at %s: %s", trigger.pk, due, exc)
                continue
            fired += 1
    return fired


def schedule_fire_now(*, function: Function, now: datetime | None = None) -> int:
    """Fire function's schedules once now, as if each were due (a lab's step, so a learner
    need not wait a day for a daily job). Returns how many fired; raises LimitReached or
    ValidationError when the learner's limits refuse it."""
    now = now or timezone.now()
    fired = 0
    for trigger in Trigger.objects.filter(function=function, kind=TriggerKind.SCHEDULE):
        _async_invoke_from(trigger, scheduled_event(trigger, due=now))
        fired += 1
    return fired


def _latest_due(trigger: Trigger, *, due: datetime, now: datetime) -> datetime:
    latest = due
    for _ in range(10_000):
        try:
            following = schedules.next_due(
                trigger.schedule_expression, after=latest, anchor=trigger.created_at
            )
        except schedules.ScheduleError:
            break
        if following is None or following > now:
            break
        latest = following
    return latest


# ---------------------------------------------------------------- after moto restarts


def _rule_make(trigger: Trigger, *, ensure: bool = True) -> None:
    client = lab_client("events", account_id=trigger.account_id, ensure=ensure)
    rule = trigger.source_arn.rsplit("/", 1)[-1]
    if trigger.kind == TriggerKind.SCHEDULE:
        client.put_rule(Name=rule, ScheduleExpression=trigger.schedule_expression)
        return
    bus = trigger.bus_name or "default"
    if bus != "default":
        try:
            client.create_event_bus(Name=bus)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                raise
    client.put_rule(Name=rule, EventPattern=trigger.event_pattern, EventBusName=bus)
    client.put_targets(
        Rule=rule,
        EventBusName=bus,
        Targets=[
            {
                "Id": trigger.configuration_id,
                "Arn": _queue_arn(trigger.account_id, trigger.relay_queue),
            }
        ],
    )


def triggers_rebuild(*, account_id: str) -> int:
    """Make the account's triggers again in a moto that lost them (sandbox.aws.rebuild calls
    this once the account's own resources are back): each trigger's queue, the buckets'
    notification configurations, the SNS subscriptions and the EventBridge rules. A trigger
    whose bucket, topic or bus is gone is left for the learner to remove. Returns how many
    were made."""
    made = 0
    buckets: set[str] = set()
    for trigger in Trigger.objects.filter(account_id=account_id):
        try:
            if trigger.kind != TriggerKind.SCHEDULE:
                queue_arn = _relay_queue_create(trigger, ensure=False)
            if trigger.kind == TriggerKind.S3:
                buckets.add(trigger.source_name)
            elif trigger.kind == TriggerKind.SNS:
                trigger.subscription_arn = lab_client(
                    "sns", account_id=account_id, ensure=False
                ).subscribe(TopicArn=trigger.source_arn, Protocol="sqs", Endpoint=queue_arn)[
                    "SubscriptionArn"
                ]
                trigger.save(update_fields=["subscription_arn", "updated_at"])
            else:
                _rule_make(trigger, ensure=False)
            made += 1
        except ClientError as exc:
            logger.warning("could not re-create trigger %s: %s", trigger.pk, exc)
    for bucket in buckets:
        try:
            bucket_notifications_sync(account_id=account_id, bucket=bucket, ensure=False)
        except ClientError as exc:
            logger.warning("could not re-create the notifications of %s: %s", bucket, exc)
    return made


# ---------------------------------------------------------------- DynamoDB streams

STREAM_IDLE_POLL_S = 1.0


def _stream_latest(stream_arn: str) -> dict[str, str]:
    """The last sequence number of each shard now: where a LATEST mapping starts after."""
    account_id = stream_arn.split(":")[4]
    client = lab_client("dynamodbstreams", account_id=account_id)
    position: dict[str, str] = {}
    shards = client.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    for shard in shards:
        iterator = client.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = client.get_records(ShardIterator=iterator, Limit=1000)["Records"]
        if records:
            position[shard["ShardId"]] = records[-1]["dynamodb"]["SequenceNumber"]
    return position


def _invoke_now(
    mapping: EventSourceMapping, *, event: dict[str, Any], records: int, worker: str
) -> Invocation | None:
    """Run one batch through the mapping's function here and now (None: over the learner's
    limits, nothing ran)."""
    function = mapping.function
    try:
        with transaction.atomic():
            invocation = sandbox_services.invocation_start(
                function=function,
                event_text=json.dumps(event),
                requested_by=function.owner,
                enqueue=False,
            )
            InvocationTrigger.objects.create(
                invocation=invocation,
                kind=TriggerKind.DYNAMODB,
                source_arn=mapping.event_source_arn,
                mapping=mapping,
                records=records,
            )
    except (sandbox_services.LimitReached, ValidationError):
        return None
    try:
        finished = execution.invocation_execute(invocation_id=invocation.pk, worker=worker)
    finally:
        invocation_announce_finished(invocation_id=invocation.pk)
    return finished or invocation


def _settle(mapping: EventSourceMapping, records: list[dict[str, Any]], *, worker: str) -> int:
    """How many leading records of a batch were processed: the whole batch, or with
    BisectBatchOnFunctionError, halves of a failed batch in turn down to the failing record."""

    def succeeded(chunk: list[dict[str, Any]]) -> bool | None:
        arn = mapping.event_source_arn
        event = {"Records": [events.dynamodb_record(r, stream_arn=arn) for r in chunk]}
        run = _invoke_now(mapping, event=event, records=len(chunk), worker=worker)
        if run is None:
            return None
        return run.status == Invocation.Status.SUCCESS

    def settle(chunk: list[dict[str, Any]], *, failed_already: bool = False) -> int:
        if not failed_already:
            ok = succeeded(chunk)
            if ok is None:
                return -1
            if ok:
                return len(chunk)
        if not mapping.bisect_batch_on_function_error or len(chunk) == 1:
            return 0
        middle = len(chunk) // 2
        done = settle(chunk[:middle])
        if done < middle:
            return done
        rest = settle(chunk[middle:])
        return middle + rest if rest >= 0 else middle

    return settle(records)


def _poll_stream(mapping: EventSourceMapping, *, worker: str) -> Batch:
    """Read the next batch of each shard, run it, and move on past what was processed.

    A failing record holds its shard back (retried at the next poll, as on Lambda) until it has
    been retried MaximumRetryAttempts times; then it is skipped.
    """
    batch = Batch()
    arn = mapping.event_source_arn
    position = dict(mapping.stream_position)
    try:
        client = lab_client("dynamodbstreams", account_id=mapping.account_id)
        shards = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            after = position.get(shard_id)
            kwargs: dict[str, Any] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                if after
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **kwargs)[
                "ShardIterator"
            ]
            records = client.get_records(ShardIterator=iterator, Limit=mapping.batch_size)[
                "Records"
            ]
            if not records:
                continue
            batch.received += len(records)
            done = _settle(mapping, records, worker=worker)
            if done < 0:
                batch.throttled = True
                continue
            retries = 0
            if done < len(records):
                retries = mapping.head_retries + 1
                limit = mapping.maximum_retry_attempts
                if limit >= 0 and retries > limit:
                    done, retries = done + 1, 0  # skip the record that keeps failing
                batch.failed.append(records[done - 1 if retries == 0 else done]["eventID"])
            if done:
                position[shard_id] = records[done - 1]["dynamodb"]["SequenceNumber"]
            mapping.head_retries = retries
    except (ClientError, BotoCoreError, LabServicesUnavailable) as exc:
        batch.error = str(exc)
    EventSourceMapping.objects.filter(pk=mapping.pk).update(
        stream_position=position, head_retries=mapping.head_retries
    )
    return batch
