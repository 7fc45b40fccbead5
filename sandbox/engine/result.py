"""InvocationResult: everything one invocation produced, as the web app, API and CLI show it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["success", "error", "timeout", "out_of_memory", "crash", "throttled"]
STATUSES: tuple[str, ...] = ("success", "error", "timeout", "out_of_memory", "crash", "throttled")


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
    # Since 1 Aug 2025 AWS also bills INIT of on-demand functions: duration + init, rounded up.
    billed_duration_with_init_ms: int = 0
    # Time the handler itself ran, measured inside the runtime (engine overhead = duration - it).
    handler_duration_ms: float | None = None
    started_at: float = 0.0
    ended_at: float = 0.0
    init_started_at: float | None = None
    init_ended_at: float | None = None
    # How each limit was enforced in this environment, e.g. {"memory": "cgroup", ...}.
    limits: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
