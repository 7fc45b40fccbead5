"""Signature Version 4: only correctly signed requests with an active key get through."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.api import services
from sandbox.aws.accounts import account_for
from tests.sandbox.api.conftest import create_hello

pytestmark = pytest.mark.django_db(transaction=True)


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    error = excinfo.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_a_signed_request_gets_through_and_marks_the_key_used(lam):
    assert lam.list_functions()["Functions"] == []
    lam.access_key.refresh_from_db()
    assert lam.access_key.last_used_at is not None


def test_a_wrong_secret_is_an_invalid_signature(lambda_client_for, learner):
    client = lambda_client_for(learner, secret="x" * 40)
    with pytest.raises(ClientError) as excinfo:
        client.list_functions()
    assert error_code(excinfo) == ("InvalidSignatureException", 403)
    assert "signature we calculated does not match" in str(excinfo.value)


def test_an_unknown_or_revoked_key_is_unrecognized(lambda_client_for, learner, live_server):
    client = lambda_client_for(learner)
    client.list_functions()
    services.access_key_revoke(key=client.access_key)
    with pytest.raises(client.exceptions.ClientError) as excinfo:
        client.list_functions()
    assert error_code(excinfo) == ("UnrecognizedClientException", 403)

    stranger = boto3.client(
        "lambda",
        endpoint_url=live_server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    with pytest.raises(ClientError) as excinfo:
        stranger.get_account_settings()
    assert error_code(excinfo) == ("UnrecognizedClientException", 403)


@pytest.mark.parametrize("offset", [timedelta(minutes=-20), timedelta(minutes=20)])
def test_a_clock_off_by_more_than_15_minutes_is_refused(lam, monkeypatch, offset):
    monkeypatch.setattr(
        "botocore.auth.get_current_datetime",
        lambda remove_tzinfo=True: (datetime.now(UTC) + offset).replace(tzinfo=None),
    )
    with pytest.raises(ClientError) as excinfo:
        lam.list_functions()
    assert error_code(excinfo) == ("InvalidSignatureException", 403)
    assert "Signature expired" in str(excinfo.value) or "not yet current" in str(excinfo.value)


def test_a_clock_off_by_less_than_15_minutes_is_fine(lam, monkeypatch):
    monkeypatch.setattr(
        "botocore.auth.get_current_datetime",
        lambda remove_tzinfo=True: (datetime.now(UTC) - timedelta(minutes=14)).replace(tzinfo=None),
    )
    assert lam.list_functions()["Functions"] == []


def test_a_body_changed_after_signing_is_refused(lam):
    def tamper(request, **kwargs):
        # Same length, other content: only the signature can tell.
        request.body = request.body.replace(b"tampered", b"TAMPERED")

    lam.meta.events.register("before-send.lambda.CreateFunction", tamper)
    with pytest.raises(ClientError) as excinfo:
        create_hello(lam, name="tampered")
    assert error_code(excinfo) == ("InvalidSignatureException", 403)


def test_an_unsigned_request_is_refused(client, live_server):
    response = client.get("/2015-03-31/functions/")
    assert response.status_code == 403
    assert response["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_qualified_arn_paths_verify(lam, learner):
    """ARNs in the path are percent-encoded on the wire: the signature must still match."""
    create_hello(lam)
    arn = f"arn:aws:lambda:us-east-1:{account_for(learner)}:function:hello"
    assert lam.get_function_configuration(FunctionName=arn)["FunctionName"] == "hello"
    assert lam.get_function(FunctionName="hello", Qualifier="$LATEST")["Configuration"]
