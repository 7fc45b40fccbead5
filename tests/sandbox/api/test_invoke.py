"""Invoke through boto3, the API, Celery and a real sandbox worker, and back."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from sandbox.models import Invocation
from tests.sandbox.api.conftest import create_hello, zip_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAILING = "def lambda_handler(event, context):\n    raise ValueError('no ' + event['what'])\n"


def tail(response) -> str:
    return base64.b64decode(response["LogResult"]).decode()


def test_invoke_cold_then_warm_with_the_log_tail(celery_worker_process, lam, learner):
    create_hello(lam)
    first = lam.invoke(FunctionName="hello", Payload=b'{"name": "Ada"}', LogType="Tail")
    assert first["StatusCode"] == 200 and "FunctionError" not in first
    assert json.loads(first["Payload"].read()) == {"hello": "Ada"}
    assert first["ExecutedVersion"] == "$LATEST"
    log = tail(first)
    assert "START RequestId:" in log and "Version: $LATEST" in log
    assert "hello from hello" in log
    assert "REPORT RequestId:" in log and "Init Duration" in log

    second = lam.invoke(FunctionName="hello", Payload=b"{}", LogType="Tail")
    assert json.loads(second["Payload"].read()) == {"hello": "world"}
    report = tail(second).splitlines()[-1]
    assert report.startswith("REPORT RequestId:") and "Init Duration" not in report

    # The same Invocation records as the console's, counted as the learner's.
    invocations = Invocation.objects.filter(function__name="hello", requested_by=learner)
    assert invocations.count() == 2
    assert set(invocations.values_list("cold_start", flat=True)) == {True, False}
    assert second["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] in set(
        invocations.values_list("request_id", flat=True)
    )


NODE_HELLO = """
export const handler = async (event, context) => {
  console.log("hello from", context.functionName);
  if (event.fail) throw new RangeError("too far");
  return { hello: event.name ?? "world", node: process.version.split(".")[0] };
};
"""


def test_a_nodejs24_function_through_boto3(celery_worker_process, lam):
    created = lam.create_function(
        FunctionName="hello-node",
        Runtime="nodejs24.x",
        Role="arn:aws:iam::123456789012:role/lambda-role",
        Handler="index.handler",
        Code={"ZipFile": zip_of({"index.mjs": NODE_HELLO})},
    )
    assert created["Runtime"] == "nodejs24.x" and created["Handler"] == "index.handler"
    first = lam.invoke(FunctionName="hello-node", Payload=b'{"name": "Ada"}', LogType="Tail")
    assert json.loads(first["Payload"].read()) == {"hello": "Ada", "node": "v24"}
    log = tail(first)
    assert "\tINFO\thello from hello-node" in log and "Init Duration" in log
    failed = lam.invoke(FunctionName="hello-node", Payload=b'{"fail": true}')
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("RangeError", "too far")
    assert error["trace"][0] == "RangeError: too far"


def test_a_function_error_is_unhandled(celery_worker_process, lam):
    create_hello(lam, name="failing", source=FAILING)
    response = lam.invoke(FunctionName="failing", Payload=b'{"what": "luck"}')
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "no luck"
    assert "LogResult" not in response


def test_dry_run_and_event_invocations(celery_worker_process, lam, learner):
    create_hello(lam)
    dry = lam.invoke(FunctionName="hello", InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    assert not Invocation.objects.filter(requested_by=learner).exists()
    queued = lam.invoke(FunctionName="hello", InvocationType="Event", Payload=b'{"name": "Bo"}')
    assert queued["StatusCode"] == 202
    invocation = Invocation.objects.get(requested_by=learner)
    assert invocation.event == '{"name": "Bo"}'


def test_bad_payloads(lam):
    create_hello(lam)
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName="hello", Payload=b"{not json")
    with pytest.raises(lam.exceptions.RequestTooLargeException) as excinfo:
        lam.invoke(FunctionName="hello", Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_reserved_concurrency_zero_throttles(celery_worker_process, lam):
    create_hello(lam)
    lam.put_function_concurrency(FunctionName="hello", ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException) as excinfo:
        lam.invoke(FunctionName="hello", Payload=b"{}")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert excinfo.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_the_learners_rate_limit_is_the_consoles(lam):
    create_hello(lam)
    with override_settings(SANDBOX_USER_INVOCATIONS_PER_MINUTE=1):
        lam.invoke(FunctionName="hello", InvocationType="Event")
        with pytest.raises(lam.exceptions.TooManyRequestsException) as excinfo:
            lam.invoke(FunctionName="hello", Payload=b"{}")
    assert "invocations a minute" in str(excinfo.value)
    assert excinfo.value.response["retryAfterSeconds"]


def test_the_aws_cli_lists_and_invokes(celery_worker_process, lam, live_server, tmp_path):
    create_hello(lam)
    key = lam.access_key
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=key.access_key_id,
        AWS_SECRET_ACCESS_KEY=key.secret,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
    )
    aws = [str(Path(sys.executable).with_name("aws")), "--endpoint-url", live_server.url]
    # AWS CLI v1 (the one on PyPI) sends --payload as it is, without base64.
    listed = subprocess.run(
        [*aws, "lambda", "list-functions"], env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert [f["FunctionName"] for f in json.loads(listed.stdout)["Functions"]] == ["hello"]
    out = tmp_path / "out.json"
    invoked = subprocess.run(
        [
            *aws,
            "lambda",
            "invoke",
            "--function-name",
            "hello",
            "--payload",
            '{"name": "CLI"}',
            "--log-type",
            "Tail",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert invoked.returncode == 0, invoked.stderr
    answer = json.loads(invoked.stdout)
    assert answer["StatusCode"] == 200 and answer["ExecutedVersion"] == "$LATEST"
    assert "REPORT RequestId" in base64.b64decode(answer["LogResult"]).decode()
    assert json.loads(out.read_text()) == {"hello": "CLI"}
