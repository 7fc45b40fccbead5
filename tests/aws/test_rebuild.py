"""A restarted moto gets learners' configuration back (sandbox/aws/records.py, rebuild.py):
a private moto server is stopped and started again on the same port between the two halves."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from sandbox.aws import rebuild
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import lab_client
from sandbox.aws.models import ExecutionRole, LabResource
from tests.aws.test_gateway import learner, through_gateway

pytestmark = pytest.mark.django_db
SERVER = str(Path(sys.executable).parent / "moto_server")


class PrivateMoto:
    def __init__(self, tmp_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.cwd = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [SERVER, "-H", "127.0.0.1", "-p", str(self.port)],
            cwd=self.cwd,
            env={**os.environ, "MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS": "false"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def private_moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateMoto]:
    moto = PrivateMoto(tmp_path)
    moto.start()
    # Every look at the generation asks moto, so the restart is seen at once.
    monkeypatch.setattr(rebuild, "CHECK_EVERY_S", 0.0)
    with override_settings(LAB_SERVICES_URL=moto.url):
        yield moto
    moto.stop()


def test_a_restarted_moto_gets_the_configuration_back(private_moto: PrivateMoto) -> None:
    user, key, secret = learner()
    account = account_for(user)
    bucket = f"photos-{account}"
    s3 = through_gateway("s3", key=key, secret=secret)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"contents live as long as moto")
    through_gateway("dynamodb", key=key, secret=secret).create_table(
        TableName="Orders",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    sqs = through_gateway("sqs", key=key, secret=secret)
    dlq_url = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    jobs_url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "45"})[
        "QueueUrl"
    ]
    sqs.set_queue_attributes(QueueUrl=jobs_url, Attributes={"RedrivePolicy": redrive})
    sns = through_gateway("sns", key=key, secret=secret)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=dlq_arn)
    iam = through_gateway("iam", key=key, secret=secret)
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument="{}")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="worker", PolicyName="q", PolicyDocument=json.dumps(policy))
    kinds = sorted(LabResource.objects.filter(owner=user).values_list("kind", "name"))
    assert kinds == [
        ("bucket", bucket),
        ("queue", "jobs"),
        ("queue", "jobs-dlq"),
        ("subscription", f"alerts|sqs|{dlq_arn}"),
        ("table", "Orders"),
        ("topic", "alerts"),
    ]
    assert ExecutionRole.objects.get(owner=user, name="worker").policies.get().document == policy

    private_moto.stop()
    private_moto.start()
    fresh = lab_client("s3", account_id=account, ensure=False)
    assert fresh.list_buckets()["Buckets"] == []  # moto really forgot

    # The learner's next call finds everything made again (lazily, on first use).
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [bucket]
    assert fresh.list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # contents are not kept
    table = lab_client("dynamodb", account_id=account, ensure=False).describe_table(
        TableName="Orders"
    )["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    raw_sqs = lab_client("sqs", account_id=account, ensure=False)
    attributes = raw_sqs.get_queue_attributes(
        QueueUrl=raw_sqs.get_queue_url(QueueName="jobs")["QueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"] == dlq_arn
    raw_sns = lab_client("sns", account_id=account, ensure=False)
    subscriptions = raw_sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("sqs", dlq_arn)]
    raw_iam = lab_client("iam", account_id=account, ensure=False)
    assert raw_iam.get_role_policy(RoleName="worker", PolicyName="q")["PolicyDocument"] == policy

    # Deleting through the endpoint forgets the record, so the next restart does not bring it back.
    through_gateway("sqs", key=key, secret=secret).delete_queue(QueueUrl=jobs_url)
    assert not LabResource.objects.filter(owner=user, kind="queue", name="jobs").exists()
