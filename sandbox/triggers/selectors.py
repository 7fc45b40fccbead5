"""Reads of the triggers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet

from sandbox.models import Function
from sandbox.triggers.models import EventSourceMapping, InvocationTrigger


def mapping_list(
    *, owner: User, function: Function | None = None, event_source_arn: str | None = None
) -> QuerySet[EventSourceMapping]:
    mappings = EventSourceMapping.objects.filter(function__owner=owner).select_related("function")
    if function is not None:
        mappings = mappings.filter(function=function)
    if event_source_arn:
        mappings = mappings.filter(event_source_arn=event_source_arn)
    return mappings


def mapping_find(*, owner: User, mapping_uuid: uuid.UUID) -> EventSourceMapping | None:
    """The owner's mapping with that UUID; another learner's is as absent as a missing one."""
    return mapping_list(owner=owner).filter(uuid=mapping_uuid).first()


@dataclass(frozen=True)
class TriggerRow:
    """One trigger of a function as the console lists it."""

    kind: str
    source: str
    detail: str
    state: str
    remove: str  # "mapping:<pk>" or "trigger:<pk>", what the remove form posts


def function_triggers(*, function: Function) -> list[TriggerRow]:
    """Everything that invokes the function besides a direct invoke, oldest first."""
    rows = []
    for mapping in function.event_source_mappings.all():
        detail = f"batch size {mapping.batch_size}"
        if mapping.maximum_batching_window_s:
            detail += f", window {mapping.maximum_batching_window_s} s"
        if mapping.report_batch_item_failures:
            detail += ", reports batch item failures"
        if mapping.is_stream:
            detail += f", from {mapping.starting_position}"
            if mapping.bisect_batch_on_function_error:
                detail += ", bisects failed batches"
        rows.append(
            TriggerRow(
                kind="DynamoDB stream" if mapping.is_stream else "SQS",
                source=mapping.event_source_arn,
                detail=detail,
                state=mapping.state,
                remove=f"mapping:{mapping.pk}",
            )
        )
    for trigger in function.triggers.all():
        parts = [", ".join(trigger.events)] if trigger.events else []
        if trigger.event_pattern:
            parts.append(f"bus {trigger.bus_name}, pattern {trigger.event_pattern}")
        if trigger.schedule_expression:
            due = f", next {trigger.next_due:%Y-%m-%d %H:%M} UTC" if trigger.next_due else ""
            parts.append(f"{trigger.schedule_expression}{due}")
        if trigger.prefix:
            parts.append(f"prefix {trigger.prefix}")
        if trigger.suffix:
            parts.append(f"suffix {trigger.suffix}")
        rows.append(
            TriggerRow(
                kind=trigger.get_kind_display(),
                source=trigger.source_arn,
                detail=" · ".join(parts),
                state="Enabled",
                remove=f"trigger:{trigger.pk}",
            )
        )
    return rows


def loop_stopped_latest(*, function: Function) -> InvocationTrigger | None:
    """The latest event of the function that recursive loop detection stopped, if any."""
    return (
        InvocationTrigger.objects.filter(invocation__function=function, loop_stopped=True)
        .select_related("invocation")
        .order_by("-pk")
        .first()
    )
