"""Execution roles: templates, records, and the temporary credentials each environment gets.

Credentials are stateless: the session token carries the account, role and function it was
issued for and an expiry, sealed with an HMAC of the site's secret key; the access key id and
secret are derived from the token with that key, so the gateway verifies a handler's signature
without any table of sessions, and nothing a handler holds can be widened or moved to another
account. Policies are read when a call is made, so editing a role applies to warm environments
too (IAM's own changes propagate within seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from sandbox.aws import policies
from sandbox.aws.accounts import account_for
from sandbox.aws.models import ExecutionRole, FunctionRole, RolePolicy
from sandbox.models import Function

TOKEN_PREFIX = "LabSession1"
# The name of the role a function gets when it is given none: no policies, so every call but
# sts:GetCallerIdentity is denied until the learner grants something.
DEFAULT_ROLE = "lambdalab-execution-role"
ROLE_ARN_PREFIX = "arn:aws:iam::"


class RoleError(ValueError):
    """A role, policy or role ARN the caller may not use; str() says why, as IAM would."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------------------------ templates


@dataclass(frozen=True)
class Template:
    key: str
    label: str
    needs: str  # "", "bucket", "table", "queue", "topic" or "function": what the learner names


TEMPLATES = (
    Template("none", "No permissions", ""),
    Template("s3-read", "S3 read-only on one bucket", "bucket"),
    Template("dynamodb-crud", "DynamoDB CRUD on one table", "table"),
    Template("sqs-consume", "SQS consume from one queue", "queue"),
    Template("sns-publish", "SNS publish to one topic", "topic"),
    Template("lambda-invoke", "Lambda invoke of one function", "function"),
)


def template_document(key: str, *, account_id: str, name: str = "") -> dict[str, Any]:
    """The policy document of a template, for a resource of this account named `name`."""
    region = settings.LAB_REGION
    statements: list[dict[str, Any]]
    if key == "none":
        statements = []
    elif key == "s3-read":
        statements = [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
            }
        ]
    elif key == "dynamodb-crud":
        table = f"arn:aws:dynamodb:{region}:{account_id}:table/{name}"
        statements = [
            {
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                    "dynamodb:BatchGetItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:DescribeTable",
                ],
                "Resource": [table, f"{table}/index/*"],
            }
        ]
    elif key == "sqs-consume":
        statements = [
            {
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                ],
                "Resource": f"arn:aws:sqs:{region}:{account_id}:{name}",
            }
        ]
    elif key == "sns-publish":
        statements = [
            {
                "Effect": "Allow",
                "Action": "sns:Publish",
                "Resource": f"arn:aws:sns:{region}:{account_id}:{name}",
            }
        ]
    elif key == "lambda-invoke":
        function = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
        statements = [
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                # The function and its versions and aliases (function:name:qualifier).
                "Resource": [function, f"{function}:*"],
            }
        ]
    else:
        raise RoleError("InvalidInput", f"No policy template '{key}'.")
    return {"Version": "2012-10-17", "Statement": statements}


# ------------------------------------------------------------------------------------ roles


def role_arn(role: ExecutionRole) -> str:
    return f"{ROLE_ARN_PREFIX}{account_for(role.owner)}:role/{role.name}"


def role_documents(role: ExecutionRole) -> list[dict[str, Any]]:
    return [policy.document for policy in role.policies.all()]


def role_save(
    *,
    owner: User,
    name: str,
    description: str = "",
    trust_policy: dict[str, Any] | None = None,
) -> ExecutionRole:
    """Create the learner's role `name` or update its description and trust policy."""
    role = ExecutionRole.objects.filter(owner=owner, name=name).first() or ExecutionRole(
        owner=owner, name=name
    )
    role.description = description or role.description
    if trust_policy is not None:
        role.trust_policy = trust_policy
    try:
        role.full_clean()
    except ValidationError as exc:
        raise RoleError("ValidationError", "; ".join(exc.messages)) from None
    role.save()
    return role


def role_put_policy(*, role: ExecutionRole, name: str, document: Any) -> RolePolicy:
    """Put (create or replace) an inline policy; raise RoleError for a malformed document."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            raise RoleError("MalformedPolicyDocument", "Syntax errors in policy.") from None
    try:
        policies.validate(document)
    except policies.PolicyError as exc:
        raise RoleError("MalformedPolicyDocument", str(exc)) from None
    policy, _ = RolePolicy.objects.update_or_create(
        role=role, name=name, defaults={"document": document}
    )
    return policy


def role_delete_policy(*, role: ExecutionRole, name: str) -> None:
    RolePolicy.objects.filter(role=role, name=name).delete()


def role_delete(*, role: ExecutionRole) -> None:
    role.delete()


def role_from_arn(*, owner: User, arn: str) -> ExecutionRole:
    """The learner's role named by an ARN (or a bare name) in their own lab account."""
    account = account_for(owner)
    name = arn
    if arn.startswith(ROLE_ARN_PREFIX):
        head, _, name = arn.partition(":role/")
        if head != f"{ROLE_ARN_PREFIX}{account}" or not name:
            raise RoleError(
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.",
            )
        name = name.rsplit("/", 1)[-1]  # a path (/service-role/) is allowed before the name
    role = ExecutionRole.objects.filter(owner=owner, name=name).first()
    if role is None:
        raise RoleError(
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda.",
        )
    return role


def function_role_set(*, function: Function, role: ExecutionRole) -> FunctionRole:
    if role.owner_id != function.owner_id:
        raise RoleError("AccessDenied", "A function can only use its owner's roles.")
    assignment, _ = FunctionRole.objects.update_or_create(
        function=function, defaults={"role": role}
    )
    return assignment


def function_role(function: Function) -> ExecutionRole:
    """The function's execution role; a function given none gets the learner's default role
    (no permissions), as every Lambda function has one."""
    assignment = FunctionRole.objects.select_related("role").filter(function=function).first()
    if assignment is not None:
        return assignment.role
    with transaction.atomic():
        role, _ = ExecutionRole.objects.get_or_create(
            owner=function.owner,
            name=DEFAULT_ROLE,
            defaults={"description": "The role functions get when they are given none."},
        )
        FunctionRole.objects.get_or_create(function=function, defaults={"role": role})
    return role


# ------------------------------------------------------------------------------------ sessions


@dataclass(frozen=True)
class Session:
    """What a session token was issued for."""

    access_key_id: str
    secret: str
    account_id: str
    role_id: int
    role_name: str
    function_id: int
    function_name: str
    expires_at: float

    @property
    def principal_arn(self) -> str:
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_name}/{self.function_name}"


class SessionError(ValueError):
    """A session token that is not one of ours, or that has expired."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _key(purpose: str) -> bytes:
    return hashlib.sha256(
        f"lambdalab-lab-session:{purpose}:{settings.SECRET_KEY}".encode()
    ).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(payload: str) -> tuple[str, str]:
    digest = hmac.new(_key("keys"), payload.encode(), hashlib.sha256).digest()
    key_id = "ASIA" + base64.b32encode(digest[:10]).decode()[:16]
    secret = base64.b64encode(hmac.new(_key("secret"), payload.encode(), "sha256").digest())
    return key_id, secret.decode()[:40]


def session_credentials(function: Function, *, ttl_s: int | None = None) -> dict[str, str]:
    """The environment's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN: a
    session of the function's execution role, valid for LAB_SESSION_SECONDS (12 h, IAM's
    longest role session), for calls through the lab's gateway only."""
    role = function_role(function)
    ttl = ttl_s if ttl_s is not None else settings.LAB_SESSION_SECONDS
    claims = {
        "a": account_for(function.owner),
        "r": role.pk,
        "rn": role.name,
        "f": function.pk,
        "fn": function.name,
        "e": int(time.time()) + ttl,
        "n": secrets.token_hex(8),
    }
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    seal = _b64(hmac.new(_key("token"), payload.encode(), hashlib.sha256).digest())
    key_id, secret = _derive(payload)
    return {
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": f"{TOKEN_PREFIX}.{payload}.{seal}",
    }


def session_from_token(token: str, *, now: float | None = None) -> Session:
    """Open a session token; raise SessionError if it is not ours or has expired."""
    prefix, _, rest = token.partition(".")
    payload, _, seal = rest.partition(".")
    expected = _b64(hmac.new(_key("token"), payload.encode(), hashlib.sha256).digest())
    if prefix != TOKEN_PREFIX or not hmac.compare_digest(expected, seal):
        raise SessionError(
            "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    claims = json.loads(_unb64(payload))
    if claims["e"] < (now if now is not None else time.time()):
        raise SessionError("ExpiredToken", "The security token included in the request is expired")
    key_id, secret = _derive(payload)
    return Session(
        access_key_id=key_id,
        secret=secret,
        account_id=claims["a"],
        role_id=claims["r"],
        role_name=claims["rn"],
        function_id=claims["f"],
        function_name=claims["fn"],
        expires_at=claims["e"],
    )


def function_role_arn(function: Function) -> str:
    """The ARN Lambda's API reports as the function's Role (nothing is created to answer it)."""
    name = (
        FunctionRole.objects.filter(function=function).values_list("role__name", flat=True).first()
    )
    return f"{ROLE_ARN_PREFIX}{account_for(function.owner)}:role/{name or DEFAULT_ROLE}"


def role_for_api(*, owner: User, arn: str) -> ExecutionRole | None:
    """The role Lambda's `Role` (CreateFunction, UpdateFunctionConfiguration) names.

    An ARN in the learner's own lab account must name one of their roles (RoleError
    otherwise, as Lambda refuses a role it cannot assume). An ARN of any other account, such
    as the 123456789012 placeholder of tutorials, gives None: the function keeps its current
    role, since the lab has no other account a function could assume a role in.
    """
    if not arn:
        return None
    if arn.startswith(ROLE_ARN_PREFIX) and not arn.startswith(
        f"{ROLE_ARN_PREFIX}{account_for(owner)}:"
    ):
        return None
    return role_from_arn(owner=owner, arn=arn)
