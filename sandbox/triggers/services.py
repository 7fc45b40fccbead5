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
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from sandbox import execution
from sandbox import services as sandbox_services
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import LabServicesUnavailable, lab_client
from sandbox.models import Function, Invocation
from sandbox.results import invocation_announce_finished
from sandbox.triggers import events, leases
from sandbox.triggers.models import (
    SQS_BATCH_SIZE_MAX_WITHOUT_WINDOW,
    EventSourceMapping,
    InvocationTrigger,
    TriggerKind,
)

logger = logging.getLogger(__name__)

_SQS_ARN = re.compile(
    r"^arn:aws:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[\w-]{1,80}(\.fifo)?)$"
)
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


class MappingConflict(Exception):
    """The function already has a mapping of that source; str() names it."""


# ---------------------------------------------------------------- mappings


def _check_source(*, function: Function, event_source_arn: str) -> None:
    match = _SQS_ARN.match(event_source_arn or "")
    if match is None:
        raise ValidationError(
            {"event_source_arn": "Give the ARN of an SQS queue (arn:aws:sqs:region:account:name)."}
        )
    if match["account"] != account_for(function.owner) or match["region"] != settings.LAB_REGION:
        raise ValidationError(
            {"event_source_arn": f"There is no queue {event_source_arn} in your lab account."}
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
) -> EventSourceMapping:
    """Map an SQS queue of the function owner's lab account to the function.

    Raises ValidationError for a source that is not one of the owner's queues or batching out of
    Lambda's limits, MappingConflict if the function already polls that queue. Polling starts
    once the transaction commits.
    """
    _check_source(function=function, event_source_arn=event_source_arn)
    mapping = EventSourceMapping(
        function=function,
        event_source_arn=event_source_arn,
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


# ---------------------------------------------------------------- the poller


def poll_wait_s(mapping: EventSourceMapping) -> int:
    return max(0, min(20, settings.TRIGGERS_SQS_WAIT_SECONDS))


def lease_ttl_s(mapping: EventSourceMapping) -> int:
    # Long enough for one batch: gathering it, INIT, the handler's timeout, deleting.
    return (
        poll_wait_s(mapping)
        + mapping.maximum_batching_window_s
        + mapping.function.timeout_s
        + 10
        + 60
    )


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


def poller_start(*, mapping_id: int, slot: int) -> bool:
    """Start the poller chain of a mapping's slot unless one runs. Returns whether it started."""
    from sandbox.triggers import tasks

    mapping = EventSourceMapping.objects.select_related("function").filter(pk=mapping_id).first()
    if mapping is None or not mapping.enabled or slot >= poller_slots(mapping):
        return False
    token = leases.lease_take(mapping_id=mapping_id, slot=slot, ttl_s=lease_ttl_s(mapping))
    if token is None:
        return False
    tasks.sqs_poll.delay(mapping_id, slot, token)
    return True


def pollers_ensure() -> int:
    """Start the first poller of every enabled mapping that has none (after a worker restart,
    or a lease that expired). Returns how many were started."""
    started = 0
    for mapping_id in EventSourceMapping.objects.filter(enabled=True).values_list("pk", flat=True):
        if not leases.lease_held(mapping_id=mapping_id, slot=0):
            started += poller_start(mapping_id=mapping_id, slot=0)
    return started


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
    wait = poll_wait_s(mapping)
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
        leases.lease_release(mapping_id=mapping_id, slot=slot, token=token)
        return None
    ttl = lease_ttl_s(mapping)
    if not leases.lease_renew(mapping_id=mapping_id, slot=slot, token=token, ttl_s=ttl):
        return None
    batch = poll_once(mapping_id=mapping_id, worker=worker)
    if batch is None:
        leases.lease_release(mapping_id=mapping_id, slot=slot, token=token)
        return None
    if batch.received == 0 and slot > 0 and not batch.error:
        # Scale in: only the first poller waits on an empty queue.
        leases.lease_release(mapping_id=mapping_id, slot=slot, token=token)
        return None
    if batch.received >= mapping.batch_size and not batch.throttled:
        # A full batch: the queue has a backlog, so scale out by one poller (up to the limit).
        poller_start(mapping_id=mapping_id, slot=slot + 1)
    if batch.throttled or batch.error:
        return settings.TRIGGERS_SQS_BACKOFF_SECONDS
    return 0.0
