"""What Lambda would charge, with AWS's published us-east-1 prices (see DESIGN.md).

Money is Decimal so hand-worked examples match to the last digit. Compute is billed per GB-second
of (memory in GB) x (billed duration); since 1 Aug 2025 the INIT phase of on-demand functions
is billed too, so every function takes `bill_init` to show both the historical and current rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

REQUEST_PRICE = Decimal("0.20") / Decimal(1_000_000)
GB_SECOND_PRICE = {
    "x86_64": Decimal("0.0000166667"),
    "arm64": Decimal("0.0000133334"),
}
FREE_REQUESTS = 1_000_000  # per month
FREE_GB_SECONDS = Decimal(400_000)  # per month, shared by both architectures


def billed_duration_ms(
    duration_ms: float, *, init_duration_ms: float = 0.0, bill_init: bool
) -> int:
    """Duration (plus INIT when billed) rounded up to the next 1 ms."""
    total = duration_ms + (init_duration_ms if bill_init else 0.0)
    return max(1, math.ceil(round(total, 2)))


def gb_seconds(*, billed_ms: int | Decimal, memory_mb: int) -> Decimal:
    return Decimal(memory_mb) / Decimal(1024) * Decimal(billed_ms) / Decimal(1000)


def invocation_cost(
    *,
    duration_ms: float,
    memory_mb: int,
    architecture: str = "x86_64",
    init_duration_ms: float = 0.0,
    bill_init: bool = True,
) -> Decimal:
    """Cost in USD of one invocation without the free tier: one request plus its GB-seconds.

    init_duration_ms is the cold start's Init Duration (0 when warm); bill_init=False applies
    the rule before 1 Aug 2025. Raises KeyError for an unknown architecture.
    """
    billed = billed_duration_ms(duration_ms, init_duration_ms=init_duration_ms, bill_init=bill_init)
    compute = gb_seconds(billed_ms=billed, memory_mb=memory_mb) * GB_SECOND_PRICE[architecture]
    return REQUEST_PRICE + compute


@dataclass(frozen=True)
class MonthlyCost:
    requests: int
    gb_seconds: Decimal
    request_cost: Decimal
    compute_cost: Decimal

    @property
    def total(self) -> Decimal:
        return self.request_cost + self.compute_cost


def monthly_cost(
    *,
    invocations: int,
    avg_duration_ms: float,
    memory_mb: int,
    architecture: str = "x86_64",
    cold_start_ratio: float = 0.0,
    avg_init_duration_ms: float = 0.0,
    bill_init: bool = True,
    free_tier: bool = True,
) -> MonthlyCost:
    """A month of `invocations` averaging avg_duration_ms, a cold_start_ratio of them cold.

    Each invocation is billed as if it lasted exactly the average (rounded up to 1 ms); cold ones
    add avg_init_duration_ms when bill_init. free_tier subtracts 1M requests and 400,000 GB-s.
    """
    if invocations < 0 or not 0.0 <= cold_start_ratio <= 1.0:
        raise ValueError("invocations must be >= 0 and cold_start_ratio within 0..1")
    cold = round(invocations * cold_start_ratio)
    warm = invocations - cold
    warm_ms = billed_duration_ms(avg_duration_ms, bill_init=False)
    cold_ms = billed_duration_ms(
        avg_duration_ms, init_duration_ms=avg_init_duration_ms, bill_init=bill_init
    )
    total_gbs = gb_seconds(billed_ms=warm * warm_ms + cold * cold_ms, memory_mb=memory_mb)
    billable_requests = invocations
    billable_gbs = total_gbs
    if free_tier:
        billable_requests = max(0, invocations - FREE_REQUESTS)
        billable_gbs = max(Decimal(0), total_gbs - FREE_GB_SECONDS)
    return MonthlyCost(
        requests=invocations,
        gb_seconds=total_gbs,
        request_cost=REQUEST_PRICE * billable_requests,
        compute_cost=billable_gbs * GB_SECOND_PRICE[architecture],
    )
