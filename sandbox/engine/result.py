"""InvocationResult: everything one invocation produced, as the web app, API and CLI show it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sandbox.engine import report

if TYPE_CHECKING:
    from sandbox.engine.environment import ExecutionEnvironment, Outcome
    from sandbox.engine.spec import FunctionSpec

Status = Literal["success", "error", "timeout", "out_of_memory", "crash", "throttled", "stopped"]
STATUSES: tuple[str, ...] = (
    "success",
    "error",
    "timeout",
    "out_of_memory",
    "crash",
    "throttled",
    "stopped",  # ended from outside (EnvironmentPool.stop); Lambda has no such status
)


@dataclass
class InvocationResult:
    """One invocation. Times ending in _at are wall-clock epoch seconds (for timelines)."""

    request_id: str
    status: Status
    payload: Any
    error: dict[str, Any] | None
    log: str
    duration_ms: float
    billed_duration_ms: int
    init_duration_ms: float | None
    max_memory_used_mb: int
    memory_size_mb: int
    cold_start: bool
    environment_id: str | None
    function_name: str = ""
    # billed_duration_ms is what REPORT prints today: since 1 Aug 2025 AWS bills INIT of
    # on-demand functions too (duration + init, rounded up). This field keeps the same figure;
    # billed_duration_before_aug_2025_ms is the invoke-only figure AWS billed until then.
    billed_duration_with_init_ms: int = 0
    billed_duration_before_aug_2025_ms: int = 0
    # Time the handler itself ran, measured inside the runtime (engine overhead = duration - it).
    handler_duration_ms: float | None = None
    started_at: float = 0.0
    ended_at: float = 0.0
    init_started_at: float | None = None
    init_ended_at: float | None = None
    # How each limit was enforced in this environment, e.g. {"memory": "cgroup", ...}.
    limits: dict[str, str] = field(default_factory=dict)
    # The requests the handler (and, on a cold start, its INIT) sent to the lab's AWS services,
    # oldest first, as the services handler recorded them (services.ServiceResponse.call).
    service_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def from_outcomes(
    spec: FunctionSpec,
    request_id: str,
    outcome: Outcome,
    env: ExecutionEnvironment,
    *,
    init: Outcome | None,
    failed_init: Outcome | None = None,
    retry: Outcome | None = None,
) -> InvocationResult:
    """The result of an invocation that reached the handler, with Lambda's log lines.

    init is the cold start's INIT (None when warm). When the first INIT failed, failed_init is
    it and retry the INIT that succeeded inside the invocation: its time counts as Duration,
    and no Init Duration is printed, as Lambda does for a suppressed init.
    """
    status = outcome.status
    duration = outcome.duration_ms
    prefix = ""
    retry_output = ""
    if failed_init is not None and retry is not None:
        prefix = failed_init.output + report.init_report_line(failed_init, "init") + "\n"
        retry_output = retry.output
        duration = min(duration + retry.duration_ms, spec.timeout_s * 1000.0)
    init_ms = init.duration_ms if init is not None else None
    error = _error(outcome.error, status, request_id)
    extra = _extra_lines(spec, request_id, status, outcome, error)
    max_used = max(env.max_memory_mb, 1)
    line = report.report_line(
        request_id=request_id,
        duration_ms=duration,
        memory_size_mb=spec.memory_mb,
        max_memory_used_mb=max_used,
        init_duration_ms=init_ms,
        status=status,
        error_type=str(error["errorType"]) if error else None,
    )
    init_output = init.output if init is not None else ""
    log = (
        init_output
        + prefix
        + report.assemble(
            request_id=request_id,
            output=retry_output + outcome.output,
            extra=extra,
            report=line,
            version=spec.version,
        )
    )
    billed = report.billed_ms(duration + (init_ms or 0.0))
    return InvocationResult(
        request_id=request_id,
        status=status,  # type: ignore[arg-type]
        payload=outcome.payload if status == "success" else None,
        error=error,
        log=log,
        duration_ms=round(duration, 2),
        billed_duration_ms=billed,
        init_duration_ms=round(init_ms, 2) if init_ms is not None else None,
        max_memory_used_mb=max_used,
        memory_size_mb=spec.memory_mb,
        cold_start=init is not None or retry is not None,
        environment_id=env.id,
        function_name=spec.name,
        billed_duration_with_init_ms=billed,
        billed_duration_before_aug_2025_ms=report.billed_ms(duration),
        handler_duration_ms=outcome.handler_ms,
        started_at=outcome.started_at,
        ended_at=outcome.ended_at,
        init_started_at=init.started_at if init is not None else None,
        init_ended_at=init.ended_at if init is not None else None,
        limits=dict(env.limits),
        service_calls=_calls(init, failed_init, retry, outcome),
    )


def from_init_failure(
    spec: FunctionSpec,
    request_id: str,
    env: ExecutionEnvironment,
    failed_init: Outcome,
    retry: Outcome,
) -> InvocationResult:
    """INIT failed, and so did its retry inside the invocation: Lambda's INIT_REPORT lines for
    both phases, then END and a REPORT with the retry's time as Duration."""
    status = "error" if retry.status == "success" else retry.status
    error = _error(retry.error, status, request_id)
    duration = retry.duration_ms
    line = report.report_line(
        request_id=request_id,
        duration_ms=duration,
        memory_size_mb=spec.memory_mb,
        max_memory_used_mb=max(env.max_memory_mb, 1),
        init_duration_ms=None,
        status="timeout" if status == "timeout" else "crash",
        error_type=str(error["errorType"]) if error else None,
    )
    log = (
        failed_init.output
        + report.init_report_line(failed_init, "init")
        + "\n"
        + report.assemble(
            request_id=request_id,
            output=retry.output,
            extra=report.init_report_line(retry, "invoke"),
            report=line,
            version=spec.version,
        )
    )
    billed = report.billed_ms(duration)
    return InvocationResult(
        request_id=request_id,
        status=status,  # type: ignore[arg-type]
        payload=None,
        error=error,
        log=log,
        duration_ms=round(duration, 2),
        billed_duration_ms=billed,
        init_duration_ms=None,
        max_memory_used_mb=max(env.max_memory_mb, 1),
        memory_size_mb=spec.memory_mb,
        cold_start=True,
        environment_id=env.id,
        function_name=spec.name,
        billed_duration_with_init_ms=billed,
        billed_duration_before_aug_2025_ms=billed,
        started_at=retry.started_at,
        ended_at=retry.ended_at,
        init_started_at=failed_init.started_at,
        init_ended_at=failed_init.ended_at,
        limits=dict(env.limits),
        service_calls=_calls(failed_init, retry),
    )


def _calls(*phases: Outcome | None) -> list[dict[str, Any]]:
    return [call for phase in phases if phase is not None for call in phase.calls]


def throttled(
    spec: FunctionSpec, request_id: str, reason: str, message: str = "Rate Exceeded."
) -> InvocationResult:
    """Refused before running: Lambda's TooManyRequestsException with its Reason."""
    now = time.time()
    return InvocationResult(
        request_id=request_id,
        status="throttled",
        payload=None,
        error={
            "errorMessage": message,
            "errorType": "TooManyRequestsException",
            "requestId": request_id,
            "stackTrace": [],
            "Reason": reason,
        },
        log="",
        duration_ms=0.0,
        billed_duration_ms=0,
        init_duration_ms=None,
        max_memory_used_mb=0,
        memory_size_mb=spec.memory_mb,
        cold_start=False,
        environment_id=None,
        function_name=spec.name,
        started_at=now,
        ended_at=now,
    )


def stopped(spec: FunctionSpec, request_id: str, reason: str) -> InvocationResult:
    """Stopped from outside (EnvironmentPool.stop) before its handler ran: nothing billed."""
    ended = throttled(spec, request_id, "")
    ended.status = "stopped"
    ended.error = {
        "errorMessage": reason,
        "errorType": "Sandbox.Stopped",
        "requestId": request_id,
        "stackTrace": [],
    }
    ended.log = report.exit_lines(request_id, reason, "Sandbox.Stopped") + "\n"
    return ended


def rejected(
    spec: FunctionSpec, request_id: str, error_type: str, message: str
) -> InvocationResult:
    """Refused as an invalid request (bad event, oversized payload, impossible setting)."""
    refused = throttled(spec, request_id, "")
    refused.status = "error"
    refused.error = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": [],
    }
    return refused


def _error(raw: dict[str, Any] | None, status: str, request_id: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    error = dict(raw)
    if status in ("timeout", "out_of_memory", "crash", "stopped"):
        error["errorMessage"] = f"RequestId: {request_id} Error: {error['errorMessage']}"
    error["requestId"] = request_id
    error.setdefault("stackTrace", [])
    return error


def _extra_lines(
    spec: FunctionSpec,
    request_id: str,
    status: str,
    outcome: Outcome,
    error: dict[str, Any] | None,
) -> str:
    if status == "timeout":
        return report.timeout_line(request_id, float(spec.timeout_s), outcome.ended_at)
    if status in ("out_of_memory", "crash", "stopped") and error is not None:
        return report.exit_lines(
            request_id, outcome.exit_reason or "Runtime exited", str(error["errorType"])
        )
    return ""
