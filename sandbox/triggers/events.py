"""The events Lambda hands a function for each trigger, built from what the lab's services
return (field names and casing exactly as Lambda sends them)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

# The message attributes Lambda copies into a record's `attributes` (system attributes).
_SQS_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)


def _sqs_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of an SQS event from a ReceiveMessage message (AttributeNames All)."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {name: attributes[name] for name in _SQS_ATTRIBUTES if name in attributes},
        "messageAttributes": {
            name: _sqs_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(
    messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str
) -> dict[str, Any]:
    return {
        "Records": [sqs_record(message, queue_arn=queue_arn, region=region) for message in messages]
    }


def sqs_batch_item_failures(payload: Any, *, message_ids: set[str]) -> set[str] | None:
    """The message ids a ReportBatchItemFailures response names as failed.

    As Lambda reads it: no response, an empty one or an empty list means every message
    succeeded; None here means the response is unusable (an identifier missing, empty or not in
    the batch, or not the documented shape) and the whole batch counts as failed.
    """
    if payload is None or payload == "" or payload == {}:
        return set()
    if not isinstance(payload, dict):
        return None
    failures = payload.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return None
        failed.add(identifier)
    return failed
