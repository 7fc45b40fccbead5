from sandbox.engine import report


def test_billed_duration_rounds_up_to_the_next_ms():
    assert report.billed_ms(27.55) == 28
    assert report.billed_ms(28.0) == 28
    assert report.billed_ms(0.2) == 1
    assert report.billed_ms(27.999) == 28  # printed as 28.00, billed as printed


def test_report_line_matches_lambda_exactly():
    line = report.report_line(
        request_id="abc",
        duration_ms=27.55,
        memory_size_mb=128,
        max_memory_used_mb=41,
        init_duration_ms=120.4,
    )
    # INIT is billed since August 2025: 27.55 + 120.40 ms, rounded up to the next 1 ms.
    assert line == (
        "REPORT RequestId: abc\tDuration: 27.55 ms\tBilled Duration: 148 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 41 MB\tInit Duration: 120.40 ms"
    )
    warm = report.report_line(
        request_id="abc",
        duration_ms=1.0,
        memory_size_mb=128,
        max_memory_used_mb=41,
        init_duration_ms=None,
        status="timeout",
    )
    assert warm.endswith("Max Memory Used: 41 MB\tStatus: timeout")


def test_timeout_line():
    line = report.timeout_line("abc", 3.0, epoch=0.5)
    assert line == "1970-01-01T00:00:00.500Z abc Task timed out after 3.00 seconds"
