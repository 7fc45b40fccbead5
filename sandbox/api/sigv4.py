"""AWS Signature Version 4 verification for the Lambda API, with botocore's own signer.

The signature is computed again from the request as the client sent it (method, path, query,
the headers it signed, the body) with the stored secret, and compared in constant time. No
Django here: views pass the parts of the request in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path

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


# The lab's AWS services (sandbox/aws/gateway.py) are signed like every AWS service: the same
# rules, any service name in the scope, and S3's payload variants. The canonical request is built
# here from the headers the client named, which is what AWS itself does, so any SDK's or the CLI's
# requests verify, not only botocore's.

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Signature:
    """Who signed a request to one of the lab's services, and for which scope."""

    access_key_id: str
    service: str
    region: str


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    return _hmac(_hmac(_hmac(key, region), service), "aws4_request")


def canonical_query(query_string: str) -> str:
    pairs = []
    for part in query_string.split("&") if query_string else []:
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def canonical_request(
    request: SignedRequest, *, service: str, signed: list[str], payload_hash: str
) -> str:
    # S3 signs the path exactly as sent; every other service normalises it and encodes it again.
    if service == "s3":
        uri = request.path or "/"
    else:
        uri = quote(normalize_url_path(request.path or "/"), safe="/~")
    headers = "".join(
        f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed
    )
    return "\n".join(
        [
            request.method.upper(),
            uri,
            canonical_query(request.query_string),
            headers,
            ";".join(signed),
            payload_hash,
        ]
    )


def verify_chunks(body: bytes, *, key: bytes, amz_date: str, scope: str, seed: str) -> None:
    """Check every chunk signature of an aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) body."""
    previous, position = seed, 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise bad_signature("The aws-chunked body ends before its final chunk.")
        header = body[position:line_end].decode("ascii", "replace")
        size_text, _, signature_part = header.partition(";chunk-signature=")
        try:
            size = int(size_text, 16)
        except ValueError:
            raise bad_signature("An aws-chunked chunk header is malformed.") from None
        data = body[line_end + 2 : line_end + 2 + size]
        if len(data) != size:
            raise bad_signature("An aws-chunked chunk is shorter than its header says.")
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                _EMPTY_SHA256,
                hashlib.sha256(data).hexdigest(),
            ]
        )
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature_part.strip().encode()):
            raise bad_signature("A chunk signature of the aws-chunked body does not match.")
        if size == 0:
            return
        previous, position = expected, line_end + 2 + size + 2


def verify_service(
    request: SignedRequest,
    *,
    secret_for: Callable[[str], str | None],
    services: Collection[str],
    now: datetime | None = None,
) -> Signature:
    """Check a SigV4 signature made for one of `services` (s3, dynamodb, sqs, ...).

    Like verify(), with the service taken from the credential scope, and S3's payload hashes:
    a hex SHA-256 of the body (checked), UNSIGNED-PAYLOAD and STREAMING-UNSIGNED-PAYLOAD-TRAILER
    (the body is not signed, as on AWS), STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] (every
    chunk's signature checked). Raises LambdaError with AWS's codes; callers answer it in
    their service's shape.
    """
    match = parse_authorization(request.headers.get("authorization", ""))
    key_id, service, region = match["key"], match["service"], match["region"]
    if service not in services:
        raise bad_signature(f"Credential should be scoped to a valid service, not '{service}'.")
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
    if abs(signed_at - now) > MAX_SKEW:
        raise bad_signature(
            f"Signature expired or not yet current: {amz_date}, now "
            f"{now.strftime('%Y%m%dT%H%M%SZ')} (15 minutes allowed)."
        )
    if match["date"] != amz_date[:8]:
        raise bad_signature("Credential should be scoped to the date it was signed on.")
    declared = request.headers.get("x-amz-content-sha256", "")
    body_hash = hashlib.sha256(request.body).hexdigest()
    unhashed = (
        UNSIGNED_PAYLOAD,
        STREAMING_UNSIGNED_TRAILER,
        STREAMING_SIGNED,
        STREAMING_SIGNED_TRAILER,
    )
    if declared and declared not in unhashed and declared != body_hash:
        raise bad_signature("The provided 'x-amz-content-sha256' header does not match.")
    payload_hash = declared or body_hash
    canonical = canonical_request(
        request, service=service, signed=signed, payload_hash=payload_hash
    )
    scope = f"{match['date']}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = signing_key(secret, match["date"], region, service)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), match["sig"].encode()):
        raise bad_signature()
    if declared in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
        verify_chunks(request.body, key=key, amz_date=amz_date, scope=scope, seed=expected)
    return Signature(access_key_id=key_id, service=service, region=region)
