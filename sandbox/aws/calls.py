"""What passes through the lab's gateway: a request, the record of its call, and who is told
of each successful call (sandbox.aws.gateway handles them; sandbox.aws.records observes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALLOWED, DENIED, ERROR = "allowed", "denied", "error"


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes = b""


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    action: str
    resource: str
    outcome: str
    status: int
    duration_ms: float
    account_id: str = ""
    principal: str = ""
    function_id: int | None = None
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


Observer = Callable[[Call, GatewayRequest, bytes, Any], None]
observers: list[Observer] = []


def observe(observer: Observer) -> Observer:
    """Register fn(call, request, response_body, caller) to run after every allowed call that
    moto answered with success (sandbox.aws.records keeps learners' resources this way)."""
    observers.append(observer)
    return observer


@dataclass(frozen=True)
class LambdaRequest:
    """A verified and authorised call to the `lambda` service, for the site's own Lambda API
    to answer as owner_id had made it. path has no mount prefix; headers are lower-cased.
    invocation_id is the invocation whose handler sent it (None: a learner's own key), and
    wait_limit_s how long a synchronous invoke may wait for its callee (the caller's timeout)."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes
    owner_id: int
    invocation_id: int | None = None
    wait_limit_s: float | None = None


@dataclass(frozen=True)
class LambdaAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


LambdaApi = Callable[[LambdaRequest], LambdaAnswer]
lambda_api: list[LambdaApi] = []


def answer_lambda(api: LambdaApi) -> LambdaApi:
    """Register the answerer of the `lambda` service (sandbox.api does, when its app is ready):
    the gateway forwards none of Lambda's calls to moto."""
    lambda_api[:] = [api]
    return api
