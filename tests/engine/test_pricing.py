from decimal import Decimal

from sandbox.engine import pricing


def test_one_warm_invocation_hand_worked():
    # 128 MB for 100 ms: 0.125 GB * 0.1 s = 0.0125 GB-s; x $0.0000166667 = $0.000000208333...
    cost = pricing.invocation_cost(duration_ms=99.2, memory_mb=128)
    assert cost == Decimal("0.0000002") + Decimal("0.0125") * Decimal("0.0000166667")


def test_arm64_is_cheaper_per_gb_second():
    cost = pricing.invocation_cost(duration_ms=1000, memory_mb=1024, architecture="arm64")
    assert cost == Decimal("0.0000002") + Decimal("0.0000133334")


def test_init_is_billed_since_august_2025_and_not_before():
    now = pricing.invocation_cost(duration_ms=10, memory_mb=1024, init_duration_ms=240.3)
    before = pricing.invocation_cost(
        duration_ms=10, memory_mb=1024, init_duration_ms=240.3, bill_init=False
    )
    assert now == Decimal("0.0000002") + Decimal("0.251") * Decimal("0.0000166667")
    assert before == Decimal("0.0000002") + Decimal("0.010") * Decimal("0.0000166667")


def test_monthly_cost_with_and_without_free_tier():
    # 3M requests of 120 ms at 512 MB: 3M * 0.5 GB * 0.12 s = 180,000 GB-s (inside the free tier)
    month = pricing.monthly_cost(invocations=3_000_000, avg_duration_ms=120, memory_mb=512)
    assert month.gb_seconds == Decimal(180_000)
    assert month.request_cost == Decimal("0.40")  # 2M billable requests
    assert month.compute_cost == 0
    assert month.total == Decimal("0.40")
    full = pricing.monthly_cost(
        invocations=3_000_000, avg_duration_ms=120, memory_mb=512, free_tier=False
    )
    assert full.request_cost == Decimal("0.60")
    assert full.compute_cost == Decimal(180_000) * Decimal("0.0000166667")


def test_monthly_cold_starts_add_init_when_billed():
    base = dict(
        invocations=1000,
        avg_duration_ms=100,
        memory_mb=1024,
        free_tier=False,
        cold_start_ratio=0.1,
        avg_init_duration_ms=200,
    )
    billed = pricing.monthly_cost(**base)  # type: ignore[arg-type]
    old = pricing.monthly_cost(**base, bill_init=False)  # type: ignore[arg-type]
    assert billed.gb_seconds == Decimal("100") + Decimal("20")  # 1000 * 0.1 s + 100 * 0.2 s
    assert old.gb_seconds == Decimal("100")
