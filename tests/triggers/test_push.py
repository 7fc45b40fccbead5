"""S3 notifications and SNS subscriptions invoke functions asynchronously, end to end: the
console adds the trigger, the lab's moto server sends the event, a real worker runs it."""

import json
from typing import Any

from django.urls import reverse

from sandbox.aws.clients import lab_client
from sandbox.models import Invocation
from sandbox.triggers import services
from sandbox.triggers.models import InvocationTrigger, Trigger
from tests.sandbox.api.conftest import create_hello
from tests.triggers.conftest import eventually

ECHO = "def lambda_handler(event, context):\n    return event\n"


def finished(function_name: str, count: int) -> list[Invocation]:
    def check() -> list[Invocation] | None:
        done = list(
            Invocation.objects.filter(function__name=function_name, trigger__isnull=False)
            .exclude(status__in=Invocation.PENDING)
            .order_by("pk")
        )
        return done if len(done) >= count else None

    return eventually(check, what=f"{count} triggered invocations of {function_name}")


def test_s3_notifications_with_filters_invoke_the_function(
    celery_worker_process, client, lam, learner, account
):
    s3 = lab_client("s3", account_id=account)
    bucket = f"photos-{account}"  # bucket names are global in moto, as on AWS
    s3.create_bucket(Bucket=bucket)
    create_hello(lam, "thumbnailer", source=ECHO)
    function = learner.sandbox_functions.get(name="thumbnailer")
    client.force_login(learner)
    response = client.post(
        reverse("sandbox_triggers:function_triggers", args=[function.pk]),
        {
            "kind": "s3",
            "s3-bucket": bucket,
            "s3-events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            "s3-key_prefix": "uploads/",
            "s3-key_suffix": ".jpg",
        },
    )
    assert response.status_code == 302
    s3.put_object(Bucket=bucket, Key="uploads/cat.jpg", Body=b"meow")
    s3.put_object(Bucket=bucket, Key="uploads/notes.txt", Body=b"wrong suffix")
    s3.put_object(Bucket=bucket, Key="elsewhere/dog.jpg", Body=b"wrong prefix")
    s3.delete_object(Bucket=bucket, Key="uploads/cat.jpg")

    runs = finished("thumbnailer", 2)
    assert [r.status for r in runs] == [Invocation.Status.SUCCESS] * 2
    records = [r.payload["Records"][0] for r in runs]
    assert [r["eventName"] for r in records] == ["ObjectCreated:Put", "ObjectRemoved:Delete"]
    created = records[0]
    assert created["eventSource"] == "aws:s3" and created["awsRegion"] == "us-east-1"
    assert created["s3"]["bucket"]["name"] == bucket
    assert created["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert created["s3"]["object"]["key"] == "uploads/cat.jpg"
    assert created["s3"]["object"]["size"] == 4
    assert {"eTag", "sequencer"} <= set(created["s3"]["object"])
    assert {"userIdentity", "requestParameters", "responseElements", "eventTime"} <= set(created)
    triggers = InvocationTrigger.objects.filter(invocation__in=runs)
    assert {(t.kind, t.source_arn) for t in triggers} == {("s3", f"arn:aws:s3:::{bucket}")}

    # The function page lists the trigger; removing it takes the bucket's notification away.
    page = client.get(function.get_absolute_url()).content.decode()
    assert f"arn:aws:s3:::{bucket}" in page and "prefix uploads/" in page
    trigger = Trigger.objects.get(function=function)
    client.post(
        reverse("sandbox_triggers:trigger_remove", args=[function.pk]),
        {"remove": f"trigger:{trigger.pk}"},
    )
    assert (
        s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations", []) == []
    )
    assert not Trigger.objects.exists()


def test_a_learners_own_bucket_notifications_are_kept(learner, account):
    s3 = lab_client("s3", account_id=account)
    bucket = f"mixed-{account}"
    sqs = lab_client("sqs", account_id=account)
    s3.create_bucket(Bucket=bucket)
    mine = sqs.create_queue(QueueName="my-own")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=mine, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": "mine", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    from tests.sandbox.factories import FunctionFactory

    function = FunctionFactory(owner=learner)
    trigger = services.s3_trigger_create(function=function, bucket=bucket)
    ids = {
        q["Id"]
        for q in s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    }
    assert ids == {"mine", trigger.configuration_id}
    services.trigger_delete(trigger=trigger)
    ids = {
        q["Id"]
        for q in s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    }
    assert ids == {"mine"}


def test_an_sns_subscription_invokes_the_function_with_the_sns_event(
    celery_worker_process, lam, learner, account
):
    sns = lab_client("sns", account_id=account)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    create_hello(lam, "notifier", source=ECHO)
    function = learner.sandbox_functions.get(name="notifier")
    trigger = services.sns_trigger_create(function=function, topic_arn=topic)
    sns.publish(
        TopicArn=topic,
        Message="disk full",
        Subject="alarm",
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}},
    )
    (run,) = finished("notifier", 1)
    record = run.payload["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == trigger.subscription_arn
    message = record["Sns"]
    assert (message["Type"], message["TopicArn"], message["Subject"], message["Message"]) == (
        "Notification",
        topic,
        "alarm",
        "disk full",
    )
    assert message["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}}
    assert {"MessageId", "Timestamp", "Signature", "SigningCertUrl", "UnsubscribeUrl"} <= set(
        message
    )
    assert run.trigger.kind == "sns" and run.trigger.source_arn == topic
    assert json.loads(run.event) == run.payload


def test_the_console_adds_and_removes_an_sqs_trigger(client, learner, account, redis_url: Any):
    from tests.sandbox.factories import FunctionFactory

    lab_client("sqs", account_id=account).create_queue(QueueName="work")
    function = FunctionFactory(owner=learner)
    client.force_login(learner)
    url = reverse("sandbox_triggers:function_triggers", args=[function.pk])
    response = client.post(
        url,
        {
            "kind": "sqs",
            "sqs-queue": "missing",
            "sqs-batch_size": 10,
            "sqs-maximum_batching_window_s": 0,
        },
    )
    assert "There is no queue" in response.content.decode()
    response = client.post(
        url,
        {
            "kind": "sqs",
            "sqs-queue": "work",
            "sqs-batch_size": 5,
            "sqs-maximum_batching_window_s": 0,
            "sqs-report_batch_item_failures": "on",
        },
    )
    assert response.status_code == 302
    mapping = function.event_source_mappings.get()
    assert (mapping.batch_size, mapping.report_batch_item_failures) == (5, True)
    page = client.get(url).content.decode()
    assert f"arn:aws:sqs:us-east-1:{account}:work" in page
    assert "reports batch item failures" in page
    client.post(
        reverse("sandbox_triggers:trigger_remove", args=[function.pk]),
        {"remove": f"mapping:{mapping.pk}"},
    )
    assert not function.event_source_mappings.exists()


def test_the_console_adds_a_schedule_and_says_what_is_wrong(client, learner, account):
    from tests.sandbox.factories import FunctionFactory

    function = FunctionFactory(owner=learner)
    client.force_login(learner)
    url = reverse("sandbox_triggers:function_triggers", args=[function.pk])
    bad = client.post(
        url, {"kind": "schedule", "schedule-rule": "tidy", "schedule-expression": "cron(0 3 * * *)"}
    )
    assert "six fields" in bad.content.decode()
    response = client.post(
        url,
        {"kind": "schedule", "schedule-rule": "tidy", "schedule-expression": "cron(0 3 * * ? *)"},
    )
    assert response.status_code == 302
    page = client.get(function.get_absolute_url()).content.decode()
    assert "cron(0 3 * * ? *), next" in page and "EventBridge schedule" in page
