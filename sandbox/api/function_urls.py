"""Function URLs: the site serves each at /lambda-url/<url-id>/ (AWS serves them at
https://<url-id>.lambda-url.<region>.on.aws/). A request becomes an API Gateway HTTP API payload
2.0 event; the handler's answer becomes the HTTP response, as a function URL does.

AuthType AWS_IAM wants a SigV4 signature by one of the owner's access keys (service `lambda`);
AuthType NONE is public, provided the function's resource-based policy says so: since October
2025 AWS wants both `lambda:InvokeFunctionUrl` (FunctionUrlAuthType NONE) and
`lambda:InvokeFunction` granted to `*`, and answers 403 Forbidden without them. Invocations
are the owner's, through the same services as every other, so they count toward the owner's
limits.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import services as sandbox_services
from sandbox.api import selectors, services, views
from sandbox.api.errors import LambdaError
from sandbox.api.models import FunctionUrlConfig, PolicyStatement
from sandbox.aws.accounts import account_for
from sandbox.engine.protocol import MAX_REQUEST_BYTES
from sandbox.models import Invocation

_TEXT_TYPE_RE = re.compile(
    r"^(?:text/[^;]+|application/(?:json|javascript|xml|[^;]+\+json|[^;]+\+xml))(?:;.*)?$"
)


def _message(status: int, message: str) -> HttpResponse:
    return JsonResponse({"Message": message}, status=status)


# ---------------------------------------------------------------- the event


def _is_text(content_type: str) -> bool:
    return bool(_TEXT_TYPE_RE.match(content_type.strip().lower()))


def request_event(
    request: HttpRequest, *, config: FunctionUrlConfig, path: str, body: bytes, caller: Any = None
) -> dict[str, Any]:
    """The payload 2.0 event of an HTTP request to a function URL.

    Header names are lower-cased and repeated values joined with commas; the Cookie header
    becomes `cookies`; a body that is not text (by its Content-Type) is base64-encoded.
    """
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name.lower()] = value
    cookie = headers.pop("cookie", "")
    raw_query = request.META.get("QUERY_STRING", "")
    now = timezone.now()
    # The function owner's lab account, as AWS gives it to signed requests (the caller, whose
    # own account the authorizer names, is the owner too: only their keys may sign).
    context: dict[str, Any] = {
        "accountId": "anonymous" if caller is None else account_for(config.function.owner),
        "apiId": config.url_id,
        "domainName": request.get_host(),
        "domainPrefix": config.url_id,
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.META.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": request.META.get("REMOTE_ADDR", ""),
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if caller is not None:
        caller_account = account_for(caller.owner)
        context["authorizer"] = {
            "iam": {
                "accessKey": caller.access_key_id,
                "accountId": caller_account,
                "callerId": caller.access_key_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{caller_account}:user/{caller.owner.username}",
                "userId": caller.access_key_id,
            }
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookie:
        event["cookies"] = [c.strip() for c in cookie.split(";") if c.strip()]
    if raw_query:
        params: dict[str, list[str]] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            params.setdefault(name, []).append(value)
        event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
    if body:
        text = None
        if _is_text(headers.get("content-type", "")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


# ---------------------------------------------------------------- the response


def http_response(payload: Any) -> HttpResponse:
    """The HTTP response of a handler's answer, as a function URL maps it.

    A JSON object with statusCode gives the status, headers, cookies and body (base64-decoded
    when isBase64Encoded); anything else is a 200 application/json whose body is the value
    (a string as it is, other values as JSON). An answer that cannot be mapped is a 502.
    """
    if not (isinstance(payload, dict) and "statusCode" in payload):
        value = payload if isinstance(payload, str) else json.dumps(payload)
        return HttpResponse(value, status=200, content_type="application/json")
    status = payload.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return _message(502, "Internal Server Error")
    raw = payload.get("body")
    body: bytes | str
    if raw is None:
        body = b""
    elif not isinstance(raw, str):
        body = json.dumps(raw)
    elif payload.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return _message(502, "Internal Server Error")
    else:
        body = raw
    response = HttpResponse(body, status=status)
    headers = payload.get("headers") or {}
    if not isinstance(headers, dict):
        return _message(502, "Internal Server Error")
    response["Content-Type"] = "application/json"
    for name, value in headers.items():
        if str(name).lower() == "set-cookie":
            response.cookies.load(str(value))
        else:
            response[str(name)] = str(value)
    cookies = payload.get("cookies") or []
    if not isinstance(cookies, list):
        return _message(502, "Internal Server Error")
    for cookie in cookies:
        response.cookies.load(str(cookie))
    return response


# ---------------------------------------------------------------- CORS


def _allowed_origin(cors: dict[str, Any], origin: str) -> str | None:
    if not origin:
        return None
    origins = [o.lower() for o in cors.get("AllowOrigins") or []]
    if "*" in origins:
        return origin if cors.get("AllowCredentials") else "*"
    return origin if origin.lower() in origins else None


def _joined(values: Iterable[str]) -> str:
    return ",".join(values)


def preflight(cors: dict[str, Any], request: HttpRequest) -> HttpResponse:
    """Lambda's own answer to a CORS preflight when the URL has a Cors config (the function
    is not invoked): the Access-Control-Allow-* headers when origin and method are allowed,
    none otherwise."""
    response = HttpResponse(status=200)
    origin = _allowed_origin(cors, request.headers.get("Origin", ""))
    method = request.headers.get("Access-Control-Request-Method", "").upper()
    methods = [m.upper() for m in cors.get("AllowMethods") or []]
    if origin is None or not (method in methods or "*" in methods):
        return response
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = _joined(cors.get("AllowMethods") or [])
    if cors.get("AllowHeaders"):
        response["Access-Control-Allow-Headers"] = _joined(cors["AllowHeaders"])
    if cors.get("MaxAge") is not None:
        response["Access-Control-Max-Age"] = str(cors["MaxAge"])
    if cors.get("AllowCredentials"):
        response["Access-Control-Allow-Credentials"] = "true"
    response["Vary"] = "Origin"
    return response


def with_cors(cors: dict[str, Any], request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The URL's CORS headers on a response, over any the function set (as Lambda does)."""
    if not cors:
        return response
    for name in list(response.headers):
        if name.lower().startswith("access-control-"):
            del response[name]
    origin = _allowed_origin(cors, request.headers.get("Origin", ""))
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
        if cors.get("ExposeHeaders"):
            response["Access-Control-Expose-Headers"] = _joined(cors["ExposeHeaders"])
        if cors.get("AllowCredentials"):
            response["Access-Control-Allow-Credentials"] = "true"
        response["Vary"] = "Origin"
    return response


# ---------------------------------------------------------------- access


def _grants(statement: PolicyStatement, action: str) -> bool:
    return statement.principal == "*" and statement.action in (action, "lambda:*", "*")


def public_access(*, statements: list[PolicyStatement]) -> bool:
    """Whether a resource-based policy lets anyone call an AuthType NONE URL: both
    lambda:InvokeFunctionUrl (for FunctionUrlAuthType NONE) and lambda:InvokeFunction."""
    url = any(
        _grants(s, "lambda:InvokeFunctionUrl") and s.function_url_auth_type in ("", "NONE")
        for s in statements
    )
    invoke = any(
        _grants(s, "lambda:InvokeFunction") and s.invoked_via_function_url is not False
        for s in statements
    )
    return url and invoke


# ---------------------------------------------------------------- the view


@csrf_exempt
def serve(request: HttpRequest, url_id: str, path: str | None = None) -> HttpResponse:
    config = selectors.function_url_by_id(url_id=url_id)
    if config is None:
        return _message(404, "Not Found")
    cors = config.cors or {}
    if (
        request.method == "OPTIONS"
        and cors
        and request.headers.get("Origin")
        and request.headers.get("Access-Control-Request-Method")
    ):
        return preflight(cors, request)
    return with_cors(cors, request, _invoke(request, config, path or "/"))


def _invoke(request: HttpRequest, config: FunctionUrlConfig, path: str) -> HttpResponse:
    function = config.function
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_REQUEST_BYTES:
        return _message(413, "Request Entity Too Large")
    body = request.read(length) if length else b""
    caller = None
    if config.auth_type == FunctionUrlConfig.AuthType.AWS_IAM:
        try:
            caller = views.authenticate(request, body)
        except LambdaError:
            return _message(403, "Forbidden")
        if caller.owner_id != function.owner_id:
            return _message(403, "Forbidden")
    else:
        policy_qualifier = "" if config.qualifier == services.LATEST else config.qualifier
        statements = selectors.policy_statements(function=function, qualifier=policy_qualifier)
        if not public_access(statements=statements):
            return _message(403, "Forbidden")
    event = request_event(request, config=config, path=path, body=body, caller=caller)
    try:
        _, spec = services.qualifier_spec(function=function, qualifier=config.qualifier)
        invocation = sandbox_services.invocation_start(
            function=function,
            event_text=json.dumps(event),
            requested_by=function.owner,
            spec=spec,
            qualifier="" if config.qualifier == services.LATEST else config.qualifier,
        )
    except ValidationError:
        return _message(502, "Internal Server Error")
    except sandbox_services.LimitReached:
        return _message(429, "Too Many Requests")
    views.result_wait(invocation, timeout_s=views.wait_seconds(invocation))
    if invocation.status == Invocation.Status.SUCCESS:
        response = http_response(invocation.payload)
    elif invocation.status == Invocation.Status.THROTTLED:
        response = _message(429, "Too Many Requests")
    else:
        response = _message(502, "Internal Server Error")
    response["x-amzn-RequestId"] = invocation.request_id or event["requestContext"]["requestId"]
    return response
