"""Lambda's log lines: START, END, REPORT, timeouts and runtime exits, in Lambda's exact format."""

from __future__ import annotations

import math
import time
from typing import Any, Protocol


class InitPhase(Protocol):
    status: str
    duration_ms: float
    error: dict[str, Any] | None


def billed_ms(duration_ms: float) -> int:
    """Duration rounded up to the next 1 ms (at least 1 ms), from the value REPORT prints."""
    return max(1, math.ceil(round(duration_ms, 2)))


def start_line(request_id: str, version: str = "$LATEST") -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(
    *,
    request_id: str,
    duration_ms: float,
    memory_size_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None,
    status: str = "success",
    error_type: str | None = None,
) -> str:
    """The REPORT line. Lambda appends Status (and Error Type) only when the runtime failed.

    Billed Duration includes Init Duration: since 1 August 2025 Lambda bills the INIT phase of
    on-demand functions too, and its REPORT line prints the sum, rounded up to the next 1 ms.
    """
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms(duration_ms + (init_duration_ms or 0.0))} ms",
        f"Memory Size: {memory_size_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status == "timeout":
        fields.append("Status: timeout")
    elif status in ("out_of_memory", "crash"):
        fields.append("Status: error")
        if error_type:
            fields.append(f"Error Type: {error_type}")
    return "\t".join(fields)


def init_report_line(phase: InitPhase, during: str) -> str:
    """Lambda's INIT_REPORT for a failed INIT: `during` is "init" for the cold start's own INIT
    phase, "invoke" for the INIT Lambda retries inside the invocation."""
    status = "timeout" if phase.status == "timeout" else "error"
    fields = [
        f"INIT_REPORT Init Duration: {phase.duration_ms:.2f} ms",
        f"Phase: {during}",
        f"Status: {status}",
    ]
    if status == "error" and phase.error:
        fields.append(f"Error Type: {phase.error.get('errorType', 'Runtime.Unknown')}")
    return "\t".join(fields)


def timestamp(epoch: float | None = None) -> str:
    """CloudWatch's timestamp format: 2025-01-31T12:00:00.123Z."""
    epoch = time.time() if epoch is None else epoch
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


def timeout_line(request_id: str, timeout_s: float, epoch: float | None = None) -> str:
    return f"{timestamp(epoch)} {request_id} Task timed out after {timeout_s:.2f} seconds"


def exit_lines(request_id: str, reason: str, error_type: str) -> str:
    return f"RequestId: {request_id} Error: {reason}\n{error_type}"


def assemble(
    *,
    request_id: str,
    output: str,
    extra: str = "",
    report: str,
    version: str = "$LATEST",
) -> str:
    """START, the function's output, any engine message, END, REPORT; newline-terminated."""
    parts = [start_line(request_id, version)]
    if output:
        parts.append(output[:-1] if output.endswith("\n") else output)
    if extra:
        parts.append(extra)
    parts += [end_line(request_id), report]
    return "\n".join(parts) + "\n"
