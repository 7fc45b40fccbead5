"""What passes through the lab's gateway: a request, the record of its call, and who is told
of each successful call (sandbox.aws.gateway handles them; sandbox.aws.records observes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
