"""Every Lambda ARN the API answers with or accepts is in the caller's own lab account, and the
handler's context names it too; another account's ARN reaches nothing."""

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.test import RequestFactory

from sandbox.api.function_urls import request_event
from sandbox.api.models import FunctionUrlConfig
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import lab_client
from tests.sandbox.api.conftest import create_hello

pytestmark = pytest.mark.django_db(transaction=True)

PLACEHOLDER = "123456789012"  # the documentation's account, no learner's
CONTEXT = "def lambda_handler(event, context):\n    return {'arn': context.invoked_function_arn}\n"


def prefix(account: str) -> str:
    return f"arn:aws:lambda:us-east-1:{account}:function:"


def error_code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def test_a_learners_functions_versions_aliases_and_policies_are_in_their_account(lam, learner):
    own = prefix(account_for(learner))
    assert account_for(learner) != PLACEHOLDER
    assert create_hello(lam)["FunctionArn"] == own + "hello"
    assert lam.publish_version(FunctionName="hello")["FunctionArn"] == own + "hello:1"
    alias = lam.create_alias(FunctionName="hello", Name="live", FunctionVersion="1")
    assert alias["AliasArn"] == own + "hello:live"
    listed = lam.list_versions_by_function(FunctionName="hello")["Versions"]
    assert [v["FunctionArn"] for v in listed] == [own + "hello", own + "hello:1"]
    assert [f["FunctionArn"] for f in lam.list_functions()["Functions"]] == [own + "hello"]

    added = lam.add_permission(
        FunctionName="hello",
        Qualifier="live",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )
    assert json.loads(added["Statement"])["Resource"] == own + "hello:live"
    policy = json.loads(lam.get_policy(FunctionName="hello", Qualifier="live")["Policy"])
    assert policy["Statement"][0]["Resource"] == own + "hello:live"

    create_hello(lam, name="sink")
    config = lam.put_function_event_invoke_config(
        FunctionName="hello", DestinationConfig={"OnFailure": {"Destination": own + "sink"}}
    )
    assert config["FunctionArn"] == own + "hello:$LATEST"
    url = lam.create_function_url_config(FunctionName="hello", AuthType="AWS_IAM")
    assert url["FunctionArn"] == own + "hello"

    # The learner's own ARNs, full or partial, name the function.
    partial = f"{account_for(learner)}:function:hello"
    for name in (own + "hello", own + "hello:live", partial):
        assert lam.get_function_configuration(FunctionName=name)["FunctionName"] == "hello"


def test_one_learners_arns_never_reach_anothers_functions(
    lam, learner, lambda_client_for, other_learner
):
    mine, theirs = prefix(account_for(learner)), prefix(account_for(other_learner))
    assert mine != theirs
    create_hello(lam)
    other = lambda_client_for(other_learner)
    # The other learner has a function of the same name: A's ARN still names A's, not B's.
    assert create_hello(other)["FunctionArn"] == theirs + "hello"
    for name in (mine + "hello", mine + "hello:$LATEST", f"{account_for(learner)}:function:hello"):
        assert error_code(lambda n=name: other.get_function(FunctionName=n)) == (
            "ResourceNotFoundException"
        )
        assert error_code(lambda n=name: other.invoke(FunctionName=n, InvocationType="DryRun")) == (
            "ResourceNotFoundException"
        )
    # Nor the documentation's placeholder account, which was the API's one account before.
    assert error_code(lambda: lam.get_function(FunctionName=prefix(PLACEHOLDER) + "hello")) == (
        "ResourceNotFoundException"
    )
    # A destination in another learner's account is refused as Lambda refuses another account's.
    refused = error_code(
        lambda: other.put_function_event_invoke_config(
            FunctionName="hello", DestinationConfig={"OnSuccess": {"Destination": mine + "hello"}}
        )
    )
    assert refused == "InvalidParameterValueException"


def test_event_source_mappings_are_in_the_owners_account(lam, learner, moto_server):
    account = account_for(learner)
    sqs = lab_client("sqs", account_id=account)
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    create_hello(lam, "consumer")
    created = lam.create_event_source_mapping(
        EventSourceArn=queue, FunctionName=prefix(account) + "consumer", Enabled=False
    )
    assert created["FunctionArn"] == prefix(account) + "consumer"
    assert created["EventSourceMappingArn"] == (
        f"arn:aws:lambda:us-east-1:{account}:event-source-mapping:{created['UUID']}"
    )
    listed = lam.list_event_source_mappings(FunctionName=prefix(account) + "consumer")
    assert [m["UUID"] for m in listed["EventSourceMappings"]] == [created["UUID"]]
    assert (
        error_code(
            lambda: lam.create_event_source_mapping(
                EventSourceArn=queue, FunctionName=prefix(PLACEHOLDER) + "consumer"
            )
        )
        == "ResourceNotFoundException"
    )


def test_a_signed_function_url_request_names_the_owners_account(lam, learner):
    from sandbox.api.models import AccessKey
    from sandbox.models import Function

    create_hello(lam)
    key = AccessKey.objects.get(owner=learner)
    config = FunctionUrlConfig(
        function=Function.objects.get(owner=learner, name="hello"), url_id="b" * 32
    )
    event = request_event(RequestFactory().get("/"), config=config, path="/", body=b"", caller=key)
    account = account_for(learner)
    context = event["requestContext"]
    assert context["accountId"] == account
    assert context["authorizer"]["iam"]["accountId"] == account
    assert context["authorizer"]["iam"]["userArn"] == (
        f"arn:aws:iam::{account}:user/{learner.username}"
    )


@pytest.mark.integration
@pytest.mark.parametrize("runtime", ["python3.11", "nodejs24.x"])
def test_the_handlers_context_names_the_owners_account(
    celery_worker_process, lam, learner, runtime
):
    from tests.sandbox.api.conftest import zip_of

    if runtime == "python3.11":
        files, handler = {"lambda_function.py": CONTEXT}, "lambda_function.lambda_handler"
    else:
        source = "export const handler = async (e, c) => ({ arn: c.invokedFunctionArn });\n"
        files, handler = {"index.mjs": source}, "index.handler"
    lam.create_function(
        FunctionName="whoami",
        Runtime=runtime,
        Role=f"arn:aws:iam::{PLACEHOLDER}:role/lambda-role",
        Handler=handler,
        Code={"ZipFile": zip_of(files)},
    )
    answer = lam.invoke(FunctionName="whoami", Payload=b"{}")
    assert json.loads(answer["Payload"].read()) == {"arn": prefix(account_for(learner)) + "whoami"}


@pytest.mark.integration
@pytest.mark.parametrize("runtime", ["python3.11", "nodejs24.x"])
def test_the_handlers_context_names_the_qualifier_it_was_invoked_through(
    celery_worker_process, lam, learner, runtime
):
    from tests.sandbox.api.conftest import zip_of

    if runtime == "python3.11":
        files, handler = {"lambda_function.py": CONTEXT}, "lambda_function.lambda_handler"
    else:
        source = "export const handler = async (e, c) => ({ arn: c.invokedFunctionArn });\n"
        files, handler = {"index.mjs": source}, "index.handler"
    lam.create_function(
        FunctionName="whoami",
        Runtime=runtime,
        Role=f"arn:aws:iam::{PLACEHOLDER}:role/lambda-role",
        Handler=handler,
        Code={"ZipFile": zip_of(files)},
    )
    lam.publish_version(FunctionName="whoami")
    lam.create_alias(FunctionName="whoami", Name="live", FunctionVersion="1")
    lam.create_alias(FunctionName="whoami", Name="beta", FunctionVersion="1")
    arn = prefix(account_for(learner)) + "whoami"

    def seen(**qualified: str) -> str:
        answer = lam.invoke(Payload=b"{}", **{"FunctionName": "whoami", **qualified})
        assert answer["ExecutedVersion"] in ("1", "$LATEST")
        return str(json.loads(answer["Payload"].read())["arn"])

    # Version 1's warm environment serves both aliases and the version: each invoke names its own.
    assert seen(Qualifier="live") == f"{arn}:live"
    assert seen(Qualifier="1") == f"{arn}:1"
    assert seen(Qualifier="beta") == f"{arn}:beta"
    assert seen(FunctionName=f"{arn}:live") == f"{arn}:live"
    assert seen() == arn
    assert seen(Qualifier="$LATEST") == f"{arn}:$LATEST"
    from sandbox.models import Invocation

    runs = list(Invocation.objects.filter(function__name="whoami").order_by("pk"))
    assert [r.qualifier for r in runs] == ["live", "1", "beta", "live", "", "$LATEST"]
    assert len({r.environment_id for r in runs[:4]}) == 1
    assert [r.cold_start for r in runs[:4]] == [True, False, False, False]
