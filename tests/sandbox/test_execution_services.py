"""A console function's handler calls the lab's services from the real jail, through the
gateway, with its execution role's session: AccessDenied, the fix, and the recorded trace."""

from collections.abc import Iterator

import pytest
from django.test import override_settings
from django.urls import reverse

from sandbox import execution
from sandbox.aws import roles
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import lab_client
from sandbox.models import Invocation
from sandbox.pool import shutdown_pool
from sandbox.services import spec_for
from tests.sandbox.factories import FunctionFactory, InvocationFactory

# The gateway answers on its own threads: they must see what the test wrote.
pytestmark = pytest.mark.django_db(transaction=True)

HANDLER = """
import boto3

s3 = boto3.client("s3")
table = boto3.resource("dynamodb").Table("Results")

def lambda_handler(event, context):
    body = s3.get_object(Bucket=event["bucket"], Key="in.txt")["Body"].read().decode()
    table.put_item(Item={"id": "in.txt", "text": body})
    return {"stored": body}
"""


@pytest.fixture
def lab(moto_server: str) -> Iterator[None]:
    shutdown_pool()  # a pool made before this test may have no services handler
    with override_settings(LAB_SERVICES_URL=moto_server):
        yield
    shutdown_pool()


def _run(function, event: str) -> Invocation:
    config = spec_for(function=function, memory_mb=1769).to_config()
    config["timeout_s"] = 30
    invocation = InvocationFactory(function=function, event=event, config=config)
    result = execution.invocation_execute(invocation_id=invocation.pk, worker="test")
    assert result is not None
    return result


def test_a_handler_is_denied_then_allowed_once_its_role_is_fixed(lab, client):
    function = FunctionFactory(code=HANDLER, name="thumbnailer")
    account = account_for(function.owner)
    bucket = f"uploads-{account}"
    s3 = lab_client("s3", account_id=account)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in.txt", Body=b"hello")
    lab_client("dynamodb", account_id=account).create_table(
        TableName="Results",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    role = roles.function_role(function)
    roles.role_put_policy(
        role=role,
        name="read",
        document=roles.template_document("s3-read", account_id=account, name=bucket),
    )
    event = f'{{"bucket": "{bucket}"}}'

    denied = _run(function, event)
    assert denied.status == Invocation.Status.ERROR, denied.log or denied.failure_reason
    assert "is not authorized to perform: dynamodb:PutItem" in denied.error["errorMessage"]
    assert [(c["operation"], c["outcome"]) for c in denied.service_calls] == [
        ("GetObject", "allowed"),
        ("PutItem", "denied"),
    ]
    assert denied.service_calls[1]["resource"].endswith(":table/Results")

    roles.role_put_policy(
        role=role,
        name="crud",
        document=roles.template_document("dynamodb-crud", account_id=account, name="Results"),
    )
    allowed = _run(function, event)
    assert allowed.status == Invocation.Status.SUCCESS, allowed.log
    assert allowed.cold_start is False  # the same environment, its session unchanged
    assert allowed.payload == {"stored": "hello"}
    assert [c["outcome"] for c in allowed.service_calls] == ["allowed", "allowed"]
    item = lab_client("dynamodb", account_id=account).get_item(
        TableName="Results", Key={"id": {"S": "in.txt"}}
    )["Item"]
    assert item["text"] == {"S": "hello"}

    client.force_login(function.owner)
    page = client.get(
        reverse("sandbox:invocation_detail", kwargs={"pk": function.pk, "invocation_pk": denied.pk})
    ).content.decode()
    assert 'data-call-outcome="denied"' in page and "dynamodb:PutItem" in page
    diagram = client.get(function.get_absolute_url()).content.decode()
    assert "data-service-map" in diagram and "DynamoDB" in diagram and "S3" in diagram


def test_code_that_is_no_functions_gets_no_credentials(lab):
    function = FunctionFactory()
    spec = spec_for(function=function, namespace="user-1/challenge-x")
    assert execution.function_id_of(spec) is None
    assert execution.services_environment(spec) == {}
    assert execution.function_id_of(spec_for(function=function)) == function.pk
