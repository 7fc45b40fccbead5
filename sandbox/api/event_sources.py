"""The Lambda API's event source mappings (CreateEventSourceMapping and friends) for SQS
queues of the caller's lab account, in Lambda's shapes; the triggers app does the work."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse

from sandbox.api import errors, shapes
from sandbox.api.views import Call, _page, _target, _unqualified, _validation_message, operation
from sandbox.models import Function
from sandbox.triggers import selectors, services
from sandbox.triggers.models import EventSourceMapping

_MAPPING_PARAMETERS = {
    "event_source_arn": "EventSourceArn",
    "batch_size": "BatchSize",
    "maximum_batching_window_s": "MaximumBatchingWindowInSeconds",
    "function": "FunctionName",
    "starting_position": "StartingPosition",
    "maximum_retry_attempts": "MaximumRetryAttempts",
}


def mapping_shape(
    mapping: EventSourceMapping, *, account: str, state: str | None = None
) -> dict[str, Any]:
    """An EventSourceMappingConfiguration; account is the owner's lab account."""
    shape: dict[str, Any] = {
        "UUID": str(mapping.uuid),
        "EventSourceMappingArn": (
            f"arn:aws:lambda:{shapes.REGION}:{account}:event-source-mapping:{mapping.uuid}"
        ),
        "BatchSize": mapping.batch_size,
        "MaximumBatchingWindowInSeconds": mapping.maximum_batching_window_s,
        "EventSourceArn": mapping.event_source_arn,
        "FunctionArn": shapes.function_arn(mapping.function.name, account=account),
        "LastModified": mapping.updated_at.timestamp(),
        "State": state or mapping.state,
        "StateTransitionReason": mapping.state_reason or "USER_INITIATED",
        "FunctionResponseTypes": (
            [services.REPORT_BATCH_ITEM_FAILURES] if mapping.report_batch_item_failures else []
        ),
    }
    if mapping.is_stream:
        shape.update(
            StartingPosition=mapping.starting_position,
            BisectBatchOnFunctionError=mapping.bisect_batch_on_function_error,
            MaximumRetryAttempts=mapping.maximum_retry_attempts,
            LastProcessingResult=mapping.last_processing_result,
        )
    return shape


def _invalid(exc: ValidationError) -> errors.LambdaError:
    if hasattr(exc, "error_dict"):
        message = " ".join(
            f"{_MAPPING_PARAMETERS.get(name, name)}: {' '.join(messages)}"
            for name, messages in exc.message_dict.items()
        )
        return errors.invalid(message)
    return errors.invalid(_validation_message(exc))


def _int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.invalid(f"{name} must be a number.")
    return value


def _response_types(data: dict[str, Any]) -> bool | None:
    value = data.get("FunctionResponseTypes")
    if value is None:
        return None
    if not isinstance(value, list) or any(
        item != services.REPORT_BATCH_ITEM_FAILURES for item in value
    ):
        raise errors.invalid(
            "FunctionResponseTypes: Member must satisfy enum value set: [ReportBatchItemFailures]"
        )
    return bool(value)


def _enabled(data: dict[str, Any]) -> bool | None:
    value = data.get("Enabled")
    if value is not None and not isinstance(value, bool):
        raise errors.invalid("Enabled must be true or false.")
    return value


def _function(call: Call, name: Any) -> Function:
    if not isinstance(name, str) or not name:
        raise errors.invalid("FunctionName is required.")
    return _unqualified(call, name)


def _mapping(call: Call, mapping_uuid: str) -> EventSourceMapping:
    try:
        key = uuid.UUID(mapping_uuid)
    except ValueError:
        key = None
    mapping = None if key is None else selectors.mapping_find(owner=call.user, mapping_uuid=key)
    if mapping is None:
        raise errors.not_found("The resource you requested does not exist.")
    return mapping


def create_mapping(call: Call) -> HttpResponse:
    data = call.json()
    function = _function(call, data.get("FunctionName"))
    source = data.get("EventSourceArn")
    if not isinstance(source, str) or not source:
        raise errors.invalid("EventSourceArn is required.")
    stream = source.startswith("arn:aws:dynamodb:")
    position = data.get("StartingPosition") or ""
    if not isinstance(position, str):
        raise errors.invalid("StartingPosition must be TRIM_HORIZON or LATEST.")
    bisect = data.get("BisectBatchOnFunctionError")
    retries = _int(data, "MaximumRetryAttempts")
    try:
        mapping = services.mapping_create(
            function=function,
            event_source_arn=source,
            starting_position=position,
            bisect_batch_on_function_error=bool(bisect),
            maximum_retry_attempts=-1 if retries is None else retries,
            batch_size=_int(data, "BatchSize") or (100 if stream else 10),
            maximum_batching_window_s=_int(data, "MaximumBatchingWindowInSeconds") or 0,
            report_batch_item_failures=bool(_response_types(data)),
            enabled=_enabled(data) is not False,
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    except services.MappingConflict as exc:
        raise errors.conflict(str(exc)) from None
    return JsonResponse(mapping_shape(mapping, account=call.account), status=202)


def list_mappings(call: Call) -> HttpResponse:
    function = None
    name = call.query("FunctionName")
    if name:
        function = _target(call, name).function
    mappings = list(
        selectors.mapping_list(
            owner=call.user, function=function, event_source_arn=call.query("EventSourceArn")
        )
    )
    page, marker = _page(call, mappings)
    body: dict[str, Any] = {
        "EventSourceMappings": [mapping_shape(m, account=call.account) for m in page]
    }
    if marker:
        body["NextMarker"] = marker
    return JsonResponse(body)


def get_mapping(call: Call, mapping_uuid: str) -> HttpResponse:
    return JsonResponse(mapping_shape(_mapping(call, mapping_uuid), account=call.account))


def update_mapping(call: Call, mapping_uuid: str) -> HttpResponse:
    mapping = _mapping(call, mapping_uuid)
    data = call.json()
    function = _function(call, data["FunctionName"]) if data.get("FunctionName") else None
    enabled = _enabled(data)
    was_enabled = mapping.enabled
    try:
        mapping = services.mapping_update(
            mapping=mapping,
            function=function,
            batch_size=_int(data, "BatchSize"),
            maximum_batching_window_s=_int(data, "MaximumBatchingWindowInSeconds"),
            report_batch_item_failures=_response_types(data),
            enabled=enabled,
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    except services.MappingConflict as exc:
        raise errors.conflict(str(exc)) from None
    state = None
    if enabled is not None and enabled != was_enabled:
        state = "Enabling" if enabled else "Disabling"
    return JsonResponse(
        mapping_shape(mapping, account=call.account, state=state or "Updating"), status=202
    )


def delete_mapping(call: Call, mapping_uuid: str) -> HttpResponse:
    mapping = _mapping(call, mapping_uuid)
    body = mapping_shape(mapping, account=call.account, state="Deleting")
    services.mapping_delete(mapping=mapping)
    return JsonResponse(body, status=202)


mappings_view = operation(POST=create_mapping, GET=list_mappings)
mapping_view = operation(GET=get_mapping, PUT=update_mapping, DELETE=delete_mapping)
