"""Lambda's JSON shapes for the sandbox's functions: ARNs, FunctionConfiguration and friends."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox import selectors as sandbox_selectors
from sandbox.api import errors
from sandbox.api.models import (
    Alias,
    EventInvokeConfig,
    FunctionUrlConfig,
    FunctionVersion,
    PolicyStatement,
    ProvisionedConcurrencyConfig,
)
from sandbox.aws import roles
from sandbox.engine.environment import REGION
from sandbox.models import Function

LATEST = "$LATEST"

# A name, a partial ARN (123456789012:function:name) or a full ARN, with an optional qualifier.
_FUNCTION_RE = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?=\d{12}:function:))?"
    r"(?:(?P<account>\d{12}):function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,64})"
    r"(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)


@dataclass(frozen=True)
class FunctionRef:
    name: str
    qualifier: str | None


def function_arn(name: str, qualifier: str | None = None, *, account: str) -> str:
    """The ARN of a function (or a version or alias of it) in account, the owner's lab account."""
    arn = f"arn:aws:lambda:{REGION}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def parse_function_name(value: str, *, account: str, qualifier: str | None = None) -> FunctionRef:
    """Split a FunctionName path parameter (name, partial or full ARN, maybe qualified) of a
    caller whose lab account is account.

    Raises InvalidParameterValueException for a malformed value or a qualifier given twice
    differently, ResourceNotFoundException for an ARN of another account (as for a function
    that does not exist: no learner learns what another has).
    """
    match = _FUNCTION_RE.match(value or "")
    if match is None:
        raise errors.invalid(
            f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
            r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
        )
    if match["account"] and match["account"] != account:
        raise errors.not_found(f"Function not found: {value}")
    in_name = match["qualifier"]
    if in_name and qualifier and in_name != qualifier:
        raise errors.invalid(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return FunctionRef(name=match["name"], qualifier=in_name or qualifier or None)


def timestamp(value: datetime) -> str:
    """Lambda's LastModified format: 2026-12-01T20:41:15.123+0000."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def revision_id(*parts: object) -> str:
    return str(uuid.UUID(hashlib.sha256(repr(parts).encode()).hexdigest()[:32]))


def zip_files(files: dict[str, str]) -> bytes:
    """A zip of files made as the console's "Download .zip" makes it (fixed dates and modes),
    so the same code always has the same CodeSha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, files[path].encode())
    return buffer.getvalue()


@dataclass(frozen=True)
class Package:
    """The zip a function's code makes, as Lambda describes it."""

    size: int
    sha256: str  # base64 of the SHA-256 of the zip, as CodeSha256

    @classmethod
    def of(cls, function: Function) -> Package:
        data = sandbox_selectors.function_code_zip(function=function)
        return cls.from_bytes(data)

    @classmethod
    def of_files(cls, files: dict[str, str]) -> Package:
        return cls.from_bytes(zip_files(files))

    @classmethod
    def from_bytes(cls, data: bytes) -> Package:
        return cls(size=len(data), sha256=base64.b64encode(hashlib.sha256(data).digest()).decode())


def configuration(
    *,
    function: Function,
    account: str,
    package: Package,
    settings: dict[str, Any] | None = None,
    version: str = LATEST,
    last_modified: datetime | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """A FunctionConfiguration. settings holds a published version's FunctionSpec arguments;
    without it the function's current ones are used."""
    if settings is None:
        settings = {
            "handler": function.handler,
            "runtime": function.runtime,
            "memory_mb": function.memory_mb,
            "timeout_s": function.timeout_s,
            "ephemeral_storage_mb": function.ephemeral_storage_mb,
            "environment": function.environment or {},
            "architecture": function.architecture,
        }
    environment = {
        k: v for k, v in (settings.get("environment") or {}).items() if k != "LAMBDALAB_DEPLOYMENT"
    }
    modified = last_modified or function.updated_at
    shape: dict[str, Any] = {
        "FunctionName": function.name,
        "FunctionArn": function_arn(
            function.name, None if version == LATEST else version, account=account
        ),
        "Runtime": settings["runtime"],
        "Role": roles.function_role_arn(function),
        "Handler": settings["handler"],
        "CodeSize": package.size,
        "Description": function.description if description is None else description,
        "Timeout": settings["timeout_s"],
        "MemorySize": settings["memory_mb"],
        "LastModified": timestamp(modified),
        "CodeSha256": package.sha256,
        "Version": version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": revision_id(function.pk, version, modified.isoformat()),
        # Creation and updates finish before the API answers, so a function is always
        # Active and its last update Successful (boto3's waiters return at once).
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": [settings["architecture"]],
        "EphemeralStorage": {"Size": settings["ephemeral_storage_mb"]},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.name}"},
    }
    if environment:
        shape["Environment"] = {"Variables": environment}
    return shape


def version_configuration(*, version: FunctionVersion, account: str) -> dict[str, Any]:
    return configuration(
        function=version.function,
        account=account,
        package=Package.of_files(version.config["code"]),
        settings=version.config,
        version=str(version.number),
        last_modified=version.created_at,
        description=version.description,
    )


def alias_configuration(*, alias: Alias, account: str) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "AliasArn": function_arn(alias.function.name, alias.name, account=account),
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": revision_id(alias.pk, alias.updated_at.isoformat()),
    }
    if alias.additional_weights:
        shape["RoutingConfig"] = {"AdditionalVersionWeights": alias.additional_weights}
    return shape


def event_invoke_config(*, config: EventInvokeConfig, account: str) -> dict[str, Any]:
    """A FunctionEventInvokeConfig (LastModified as epoch seconds: a timestamp in rest-json)."""

    def destination(arn: str) -> dict[str, str]:
        return {"Destination": arn} if arn else {}

    return {
        "LastModified": config.updated_at.timestamp(),
        "FunctionArn": function_arn(config.function.name, config.qualifier, account=account),
        "MaximumRetryAttempts": config.maximum_retry_attempts,
        "MaximumEventAgeInSeconds": config.maximum_event_age_s,
        "DestinationConfig": {
            "OnSuccess": destination(config.on_success),
            "OnFailure": destination(config.on_failure),
        },
    }


def provisioned_config(
    *, config: ProvisionedConcurrencyConfig, account: str, with_arn: bool = False
) -> dict[str, Any]:
    """A provisioned concurrency config (with FunctionArn as ListProvisionedConcurrencyConfigs
    gives it)."""
    ready = config.allocated if config.status == config.Status.READY else 0
    shape: dict[str, Any] = {
        "RequestedProvisionedConcurrentExecutions": config.requested,
        "AvailableProvisionedConcurrentExecutions": ready,
        "AllocatedProvisionedConcurrentExecutions": config.allocated,
        "Status": config.status,
        "LastModified": timestamp(config.updated_at),
    }
    if config.status_reason:
        shape["StatusReason"] = config.status_reason
    if with_arn:
        arn = function_arn(config.function.name, config.qualifier, account=account)
        shape = {"FunctionArn": arn, **shape}
    return shape


def function_url_config(*, config: FunctionUrlConfig, url: str, account: str) -> dict[str, Any]:
    """A FunctionUrlConfig; url is where the site serves it (/lambda-url/<url_id>/)."""
    qualifier = None if config.qualifier == LATEST else config.qualifier
    return {
        "FunctionUrl": url,
        "FunctionArn": function_arn(config.function.name, qualifier, account=account),
        "AuthType": config.auth_type,
        "Cors": config.cors,
        "CreationTime": timestamp(config.created_at),
        "LastModifiedTime": timestamp(config.updated_at),
        "InvokeMode": "BUFFERED",
    }


def _principal(value: str) -> Any:
    if value == "*":
        return "*"
    if value.endswith(".amazonaws.com"):
        return {"Service": value}
    if re.fullmatch(r"\d{12}", value):
        return {"AWS": f"arn:aws:iam::{value}:root"}
    return {"AWS": value}


def policy_statement(*, statement: PolicyStatement, account: str) -> dict[str, Any]:
    """One statement of a resource-based policy, as GetPolicy and AddPermission show it."""
    shape: dict[str, Any] = {
        "Sid": statement.sid,
        "Effect": "Allow",
        "Principal": _principal(statement.principal),
        "Action": statement.action,
        "Resource": function_arn(
            statement.function.name, statement.qualifier or None, account=account
        ),
    }
    condition: dict[str, dict[str, str]] = {}
    if statement.function_url_auth_type:
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = (
            statement.function_url_auth_type
        )
    if statement.source_account:
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = statement.source_account
    if statement.source_arn:
        condition.setdefault("ArnLike", {})["AWS:SourceArn"] = statement.source_arn
    if statement.invoked_via_function_url is not None:
        condition["Bool"] = {
            "lambda:InvokedViaFunctionUrl": str(statement.invoked_via_function_url).lower()
        }
    if condition:
        shape["Condition"] = condition
    return shape


def policy(*, statements: list[PolicyStatement], account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [policy_statement(statement=s, account=account) for s in statements],
    }


def function_url_path(url_id: str) -> str:
    """Where the site serves a function URL (not AWS's <url-id>.lambda-url.<region>.on.aws)."""
    return f"/lambda-url/{url_id}/"
