"""A restarted moto gets the triggers back: the trigger's queue, the bucket's notification, the
SNS subscription and the EventBridge rule (a private moto server is restarted in between)."""

import json

import pytest

from sandbox.aws.accounts import account_for
from sandbox.aws.clients import lab_client
from sandbox.triggers import services
from tests.aws.test_rebuild import PrivateMoto, private_moto  # noqa: F401 (fixture)
from tests.factories import UserFactory
from tests.sandbox.factories import FunctionFactory

pytestmark = pytest.mark.django_db


def relay_bodies(account: str, queue: str) -> list[dict]:
    sqs = lab_client("sqs", account_id=account)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_triggers_come_back_after_moto_restarts(private_moto: PrivateMoto) -> None:  # noqa: F811
    learner = UserFactory()
    account = account_for(learner)
    function = FunctionFactory(owner=learner)
    # Made through the site's own clients: recorded, so the account's resources come back too.
    from sandbox.aws.models import LabResource, ResourceKind

    lab_client("s3", account_id=account).create_bucket(Bucket="photos")
    topic = lab_client("sns", account_id=account).create_topic(Name="alerts")["TopicArn"]
    LabResource.objects.create(owner=learner, kind=ResourceKind.BUCKET, name="photos")
    LabResource.objects.create(owner=learner, kind=ResourceKind.TOPIC, name="alerts")
    s3_trigger = services.s3_trigger_create(function=function, bucket="photos", suffix=".jpg")
    sns_trigger = services.sns_trigger_create(function=function, topic_arn=topic)
    rule_trigger = services.rule_trigger_create(
        function=function, rule="shop", event_pattern=json.dumps({"source": ["shop"]})
    )

    private_moto.stop()
    private_moto.start()

    s3 = lab_client("s3", account_id=account)  # the first use after the restart rebuilds
    s3.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")
    bodies = [b for b in relay_bodies(account, s3_trigger.relay_queue) if "Records" in b]
    assert [b["Records"][0]["s3"]["object"]["key"] for b in bodies] == ["cat.jpg"]

    lab_client("sns", account_id=account).publish(TopicArn=topic, Message="hello")
    assert [b["Message"] for b in relay_bodies(account, sns_trigger.relay_queue)] == ["hello"]
    sns_trigger.refresh_from_db()
    assert sns_trigger.subscription_arn.startswith(topic)

    lab_client("events", account_id=account).put_events(
        Entries=[{"Source": "shop", "DetailType": "Order", "Detail": "{}"}]
    )
    assert [b["source"] for b in relay_bodies(account, rule_trigger.relay_queue)] == ["shop"]
