"""Lambda's error shapes: the status code, `x-amzn-ErrorType` and a JSON body botocore parses
into the matching exception class (e.g. `client.exceptions.ResourceNotFoundException`)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.http import HttpResponse


class LambdaError(Exception):
    """An error answered in Lambda's shape. str() is the message."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}
        self.headers = headers or {}


def not_found(message: str) -> LambdaError:
    return LambdaError("ResourceNotFoundException", message, status=404)


def conflict(message: str) -> LambdaError:
    return LambdaError("ResourceConflictException", message, status=409)


def invalid(message: str) -> LambdaError:
    return LambdaError("InvalidParameterValueException", message, status=400)


def too_large(message: str) -> LambdaError:
    return LambdaError("RequestTooLargeException", message, status=413)


def too_many(message: str, *, reason: str, retry_after_s: int = 1) -> LambdaError:
    # botocore reads retryAfterSeconds from the Retry-After header (Lambda's own shape).
    return LambdaError(
        "TooManyRequestsException",
        message,
        status=429,
        extra={"Reason": reason},
        headers={"Retry-After": str(retry_after_s)},
    )


def service(message: str) -> LambdaError:
    return LambdaError("ServiceException", message, status=500)


def error_response(error: LambdaError, *, request_id: str | None = None) -> HttpResponse:
    kind = "User" if error.status < 500 else "Service"
    body = {"Type": kind, "message": error.message, **error.extra}
    response = HttpResponse(json.dumps(body), status=error.status, content_type="application/json")
    response["x-amzn-ErrorType"] = error.code
    response["x-amzn-RequestId"] = request_id or str(uuid.uuid4())
    for name, value in error.headers.items():
        response[name] = value
    return response
