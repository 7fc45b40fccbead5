"""SQS event source mappings: the Lambda API's operations and the poller, end to end."""

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.models import Invocation
from sandbox.triggers.models import InvocationTrigger
from tests.sandbox.api.conftest import create_hello
from tests.triggers.conftest import eventually

PARTIAL = """
import json

def lambda_handler(event, context):
    print(json.dumps(event))
    failures = [
        {"itemIdentifier": record["messageId"]}
        for record in event["Records"]
        if record["body"] == "poison"
    ]
    return {"batchItemFailures": failures}
"""

RAISING = """
def lambda_handler(event, context):
    for record in event["Records"]:
        if record["body"] == "poison":
            raise ValueError("cannot digest " + record["messageId"])
    return None
"""


def make_queue(sqs: Any, name: str, *, max_receive: int = 2) -> tuple[str, str, str]:
    """A queue with a one-second visibility timeout and a DLQ; returns (url, arn, dlq url)."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn, dlq_url


def queue_count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_mapping_operations_in_lambdas_shapes(lam, sqs, account, other_learner, lambda_client_for):
    _, arn, _ = make_queue(sqs, "orders")
    create_hello(lam, "consumer")
    created = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="consumer",
        BatchSize=5,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating"
    assert created["BatchSize"] == 5
    assert created["MaximumBatchingWindowInSeconds"] == 0
    assert created["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert created["EventSourceArn"] == arn
    assert created["FunctionArn"].endswith(":function:consumer")
    uuid = created["UUID"]

    got = lam.get_event_source_mapping(UUID=uuid)
    assert got["UUID"] == uuid and got["BatchSize"] == 5
    listed = lam.list_event_source_mappings(FunctionName="consumer")["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [uuid]
    assert (
        lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"][0]["UUID"] == uuid
    )

    with pytest.raises(lam.exceptions.ResourceConflictException, match=uuid):
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="greater than 10"):
        lam.update_event_source_mapping(UUID=uuid, BatchSize=100)

    updated = lam.update_event_source_mapping(
        UUID=uuid, BatchSize=100, MaximumBatchingWindowInSeconds=2, Enabled=False
    )
    assert updated["State"] == "Disabling"
    got = lam.get_event_source_mapping(UUID=uuid)
    assert (got["BatchSize"], got["MaximumBatchingWindowInSeconds"], got["State"]) == (
        100,
        2,
        "Disabled",
    )

    # Another learner sees none of it, and cannot map a queue of this learner's account.
    other = lambda_client_for(other_learner)
    create_hello(other, "thief")
    assert other.list_event_source_mappings()["EventSourceMappings"] == []
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_event_source_mapping(UUID=uuid)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.delete_event_source_mapping(UUID=uuid)
    with pytest.raises(other.exceptions.InvalidParameterValueException, match="lab account"):
        other.create_event_source_mapping(EventSourceArn=arn, FunctionName="thief")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="lab account"):
        lam.create_event_source_mapping(EventSourceArn=arn + "-missing", FunctionName="consumer")

    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_event_source_mapping(UUID=uuid)


def test_a_failing_message_ends_in_the_dlq_and_the_rest_are_processed(
    celery_worker_process, lam, sqs, learner
):
    url, arn, dlq_url = make_queue(sqs, "jobs", max_receive=2)
    create_hello(lam, "consumer", source=PARTIAL)
    for body in ("a", "b", "poison", "c"):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": f"kind-{body}"}},
        )
    poison_id = None
    mapping = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="consumer",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    def in_dlq() -> list[dict]:
        return sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])

    dead = eventually(in_dlq, what="the poison message in the DLQ")
    assert [m["Body"] for m in dead] == ["poison"]
    poison_id = dead[0]["MessageId"]
    assert queue_count(sqs, url) == 0
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled"

    triggered = InvocationTrigger.objects.filter(invocation__function__name="consumer").order_by(
        "invocation__created_at"
    )
    deleted = [m for t in triggered for m in t.outcome.get("deleted", [])]
    failed = [m for t in triggered for m in t.outcome.get("failed", [])]
    assert sorted(deleted) != [] and poison_id not in deleted and len(deleted) == 3
    assert failed == [poison_id, poison_id]  # received twice (maxReceiveCount 2), then moved
    assert all(t.kind == "sqs" and t.source_arn == arn for t in triggered)
    invocations = [t.invocation for t in triggered]
    assert all(i.status == Invocation.Status.SUCCESS for i in invocations)
    assert all(i.requested_by == learner for i in invocations)

    # Lambda's SQS event shape, record by record.
    first = json.loads(invocations[0].event)["Records"]
    assert sorted(r["body"] for r in first) == ["a", "b", "c", "poison"]
    record = next(r for r in first if r["body"] == "poison")
    assert record["messageId"] == poison_id
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["receiptHandle"]
    assert len(record["md5OfBody"]) == 32
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "kind-poison",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    second = json.loads(invocations[-1].event)["Records"]
    assert [(r["body"], r["attributes"]["ApproximateReceiveCount"]) for r in second] == [
        ("poison", "2")
    ]


def test_a_function_error_returns_the_whole_batch(celery_worker_process, lam, sqs):
    url, arn, dlq_url = make_queue(sqs, "all-or-nothing", max_receive=1)
    create_hello(lam, "strict", source=RAISING)
    for body in ("fine", "poison"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="strict", BatchSize=10)

    def dlq_bodies() -> list[str]:
        found = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return sorted(m["Body"] for m in found.get("Messages", []))

    got: list[str] = []
    eventually(lambda: got.extend(dlq_bodies()) or len(got) >= 2, what="both messages in the DLQ")
    assert sorted(got) == ["fine", "poison"]
    trigger = InvocationTrigger.objects.get(invocation__function__name="strict")
    assert trigger.invocation.status == Invocation.Status.ERROR
    assert trigger.outcome["deleted"] == [] and len(trigger.outcome["failed"]) == 2


def test_a_disabled_mapping_leaves_the_queue_alone(celery_worker_process, lam, sqs):
    url, arn, _ = make_queue(sqs, "paused")
    create_hello(lam, "idle")
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="idle", Enabled=False)
    sqs.send_message(QueueUrl=url, MessageBody="wait for me")
    # A message received by anyone would be in flight; the first receive here gets it.
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3, AttributeNames=["All"])
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in got["Messages"]] == ["1"]
    assert not InvocationTrigger.objects.exists()


def test_a_mapping_needs_a_queue_of_ones_own(lam, sqs):
    create_hello(lam, "fn")
    with pytest.raises(ClientError, match="SQS queue"):
        lam.create_event_source_mapping(EventSourceArn="arn:aws:s3:::bucket", FunctionName="fn")
