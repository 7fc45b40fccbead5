"""The learner endpoint (<site>/aws/): learners' own boto3 and AWS CLI, signed with their access
keys, through the Django live server and the gateway to the real moto server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.api import services as api_services
from sandbox.aws.accounts import account_for
from sandbox.aws.models import ExecutionRole
from tests.factories import UserFactory
from tests.sandbox.api.conftest import hello_zip

pytestmark = pytest.mark.django_db(transaction=True)


def keys() -> tuple[Any, str, str]:
    user = UserFactory()
    key, secret = api_services.access_key_create(owner=user)
    return user, key.access_key_id, secret


def client(live_server: Any, service: str, key: str, secret: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"{live_server.url}/aws/",
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_boto3_reaches_every_lab_service_under_the_path_prefix(
    live_server: Any, moto_server: str
) -> None:
    user, key, secret = keys()
    account = account_for(user)
    s3 = client(live_server, "s3", key, secret)
    bucket = f"uploads-{account}"
    s3.create_bucket(Bucket=bucket)
    big = os.urandom(3 * 1024 * 1024)  # past Django's 2.5 MB request.body limit
    s3.put_object(Bucket=bucket, Key="in/a photo+1.jpg", Body=big)
    assert s3.head_object(Bucket=bucket, Key="in/a photo+1.jpg")["ContentLength"] == len(big)
    assert s3.get_object(Bucket=bucket, Key="in/a photo+1.jpg")["Body"].read() == big
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="in/")["Contents"]
    assert [o["Key"] for o in listed] == ["in/a photo+1.jpg"]

    dynamodb = client(live_server, "dynamodb", key, secret)
    dynamodb.create_table(
        TableName="Items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="Items", Item={"pk": {"S": "a"}})
    assert dynamodb.get_item(TableName="Items", Key={"pk": {"S": "a"}})["Item"]["pk"]["S"] == "a"

    sqs = client(live_server, "sqs", key, secret)
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job 1")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "job 1"

    sns = client(live_server, "sns", key, secret)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    assert topic == f"arn:aws:sns:us-east-1:{account}:alerts"
    assert sns.publish(TopicArn=topic, Message="hi")["MessageId"]

    events = client(live_server, "events", key, secret)
    assert (
        events.put_events(Entries=[{"Source": "lab", "DetailType": "t", "Detail": "{}"}])[
            "FailedEntryCount"
        ]
        == 0
    )

    sts = client(live_server, "sts", key, secret)
    assert sts.get_caller_identity()["Account"] == account


def test_iam_roles_made_through_the_endpoint_are_recorded_and_usable_as_a_functions_role(
    live_server: Any, moto_server: str
) -> None:
    user, key, secret = keys()
    account = account_for(user)
    iam = client(live_server, "iam", key, secret)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName="writer", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    assert arn == f"arn:aws:iam::{account}:role/writer"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="writer", PolicyName="put", PolicyDocument=json.dumps(policy))
    role = ExecutionRole.objects.get(owner=user, name="writer")
    assert [(p.name, p.document) for p in role.policies.all()] == [("put", policy)]
    with pytest.raises(ClientError) as caught:
        iam.put_role_policy(RoleName="writer", PolicyName="bad", PolicyDocument='{"Statement": 1}')
    assert caught.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert role.policies.count() == 1

    lam = boto3.client(
        "lambda",
        endpoint_url=live_server.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )

    def create(name: str, role: str) -> Any:
        return lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": hello_zip()},
        )

    assert create("uses-writer", arn)["Role"] == arn
    assert lam.get_function(FunctionName="uses-writer")["Configuration"]["Role"] == arn
    with pytest.raises(ClientError) as caught:
        create("no-such-role", f"arn:aws:iam::{account}:role/missing")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "cannot be assumed by Lambda" in caught.value.response["Error"]["Message"]
    iam.delete_role_policy(RoleName="writer", PolicyName="put")
    assert role.policies.count() == 0


def test_one_learners_keys_reach_nothing_of_anothers(live_server: Any, moto_server: str) -> None:
    _alice, alice_key, alice_secret = keys()
    _bob, bob_key, bob_secret = keys()
    client(live_server, "sqs", alice_key, alice_secret).create_queue(QueueName="private")
    client(live_server, "dynamodb", alice_key, alice_secret).create_table(
        TableName="Private",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert client(live_server, "sqs", bob_key, bob_secret).list_queues().get("QueueUrls") is None
    assert client(live_server, "dynamodb", bob_key, bob_secret).list_tables()["TableNames"] == []
    with pytest.raises(ClientError) as caught:
        client(live_server, "s3", alice_key, "wrong" * 8).list_buckets()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_the_aws_cli_works_against_the_endpoint(
    live_server: Any, moto_server: str, tmp_path: Path
) -> None:
    user, key, secret = keys()
    bucket = f"cli-{account_for(user)}"
    (tmp_path / "report.txt").write_text("from the CLI\n")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    endpoint = f"{live_server.url}/aws/"
    aws = str(Path(sys.executable).parent / "aws")

    def run(*args: str) -> str:
        done = subprocess.run(
            [aws, "--endpoint-url", endpoint, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("s3", "mb", f"s3://{bucket}")
    run("s3", "cp", "report.txt", f"s3://{bucket}/reports/report.txt")
    assert "reports/report.txt" in run("s3", "ls", f"s3://{bucket}", "--recursive")
    run("s3", "cp", f"s3://{bucket}/reports/report.txt", "back.txt")
    assert (tmp_path / "back.txt").read_text() == "from the CLI\n"
    queues = json.loads(run("sqs", "create-queue", "--queue-name", "cli-queue"))
    assert queues["QueueUrl"].endswith("/cli-queue")


def test_a_triggers_relay_queue_does_not_exist_for_the_learners_keys(
    live_server: Any, moto_server: str
) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from urllib3 import PoolManager

    from sandbox.aws.clients import lab_client
    from sandbox.triggers import services as trigger_services
    from tests.sandbox.factories import FunctionFactory

    user, key, secret = keys()
    account = account_for(user)
    bucket = f"relayed-{account}"
    lab_client("s3", account_id=account).create_bucket(Bucket=bucket)
    trigger = trigger_services.s3_trigger_create(
        function=FunctionFactory(owner=user), bucket=bucket
    )
    site = lab_client("sqs", account_id=account)
    relay_url = site.get_queue_url(QueueName=trigger.relay_queue)["QueueUrl"]
    relay_arn = f"arn:aws:sqs:us-east-1:{account}:{trigger.relay_queue}"
    sqs = client(live_server, "sqs", key, secret)
    mine = sqs.create_queue(QueueName="jobs")["QueueUrl"]

    # boto3 speaks SQS's JSON protocol: the relay is left out of the listing, even by prefix.
    assert botocore_protocol("sqs") == "json"
    assert [u.rsplit("/", 1)[-1] for u in sqs.list_queues()["QueueUrls"]] == ["jobs"]
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="lambdalab-trigger-")
    # Every call naming it, by name, URL or ARN, is answered as for a queue that does not exist.
    calls = [
        lambda: sqs.get_queue_url(QueueName=trigger.relay_queue),
        lambda: sqs.receive_message(QueueUrl=relay_url, WaitTimeSeconds=0),
        lambda: sqs.send_message(QueueUrl=relay_url, MessageBody="sneaky"),
        lambda: sqs.send_message_batch(
            QueueUrl=relay_url, Entries=[{"Id": "1", "MessageBody": "sneaky"}]
        ),
        lambda: sqs.purge_queue(QueueUrl=relay_url),
        lambda: sqs.delete_queue(QueueUrl=relay_url),
        lambda: sqs.get_queue_attributes(QueueUrl=relay_url, AttributeNames=["All"]),
        lambda: sqs.set_queue_attributes(QueueUrl=relay_url, Attributes={"DelaySeconds": "5"}),
        lambda: sqs.tag_queue(QueueUrl=relay_url, Tags={"a": "b"}),
        lambda: sqs.start_message_move_task(SourceArn=relay_arn),
        lambda: sqs.set_queue_attributes(
            QueueUrl=mine,
            Attributes={
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": relay_arn, "maxReceiveCount": "1"}
                )
            },
        ),
    ]
    for call in calls:
        with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
            call()
        error = caught.value.response["Error"]
        assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
        assert error["Message"] == "The specified queue does not exist."
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Nor can a queue of that name (or one dead-lettering to it) be made.
    for made in (
        lambda: sqs.create_queue(QueueName=trigger.relay_queue),
        lambda: sqs.create_queue(QueueName="lambdalab-trigger-new"),
        lambda: sqs.create_queue(
            QueueName="more",
            Attributes={
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": relay_arn, "maxReceiveCount": "1"}
                )
            },
        ),
    ):
        with pytest.raises(ClientError) as caught:
            made()
        assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert [u.rsplit("/", 1)[-1] for u in site.list_queues()["QueueUrls"]] == [
        trigger.relay_queue,
        "jobs",
    ]
    # A message that merely mentions it is the learner's own business.
    sqs.send_message(QueueUrl=mine, MessageBody=f"see {relay_url}")

    # The query (XML) protocol of older SDKs and CLIs: listed without it, refused the same way.
    def query(**form: str) -> tuple[int, str]:
        request = AWSRequest(
            method="POST",
            url=f"{live_server.url}/aws/",
            data={"Version": "2012-11-05", **form},
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        SigV4Auth(Credentials(key, secret), "sqs", "us-east-1").add_auth(request)
        prepared = request.prepare()
        answer = PoolManager().request(
            "POST", prepared.url, body=prepared.body, headers=dict(prepared.headers)
        )
        return answer.status, answer.data.decode()

    status, listed = query(Action="ListQueues")
    assert status == 200 and mine in listed and "lambdalab-trigger-" not in listed
    status, refused = query(Action="PurgeQueue", QueueUrl=relay_url)
    assert status == 400
    assert "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>" in refused
    status, refused = query(Action="DeleteQueue", QueueUrl=relay_url)
    assert status == 400 and "NonExistentQueue" in refused

    # Nor can a subscription or a bucket notification be pointed at it.
    sns = client(live_server, "sns", key, secret)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    with pytest.raises(ClientError):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=relay_arn)

    # The site's own client still reaches it, and it still carries the bucket's events.
    assert site.get_queue_url(QueueName=trigger.relay_queue)["QueueUrl"] == relay_url
    lab_client("s3", account_id=account).put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    received = site.receive_message(QueueUrl=relay_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    bodies = [json.loads(m["Body"]) for m in received["Messages"]]
    assert [b["Records"][0]["s3"]["object"]["key"] for b in bodies if "Records" in b] == ["a.txt"]


def botocore_protocol(service: str) -> str:
    import botocore.session

    return str(botocore.session.get_session().get_service_model(service).protocol)
