"""The learner endpoint: boto3 and the AWS CLI on a learner's machine reach their lab account
at <site>/aws/ (endpoint_url with a path prefix, which botocore keeps for every protocol), signed
with their access keys. The view only hands the raw request to the gateway."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.api import sigv4
from sandbox.aws import gateway

MOUNT = "/aws"


def _raw_target(request: HttpRequest) -> str:
    # The signature covers the path exactly as sent: gunicorn hands it over as RAW_URI; other
    # servers decode it, and botocore's encoding is put back.
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return str(raw)
    query = request.META.get("QUERY_STRING", "")
    return sigv4.wire_path(request.path) + (f"?{query}" if query else "")


@csrf_exempt
def endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    limit = settings.LAB_MAX_REQUEST_BYTES
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    # request.read(), not request.body: Django caps .body at 2.5 MB, and objects are bigger.
    body = request.read(limit + 1) if length else b""
    headers = [(name, value) for name, value in request.headers.items()]
    if len(body) > limit:
        status, out, payload = 413, [("Content-Type", "text/plain")], b"Request too large"
    else:
        result = gateway.handle(
            gateway.GatewayRequest(
                method=request.method or "GET",
                target=_raw_target(request),
                headers=headers,
                body=body,
            ),
            mount=MOUNT,
        )
        status, out, payload = result.status, result.headers, result.body
    response = HttpResponse(payload, status=status)
    for name, value in out:
        if name.lower() == "content-length" and request.method != "HEAD":
            continue
        response[name] = value
    return response
