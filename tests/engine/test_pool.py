import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox.engine import EnvironmentPool, InvocationResult
from tests.engine.support import TRIVIAL, make_node_spec, make_spec

REPORT_RE = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<d>\d+\.\d\d) ms\t"
    r"Billed Duration: (?P<b>\d+) ms\tMemory Size: (?P<m>\d+) MB\t"
    r"Max Memory Used: (?P<u>\d+) MB(?:\tInit Duration: (?P<i>\d+\.\d\d) ms)?$"
)


def _report(result: InvocationResult) -> re.Match[str]:
    lines = result.log.rstrip("\n").split("\n")
    match = REPORT_RE.match(lines[-1])
    assert match, lines[-1]
    assert lines[-2] == f"END RequestId: {result.request_id}"
    return match


def test_cold_then_warm_reuses_globals_and_tmp(pool: EnvironmentPool):
    spec = make_spec(
        """
        import os
        COUNT = 0
        def handler(event, context):
            global COUNT
            COUNT += 1
            with open("/tmp/seen", "a") as f:
                f.write("x")
            return {"count": COUNT, "tmp": os.path.getsize("/tmp/seen")}
        """
    )
    first = pool.invoke(spec, {})
    second = pool.invoke(spec, {})
    assert first.status == second.status == "success"
    assert first.payload == {"count": 1, "tmp": 1}
    assert second.payload == {"count": 2, "tmp": 2}
    assert first.cold_start and not second.cold_start
    assert first.init_duration_ms is not None and first.init_duration_ms > 0
    assert second.init_duration_ms is None
    assert first.environment_id == second.environment_id
    assert first.init_started_at <= first.init_ended_at <= first.started_at <= first.ended_at


def test_log_has_start_output_end_and_exact_report(pool: EnvironmentPool):
    spec = make_spec(
        """
        print("at init")
        def handler(event, context):
            print("hello from", context.function_name)
            return 1
        """,
        memory_mb=256,
    )
    cold = pool.invoke(spec, None)
    lines = cold.log.rstrip("\n").split("\n")
    assert lines[0] == "at init"
    assert lines[1] == f"START RequestId: {cold.request_id} Version: $LATEST"
    assert lines[2] == "hello from fn"
    report = _report(cold)
    assert report["id"] == cold.request_id
    assert report["m"] == "256" and cold.memory_size_mb == 256
    assert float(report["d"]) == cold.duration_ms
    assert float(report["i"]) == cold.init_duration_ms
    # Since August 2025 a cold start's Billed Duration covers INIT as well as the invocation.
    assert int(report["b"]) == cold.billed_duration_ms
    assert cold.billed_duration_ms == math.ceil(cold.duration_ms + cold.init_duration_ms)
    assert cold.billed_duration_before_aug_2025_ms == math.ceil(cold.duration_ms)
    assert int(report["u"]) == cold.max_memory_used_mb > 0
    warm = pool.invoke(spec, None)
    assert _report(warm)["i"] is None
    assert warm.billed_duration_ms == math.ceil(warm.duration_ms)


def test_changing_code_or_config_starts_a_new_environment(pool: EnvironmentPool):
    v1 = make_spec(TRIVIAL)
    v2 = make_spec(TRIVIAL + "\n# changed\n", namespace=v1.namespace)
    v3 = make_spec(TRIVIAL + "\n# changed\n", namespace=v1.namespace, timeout_s=2)
    a = pool.invoke(v1, 1)
    b = pool.invoke(v2, 1)
    c = pool.invoke(v3, 1)
    assert a.cold_start and b.cold_start and c.cold_start
    assert len({a.environment_id, b.environment_id, c.environment_id}) == 3
    live = {row["environment_id"] for row in pool.environments()}
    assert a.environment_id not in live and b.environment_id not in live  # retired
    assert c.environment_id in live


def test_namespaces_never_share_environments(pool: EnvironmentPool):
    a = make_spec(TRIVIAL, namespace="tenant-a-iso")
    b = make_spec(TRIVIAL, namespace="tenant-b-iso")
    assert pool.invoke(a, 1).environment_id != pool.invoke(b, 1).environment_id


def test_timeout_reports_lambda_message_and_discards_environment(pool: EnvironmentPool):
    spec = make_spec(
        """
        import time
        def handler(event, context):
            if event == "sleep":
                print("going to sleep")
                time.sleep(30)
            return "awake"
        """
    )
    assert pool.invoke(spec, "hi").payload == "awake"
    result = pool.invoke(spec, "sleep")
    assert result.status == "timeout"
    assert result.error is not None
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert result.error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert "going to sleep" in result.log
    assert re.search(rf"Z {result.request_id} Task timed out after 1\.00 seconds\n", result.log)
    assert "\tStatus: timeout" in result.log
    assert result.duration_ms == 1000.0 and result.billed_duration_ms == 1000
    after = pool.invoke(spec, "hi")
    assert after.status == "success" and after.cold_start
    assert after.environment_id != result.environment_id


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        (
            {"app.py": "import not_a_module\n"},
            "app.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'not_a_module'",
        ),
        (
            {"other.py": "X = 1\n"},
            "app.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'app'",
        ),
        (
            {"app.py": "def handler(e, c)\n    return 1\n"},
            "app.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'app': ",
        ),
        (
            {"app.py": "X = 1\n"},
            "app.handler",
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'app'",
        ),
        ({"app.py": "raise ValueError('bad config')\n"}, "app.handler", "ValueError", "bad config"),
    ],
)
def test_init_errors_have_lambda_error_types(
    pool: EnvironmentPool, files: dict[str, str], handler: str, error_type: str, message: str
):
    spec = make_spec("", code=files, handler=handler)
    result = pool.invoke(spec, {})
    assert result.status == "error"
    assert result.error is not None
    assert set(result.error) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert result.error["errorType"] == error_type
    assert result.error["errorMessage"].startswith(message)
    assert result.error["requestId"] == result.request_id
    # Lambda retries a failed INIT inside the invocation: the error is logged for both, each
    # with its INIT_REPORT, and the REPORT carries no Init Duration (the retry is Duration).
    assert result.log.count(f"[ERROR] {error_type}: ") == 2
    lines = result.log.splitlines()
    init_report = next(i for i, line in enumerate(lines) if line.startswith("INIT_REPORT"))
    assert lines[init_report].endswith(f"Phase: init\tStatus: error\tError Type: {error_type}")
    assert lines[init_report + 1] == f"START RequestId: {result.request_id} Version: $LATEST"
    assert lines[-3].startswith("INIT_REPORT Init Duration: ")
    assert lines[-3].endswith(f"Phase: invoke\tStatus: error\tError Type: {error_type}")
    assert lines[-2] == f"END RequestId: {result.request_id}"
    assert lines[-1].endswith(f"Status: error\tError Type: {error_type}")
    assert result.cold_start and result.init_duration_ms is None


def test_handler_exception_has_lambda_error_shape(pool: EnvironmentPool):
    spec = make_spec(
        """
        def handler(event, context):
            return helper()

        def helper():
            raise KeyError("missing")
        """
    )
    result = pool.invoke(spec, {})
    assert result.status == "error"
    assert result.payload is None
    error = result.error
    assert error is not None
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'missing'"
    assert error["requestId"] == result.request_id
    assert error["stackTrace"] == [
        '  File "/var/task/app.py", line 3, in handler\n    return helper()\n',
        '  File "/var/task/app.py", line 6, in helper\n    raise KeyError("missing")\n',
    ]
    assert "[ERROR] KeyError: 'missing'\nTraceback (most recent call last):\n" in result.log
    # A handled error leaves the environment warm, as on Lambda.
    assert pool.invoke(spec, {}).environment_id == result.environment_id


def test_a_failed_invocation_loads_no_traceback_machinery(pool: EnvironmentPool):
    # Importing traceback would cost a 128 MB function ~300 ms of Duration per error.
    spec = make_spec(
        """
        import sys

        def handler(event, context):
            if event.get("fail"):
                raise ValueError("bad input")
            return sorted(name for name in ("traceback", "linecache") if name in sys.modules)
        """
    )
    assert pool.invoke(spec, {"fail": True}).status == "error"
    assert pool.invoke(spec, {}).payload == []


def test_unserialisable_and_oversized_responses(pool: EnvironmentPool):
    spec = make_spec(
        """
        def handler(event, context):
            if event == "set":
                return {1, 2}
            if event == "big":
                return "x" * (6 * 1024 * 1024 + 200)
            return "ok"
        """
    )
    marshal = pool.invoke(spec, "set")
    assert marshal.error is not None
    assert marshal.error["errorType"] == "Runtime.MarshalError"
    assert marshal.error["errorMessage"].startswith("Unable to marshal response:")
    big = pool.invoke(spec, "big")
    assert big.error is not None
    assert big.error["errorType"] == "Function.ResponseSizeTooLarge"
    assert "6291556 bytes" in big.error["errorMessage"]
    assert pool.invoke(spec, "ok").payload == "ok"


def test_payload_limits_are_6_mb(pool: EnvironmentPool):
    spec = make_spec("def handler(event, context):\n    return len(event)\n")
    near = "x" * (6 * 1024 * 1024 - 100)
    assert pool.invoke(spec, near).payload == len(near)
    too_big = pool.invoke(spec, "x" * (6 * 1024 * 1024))
    assert too_big.status == "error"
    assert too_big.error is not None
    assert too_big.error["errorType"] == "RequestEntityTooLargeException"
    not_json = pool.invoke(spec, {1, 2})
    assert not_json.error is not None
    assert not_json.error["errorType"] == "InvalidRequestContentException"


def test_context_object_and_reserved_environment(pool: EnvironmentPool):
    spec = make_spec(
        """
        import os
        def handler(event, context):
            return {
                "name": context.function_name,
                "version": context.function_version,
                "arn": context.invoked_function_arn,
                "memory": context.memory_limit_in_mb,
                "request_id": context.aws_request_id,
                "group": context.log_group_name,
                "stream": context.log_stream_name,
                "identity": context.identity,
                "client_context": context.client_context,
                "remaining": context.get_remaining_time_in_millis(),
                "env": dict(os.environ),
                "cwd": os.getcwd(),
            }
        """,
        name="ctx-fn",
        memory_mb=512,
        timeout_s=2,
        environment={"GREETING": "hi"},
    )
    result = pool.invoke(spec, {})
    seen = result.payload
    assert seen["name"] == "ctx-fn" and seen["version"] == "$LATEST"
    assert seen["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:ctx-fn"
    assert seen["memory"] == "512"
    assert seen["request_id"] == result.request_id
    assert seen["group"] == "/aws/lambda/ctx-fn"
    assert seen["stream"].endswith(f"[$LATEST]{result.environment_id}")
    assert seen["identity"] is None and seen["client_context"] is None
    assert 1000 < seen["remaining"] <= 2000
    env = seen["env"]
    assert env["GREETING"] == "hi"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "ctx-fn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" == seen["cwd"]
    assert env["AWS_REGION"] == "us-east-1"
    assert env["TZ"] == ":UTC"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")


@pytest.mark.parametrize("runtime", ["python3.11", "nodejs24.x"])
def test_each_invoke_names_the_qualifier_it_came_through(pool: EnvironmentPool, runtime: str):
    if runtime == "python3.11":
        spec = make_spec(
            "def handler(event, context):\n    return context.invoked_function_arn\n",
            name="arn-fn",
            version="3",
        )
    else:
        spec = make_node_spec(
            "export const handler = async (e, c) => c.invokedFunctionArn;\n",
            name="arn-fn",
            version="3",
        )
    arn = "arn:aws:lambda:us-east-1:123456789012:function:arn-fn"
    live = pool.invoke(spec, {}, qualifier="live")
    # The same warm environment serves the version itself, another alias and no qualifier.
    version = pool.invoke(spec, {}, qualifier="3")
    canary = pool.invoke(spec, {}, qualifier="canary-2")
    plain = pool.invoke(spec, {})
    assert [r.payload for r in (live, version, canary, plain)] == [
        f"{arn}:live",
        f"{arn}:3",
        f"{arn}:canary-2",
        arn,
    ]
    assert live.cold_start and not version.cold_start and not plain.cold_start
    assert len({r.environment_id for r in (live, version, canary, plain)}) == 1


@pytest.mark.parametrize(
    "qualifier", ["12ab:x", "a" * 129, "007", "has space", "live\n", "$latest"]
)
def test_a_qualifier_lambda_would_refuse_runs_nothing(pool: EnvironmentPool, qualifier: str):
    spec = make_spec("def handler(event, context):\n    return 1\n")
    refused = pool.invoke(spec, {}, qualifier=qualifier)
    assert refused.status == "error"
    assert refused.error is not None
    assert refused.error["errorType"] == "InvalidParameterValueException"
    assert [e for e in pool.environments() if e["namespace"] == spec.namespace] == []


def test_logging_uses_lambda_format(pool: EnvironmentPool):
    spec = make_spec(
        """
        import logging
        logger = logging.getLogger()
        logger.setLevel(logging.INFO)
        def handler(event, context):
            logger.info("hello")
            return None
        """
    )
    result = pool.invoke(spec, {})
    assert re.search(
        rf"\[INFO\]\t\d{{4}}-\d\d-\d\dT[\d:.]+Z\t{result.request_id}\thello\n", result.log
    )


def test_concurrent_invocations_get_separate_environments(pool: EnvironmentPool):
    spec = make_spec("import time\ndef handler(e, c):\n    time.sleep(0.3)\n    return 1\n")
    results: list[InvocationResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(pool.invoke(spec, {}))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in results] == ["success"] * 3
    assert len({r.environment_id for r in results}) == 3
    assert all(r.cold_start for r in results)


def test_reserved_concurrency_caps_and_throttles():
    with EnvironmentPool(account_concurrency=5) as pool:
        spec = make_spec(
            "import time\ndef handler(e, c):\n    time.sleep(0.5)\n    return 1\n",
            reserved_concurrency=1,
        )
        results: list[InvocationResult] = []
        first = threading.Thread(target=lambda: results.append(pool.invoke(spec, {})))
        first.start()
        while pool.stats()["inflight"] == 0:
            time.sleep(0.01)
        throttled = pool.invoke(spec, {})
        first.join()
        assert throttled.status == "throttled"
        assert throttled.error is not None
        assert throttled.error["errorType"] == "TooManyRequestsException"
        assert throttled.error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert results[0].status == "success"
        zero = make_spec(TRIVIAL, reserved_concurrency=0)
        assert pool.invoke(zero, {}).status == "throttled"


def test_account_limit_throttles_unreserved_functions():
    with EnvironmentPool(account_concurrency=1) as pool:
        slow = make_spec("import time\ndef handler(e, c):\n    time.sleep(0.5)\n    return 1\n")
        other = make_spec(TRIVIAL)
        thread = threading.Thread(target=pool.invoke, args=(slow, {}))
        thread.start()
        while pool.stats()["inflight"] == 0:
            time.sleep(0.01)
        result = pool.invoke(other, {})
        thread.join()
        assert result.status == "throttled"
        assert result.error is not None
        assert result.error["Reason"] == "ConcurrentInvocationLimitExceeded"
        assert pool.invoke(other, {}).status == "success"


def test_provisioned_concurrency_has_no_cold_start(pool: EnvironmentPool):
    spec = make_spec(
        "import os\ndef handler(e, c):\n    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n",
        provisioned_concurrency=2,
    )
    assert pool.provision(spec) == 2
    assert pool.provision(spec) == 0
    result = pool.invoke(spec, {})
    assert result.status == "success"
    assert result.payload == "provisioned-concurrency"
    assert not result.cold_start and result.init_duration_ms is None
    assert "Init Duration" not in result.log


def test_a_burst_on_a_fresh_provisioned_function_waits_for_its_environments(
    pool: EnvironmentPool,
):
    # Nothing provisioned yet: the first invocation starts provisioning, and the others arriving
    # meanwhile must be served by those environments, not cold-start their own.
    spec = make_spec(
        "import time\ndef handler(e, c):\n    time.sleep(0.3)\n    return 1\n",
        provisioned_concurrency=3,
    )
    with ThreadPoolExecutor(max_workers=3) as executor:
        results = list(executor.map(lambda _: pool.invoke(spec, {}), range(3)))
    assert [r.status for r in results] == ["success"] * 3
    assert [r.cold_start for r in results] == [False] * 3
    assert len({r.environment_id for r in results}) == 3


def test_idle_environments_are_frozen(pool: EnvironmentPool):
    spec = make_spec(
        """
        import threading, time
        TICKS = [0]
        def tick():
            while True:
                TICKS[0] += 1
                time.sleep(0.01)
        def handler(event, context):
            if event == "start":
                threading.Thread(target=tick, daemon=True).start()
            return TICKS[0]
        """
    )
    pool.invoke(spec, "start")
    before = pool.invoke(spec, "read").payload
    rows = [r for r in pool.environments() if r["namespace"] == spec.namespace]
    assert rows[0]["state"] == "frozen"
    time.sleep(0.5)  # ~50 ticks if the background thread were running
    after = pool.invoke(spec, "read").payload
    assert after - before < 10


def test_keep_alive_reaps_idle_environments():
    with EnvironmentPool(keep_alive_s=0.2) as pool:
        spec = make_spec(TRIVIAL)
        first = pool.invoke(spec, {})
        assert pool.stats()["idle"] == 1
        deadline = time.monotonic() + 5
        while pool.stats()["environments"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.stats()["environments"] == 0
        second = pool.invoke(spec, {})
        assert second.cold_start and second.environment_id != first.environment_id


def test_a_busy_environment_is_recycled_after_its_lifetime():
    # Kept warm by use, it would never idle out: its age alone retires it, so the role
    # credentials it got at INIT cannot outlive it.
    with EnvironmentPool(max_lifetime_s=0.5) as pool:
        spec = make_spec(TRIVIAL)
        first = pool.invoke(spec, {})
        warm = pool.invoke(spec, {})
        assert not warm.cold_start and warm.environment_id == first.environment_id
        time.sleep(0.6)
        recycled = pool.invoke(spec, {})
        assert recycled.cold_start and recycled.environment_id != first.environment_id
        assert pool.stats()["environments"] == 1


def test_results_say_how_limits_are_enforced(pool: EnvironmentPool):
    result = pool.invoke(make_spec(TRIVIAL), {})
    version = pool.stats()["cgroup_version"]
    # This machine has cgroups: every limit is the kernel's, and the record says which.
    assert result.limits["memory"] == f"cgroup-{version}"
    assert result.limits["processes"] == f"cgroup-{version}"
    assert result.limits["freeze"] == f"cgroup-{version}-freezer"
    assert result.limits["tmp"] == "tmpfs-size"
    assert result.limits["uid"] == f"host-uid-{result.limits['uid'].rsplit('-', 1)[1]}"
    without = EnvironmentPool(use_cgroups=False)
    try:
        fallback = without.invoke(make_spec(TRIVIAL), {})
    finally:
        without.shutdown()
    assert fallback.limits["memory"] == "rlimit-as"
    assert fallback.limits["processes"] == "rlimit-nproc"
    assert fallback.limits["freeze"] == "sigstop"


def test_fallbacks_without_cgroups_still_jail_and_freeze():
    with EnvironmentPool(use_cgroups=False) as pool:
        pool.check()
        result = pool.invoke(make_spec(TRIVIAL), {"a": 1})
        assert result.payload == {"echo": {"a": 1}}
        assert result.limits["memory"] == "rlimit-as"
        assert result.limits["freeze"] == "sigstop"
        assert pool.stats()["frozen"] == 1


def test_a_published_version_reports_its_number_and_runs_in_its_own_environment(
    pool: EnvironmentPool,
):
    source = """
        import os
        def handler(event, context):
            return [context.function_version, context.log_stream_name,
                    os.environ["AWS_LAMBDA_FUNCTION_VERSION"]]
        """
    latest = make_spec(source, name="versioned", namespace="versions-test")
    seven = make_spec(source, name="versioned", namespace="versions-test", version="7")
    first = pool.invoke(latest, {})
    result = pool.invoke(seven, {})
    version, stream, env_version = result.payload
    assert version == env_version == "7" and stream.endswith(f"[7]{result.environment_id}")
    assert f"START RequestId: {result.request_id} Version: 7" in result.log.splitlines()
    assert result.cold_start and result.environment_id != first.environment_id
    # Each version keeps its own warm environment while the other runs.
    again = pool.invoke(latest, {})
    assert not again.cold_start and again.environment_id == first.environment_id
    assert pool.invoke(seven, {}).environment_id == result.environment_id


def test_requests_admitted_together_never_share_an_environment():
    # A burst on Lambda: simultaneous requests each need an environment of their own, however
    # fast the handler; the one warm environment serves exactly one of them.
    with EnvironmentPool(account_concurrency=10) as own:
        _burst_on(own)


def _burst_on(pool: EnvironmentPool) -> None:
    spec = make_spec(TRIVIAL)
    assert pool.invoke(spec, {}).cold_start
    for size, warm_before in ((4, 1), (5, 4)):
        barrier = threading.Barrier(size)
        with ThreadPoolExecutor(max_workers=size) as executor:
            results = list(
                executor.map(
                    lambda _, gate=barrier: pool.invoke(spec, {}, on_admitted=gate.wait),
                    range(size),
                )
            )
        assert sum(1 for r in results if not r.cold_start) == warm_before
        assert len({r.environment_id for r in results}) == size
