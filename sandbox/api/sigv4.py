"""AWS Signature Version 4 verification for the Lambda API, with botocore's own signer.

The signature is computed again from the request as the client sent it (method, path, query,
the headers it signed, the body) with the stored secret, and compared in constant time. No
Django here: views pass the parts of the request in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sandbox.api.errors import LambdaError

MAX_SKEW = timedelta(minutes=15)
SERVICE = "lambda"

_AUTHORIZATION_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<key>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/\s]+)/(?P<service>[^/\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class SignedRequest:
    """A request as it came over the wire. path is percent-encoded, headers lower-cased."""

    method: str
    host: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes


def wire_path(decoded_path: str) -> str:
    """The path as botocore encodes it (labels quoted with safe "-_.~"), from a WSGI server's
    decoded PATH_INFO, when the server does not hand over the raw one."""
    return quote(decoded_path, safe="/-_.~")


def missing_token() -> LambdaError:
    return LambdaError(
        "MissingAuthenticationTokenException", "Missing Authentication Token", status=403
    )


def unrecognized() -> LambdaError:
    return LambdaError(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        status=403,
    )


def bad_signature(message: str | None = None) -> LambdaError:
    return LambdaError(
        "InvalidSignatureException",
        message
        or (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details."
        ),
        status=403,
    )


def parse_authorization(value: str) -> re.Match[str]:
    if not value:
        raise missing_token()
    match = _AUTHORIZATION_RE.match(value.strip())
    if match is None:
        raise LambdaError(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.",
            status=403,
        )
    return match


def expected_signature(
    request: SignedRequest, *, access_key_id: str, secret: str, region: str, signed: list[str]
) -> str:
    """What botocore would sign this request with, given the headers the client signed."""
    headers = {name: request.headers.get(name, "") for name in signed}
    url = f"http://{request.host}{request.path}"
    if request.query_string:
        url += "?" + request.query_string
    aws_request = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    aws_request.context["timestamp"] = request.headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(access_key_id, secret), SERVICE, region)
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def verify(
    request: SignedRequest,
    *,
    secret_for: Callable[[str], str | None],
    now: datetime | None = None,
) -> str:
    """Check the request's SigV4 signature; return the access key id that signed it.

    secret_for(key_id) gives the secret of an active key, or None for an unknown or revoked
    one. Raises LambdaError (403) in Lambda's shapes: MissingAuthenticationTokenException
    without an Authorization header, UnrecognizedClientException for an unknown or revoked key,
    InvalidSignatureException for a wrong signature or a clock more than 15 minutes off.
    """
    match = parse_authorization(request.headers.get("authorization", ""))
    key_id = match["key"]
    secret = secret_for(key_id)
    if secret is None:
        raise unrecognized()
    signed = match["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        raise bad_signature("'Host' and 'X-Amz-Date' must be signed.")
    amz_date = request.headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise bad_signature(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.") from None
    now = now or datetime.now(UTC)
    stamp = "%Y%m%dT%H%M%SZ"
    if signed_at < now - MAX_SKEW:
        raise bad_signature(
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - MAX_SKEW).strftime(stamp)} ({now.strftime(stamp)} - 15 min.)"
        )
    if signed_at > now + MAX_SKEW:
        raise bad_signature(
            f"Signature not yet current: {amz_date} is still later than "
            f"{(now + MAX_SKEW).strftime(stamp)} ({now.strftime(stamp)} + 15 min.)"
        )
    if match["date"] != amz_date[:8] or match["service"] != SERVICE:
        raise bad_signature(
            f"Credential should be scoped to a valid region and to the service '{SERVICE}'."
        )
    declared = request.headers.get("x-amz-content-sha256")
    if declared and declared != hashlib.sha256(request.body).hexdigest():
        raise bad_signature("The provided 'x-amz-content-sha256' header does not match.")
    expected = expected_signature(
        request, access_key_id=key_id, secret=secret, region=match["region"], signed=signed
    )
    if not hmac.compare_digest(expected.encode(), match["sig"].encode()):
        raise bad_signature()
    return key_id
