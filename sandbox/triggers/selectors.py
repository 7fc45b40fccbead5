"""Reads of the triggers."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import User
from django.db.models import QuerySet

from sandbox.models import Function
from sandbox.triggers.models import EventSourceMapping


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
