"""The gateway into the lab's services (sandbox/aws/gateway.py), driven by real boto3 clients
whose requests are handed to gateway.handle() as the jail's socket hands them, against the real
moto server."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from django.test import override_settings

from sandbox.api import services as api_services
from sandbox.aws import gateway, roles
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import lab_client
from sandbox.aws.models import RolePolicy
from sandbox.models import Function
from sandbox.services import function_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ENDPOINT = "http://127.0.0.1:9001"


class _Raw(io.BytesIO):
    """What botocore reads a response body from (urllib3's response, in real use)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def through_gateway(
    service: str,
    *,
    key: str,
    secret: str,
    token: str | None = None,
    function_id: int | None = None,
    calls: list[gateway.Call] | None = None,
    extra_headers: dict[str, str] | None = None,
    region: str = "us-east-1",
) -> Any:
    """A real boto3 client whose every request goes through gateway.handle() instead of HTTP."""
    client = boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )

    def add_headers(request: Any, **_: Any) -> None:
        for name, value in (extra_headers or {}).items():
            request.headers[name] = value

    def send(request: Any, **_: Any) -> AWSResponse:
        parts = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = [
            (name, value.decode() if isinstance(value, bytes) else value)
            for name, value in request.headers.items()
        ]
        headers.append(("Host", parts.netloc))
        result = gateway.handle(
            gateway.GatewayRequest(
                method=request.method,
                target=parts.path + (f"?{parts.query}" if parts.query else ""),
                headers=headers,
                body=body,
            ),
            function_id=function_id,
        )
        if calls is not None:
            calls.append(result.call)
        return AWSResponse(request.url, result.status, dict(result.headers), _Raw(result.body))

    client.meta.events.register("before-sign", add_headers)
    client.meta.events.register("before-send", send)
    return client


@pytest.fixture
def services(moto_server: str) -> Iterator[str]:
    with override_settings(LAB_SERVICES_URL=moto_server):
        yield moto_server


def learner() -> tuple[Any, str, str]:
    user = UserFactory()
    key, secret = api_services.access_key_create(owner=user)
    return user, key.access_key_id, secret


def test_a_learners_key_reaches_their_own_account(services: str) -> None:
    user, key, secret = learner()
    calls: list[gateway.Call] = []
    s3 = through_gateway("s3", key=key, secret=secret, calls=calls)
    bucket = f"photos-{account_for(user)}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/a b.txt", Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key="dir/a b.txt")["Body"].read() == b"hello"
    own = lab_client("s3", account_id=account_for(user))
    assert [b["Name"] for b in own.list_buckets()["Buckets"]] == [bucket]
    put = calls[1]
    assert (put.service, put.operation, put.action) == ("s3", "PutObject", "s3:PutObject")
    assert put.resource == f"arn:aws:s3:::{bucket}/dir/a b.txt"
    assert (put.outcome, put.status, put.account_id) == ("allowed", 200, account_for(user))
    assert put.principal.startswith(f"arn:aws:iam::{account_for(user)}:user/")


def test_tenancy_another_learners_key_and_a_forged_account_header_reach_nothing(
    services: str,
) -> None:
    alice, alice_key, alice_secret = learner()
    _bob, bob_key, bob_secret = learner()
    alices = f"alices-{account_for(alice)}"
    through_gateway("s3", key=alice_key, secret=alice_secret).create_bucket(Bucket=alices)
    through_gateway("sqs", key=alice_key, secret=alice_secret).create_queue(QueueName="jobs")
    bob_s3 = through_gateway("s3", key=bob_key, secret=bob_secret)
    assert bob_s3.list_buckets()["Buckets"] == []
    # Bucket names are global, as on AWS: Bob's key finds Alice's bucket and is refused it.
    for attempt in (
        lambda: bob_s3.get_object(Bucket=alices, Key="x"),
        lambda: bob_s3.put_object(Bucket=alices, Key="x", Body=b"x"),
        lambda: bob_s3.list_objects_v2(Bucket=alices),
    ):
        with pytest.raises(ClientError) as caught:
            attempt()
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
    # Naming Alice's topic by ARN is refused (moto itself would publish across accounts).
    alice_sns = through_gateway("sns", key=alice_key, secret=alice_secret)
    alice_topic = alice_sns.create_topic(Name="news")["TopicArn"]
    with pytest.raises(ClientError) as caught:
        through_gateway("sns", key=bob_key, secret=bob_secret).publish(
            TopicArn=alice_topic, Message="from bob"
        )
    assert caught.value.response["Error"]["Code"] == "AuthorizationError"
    assert "no resource-based policy allows the SNS:Publish action" in str(caught.value)
    alice_jobs = f"http://sqs.us-east-1.localhost/{account_for(alice)}/jobs"
    with pytest.raises(ClientError) as caught:
        through_gateway("sqs", key=bob_key, secret=bob_secret).send_message(
            QueueUrl=alice_jobs, MessageBody="from bob"
        )
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    # Wiring one of Bob's resources to one of Alice's by ARN is refused too.
    alice_queue = f"arn:aws:sqs:us-east-1:{account_for(alice)}:jobs"
    bob_sns = through_gateway("sns", key=bob_key, secret=bob_secret)
    topic = bob_sns.create_topic(Name="fanout")["TopicArn"]
    with pytest.raises(ClientError) as caught:
        bob_sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=alice_queue)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    forged = through_gateway(
        "sqs",
        key=bob_key,
        secret=bob_secret,
        extra_headers={"x-moto-account-id": account_for(alice)},
    )
    assert forged.list_queues().get("QueueUrls", []) == []


def test_a_wrong_secret_or_an_unknown_key_is_refused_in_the_services_shape(services: str) -> None:
    _user, key, _secret = learner()
    calls: list[gateway.Call] = []
    with pytest.raises(ClientError) as caught:
        through_gateway("s3", key=key, secret="x" * 40, calls=calls).list_buckets()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as caught:
        through_gateway("dynamodb", key="AKIANOTAKEY000000000", secret="x").list_tables()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert calls[0].outcome == "denied" and calls[0].account_id == ""


def role_client(service: str, function: Any, **kwargs: Any) -> Any:
    creds = roles.session_credentials(function)
    return through_gateway(
        service,
        key=creds["AWS_ACCESS_KEY_ID"],
        secret=creds["AWS_SECRET_ACCESS_KEY"],
        token=creds["AWS_SESSION_TOKEN"],
        function_id=kwargs.pop("function_id", function.pk),
        **kwargs,
    )


def test_access_denied_then_fixed_by_editing_the_role(services: str) -> None:
    user, key, secret = learner()
    account = account_for(user)
    through_gateway("dynamodb", key=key, secret=secret).create_table(
        TableName="Results",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    function = function_create(owner=user, name="thumbnailer")
    calls: list[gateway.Call] = []
    dynamodb = role_client("dynamodb", function, calls=calls)
    with pytest.raises(ClientError) as caught:
        dynamodb.put_item(TableName="Results", Item={"id": {"S": "1"}})
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    role = roles.function_role(function)
    assert error["Message"] == (
        f"User: arn:aws:sts::{account}:assumed-role/{role.name}/thumbnailer is not authorized "
        f"to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:{account}:"
        "table/Results because no identity-based policy allows the dynamodb:PutItem action"
    )
    assert calls[-1].outcome == "denied" and calls[-1].resource.endswith(":table/Results")
    roles.role_put_policy(
        role=role,
        name="crud",
        document=roles.template_document("dynamodb-crud", account_id=account, name="Results"),
    )
    dynamodb.put_item(TableName="Results", Item={"id": {"S": "1"}})  # the same warm credentials
    assert calls[-1].outcome == "allowed"
    own = lab_client("dynamodb", account_id=account)
    assert own.get_item(TableName="Results", Key={"id": {"S": "1"}})["Item"] == {"id": {"S": "1"}}
    # Another table is still out of reach, and an explicit Deny beats the Allow.
    roles.role_put_policy(
        role=role,
        name="no-deletes",
        document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "dynamodb:Delete*", "Resource": "*"}],
        },
    )
    with pytest.raises(ClientError) as caught:
        dynamodb.delete_item(TableName="Results", Key={"id": {"S": "1"}})
    assert caught.value.response["Error"]["Message"].endswith(
        "with an explicit deny in an identity-based policy"
    )


def test_a_role_limited_to_one_partition_key_reaches_only_its_items(services: str) -> None:
    user, key, secret = learner()
    account = account_for(user)
    table = f"arn:aws:dynamodb:us-east-1:{account}:table/Notes"
    through_gateway("dynamodb", key=key, secret=secret).create_table(
        TableName="Notes",
        KeySchema=[
            {"AttributeName": "owner", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "owner", "AttributeType": "S"},
            {"AttributeName": "id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    function = function_create(owner=user, name="notes")
    role = roles.function_role(function)
    roles.role_put_policy(
        role=role,
        name="own-notes",
        document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                    "Resource": table,
                    "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["alice"]}},
                }
            ],
        },
    )
    calls: list[gateway.Call] = []
    dynamodb = role_client("dynamodb", function, calls=calls)
    dynamodb.put_item(TableName="Notes", Item={"owner": {"S": "alice"}, "id": {"S": "bob"}})
    item = dynamodb.get_item(TableName="Notes", Key={"owner": {"S": "alice"}, "id": {"S": "bob"}})
    assert item["Item"]["owner"] == {"S": "alice"}
    found = dynamodb.query(
        TableName="Notes",
        KeyConditionExpression="#o = :o AND begins_with(id, :p)",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "alice"}, ":p": {"S": "b"}},
    )
    assert found["Count"] == 1
    assert [c.outcome for c in calls] == ["allowed", "allowed", "allowed"]
    principal = f"arn:aws:sts::{account}:assumed-role/{role.name}/notes"
    for attempt, action in (
        (
            lambda: dynamodb.put_item(
                TableName="Notes", Item={"owner": {"S": "bob"}, "id": {"S": "alice"}}
            ),
            "dynamodb:PutItem",
        ),
        (
            lambda: dynamodb.get_item(
                TableName="Notes", Key={"owner": {"S": "bob"}, "id": {"S": "alice"}}
            ),
            "dynamodb:GetItem",
        ),
        (
            lambda: dynamodb.query(
                TableName="Notes",
                KeyConditionExpression="owner = :o",
                ExpressionAttributeValues={":o": {"S": "bob"}},
            ),
            "dynamodb:Query",
        ),
    ):
        with pytest.raises(ClientError) as caught:
            attempt()
        error = caught.value.response["Error"]
        assert error["Code"] == "AccessDeniedException"
        assert error["Message"] == (
            f"User: {principal} is not authorized to perform: {action} on resource: {table} "
            f"because no identity-based policy allows the {action} action"
        )
        assert calls[-1].outcome == "denied"
    own = lab_client("dynamodb", account_id=account)
    assert own.scan(TableName="Notes")["Count"] == 1


def test_a_listing_allowed_under_one_prefix(services: str) -> None:
    user, key, secret = learner()
    account = account_for(user)
    bucket = f"shared-{account}"
    through_gateway("s3", key=key, secret=secret).create_bucket(Bucket=bucket)
    function = function_create(owner=user, name="lister")
    roles.role_put_policy(
        role=roles.function_role(function),
        name="own-prefix",
        document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": f"arn:aws:s3:::{bucket}",
                    "Condition": {"StringLike": {"s3:prefix": "home/${aws:PrincipalAccount}/*"}},
                }
            ],
        },
    )
    s3 = role_client("s3", function)
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"home/{account}/")["KeyCount"] == 0
    for prefix in ("home/123456789012/", None):
        with pytest.raises(ClientError) as caught:
            s3.list_objects_v2(Bucket=bucket, **({"Prefix": prefix} if prefix else {}))
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
        assert "because no identity-based policy allows the s3:ListBucket action" in str(
            caught.value
        )


def test_a_deny_outside_one_region_leaves_calls_in_it_alone(services: str) -> None:
    user, key, secret = learner()
    account = account_for(user)
    through_gateway("sqs", key=key, secret=secret).create_queue(QueueName="jobs")
    function = function_create(owner=user, name="regional")
    role = roles.function_role(function)
    roles.role_put_policy(
        role=role,
        name="everything",
        document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
        },
    )
    roles.role_put_policy(
        role=role,
        name="us-east-1-only",
        document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
                }
            ],
        },
    )
    url = f"http://sqs.us-east-1.localhost/{account}/jobs"
    role_client("sqs", function).send_message(QueueUrl=url, MessageBody="hello")
    own = lab_client("sqs", account_id=account)
    assert (
        own.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
        == "1"
    )
    with pytest.raises(ClientError) as caught:
        role_client("sqs", function, region="eu-west-1").send_message(
            QueueUrl=url, MessageBody="elsewhere"
        )
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["Error"]["Message"].endswith(
        "with an explicit deny in an identity-based policy"
    )


def test_a_malformed_condition_is_refused_when_the_policy_is_saved(services: str) -> None:
    user, key, secret = learner()
    iam = through_gateway("iam", key=key, secret=secret)
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(roles_trust()))
    role = roles.function_role(function_create(owner=user, name="worker"))
    for condition, message in (
        ({"StringEqual": {"aws:RequestedRegion": "us-east-1"}}, "Syntax errors in policy."),
        ({"StringEquals": {"aws:RequestedRegion": {"a": "b"}}}, "Syntax errors in policy."),
        ({"DateLessThan": {"aws:CurrentTime": "soon"}}, "The policy failed legacy parsing"),
    ):
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
            ],
        }
        with pytest.raises(ClientError) as caught:
            iam.put_role_policy(
                RoleName="worker", PolicyName="bad", PolicyDocument=json.dumps(document)
            )
        assert caught.value.response["Error"]["Code"] == "MalformedPolicyDocument"
        assert caught.value.response["Error"]["Message"] == message
        with pytest.raises(roles.RoleError) as refused:
            roles.role_put_policy(
                role=role,
                name="bad",
                document=document,
            )
        assert (refused.value.code, str(refused.value)) == ("MalformedPolicyDocument", message)
    # One stored before conditions were checked is never a crash: its Allow does not apply.
    RolePolicy.objects.create(
        role=role,
        name="stored",
        document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sqs:*",
                    "Resource": "*",
                    "Condition": {"StringEqual": {"aws:RequestedRegion": [{"a": 1}]}},
                }
            ],
        },
    )
    with pytest.raises(ClientError) as caught:
        role_client("sqs", Function.objects.get(owner=user, name="worker")).list_queues()
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert "because no identity-based policy allows the sqs:listqueues action" in str(caught.value)


def roles_trust() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def test_denials_of_s3_sqs_and_sns_use_each_services_error(services: str) -> None:
    user, key, secret = learner()
    account = account_for(user)
    bucket = f"inbox-{account}"
    through_gateway("s3", key=key, secret=secret).create_bucket(Bucket=bucket)
    function = function_create(owner=user, name="reader")
    roles.role_put_policy(
        role=roles.function_role(function),
        name="read",
        document=roles.template_document("s3-read", account_id=account, name=bucket),
    )
    s3 = role_client("s3", function)
    s3.list_objects_v2(Bucket=bucket)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert (
        f'on resource: "arn:aws:s3:::{bucket}/k" because'
        in caught.value.response["Error"]["Message"]
    )
    with pytest.raises(ClientError) as caught:
        role_client("sqs", function).send_message(
            QueueUrl=f"http://sqs.us-east-1.localhost/{account}/jobs", MessageBody="x"
        )
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert "sqs:sendmessage on resource: arn:aws:sqs:us-east-1:" in str(caught.value)
    with pytest.raises(ClientError) as caught:
        role_client("sns", function).publish(
            TopicArn=f"arn:aws:sns:us-east-1:{account}:alerts", Message="x"
        )
    assert caught.value.response["Error"]["Code"] == "AuthorizationError"
    assert "SNS:Publish" in caught.value.response["Error"]["Message"]


def test_a_handlers_role_cannot_reach_a_triggers_relay_queue(services: str) -> None:
    user, _key, _secret = learner()
    account = account_for(user)
    relay = "lambdalab-trigger-4242"
    site = lab_client("sqs", account_id=account)
    relay_url = site.create_queue(QueueName=relay)["QueueUrl"]
    site.send_message(QueueUrl=relay_url, MessageBody="an S3 event")
    function = function_create(owner=user, name="greedy")
    roles.role_put_policy(
        role=roles.function_role(function),
        name="all-of-sqs",
        document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
        },
    )
    calls: list[gateway.Call] = []
    sqs = role_client("sqs", function, calls=calls)
    mine = sqs.create_queue(QueueName="work")["QueueUrl"]
    assert sqs.list_queues()["QueueUrls"] == [mine]
    for call in (
        lambda: sqs.receive_message(QueueUrl=relay_url),
        lambda: sqs.delete_message(QueueUrl=relay_url, ReceiptHandle="x"),
        lambda: sqs.get_queue_url(QueueName=relay),
        lambda: sqs.delete_queue(QueueUrl=f"arn:aws:sqs:us-east-1:{account}:{relay}"),
    ):
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            call()
        assert (calls[-1].outcome, calls[-1].status) == ("error", 400)
    # Untouched: its message is still there for the trigger.
    assert site.receive_message(QueueUrl=relay_url)["Messages"][0]["Body"] == "an S3 event"


def test_session_credentials_are_bound_to_their_function_and_expire(services: str) -> None:
    user, _key, _secret = learner()
    function = function_create(owner=user, name="one")
    other = function_create(owner=user, name="two")
    identity = role_client("sts", function).get_caller_identity()
    role = roles.function_role(function)
    assert identity["Arn"] == f"arn:aws:sts::{account_for(user)}:assumed-role/{role.name}/one"
    with pytest.raises(ClientError) as caught:
        role_client("sts", function, function_id=other.pk).get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    expired = roles.session_credentials(function, ttl_s=-1)
    with pytest.raises(ClientError) as caught:
        through_gateway(
            "sqs",
            key=expired["AWS_ACCESS_KEY_ID"],
            secret=expired["AWS_SECRET_ACCESS_KEY"],
            token=expired["AWS_SESSION_TOKEN"],
        ).list_queues()
    assert "expired" in str(caught.value)
    creds = roles.session_credentials(function)
    forged = creds["AWS_SESSION_TOKEN"].replace(".", ".x", 1)
    with pytest.raises(ClientError):
        through_gateway(
            "sqs",
            key=creds["AWS_ACCESS_KEY_ID"],
            secret=creds["AWS_SECRET_ACCESS_KEY"],
            token=forged,
        ).list_queues()


def _signed(
    *,
    method: str,
    url: str,
    body: bytes,
    key: str,
    secret: str,
    payload: str,
    signer: type[SigV4Auth] = SigV4Auth,
) -> gateway.GatewayRequest:
    """A request signed by hand. SigV4Auth keeps the payload hash given (S3's signer would
    put its own) but encodes the path again; S3SigV4Auth signs the path as it is."""
    request = AWSRequest(
        method=method, url=url, data=body, headers={"X-Amz-Content-SHA256": payload}
    )
    request.context["timestamp"] = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    signer(Credentials(key, secret), "s3", "us-east-1").add_auth(request)
    parts = urlsplit(url)
    headers = [(k, v) for k, v in request.headers.items()] + [("Host", parts.netloc)]
    return gateway.GatewayRequest(method=method, target=parts.path, headers=headers, body=body)


def _chunked(data: bytes, *, request: gateway.GatewayRequest, secret: str) -> bytes:
    headers = {k.lower(): v for k, v in request.headers}
    auth = headers["authorization"]
    seed = auth.rsplit("Signature=", 1)[1]
    amz_date = headers["x-amz-date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = f"AWS4{secret}".encode()
    for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    out, previous = b"", seed
    for chunk in (data[:5], data[5:], b""):
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                hashlib.sha256(b"").hexdigest(),
                hashlib.sha256(chunk).hexdigest(),
            ]
        )
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        out += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + chunk + b"\r\n"
    return out


def test_s3_unsigned_and_streaming_payloads(services: str) -> None:
    user, key, secret = learner()
    raw = f"raw-{account_for(user)}"
    through_gateway("s3", key=key, secret=secret).create_bucket(Bucket=raw)
    unsigned = _signed(
        method="PUT",
        url=f"{ENDPOINT}/{raw}/u.txt",
        body=b"unsigned body",
        key=key,
        secret=secret,
        payload="UNSIGNED-PAYLOAD",
    )
    assert gateway.handle(unsigned).status == 200
    # aws-chunked with signed chunks: headers are signed first, the chunks chain on.
    streaming = _signed(
        method="PUT",
        url=f"{ENDPOINT}/{raw}/s.txt",
        body=b"",
        key=key,
        secret=secret,
        payload="STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    )
    body = _chunked(b"hello chunks", request=streaming, secret=secret)
    extra = [("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "12")]
    ok = gateway.GatewayRequest(
        method="PUT", target=streaming.target, headers=[*streaming.headers, *extra], body=body
    )
    assert gateway.handle(ok).status == 200
    tampered = gateway.GatewayRequest(
        method="PUT",
        target=streaming.target,
        headers=ok.headers,
        body=body.replace(b"hello", b"HELLO"),
    )
    refused = gateway.handle(tampered)
    assert refused.status == 403 and b"SignatureDoesNotMatch" in refused.body
    own = lab_client("s3", account_id=account_for(user))
    assert own.get_object(Bucket=raw, Key="u.txt")["Body"].read() == b"unsigned body"
    assert own.get_object(Bucket=raw, Key="s.txt")["Body"].read() == b"hello chunks"


def test_without_moto_the_gateway_answers_503_in_shape() -> None:
    _user, key, secret = learner()
    with override_settings(LAB_SERVICES_URL="http://127.0.0.1:9"):
        calls: list[gateway.Call] = []
        with pytest.raises(ClientError) as caught:
            through_gateway("dynamodb", key=key, secret=secret, calls=calls).list_tables()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert calls[0].outcome == "error"
    assert json.loads(json.dumps(calls[0].as_dict()))["service"] == "dynamodb"


@pytest.mark.parametrize("path", ["/moto-api/reset", "/moto%2Dapi/reset", "//moto-api/reset"])
def test_motos_own_api_is_never_reached(services: str, path: str) -> None:
    user, key, secret = learner()
    bucket = f"keep-{account_for(user)}"
    through_gateway("s3", key=key, secret=secret).create_bucket(Bucket=bucket)
    reset = _signed(
        method="POST",
        url=f"{ENDPOINT}{path}",
        body=b"",
        key=key,
        secret=secret,
        payload=hashlib.sha256(b"").hexdigest(),
        signer=S3SigV4Auth,
    )
    answer = gateway.handle(reset)
    assert answer.status == 403 and b"AccessDenied" in answer.body
    own = lab_client("s3", account_id=account_for(user))
    assert [b["Name"] for b in own.list_buckets()["Buckets"]] == [bucket]


def test_lambda_is_answered_by_the_sites_api_as_the_roles_policies_allow(services: str) -> None:
    user, key, secret = learner()
    account = account_for(user)
    function = function_create(owner=user, name="caller")
    function_create(owner=user, name="greeter")
    calls: list[gateway.Call] = []
    lam = role_client("lambda", function, calls=calls)
    with pytest.raises(ClientError) as caught:
        lam.get_function(FunctionName="greeter", Qualifier="live")
    error = caught.value.response["Error"]
    assert (error["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "AccessDeniedException",
        403,
    )
    arn = f"arn:aws:lambda:us-east-1:{account}:function:greeter"
    assert f"lambda:GetFunction on resource: {arn}:live because" in error["Message"]
    assert (calls[-1].operation, calls[-1].action, calls[-1].resource) == (
        "GetFunction",
        "lambda:GetFunction",
        f"{arn}:live",
    )

    roles.role_put_policy(
        role=roles.function_role(function),
        name="read",
        document={
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["lambda:Get*", "lambda:List*"], "Resource": "*"},
                {"Effect": "Deny", "Action": "lambda:GetPolicy", "Resource": "*"},
            ],
        },
    )
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert sorted(names) == ["caller", "greeter"]
    got = lam.get_function(FunctionName=arn)["Configuration"]
    assert got["FunctionArn"] == arn and calls[-1].outcome == "allowed"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="nobody")
    assert calls[-1].outcome == "error"
    with pytest.raises(ClientError) as caught:
        lam.get_policy(FunctionName="greeter")
    assert caught.value.response["Error"]["Message"].endswith(
        "with an explicit deny in an identity-based policy"
    )
    # The learner's own key reaches their functions this way too, as the account's root.
    own = through_gateway("lambda", key=key, secret=secret).list_functions()["Functions"]
    assert sorted(f["FunctionName"] for f in own) == ["caller", "greeter"]
    # Nothing of Lambda's was ever asked of moto.
    with pytest.raises(ClientError):
        lab_client("lambda", account_id=account).get_function(FunctionName="greeter")
