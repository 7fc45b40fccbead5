"""What every runtime guarantees, run against each of them: the same jail, limits and results."""

import re

import pytest

from sandbox.engine import EnvironmentPool, FunctionSpec
from sandbox.engine.runtimes import RUNTIMES
from tests.engine.support import RUNTIME_NAMES, make_node_spec, make_spec

# One handler per runtime that does the same things: count warm invocations in a global, append
# to a file in /tmp, sleep on request, and report its context and environment.
SOURCES = {
    "python3.11": """
        import os, time
        COUNT = 0
        print("at init")
        def handler(event, context):
            global COUNT
            COUNT += 1
            if event == "sleep":
                print("going to sleep")
                time.sleep(30)
            with open("/tmp/seen", "a") as f:
                f.write("x")
            print("hello from", context.function_name)
            return {
                "count": COUNT,
                "tmp": os.path.getsize("/tmp/seen"),
                "name": context.function_name,
                "version": context.function_version,
                "arn": context.invoked_function_arn,
                "memory": context.memory_limit_in_mb,
                "request_id": context.aws_request_id,
                "group": context.log_group_name,
                "stream": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
                "env": dict(os.environ),
                "cwd": os.getcwd(),
            }
        """,
    "nodejs24.x": """
        import fs from "node:fs";
        let count = 0;
        console.log("at init");
        export const handler = async (event, context) => {
          count += 1;
          if (event === "sleep") {
            console.log("going to sleep");
            await new Promise((resolve) => setTimeout(resolve, 30000));
          }
          fs.appendFileSync("/tmp/seen", "x");
          console.log("hello from", context.functionName);
          return {
            count,
            tmp: fs.statSync("/tmp/seen").size,
            name: context.functionName,
            version: context.functionVersion,
            arn: context.invokedFunctionArn,
            memory: context.memoryLimitInMB,
            request_id: context.awsRequestId,
            group: context.logGroupName,
            stream: context.logStreamName,
            remaining: context.getRemainingTimeInMillis(),
            env: { ...process.env },
            cwd: process.cwd(),
          };
        };
        """,
}
HANDLERS = {"python3.11": "app.handler", "nodejs24.x": "index.handler"}


def spec_for(runtime: str, source: str | None = None, **overrides: object) -> FunctionSpec:
    code = SOURCES[runtime] if source is None else source
    if runtime == "nodejs24.x":
        return make_node_spec(code, **overrides)
    return make_spec(code, **overrides)


@pytest.fixture(params=RUNTIME_NAMES)
def runtime(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_cold_then_warm_keeps_globals_and_tmp(pool: EnvironmentPool, runtime: str):
    spec = spec_for(runtime, name="ctx-fn", memory_mb=512, timeout_s=2)
    first = pool.invoke(spec, {})
    second = pool.invoke(spec, {})
    assert first.status == second.status == "success", first.log
    assert (first.payload["count"], first.payload["tmp"]) == (1, 1)
    assert (second.payload["count"], second.payload["tmp"]) == (2, 2)
    assert first.cold_start and not second.cold_start
    assert first.environment_id == second.environment_id
    assert first.init_duration_ms is not None and second.init_duration_ms is None
    lines = first.log.rstrip("\n").split("\n")
    assert lines[0].endswith("at init")
    assert lines[1] == f"START RequestId: {first.request_id} Version: $LATEST"
    assert lines[2].endswith("hello from ctx-fn")
    assert lines[-2] == f"END RequestId: {first.request_id}"
    assert re.match(
        rf"REPORT RequestId: {first.request_id}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 512 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms$",
        lines[-1],
    )
    assert "Init Duration" not in second.log


def test_the_context_arn_names_the_specs_account(pool: EnvironmentPool, runtime: str):
    # The engine's default is the documentation's placeholder (above); a learner's function
    # names its owner's lab account.
    spec = spec_for(runtime, name="ctx-fn", account_id="210987654321")
    result = pool.invoke(spec, {})
    assert result.status == "success", result.log
    assert result.payload["arn"] == "arn:aws:lambda:us-east-1:210987654321:function:ctx-fn"


def test_context_and_reserved_environment(pool: EnvironmentPool, runtime: str):
    spec = spec_for(runtime, name="ctx-fn", memory_mb=512, timeout_s=2, environment={"HI": "x"})
    result = pool.invoke(spec, {})
    seen = result.payload
    assert seen["name"] == "ctx-fn" and seen["version"] == "$LATEST"
    assert seen["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:ctx-fn"
    assert seen["memory"] == "512"
    assert seen["request_id"] == result.request_id
    assert seen["group"] == "/aws/lambda/ctx-fn"
    assert seen["stream"].endswith(f"[$LATEST]{result.environment_id}")
    assert 1000 < seen["remaining"] <= 2000
    env = seen["env"]
    assert env["HI"] == "x"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "ctx-fn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["_HANDLER"] == HANDLERS[runtime]
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" == seen["cwd"]
    assert env["AWS_EXECUTION_ENV"] == RUNTIMES[runtime].execution_env
    assert env["TZ"] == ":UTC"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")


def test_timeout_discards_the_environment(pool: EnvironmentPool, runtime: str):
    spec = spec_for(runtime)
    assert pool.invoke(spec, "hi").status == "success"
    result = pool.invoke(spec, "sleep")
    assert result.status == "timeout"
    assert result.error is not None
    assert result.error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert "going to sleep" in result.log
    assert result.billed_duration_ms == 1000
    after = pool.invoke(spec, "hi")
    assert after.status == "success" and after.cold_start
    assert after.environment_id != result.environment_id


INIT_ERRORS = {
    # runtime: [(files, error type, start of the message)]
    "python3.11": [
        ({"app.py": "import not_a_module\n"}, "Runtime.ImportModuleError", "Unable to import"),
        ({"other.py": "X = 1\n"}, "Runtime.ImportModuleError", "Unable to import module 'app'"),
        ({"app.py": "def handler(e, c)\n  return 1\n"}, "Runtime.UserCodeSyntaxError", "Syntax"),
        ({"app.py": "X = 1\n"}, "Runtime.HandlerNotFound", "Handler 'handler' missing"),
        ({"app.py": "raise ValueError('bad config')\n"}, "ValueError", "bad config"),
    ],
    "nodejs24.x": [
        (
            {"index.mjs": 'import "not-a-package";\nexport const handler = async () => 1;\n'},
            "Runtime.ImportModuleError",
            "Error: Cannot find package 'not-a-package'",
        ),
        (
            {"index.js": 'require("./missing");\nexports.handler = async () => 1;\n'},
            "Runtime.ImportModuleError",
            "Error: Cannot find module './missing'",
        ),
        (
            {"other.js": "exports.x = 1;\n"},
            "Runtime.ImportModuleError",
            "Error: Cannot find module",
        ),
        (
            {"index.mjs": "export const handler = async (e) => {\n  return 1;\n"},
            "Runtime.UserCodeSyntaxError",
            "SyntaxError: Unexpected end of input",
        ),
        (
            {"index.js": "exports.other = async () => 1;\n"},
            "Runtime.HandlerNotFound",
            "index.handler is undefined or not exported",
        ),
        ({"index.mjs": 'throw new TypeError("bad config");\n'}, "TypeError", "bad config"),
    ],
}


@pytest.mark.parametrize(
    ("runtime_name", "files", "error_type", "message"),
    [(name, *case) for name, cases in INIT_ERRORS.items() for case in cases],
)
def test_init_errors_have_lambda_error_types(
    pool: EnvironmentPool, runtime_name: str, files: dict[str, str], error_type: str, message: str
):
    spec = spec_for(runtime_name, code=files)
    result = pool.invoke(spec, {})
    assert result.status == "error", result.log
    assert result.error is not None
    assert result.error["errorType"] == error_type
    assert result.error["errorMessage"].startswith(message), result.error
    assert result.error["requestId"] == result.request_id
    # Lambda retries a failed INIT once inside the invocation: each attempt gets its
    # INIT_REPORT, and the REPORT has no Init Duration (the retry counts as Duration).
    lines = result.log.splitlines()
    reports = [line for line in lines if line.startswith("INIT_REPORT Init Duration: ")]
    assert len(reports) == 2
    assert reports[0].endswith(f"Phase: init\tStatus: error\tError Type: {error_type}")
    assert reports[1].endswith(f"Phase: invoke\tStatus: error\tError Type: {error_type}")
    assert lines[lines.index(reports[0]) + 1].startswith("START RequestId: ")
    assert lines[-2] == f"END RequestId: {result.request_id}"
    assert lines[-1].endswith(f"Status: error\tError Type: {error_type}")
    assert result.cold_start and result.init_duration_ms is None
    # INIT is retried again by the next invocation, in a new environment.
    again = pool.invoke(spec, {})
    assert again.cold_start and again.environment_id != result.environment_id


OOM = {
    "python3.11": """
        def handler(event, context):
            hog = []
            while True:
                hog.append(bytearray(16 * 1024 * 1024))
        """,
    # Buffers live outside V8's heap, so the heap flags do not stop them: the cgroup does.
    "nodejs24.x": """
        export const handler = async () => {
          const hog = [];
          for (;;) hog.push(Buffer.alloc(16 * 1024 * 1024, 1));
        };
        """,
}


def test_memory_is_capped_by_the_function_size(pool: EnvironmentPool, runtime: str):
    spec = spec_for(runtime, OOM[runtime], memory_mb=256, timeout_s=5)
    result = pool.invoke(spec, {})
    assert result.status == "out_of_memory", result.log
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.OutOfMemory"
    assert result.max_memory_used_mb == 256
    assert pool.invoke(spec, {}).cold_start
