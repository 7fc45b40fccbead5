"""Function URLs and resource-based policies: the configs through boto3, the URL over HTTP."""

import base64
import json

import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.test import RequestFactory

from sandbox.api.function_urls import http_response, request_event
from sandbox.api.models import FunctionUrlConfig
from sandbox.models import Invocation
from tests.sandbox.api.conftest import create_hello

pytestmark = pytest.mark.django_db(transaction=True)

ECHO = """
import json
def lambda_handler(event, context):
    return {
        "statusCode": 201,
        "headers": {"x-path": event["rawPath"], "access-control-allow-origin": "evil"},
        "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark"],
        "body": json.dumps(event),
    }
"""
BARE = "def lambda_handler(event, context):\n    return 'hi there'\n"
http = urllib3.PoolManager()


def public(lam, name: str = "hello", *, both: bool = True) -> None:
    """The resource policy AWS wants for an AuthType NONE URL since October 2025."""
    lam.add_permission(
        FunctionName=name,
        StatementId="FunctionURLAllowPublicAccess",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    if both:
        lam.add_permission(
            FunctionName=name,
            StatementId="FunctionURLInvokeAllowPublicAccess",
            Action="lambda:InvokeFunction",
            Principal="*",
            InvokedViaFunctionUrl=True,
        )


def test_function_url_configs(lam, lambda_client_for, other_learner):
    create_hello(lam)
    lam.publish_version(FunctionName="hello")
    lam.create_alias(FunctionName="hello", Name="live", FunctionVersion="1")
    created = lam.create_function_url_config(
        FunctionName="hello",
        AuthType="NONE",
        Cors={"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET"], "MaxAge": 60},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    url_id = FunctionUrlConfig.objects.get().url_id
    assert created["FunctionUrl"].endswith(f"/lambda-url/{url_id}/")
    assert created["FunctionArn"].endswith(":function:hello")
    assert created["AuthType"] == "NONE" and created["Cors"]["MaxAge"] == 60
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_function_url_config(FunctionName="hello", AuthType="NONE")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_function_url_config(FunctionName="hello", Qualifier="1", AuthType="NONE")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_function_url_config(FunctionName="hello", Qualifier="live", AuthType="OPEN")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_function_url_config(
            FunctionName="hello", Qualifier="live", AuthType="NONE", Cors={"MaxAge": 90000}
        )
    aliased = lam.create_function_url_config(
        FunctionName="hello", Qualifier="live", AuthType="AWS_IAM"
    )
    assert aliased["FunctionArn"].endswith(":function:hello:live")

    updated = lam.update_function_url_config(FunctionName="hello", AuthType="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM" and updated["Cors"]["AllowMethods"] == ["GET"]
    assert lam.get_function_url_config(FunctionName="hello")["AuthType"] == "AWS_IAM"
    listed = lam.list_function_url_configs(FunctionName="hello")["FunctionUrlConfigs"]
    assert sorted(c["FunctionArn"].rsplit(":", 1)[-1] for c in listed) == ["hello", "live"]

    other = lambda_client_for(other_learner)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_function_url_config(FunctionName="hello")
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.delete_function_url_config(FunctionName="hello")

    lam.delete_function_url_config(FunctionName="hello", Qualifier="live")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_url_config(FunctionName="hello", Qualifier="live")


def test_resource_based_policy(lam, lambda_client_for, other_learner):
    create_hello(lam)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName="hello")
    public(lam)
    added = lam.add_permission(
        FunctionName="hello",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::bucket",
    )
    assert json.loads(added["Statement"])["Principal"] == {"Service": "s3.amazonaws.com"}
    policy = json.loads(lam.get_policy(FunctionName="hello")["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["FunctionURLAllowPublicAccess"]["Condition"] == {
        "StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}
    }
    assert statements["FunctionURLInvokeAllowPublicAccess"]["Condition"] == {
        "Bool": {"lambda:InvokedViaFunctionUrl": "true"}
    }
    assert statements["s3"]["Condition"] == {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}}
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.add_permission(
            FunctionName="hello", StatementId="s3", Action="lambda:InvokeFunction", Principal="*"
        )
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.add_permission(
            FunctionName="hello", StatementId="bad", Action="s3:GetObject", Principal="*"
        )
    lam.remove_permission(FunctionName="hello", StatementId="s3")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.remove_permission(FunctionName="hello", StatementId="s3")
    other = lambda_client_for(other_learner)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_policy(FunctionName="hello")


def url_of(lam, name: str = "hello", **kwargs) -> str:
    return lam.create_function_url_config(FunctionName=name, **kwargs)["FunctionUrl"]


def test_a_public_url_needs_both_permissions(lam):
    create_hello(lam)
    url = url_of(lam, AuthType="NONE")
    assert http.request("GET", url).status == 403
    public(lam, both=False)
    refused = http.request("GET", url)
    assert refused.status == 403 and json.loads(refused.data) == {"Message": "Forbidden"}
    assert not Invocation.objects.exists()
    assert http.request("GET", url.replace("/lambda-url/", "/lambda-url/x")).status == 404


def test_an_aws_iam_url_wants_the_owners_signature(lam, lambda_client_for, other_learner):
    create_hello(lam)
    url = url_of(lam, AuthType="AWS_IAM")
    assert http.request("GET", url).status == 403
    other = lambda_client_for(other_learner)
    key = other.access_key
    assert (
        http.request("GET", url, headers=signed("GET", url, key.access_key_id, key.secret)).status
        == 403
    )
    assert not Invocation.objects.exists()


def signed(method: str, url: str, key_id: str, secret: str, body: bytes = b"") -> dict:
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(Credentials(key_id, secret), "lambda", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_cors_preflight_is_answered_by_the_url(lam):
    create_hello(lam)
    url = url_of(
        lam,
        AuthType="NONE",
        Cors={
            "AllowOrigins": ["https://app.example"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["content-type"],
            "MaxAge": 300,
        },
    )
    asked = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    answer = http.request("OPTIONS", url + "any/path", headers=asked)
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert answer.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type"
    assert answer.headers["Access-Control-Max-Age"] == "300"
    elsewhere = http.request("OPTIONS", url, headers={**asked, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    assert not Invocation.objects.exists()  # the function is not invoked for a preflight


def test_the_payload_2_event(learner):
    config = FunctionUrlConfig(url_id="a" * 32, auth_type="NONE")
    request = RequestFactory().post(
        "/lambda-url/" + "a" * 32 + "/orders/7?b=1&b=2&c=",
        data=b'{"x": 1}',
        content_type="application/json",
        HTTP_COOKIE="one=1; two=2",
        HTTP_USER_AGENT="curl/8",
    )
    request.META["QUERY_STRING"] = "b=1&b=2&c="
    event = request_event(request, config=config, path="/orders/7", body=b'{"x": 1}')
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/orders/7" and event["rawQueryString"] == "b=1&b=2&c="
    assert event["queryStringParameters"] == {"b": "1,2", "c": ""}
    assert event["cookies"] == ["one=1", "two=2"] and "cookie" not in event["headers"]
    assert event["headers"]["content-type"] == "application/json"
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False
    http_context = event["requestContext"]["http"]
    assert (http_context["method"], http_context["path"]) == ("POST", "/orders/7")
    assert http_context["userAgent"] == "curl/8"
    assert event["requestContext"]["domainPrefix"] == "a" * 32
    binary = request_event(
        RequestFactory().post("/", data=b"\x00\xff", content_type="image/png"),
        config=config,
        path="/",
        body=b"\x00\xff",
    )
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x00\xff"


def test_the_response_mapping():
    bare = http_response("hi")
    assert (bare.status_code, bare["Content-Type"], bare.content) == (
        200,
        "application/json",
        b"hi",
    )
    assert json.loads(http_response({"a": 1}).content) == {"a": 1}
    full = http_response(
        {
            "statusCode": 418,
            "headers": {"Content-Type": "text/plain", "X-Tea": "yes"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": base64.b64encode(b"short and stout").decode(),
            "isBase64Encoded": True,
        }
    )
    assert full.status_code == 418 and full.content == b"short and stout"
    assert full["Content-Type"] == "text/plain" and full["X-Tea"] == "yes"
    assert set(full.cookies) == {"a", "b"} and full.cookies["a"]["path"] == "/"
    assert http_response({"statusCode": "teapot"}).status_code == 502


@pytest.mark.integration
def test_a_public_url_invokes_the_function(celery_worker_process, lam):
    create_hello(lam, source=ECHO)
    public(lam)
    url = url_of(lam, AuthType="NONE", Cors={"AllowOrigins": ["*"]})
    answer = http.request(
        "POST",
        url + "orders/7?b=1&b=2",
        body=b'{"item": "tea"}',
        headers={"Content-Type": "application/json", "Cookie": "c=3", "Origin": "https://a.b"},
    )
    assert answer.status == 201, answer.data
    assert answer.headers["x-path"] == "/orders/7"
    # The URL's CORS headers, over the function's own.
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert sorted(answer.headers.getlist("Set-Cookie")) == [
        "session=abc; HttpOnly; Path=/",
        "theme=dark",
    ]
    event = json.loads(answer.data)
    assert event["rawPath"] == "/orders/7" and event["rawQueryString"] == "b=1&b=2"
    assert event["body"] == '{"item": "tea"}' and event["cookies"] == ["c=3"]
    assert event["requestContext"]["http"]["method"] == "POST"
    invocation = Invocation.objects.get()
    assert invocation.requested_by == invocation.function.owner  # the owner's share

    create_hello(lam, name="bare", source=BARE)
    bare_url = url_of(lam, "bare", AuthType="AWS_IAM")
    key = lam.access_key
    bare = http.request(
        "GET", bare_url, headers=signed("GET", bare_url, key.access_key_id, key.secret)
    )
    assert bare.status == 200 and bare.data == b"hi there"
    assert bare.headers["Content-Type"] == "application/json"


@pytest.mark.integration
def test_an_aliass_url_names_the_alias_in_the_handlers_context(celery_worker_process, lam):
    source = "def lambda_handler(event, context):\n    return context.invoked_function_arn\n"
    create_hello(lam, source=source)
    lam.publish_version(FunctionName="hello")
    lam.create_alias(FunctionName="hello", Name="live", FunctionVersion="1")
    key = lam.access_key
    arn = lam.get_function(FunctionName="hello")["Configuration"]["FunctionArn"]
    for qualifier, invoked in (("live", f"{arn}:live"), (None, arn)):
        options = {"Qualifier": qualifier} if qualifier else {}
        url = url_of(lam, AuthType="AWS_IAM", **options)
        answer = http.request("GET", url, headers=signed("GET", url, key.access_key_id, key.secret))
        assert answer.status == 200, answer.data
        assert answer.data.decode() == invoked
