"""The nodejs24.x runtime: what Lambda's Node.js 24 runtime does that Python's does not."""

import json
import re

import pytest

from sandbox.engine import EnvironmentPool
from sandbox.engine.runtimes import RUNTIMES
from tests.engine.support import make_node_spec

LINE_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
CALLBACK_MESSAGE = (
    "ERROR: AWS Lambda has removed support for callback-based function handlers starting with "
    "Node.js 24. You need to modify this function to use a supported handler signature to use "
    "Node.js 24 or later. For more information see "
    "https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html."
)


@pytest.mark.parametrize(
    ("files", "handler"),
    [
        (
            {"index.mjs": "export const handler = async (e) => ({ kind: 'mjs', e });"},
            "index.handler",
        ),
        ({"index.js": "exports.handler = async (e) => ({ kind: 'cjs', e });"}, "index.handler"),
        (
            {"index.cjs": "module.exports = { handler: async (e) => ({ kind: 'cjs', e }) };"},
            "index.handler",
        ),
        (
            {
                "package.json": '{"type": "module"}',
                "index.js": "export async function handler(e) { return { kind: 'esm', e }; }",
            },
            "index.handler",
        ),
        (
            {
                "src/app.mjs": "export const api = { get: async (e) => ({ kind: 'nested', e }) };",
            },
            "src/app.api.get",
        ),
        # A plain (not async) handler's return value is the result too.
        ({"index.js": "exports.handler = (e, context) => ({ kind: 'sync', e });"}, "index.handler"),
    ],
)
def test_commonjs_and_es_module_handlers(
    pool: EnvironmentPool, files: dict[str, str], handler: str
):
    spec = make_node_spec("", code=files, handler=handler)
    result = pool.invoke(spec, {"n": 1})
    assert result.status == "success", result.log
    assert result.payload["e"] == {"n": 1}


def test_top_level_await_is_part_of_init(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        const config = await new Promise((resolve) => setTimeout(() => resolve("loaded"), 50));
        export const handler = async () => config;
        """
    )
    result = pool.invoke(spec, {})
    assert result.payload == "loaded"
    assert result.cold_start


def test_events_arrive_as_json_values(pool: EnvironmentPool):
    # The host sends Python marshal; the bootstrap's decoder must give back the same JSON.
    spec = make_node_spec("export const handler = async (event) => event;")
    event = {
        "s": "héllo ☃ 😀",
        "ascii": "x" * 300,
        "n": [0, -1, 2**31 - 1, -(2**31), 2**40, -(2**40), 2**53],
        "f": [1.5, -0.25, 1e300],
        "b": [True, False, None],
        "nested": {"a": [{"b": {}}, []], "__proto__": {"polluted": True}},
        "same": ["repeat", "repeat", "repeat"],
    }
    result = pool.invoke(spec, event)
    assert result.status == "success", result.log
    assert result.payload == json.loads(json.dumps(event))


def test_console_lines_have_timestamp_request_id_and_level(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        console.log("loading");
        export const handler = async (event, context) => {
          console.log("hello %s", "world", { a: 1 });
          console.info("info");
          console.warn("warn");
          console.error("error");
          console.debug("debug");
          process.stdout.write("raw\\n");
          return 1;
        };
        """
    )
    result = pool.invoke(spec, {})
    rid = result.request_id
    lines = result.log.split("\n")
    assert re.fullmatch(rf"{LINE_RE}\tundefined\tINFO\tloading", lines[0])
    body = "\n".join(lines[2:8])
    assert re.fullmatch(
        rf"{LINE_RE}\t{rid}\tINFO\thello world {{ a: 1 }}\n"
        rf"{LINE_RE}\t{rid}\tINFO\tinfo\n"
        rf"{LINE_RE}\t{rid}\tWARN\twarn\n"
        rf"{LINE_RE}\t{rid}\tERROR\terror\n"
        rf"{LINE_RE}\t{rid}\tDEBUG\tdebug\n"
        r"raw",
        body,
    )


def test_handler_errors_have_the_node_shape(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        class ValidationError extends Error {
          constructor(message) { super(message); this.name = "ValidationError"; }
        }
        export const handler = async (event) => {
          if (event === "string") throw "just a string";
          throw new ValidationError("bad input");
        };
        """
    )
    result = pool.invoke(spec, {})
    assert result.status == "error"
    error = result.error
    assert error is not None
    assert error["errorType"] == "ValidationError"
    assert error["errorMessage"] == "bad input"
    assert error["trace"][0] == "ValidationError: bad input"
    assert error["trace"][1].startswith("    at handler (file:///var/task/index.mjs:")
    assert re.search(
        rf"{LINE_RE}\t{result.request_id}\tERROR\tInvoke Error \t"
        r'\{"errorType":"ValidationError","errorMessage":"bad input","stack":\["ValidationError',
        result.log,
    )
    thrown = pool.invoke(spec, "string")
    assert thrown.error is not None
    assert (thrown.error["errorType"], thrown.error["errorMessage"]) == ("string", "just a string")
    # A handled error keeps the environment warm.
    assert thrown.environment_id == result.environment_id


def test_callback_handlers_are_refused_as_node_24_does(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        exports.handler = (event, context, callback) => callback(null, "done");
        """,
        filename="index.js",
    )
    result = pool.invoke(spec, {})
    assert result.status == "error"
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.CallbackHandlerDeprecated"
    assert result.error["errorMessage"] == CALLBACK_MESSAGE
    assert "Init Error" in result.log
    # A promise-returning handler of two parameters is the supported form.
    fixed = make_node_spec(
        "exports.handler = async (event, context) => 'done';", filename="index.js"
    )
    assert pool.invoke(fixed, {}).payload == "done"


def test_an_event_loop_left_open_does_not_hold_the_response(pool: EnvironmentPool):
    # Lambda answers when the promise settles; timers left behind run on the next invocation.
    spec = make_node_spec(
        """
        let ticks = 0;
        setInterval(() => { ticks += 1; }, 5);
        export const handler = async (event) => {
          if (event === "wait") await new Promise((r) => setTimeout(r, 100));
          return ticks;
        };
        """,
        timeout_s=3,
    )
    first = pool.invoke(spec, "now")
    assert first.status == "success"  # not a timeout: the interval never ends
    waited = pool.invoke(spec, "wait")
    assert waited.payload > first.payload


def test_a_promise_that_never_settles_answers_null(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        export const handler = async (event) => {
          if (event === "hang") return new Promise(() => {});
          return "ok";
        };
        """
    )
    hung = pool.invoke(spec, "hang")
    assert hung.status == "success", hung.log
    assert hung.payload is None
    after = pool.invoke(spec, "go")
    assert after.payload == "ok" and after.environment_id == hung.environment_id


def test_unhandled_rejection_fails_the_invocation_and_the_environment(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        export const handler = async (event) => {
          if (event === "reject") {
            Promise.reject(new Error("nobody caught me"));
            await new Promise((r) => setTimeout(r, 200));
          }
          return "ok";
        };
        """
    )
    assert pool.invoke(spec, "go").payload == "ok"
    result = pool.invoke(spec, "reject")
    assert result.status == "error"
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert result.error["errorMessage"] == "Error: nobody caught me"
    assert "\tERROR\tUnhandled Promise Rejection \t" in result.log
    after = pool.invoke(spec, "go")
    assert after.payload == "ok" and after.cold_start


def test_uncaught_exception_in_a_timer(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        export const handler = async (event) => {
          if (event === "throw") {
            setTimeout(() => { throw new RangeError("from a timer"); }, 1);
            await new Promise((r) => setTimeout(r, 200));
          }
          return "ok";
        };
        """
    )
    result = pool.invoke(spec, "throw")
    assert result.error is not None
    assert (result.error["errorType"], result.error["errorMessage"]) == (
        "RangeError",
        "from a timer",
    )
    assert "\tERROR\tUncaught Exception \t" in result.log
    assert pool.invoke(spec, "go").cold_start


@pytest.mark.parametrize(("code", "status"), [("0", "exit status 0"), ("3", "exit status 3")])
def test_process_exit_is_a_runtime_exit_error(pool: EnvironmentPool, code: str, status: str):
    spec = make_node_spec(
        f"""
        export const handler = async (event) => {{
          if (event === "exit") {{ console.log("bye"); process.exit({code}); }}
          return "ok";
        }};
        """
    )
    result = pool.invoke(spec, "exit")
    assert result.status == "crash"
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ExitError"
    assert result.error["errorMessage"].endswith(f"Runtime exited with error: {status}")
    assert "bye" in result.log
    after = pool.invoke(spec, "go")
    assert after.payload == "ok" and after.cold_start


def test_unserialisable_and_oversized_responses(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        export const handler = async (event) => {
          if (event === "cycle") { const a = {}; a.a = a; return a; }
          if (event === "bigint") return 1n;
          if (event === "big") return "x".repeat(6 * 1024 * 1024 + 200);
          if (event === "undefined") return undefined;
          if (event === "own") throw new TypeError("circular reasoning");
          return "ok";
        };
        """
    )
    for event in ("cycle", "bigint"):
        result = pool.invoke(spec, event)
        assert result.error is not None
        assert result.error["errorType"] == "Runtime.JSONStringifyError", result.error
        assert result.error["errorMessage"] == "Unable to stringify response body"
    big = pool.invoke(spec, "big")
    assert big.error is not None
    assert big.error["errorType"] == "Function.ResponseSizeTooLarge"
    assert "6291556 bytes" in big.error["errorMessage"]
    assert pool.invoke(spec, "undefined").payload is None
    own = pool.invoke(spec, "own")  # the handler's own TypeError stays its own
    assert own.error is not None and own.error["errorType"] == "TypeError"
    assert pool.invoke(spec, "ok").payload == "ok"


def test_the_aws_sdk_ships_with_the_runtime(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        import { S3Client, ListBucketsCommand } from "@aws-sdk/client-s3";
        import { createRequire } from "node:module";
        const require = createRequire(import.meta.url);
        const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
        export const handler = async () => ({
          s3: typeof S3Client,
          command: typeof ListBucketsCommand,
          dynamodb: typeof DynamoDBClient,
          region: await new S3Client({}).config.region(),
          where: require.resolve("@aws-sdk/client-dynamodb"),
        });
        """,
        memory_mb=1769,
        timeout_s=10,
    )
    result = pool.invoke(spec, {})
    assert result.status == "success", result.log
    seen = result.payload
    assert seen["s3"] == seen["command"] == seen["dynamodb"] == "function"
    assert seen["region"] == "us-east-1"
    assert seen["where"].startswith("/var/runtime/node_modules/@aws-sdk/client-dynamodb/")


def test_heap_size_follows_memory_and_rlimits_apply(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        import fs from "node:fs";
        import v8 from "node:v8";
        export const handler = async () => ({
          argv: process.execArgv,
          heap_mb: v8.getHeapStatistics().heap_size_limit / 1048576,
          limits: fs.readFileSync("/proc/self/limits", "utf8"),
          version: process.version,
          stdin: await new Promise((resolve) => {
            let data = "";
            process.stdin.on("data", (chunk) => { data += chunk; });
            process.stdin.on("end", () => resolve(data));
          }),
        });
        """,
        memory_mb=512,
        ephemeral_storage_mb=1024,
    )
    result = pool.invoke(spec, {})
    seen = result.payload
    assert seen["version"].startswith("v24.")
    assert "--max-old-space-size=461" in seen["argv"]
    assert "--max-semi-space-size=17" in seen["argv"]
    assert 400 < seen["heap_mb"] < 560
    assert re.search(r"Max open files\s+1024\s+1024", seen["limits"])
    assert re.search(r"Max core file size\s+0\s+0", seen["limits"])
    assert re.search(rf"Max file size\s+{1025 * 1024 * 1024}\s", seen["limits"])
    assert seen["stdin"] == ""  # not the request pipe
    # The function still gets its next event.
    assert pool.invoke(spec, {}).status == "success"


def test_js_heap_exhaustion_ends_the_environment(pool: EnvironmentPool):
    spec = make_node_spec(
        """
        export const handler = async (event) => {
          const keep = [];
          if (event === "grow") for (;;) keep.push({ a: [1, 2, 3], s: "x" + keep.length });
          return "ok";
        };
        """,
        memory_mb=128,
        # V8 collects hard near its heap limit on a 128 MB CPU share: how long it takes to
        # give up varies (19 s to over 30 s here), so the timeout is well past that.
        timeout_s=120,
    )
    result = pool.invoke(spec, "grow")
    assert result.status in ("crash", "out_of_memory"), result.log
    assert result.error is not None
    assert result.error["errorType"] in ("Runtime.ExitError", "Runtime.OutOfMemory")
    assert pool.invoke(spec, "ok").cold_start


def test_node_spec_knows_its_handler_files():
    spec = make_node_spec("", code={"src/app.mjs": "export const h = 1;"}, handler="src/app.h")
    assert spec.handler_module_files() == ("src/app.js", "src/app.mjs", "src/app.cjs")
    assert spec.has_handler_module()
    assert not make_node_spec("", code={"app.py": ""}).has_handler_module()
    assert RUNTIMES["nodejs24.x"].configured(memory_mb=1024, rlimits={}).argv[-2:] == (
        "--max-semi-space-size=34",
        "--max-old-space-size=922",
    )
