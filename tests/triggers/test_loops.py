"""Recursive loop detection: a chain source → function → same source stops after LOOP_LIMIT
rounds, and the learner reads why on the invocation and the function page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.models import Invocation
from sandbox.triggers import services
from sandbox.triggers.models import LOOP_LIMIT, InvocationTrigger, TriggerKind
from tests.sandbox.factories import FunctionFactory, InvocationFactory
from tests.triggers.test_sqs import make_queue, queue_count

pytestmark = pytest.mark.django_db


def parent(function, source_arn, *, depth, started, finished=None):
    invocation = InvocationFactory(
        function=function,
        status=Invocation.Status.RUNNING if finished is None else Invocation.Status.SUCCESS,
        started_at=started,
        finished_at=finished,
    )
    return InvocationTrigger.objects.create(
        invocation=invocation, kind=TriggerKind.SQS, source_arn=source_arn, depth=depth
    )


def test_an_event_sent_while_the_function_ran_is_one_round_deeper():
    function = FunctionFactory()
    now = timezone.now()
    arn = "arn:aws:sqs:us-east-1:210987654321:loop"
    parent(function, arn, depth=3, started=now - timedelta(seconds=2), finished=now)
    parent(
        function, arn, depth=9, started=now - timedelta(hours=1), finished=now - timedelta(hours=1)
    )
    depth = services.lineage_depth
    assert depth(function=function, source_arn=arn, sent_at=now - timedelta(seconds=1)) == 4
    assert depth(function=function, source_arn=arn, sent_at=now + timedelta(minutes=5)) == 1
    assert depth(function=function, source_arn=arn + "-other", sent_at=now) == 1
    assert depth(function=FunctionFactory(), source_arn=arn, sent_at=now) == 1
    assert depth(function=function, source_arn=arn, sent_at=None) == 1


def test_the_round_past_the_limit_is_not_run_and_the_learner_is_told(client, learner, account, sqs):
    url, arn, dlq_url = make_queue(sqs, "loop")
    function = FunctionFactory(owner=learner)
    mapping = services.mapping_create(function=function, event_source_arn=arn)
    parent(function, arn, depth=LOOP_LIMIT, started=timezone.now() - timedelta(seconds=1))
    sqs.send_message(
        QueueUrl=url,
        MessageBody="again",
        MessageAttributes={"step": {"DataType": "Number", "StringValue": "17"}},
    )

    batch = services.poll_once(mapping_id=mapping.pk)

    assert batch is not None and batch.received == 1
    stopped = InvocationTrigger.objects.get(loop_stopped=True)
    assert stopped.depth == LOOP_LIMIT + 1 and stopped.mapping == mapping
    invocation = stopped.invocation
    assert invocation.status == Invocation.Status.FAILED
    assert "recursive loop" in invocation.failure_reason and arn in invocation.failure_reason
    assert invocation.started_at is None  # it never ran
    assert queue_count(sqs, url) == 0
    # The queue has a dead-letter queue, so the looping message went there, as it was sent.
    (moved,) = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert moved["Body"] == "again"
    assert moved["MessageAttributes"]["step"]["StringValue"] == "17"
    assert "dead-letter queue, loop-dlq" in invocation.failure_reason
    assert stopped.outcome["dead_letter_queue"] == "loop-dlq"
    client.force_login(learner)
    for page in (function.get_absolute_url(), invocation.get_absolute_url()):
        assert "recursive loop" in client.get(page).content.decode()


def test_a_looping_batch_of_a_queue_without_a_dead_letter_queue_is_dropped(learner, account, sqs):
    url = sqs.create_queue(QueueName="bare-loop")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    function = FunctionFactory(owner=learner)
    mapping = services.mapping_create(function=function, event_source_arn=arn)
    parent(function, arn, depth=LOOP_LIMIT, started=timezone.now() - timedelta(seconds=1))
    sent = {sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")["MessageId"] for n in range(3)}

    batch = services.poll_once(mapping_id=mapping.pk)

    assert batch is not None and set(batch.deleted) == sent
    assert queue_count(sqs, url) == 0
    stopped = InvocationTrigger.objects.get(loop_stopped=True)
    assert set(stopped.outcome["dropped"]) == sent
    assert "dropped: the queue has no dead-letter queue" in stopped.invocation.failure_reason
