"""The events Lambda hands a function for each trigger, built from what the lab's services
return (field names and casing exactly as Lambda sends them)."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

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


def s3_event(body: Mapping[str, Any], *, account_id: str) -> dict[str, Any] | None:
    """Lambda's S3 event from the notification S3 sent to a queue (None: S3's test event).

    moto's notification holds the core of each record; the fields Lambda's records carry
    besides are added as S3 fills them for a request made with the learner's keys.
    """
    if body.get("Event") == "s3:TestEvent" or "Records" not in body:
        return None
    records = []
    for record in body["Records"]:
        s3 = dict(record.get("s3", {}))
        bucket = dict(s3.get("bucket", {}))
        bucket.setdefault("ownerIdentity", {"principalId": account_id})
        s3["bucket"] = bucket
        obj = dict(s3.get("object", {}))
        # S3 form-encodes the key as quote_plus does but keeps "/" (moto encodes it too).
        obj["key"] = quote_plus(unquote_plus(str(obj.get("key", ""))), safe="/")
        obj.setdefault("sequencer", f"{int(time.time() * 1e6):X}")
        s3["object"] = obj
        records.append(
            {
                "eventVersion": record.get("eventVersion", "2.1"),
                "eventSource": "aws:s3",
                "awsRegion": record.get("awsRegion", ""),
                "eventTime": record.get("eventTime", ""),
                "eventName": record.get("eventName", ""),
                "userIdentity": {"principalId": f"AWS:{account_id}"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": base64.b64encode(uuid.uuid4().bytes * 2).decode(),
                },
                "s3": s3,
            }
        )
    return {"Records": records}


def sns_event(body: Mapping[str, Any], *, subscription_arn: str) -> dict[str, Any] | None:
    """Lambda's SNS event from the notification SNS delivered to a queue (None: not one)."""
    if body.get("Type") != "Notification":
        return None
    sns = {
        "Type": "Notification",
        "MessageId": body.get("MessageId", ""),
        "TopicArn": body.get("TopicArn", ""),
        "Subject": body.get("Subject"),
        "Message": body.get("Message", ""),
        "Timestamp": body.get("Timestamp", ""),
        "SignatureVersion": body.get("SignatureVersion", "1"),
        "Signature": body.get("Signature", ""),
        # Lambda spells these two with "Url", where the SNS message itself says "URL".
        "SigningCertUrl": body.get("SigningCertURL", ""),
        "UnsubscribeUrl": body.get("UnsubscribeURL", ""),
        "MessageAttributes": body.get("MessageAttributes", {}),
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": sns,
            }
        ]
    }


def eventbridge_event(
    body: Mapping[str, Any], *, account_id: str, region: str
) -> dict[str, Any] | None:
    """The event as EventBridge hands it to a rule's Lambda target (None: not an event).

    moto's copy to a queue may lack `account`; it is the rule's own account.
    """
    if "detail-type" not in body:
        return None
    return {
        "version": body.get("version", "0"),
        "id": body.get("id", ""),
        "detail-type": body["detail-type"],
        "source": body.get("source", ""),
        "account": body.get("account") or account_id,
        "time": body.get("time", ""),
        "region": body.get("region") or region,
        "resources": body.get("resources", []),
        "detail": body.get("detail", {}),
    }


def dynamodb_record(record: Mapping[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """One record of a DynamoDB stream event from a GetRecords record (boto3's parsed form)."""
    image = dict(record.get("dynamodb", {}))
    created = image.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        # Lambda sends epoch seconds where boto3 parsed a datetime.
        image["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record.get("eventName", ""),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", ""),
        "dynamodb": image,
        "eventSourceARN": stream_arn,
    }
