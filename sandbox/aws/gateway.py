"""The one way into the lab's AWS services for learners and handlers: verify, scope, authorise,
forward to moto, record.

    handle(request: GatewayRequest, *, mount: str = "", function_id: int | None = None)
        -> GatewayResponse

    GatewayRequest(method="PUT", target="/bucket/key?x=1", headers=[(name, value), ...], body=b"")
        target is the path and query exactly as the client sent them (percent-encoded, with the
        mount prefix if any); headers as received, any case, repeated names allowed.
    mount: a path prefix the client's endpoint_url carries ("/aws" for the learner endpoint);
        it is part of what was signed and is removed before the request goes to moto.
    function_id: the function whose environment sent the request (the jail's socket passes
        it); session credentials issued for any other function are refused.
    invocation_id, wait_limit_s: the invocation whose handler sent the request and its
        timeout; only the `lambda` service uses them (a chain's depth, a synchronous invoke's
        longest wait).

    GatewayResponse(status: int, headers: list[tuple[str, str]], body: bytes, call: Call)
        headers are moto's minus hop-by-hop and x-moto-* ones; Content-Length is kept (a HEAD's
        is the object's size, with an empty body). Always a complete AWS-shaped response,
        never an exception: signature and credential failures, AccessDenied, an unreachable
        moto (503) are answered in the service's own error shape.
    Call: service, operation, action, resource, outcome ("allowed" | "denied" | "error"),
        status, duration_ms, account_id, principal (ARN), function_id: what an invocation lists.

Callers are a learner's access key (sandbox.api AccessKey: everything in their own account) or an
execution role's session (sandbox.aws.roles.session_credentials: what the role's policies allow).
Every x-moto-* and hop-by-hop header the caller sent is dropped and x-moto-account-id is set to
the caller's account, so no request can name another learner's account. Moto is reached over
plain HTTP on loopback (LAB_SERVICES_URL); nothing here answers for the services themselves,
but for `lambda`, never moto's: once authorised, its calls are answered by the site's own
Lambda API (sandbox.api, registered in sandbox.aws.calls.lambda_api) as the caller's owner.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, unquote_plus, urlsplit
from xml.sax.saxutils import escape, unescape

import urllib3
from django.conf import settings

from sandbox.api import sigv4
from sandbox.api.errors import LambdaError
from sandbox.aws import policies, roles
from sandbox.aws.actions import Operation, operation_of
from sandbox.aws.calls import (
    ALLOWED,
    DENIED,
    ERROR,
    Call,
    GatewayRequest,
    LambdaAnswer,
    LambdaRequest,
    lambda_api,
    observers,
)
from sandbox.aws.request_context import request_context
from sandbox.aws.selectors import RELAY_QUEUE_PREFIX

logger = logging.getLogger(__name__)

SERVICES = frozenset({"s3", "dynamodb", "sqs", "sns", "events", "iam", "sts", "lambda"})
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "host",
        "content-length",
    }
)


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    call: Call


@dataclass(frozen=True)
class Caller:
    account_id: str
    principal: str
    owner_id: int
    session: roles.Session | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)


class Refusal(Exception):
    """A request answered by the gateway itself in the service's error shape."""

    def __init__(self, code: str, message: str, status: int, *, outcome: str = DENIED) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.outcome = code, message, status, outcome


# ------------------------------------------------------------------------------------ errors


def _style(service: str, headers: dict[str, str]) -> str:
    if service in ("s3", "lambda"):
        return service
    if headers.get("x-amz-target"):
        return "json"
    return "query"


_JSON_TYPES = {
    "dynamodb": "com.amazon.coral.service#{code}",
    "sqs": "com.amazonaws.sqs#{code}",
}
_SIGNATURE_CODES = {
    # LambdaError code -> (S3 code, JSON code, query code)
    "MissingAuthenticationTokenException": (
        "AccessDenied",
        "MissingAuthenticationTokenException",
        "MissingAuthenticationToken",
    ),
    "UnrecognizedClientException": (
        "InvalidAccessKeyId",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
    ),
    "InvalidSignatureException": (
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    ),
    "IncompleteSignatureException": (
        "AuthorizationHeaderMalformed",
        "IncompleteSignatureException",
        "IncompleteSignature",
    ),
}


def error_response(
    service: str, headers: dict[str, str], *, code: str, message: str, status: int
) -> tuple[list[tuple[str, str]], bytes]:
    """AWS's error shape of `service` for this request's protocol."""
    request_id = str(uuid.uuid4())
    style = _style(service, headers)
    if style == "lambda":
        kind = "User" if status < 500 else "Service"
        return [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ], json.dumps({"Type": kind, "message": message}).encode()
    if style == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
        )
        return [
            ("Content-Type", "application/xml"),
            ("x-amz-request-id", request_id),
        ], body.encode()
    if style == "json":
        # SQS's JSON protocol names an error by its JSON type, and x-amzn-query-error by the
        # query protocol's code (botocore reports that one: QueueDoesNotExist's is
        # AWS.SimpleQueueService.NonExistentQueue).
        json_code = NO_SUCH_QUEUE_TYPE if code == NO_SUCH_QUEUE else code
        kind = _JSON_TYPES.get(service, "{code}").format(code=json_code)
        payload: dict[str, str] = {"__type": kind, "message": message}
        if service in ("dynamodb", "events"):
            payload = {"__type": kind, "Message": message}
        out = [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-RequestId", request_id),
        ]
        if service == "sqs":
            out.append(("x-amzn-query-error", f"{code};Sender"))
        return out, json.dumps(payload).encode()
    query_message = NO_SUCH_QUEUE_QUERY_MESSAGE if code == NO_SUCH_QUEUE else message
    namespace = {
        "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
        "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
        "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
        "sqs": "http://queue.amazonaws.com/doc/2012-11-05/",
    }.get(service, "")
    body = (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(query_message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode()


NO_SUCH_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"
NO_SUCH_QUEUE_TYPE = "QueueDoesNotExist"
NO_SUCH_QUEUE_MESSAGE = "The specified queue does not exist."
NO_SUCH_QUEUE_QUERY_MESSAGE = "The specified queue does not exist for this wsdl version."


def _signature_refusal(error: LambdaError, service: str, headers: dict[str, str]) -> Refusal:
    s3_code, json_code, query_code = _SIGNATURE_CODES.get(
        error.code, (error.code, error.code, error.code)
    )
    style = _style(service, headers)
    code = {"s3": s3_code, "json": json_code, "lambda": error.code}.get(style, query_code)
    status = 400 if style == "s3" and code == "AuthorizationHeaderMalformed" else 403
    if style == "json" and service in ("dynamodb", "events") and code != "AccessDenied":
        status = 400
    return Refusal(code, error.message, status)


def denial_message(
    *, principal: str, operation: Operation, resource: str, decision: policies.Decision
) -> str:
    """IAM's message, with each service's own spelling of the action and resource."""
    action = operation.action
    if operation.service == "sqs":
        action = action.lower()
    elif operation.service == "sns":
        action = "SNS:" + action.split(":", 1)[1]
    shown = f'"{resource}"' if operation.service == "s3" else resource
    why = (
        "with an explicit deny in an identity-based policy"
        if decision is policies.Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {principal} is not authorized to perform: {action} on resource: {shown} {why}"


def _denied_code(service: str, style: str) -> tuple[str, int]:
    if service == "lambda":
        return "AccessDeniedException", 403
    if service == "s3":
        return "AccessDenied", 403
    if service == "sns":
        return "AuthorizationError", 403
    if service in ("dynamodb", "events"):
        return "AccessDeniedException", 400
    if service == "sqs":
        return "AccessDenied", 403
    return "AccessDenied", 403


# ------------------------------------------------------------------------------------ callers


def _learner_secret(key_id: str) -> tuple[str, int, str | None, str] | None:
    """A live access key's secret, and its owner's id, account id (None before their first
    use of the lab) and user name, in one query."""
    from sandbox.api.models import AccessKey

    row = (
        AccessKey.objects.filter(access_key_id=key_id, revoked_at__isnull=True)
        .values_list("secret", "owner_id", "owner__lab_account__account_id", "owner__username")
        .first()
    )
    return (row[0], row[1], row[2], row[3]) if row else None


def _account_of(owner: Any) -> str:
    """The owner's account id, from the row fetched with it when there is one."""
    from sandbox.aws.accounts import account_for
    from sandbox.aws.models import LabAccount

    try:
        return str(owner.lab_account.account_id)
    except LabAccount.DoesNotExist:
        return account_for(owner)


def _identify(
    signed: sigv4.SignedRequest, headers: dict[str, str], service: str, function_id: int | None
) -> Caller:
    from django.contrib.auth.models import User

    from sandbox.aws.accounts import account_for
    from sandbox.aws.models import ExecutionRole

    token = headers.get("x-amz-security-token", "")
    found: dict[str, Any] = {}
    if token:
        try:
            session = roles.session_from_token(token)
        except roles.SessionError as exc:
            status = 400 if _style(service, headers) == "json" and service != "sqs" else 403
            code = exc.code
            if _style(service, headers) == "json" and code == "InvalidClientTokenId":
                code = "UnrecognizedClientException"
            raise Refusal(code, str(exc), status) from None
        if function_id is not None and session.function_id != function_id:
            raise Refusal(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                403,
            )

        def secret_for(key_id: str) -> str | None:
            return session.secret if key_id == session.access_key_id else None

    else:

        def secret_for(key_id: str) -> str | None:
            row = _learner_secret(key_id)
            if row is None:
                return None
            found.update(owner_id=row[1], account_id=row[2], username=row[3])
            return row[0]

    try:
        sigv4.verify_service(signed, secret_for=secret_for, services=SERVICES)
    except LambdaError as exc:
        raise _signature_refusal(exc, service, headers) from None
    if token:
        role = (
            ExecutionRole.objects.select_related("owner__lab_account")
            .prefetch_related("policies")
            .filter(pk=session.role_id)
            .first()
        )
        if role is None or _account_of(role.owner) != session.account_id:
            raise Refusal(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                403,
            )
        return Caller(
            account_id=session.account_id,
            principal=session.principal_arn,
            owner_id=role.owner_id,
            session=session,
            documents=roles.role_documents(role),
        )
    account = found["account_id"] or account_for(User.objects.get(pk=found["owner_id"]))
    return Caller(
        account_id=account,
        principal=f"arn:aws:iam::{account}:user/{found['username']}",
        owner_id=found["owner_id"],
    )


# moto's own API (/moto-api/reset empties every account), its instance metadata and favicon
# are answered by moto before any service sees the request: never forwarded, whatever the
# encoding (moto matches the decoded path). Buckets of those names cannot be used in the lab.
_MOTO_OWN = re.compile(r"^/+(?:moto-api|latest/|favicon\.ico$)", re.IGNORECASE)

# Operations whose parameters wire one resource to another by ARN (a subscription's endpoint, a
# rule's target, a dead-letter queue, a bucket's notifications). moto follows such ARNs into any
# account, so a learner could make another learner's queue receive their messages; AWS would
# need the other account's resource policy, which the lab has no way to grant. Refused.
_WIRING = frozenset(
    {
        "Subscribe",
        "SetSubscriptionAttributes",
        "SetTopicAttributes",
        "CreateTopic",
        "CreateQueue",
        "SetQueueAttributes",
        "StartMessageMoveTask",
        "PutTargets",
        "PutRule",
        "PutPermission",
        "CreateEventBus",
        "PutBucketNotification",
        "PutBucketNotificationConfiguration",
        "CreateEventSourceMapping",
    }
)
_ARN_ACCOUNT = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")


def _refuse_foreign_resources(
    caller: Caller, operation: Operation, service: str, headers: dict[str, str]
) -> None:
    """A resource of another account named by ARN (SNS, for one, publishes across accounts in
    moto): refused as AWS refuses it without a resource policy granting access."""
    for resource in operation.resources:
        match = _ARN_ACCOUNT.match(resource)
        if match and match[1] != caller.account_id:
            code, status = _denied_code(service, _style(service, headers))
            action = denial_message(
                principal=caller.principal,
                operation=operation,
                resource=resource,
                decision=policies.Decision.IMPLICIT_DENY,
            ).replace("no identity-based policy", "no resource-based policy")
            raise Refusal(code, action, status)


def _refuse_foreign_arns(caller: Caller, operation: Operation, query: str, body: bytes) -> None:
    if operation.name not in _WIRING and not operation.name.startswith("PutBucketNotification"):
        return
    text = unquote_plus(query) + "\n" + unquote_plus(body.decode("utf-8", "replace"))
    for account in _ARN_ACCOUNT.findall(text):
        if account != caller.account_id:
            raise Refusal(
                "AccessDenied",
                f"The lab keeps each learner's resources in their own account: "
                f"{operation.name} cannot name a resource of account {account}.",
                403,
            )


# The triggers' relay queues (sandbox.triggers: RELAY_QUEUE_PREFIX) live in the learner's account
# so that moto's S3, SNS and EventBridge can deliver to them, but they are the lab's: a learner's
# key or a handler that received, purged, deleted or re-wired one would break a trigger. Through
# the gateway they do not exist; the site's own clients (sandbox.aws.clients) reach moto directly.
_RELAY = re.escape(RELAY_QUEUE_PREFIX)
# A relay queue by ARN or by URL (any host: moto's, the lab's or sqs.<region>.amazonaws.com).
_RELAY_REFERENCE = re.compile(
    rf"arn:aws[a-z-]*:sqs:[a-z0-9-]*:\d{{12}}:{_RELAY}|/\d{{12}}/{_RELAY}"
)
# What a message carries is the learner's data, not a queue's name.
_MESSAGE_DATA = re.compile(r"MessageBody|MessageAttribute|MessageSystemAttribute")


def _names_relay(value: str) -> bool:
    return value.startswith(RELAY_QUEUE_PREFIX) or bool(_RELAY_REFERENCE.search(value))


def _sqs_parameters(headers: dict[str, str], query: str, body: bytes) -> list[str]:
    """Every string parameter of an SQS request but the messages' contents."""
    values: list[str] = []
    if headers.get("x-amz-target"):
        try:
            payload: Any = json.loads(body or b"{}")
        except ValueError:
            return values
        stack: list[tuple[str, Any]] = [("", payload)]
        while stack:
            key, value = stack.pop()
            if _MESSAGE_DATA.search(key):
                continue
            if isinstance(value, dict):
                stack.extend((str(k), v) for k, v in value.items())
            elif isinstance(value, list):
                stack.extend((key, v) for v in value)
            elif isinstance(value, str):
                values.append(value)
        return values
    form = parse_qs(query, keep_blank_values=True)
    form.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
    for key, items in form.items():
        if not _MESSAGE_DATA.search(key):
            values.extend(items)
    return values


def _refuse_relay_queues(
    operation: Operation, service: str, headers: dict[str, str], query: str, body: bytes
) -> None:
    """A call that names a trigger's relay queue (by name, URL or ARN) is answered as AWS
    answers for a queue that does not exist; ListQueues is filtered instead (_hide_relays)."""
    if service == "sqs":
        if operation.name == "ListQueues":
            return  # its QueueNamePrefix names no queue; the answer leaves the relays out
        named = [*operation.resources, *_sqs_parameters(headers, query, body)]
        if operation.name == "CreateQueue" and any(_names_relay(value) for value in named):
            # Neither "created" nor "exists" (either would tell whether a relay has that name).
            raise Refusal(
                "InvalidParameterValue",
                f"Queue names starting with {RELAY_QUEUE_PREFIX} are kept for the lab's triggers.",
                400,
                outcome=ERROR,
            )
        if any(_names_relay(value) for value in named):
            raise Refusal(NO_SUCH_QUEUE, NO_SUCH_QUEUE_MESSAGE, 400, outcome=ERROR)
        return
    if operation.name not in _WIRING and not operation.name.startswith("PutBucketNotification"):
        return
    # A subscription, a rule's target or a bucket notification delivering to a relay queue.
    text = unquote_plus(query) + "\n" + unquote_plus(body.decode("utf-8", "replace"))
    if _RELAY_REFERENCE.search(text):
        code, status = _denied_code(service, _style(service, headers))
        raise Refusal(
            code,
            f"Queues named {RELAY_QUEUE_PREFIX}* are the lab's own relay queues for your "
            "triggers: edit or delete the trigger instead.",
            status,
        )


_QUEUE_URL_ELEMENT = re.compile(rb"<QueueUrl>([^<]*)</QueueUrl>")


def _hide_relays(
    headers: dict[str, str], out: list[tuple[str, str]], body: bytes
) -> tuple[list[tuple[str, str]], bytes]:
    """ListQueues' answer without the relay queues, in the protocol it came in: JSON (boto3
    since botocore 1.31 and the AWS CLI v2) or query/XML (older SDKs and CLIs)."""
    if headers.get("x-amz-target"):
        try:
            payload = json.loads(body)
        except ValueError:
            return out, body
        if not isinstance(payload, dict) or not isinstance(payload.get("QueueUrls"), list):
            return out, body
        kept = [url for url in payload["QueueUrls"] if not _names_relay(str(url))]
        if len(kept) == len(payload["QueueUrls"]):
            return out, body
        if kept:
            payload["QueueUrls"] = kept
        else:
            del payload["QueueUrls"]  # moto and AWS leave the key out when there are none
        body = json.dumps(payload).encode()
    else:
        filtered = _QUEUE_URL_ELEMENT.sub(
            lambda m: b"" if _names_relay(unescape(m[1].decode())) else m[0], body
        )
        if filtered == body:
            return out, body
        body = filtered
    out = [
        (name, str(len(body)) if name.lower() == "content-length" else value) for name, value in out
    ]
    return out, body


def _check_policy(query: str, body: bytes) -> None:
    """Refuse an inline policy the lab could not enforce before moto stores it."""
    form = parse_qs(query, keep_blank_values=True)
    form.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        policies.validate(json.loads((form.get("PolicyDocument") or ["{}"])[0]))
    except ValueError as exc:  # PolicyError is a ValueError, as is bad JSON
        message = str(exc) if isinstance(exc, policies.PolicyError) else "Syntax errors in policy."
        raise Refusal("MalformedPolicyDocument", message, 400, outcome=ERROR) from None


def _partition_key(caller: Caller, arn: str) -> str | None:
    """The partition key attribute of a table (or index) ARN of the caller's account: from the
    lab's record of the table, else from moto; None if neither knows the table."""
    from sandbox.aws.clients import lab_client
    from sandbox.aws.models import LabResource, ResourceKind

    table, _, index = arn.split(":table/", 1)[-1].partition("/index/")
    spec = (
        LabResource.objects.filter(owner_id=caller.owner_id, kind=ResourceKind.TABLE, name=table)
        .values_list("spec", flat=True)
        .first()
    )
    if not isinstance(spec, dict) or not spec.get("KeySchema"):
        try:
            spec = lab_client("dynamodb", account_id=caller.account_id).describe_table(
                TableName=table
            )["Table"]
        except Exception:  # no such table, or moto unreachable: the key stays absent
            return None
    schema = spec.get("KeySchema") or []
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        for found in (spec.get(kind) or []) if index else []:
            if isinstance(found, dict) and found.get("IndexName") == index:
                schema = found.get("KeySchema") or []
    for key in schema:
        if isinstance(key, dict) and key.get("KeyType") == "HASH" and key.get("AttributeName"):
            return str(key["AttributeName"])
    return None


def _authorise(
    caller: Caller,
    operation: Operation,
    service: str,
    request: GatewayRequest,
    headers: dict[str, str],
    query: str,
    now: datetime,
) -> None:
    if caller.session is None:
        return  # a learner's own key: everything in their own account, as the account's root
    if operation.action == "sts:GetCallerIdentity":
        return  # needs no permission on AWS either
    region = sigv4.parse_authorization(headers.get("authorization", ""))["region"]
    for resource in operation.resources or ("*",):
        context = request_context(
            operation=operation,
            resource=resource,
            region=region,
            session=caller.session,
            query_string=query,
            headers=headers,
            body=request.body,
            now=now,
            partition_key=lambda arn: _partition_key(caller, arn),
        )
        decision = policies.evaluate(
            caller.documents, action=operation.action, resource=resource, context=context
        )
        if decision is not policies.Decision.ALLOW:
            code, status = _denied_code(service, _style(service, headers))
            raise Refusal(
                code,
                denial_message(
                    principal=caller.principal,
                    operation=operation,
                    resource=resource,
                    decision=decision,
                ),
                status,
            )


# ------------------------------------------------------------------------------------ moto

_pools: dict[str, urllib3.HTTPConnectionPool] = {}


def _pool() -> urllib3.HTTPConnectionPool:
    url = settings.LAB_SERVICES_URL
    pool = _pools.get(url)
    if pool is None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            # Plain HTTP to a loopback moto only: nothing else is reachable from here.
            raise Refusal(
                "ServiceUnavailable", "The lab's AWS services are not running.", 503, outcome=ERROR
            )
        pool = urllib3.HTTPConnectionPool(
            parts.hostname, parts.port or 80, maxsize=8, block=False, retries=False
        )
        _pools[url] = pool
    return pool


def _caller_identity(caller: Caller) -> tuple[list[tuple[str, str]], bytes]:
    assert caller.session is not None
    request_id = str(uuid.uuid4())
    role_id = f"AROA{caller.session.role_id:016d}"
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<GetCallerIdentityResult><Arn>{escape(caller.principal)}</Arn>"
        f"<UserId>{role_id}:{escape(caller.session.function_name)}</UserId>"
        f"<Account>{caller.account_id}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )
    return [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode()


def _forward(
    request: GatewayRequest, path: str, query: str, caller: Caller
) -> tuple[int, list[tuple[str, str]], bytes]:
    connection_listed = {
        token.strip().lower()
        for name, value in request.headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    headers = urllib3.HTTPHeaderDict()
    for name, value in request.headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in connection_listed or lower.startswith("x-moto-"):
            continue
        headers.add(name, value)
    headers["x-moto-account-id"] = caller.account_id
    target = path + (f"?{query}" if query else "")
    try:
        response = _pool().urlopen(
            request.method,
            target,
            body=request.body or None,
            headers=headers,
            redirect=False,
            preload_content=True,
            decode_content=False,
            timeout=urllib3.Timeout(connect=2, read=60),
        )
    except urllib3.exceptions.HTTPError as exc:
        raise Refusal(
            "ServiceUnavailable",
            f"The lab's AWS services are not reachable ({type(exc).__name__}).",
            503,
            outcome=ERROR,
        ) from None
    # Content-Length stays: the body is complete, and a HEAD's length is the object's.
    out = [
        (name, value)
        for name, value in response.headers.items()
        if (name.lower() == "content-length" or name.lower() not in HOP_BY_HOP)
        and not name.lower().startswith("x-moto-")
    ]
    return response.status, out, response.data


def _lambda_message(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    return str(payload.get("message") or "") if isinstance(payload, dict) else ""


def _lambda_answer(request: LambdaRequest) -> LambdaAnswer:
    if not lambda_api:
        raise Refusal(
            "ServiceException", "The lab's Lambda API is not running.", 503, outcome=ERROR
        )
    return lambda_api[0](request)


# ------------------------------------------------------------------------------------ handle


def _scope_service(headers: dict[str, str]) -> str:
    try:
        return sigv4.parse_authorization(headers.get("authorization", ""))["service"]
    except LambdaError:
        return "s3" if not headers.get("x-amz-target") else "unknown"


def handle(
    request: GatewayRequest,
    *,
    mount: str = "",
    function_id: int | None = None,
    invocation_id: int | None = None,
    wait_limit_s: float | None = None,
    now: datetime | None = None,
) -> GatewayResponse:
    """Verify, scope, authorise and forward one request; see the module's docstring."""
    started = time.perf_counter()
    headers: dict[str, str] = {}
    for name, value in request.headers:
        lower = name.lower()
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    path, _, query = request.target.partition("?")
    service = _scope_service(headers)
    operation = Operation(service=service, name="", action="", resources=("*",))
    caller: Caller | None = None

    def finish(
        status: int, out: list[tuple[str, str]], body: bytes, outcome: str, message: str = ""
    ) -> GatewayResponse:
        call = Call(
            service=operation.service,
            operation=operation.name,
            action=operation.action,
            resource=operation.resource,
            outcome=outcome,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            account_id=caller.account_id if caller else "",
            principal=caller.principal if caller else "",
            function_id=function_id,
            message=message,
        )
        return GatewayResponse(status=status, headers=out, body=body, call=call)

    try:
        if service not in SERVICES:
            raise Refusal(
                "UnknownService",
                f"The lab has no service '{service}': it offers {', '.join(sorted(SERVICES))}.",
                400,
            )
        mount = mount.rstrip("/")
        if mount and not (path == mount or path.startswith(mount + "/")):
            raise Refusal("NotFound", f"Requests go under {mount}/.", 404, outcome=ERROR)
        signed = sigv4.SignedRequest(
            method=request.method,
            host=headers.get("host", ""),
            path=path,
            query_string=query,
            headers=headers,
            body=request.body,
        )
        caller = _identify(signed, headers, service, function_id)
        inner = path[len(mount) :] or "/"
        if _MOTO_OWN.match(unquote(inner)):
            raise Refusal("AccessDenied", "Access Denied", 403)
        operation = operation_of(
            service=service,
            method=request.method,
            path=inner,
            query_string=query,
            headers=headers,
            body=request.body,
            region=settings.LAB_REGION,
            account=caller.account_id,
        )
        if service != "lambda":
            # Lambda's API answers for another account's function itself, as for one that does
            # not exist (ResourceNotFoundException: no learner learns what another has).
            _refuse_foreign_resources(caller, operation, service, headers)
        _authorise(caller, operation, service, request, headers, query, now or datetime.now(UTC))
        _refuse_foreign_arns(caller, operation, query, request.body)
        _refuse_relay_queues(operation, service, headers, query, request.body)
        if operation.action == "iam:PutRolePolicy":
            _check_policy(query, request.body)
        if caller.session is not None and operation.action == "sts:GetCallerIdentity":
            out, body = _caller_identity(caller)
            return finish(200, out, body, ALLOWED)
        if service == "lambda":
            # Answered by the site's own Lambda API, as the caller's owner; no observer keeps
            # records of it (they follow moto's resources).
            answer = _lambda_answer(
                LambdaRequest(
                    method=request.method,
                    path=inner,
                    query_string=query,
                    headers=headers,
                    body=request.body,
                    owner_id=caller.owner_id,
                    invocation_id=invocation_id,
                    wait_limit_s=wait_limit_s,
                )
            )
            if answer.status < 400:
                return finish(answer.status, answer.headers, answer.body, ALLOWED)
            return finish(
                answer.status, answer.headers, answer.body, ERROR, _lambda_message(answer.body)
            )
        from sandbox.aws.rebuild import account_ensure

        account_ensure(account_id=caller.account_id, url=settings.LAB_SERVICES_URL)
        status, out, body = _forward(request, inner, query, caller)
    except Refusal as refusal:
        out, body = error_response(
            service, headers, code=refusal.code, message=refusal.message, status=refusal.status
        )
        return finish(refusal.status, out, body, refusal.outcome, refusal.message)
    if status >= 400:
        return finish(status, out, body, ERROR)
    if service == "sqs" and operation.name == "ListQueues":
        out, body = _hide_relays(headers, out, body)
    result = finish(status, out, body, ALLOWED)
    for observer in observers:
        try:
            observer(result.call, request, body, caller)
        except Exception:
            # moto has done the call: the caller gets its answer even if keeping a record of
            # it failed (the log says which).
            logger.exception("recording %s %s failed", result.call.service, result.call.operation)
    return result
