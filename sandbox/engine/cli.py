"""`python -m sandbox.engine invoke CODE_DIR --handler app.handler ...`

Runs a handler N times through one pool and prints Lambda-style logs, or one JSON object per
invocation with --json. Bad input exits with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from sandbox.engine.jail import JailUnavailable
from sandbox.engine.pool import EnvironmentPool
from sandbox.engine.result import InvocationResult
from sandbox.engine.runtimes import RUNTIMES
from sandbox.engine.spec import FunctionSpec, SpecError

JSON_FIELDS = (
    "request_id",
    "status",
    "payload",
    "error",
    "log",
    "duration_ms",
    "billed_duration_ms",
    "init_duration_ms",
    "max_memory_used_mb",
    "memory_size_mb",
    "cold_start",
    "environment_id",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(message)


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sandbox.engine", description="Run Lambda handlers locally.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    invoke = sub.add_parser("invoke", help="invoke a handler in a jailed execution environment")
    invoke.add_argument("code_dir", type=Path, metavar="CODE_DIR")
    invoke.add_argument("--handler", required=True, help="module.function, e.g. app.handler")
    invoke.add_argument("--name", default=None, help="function name (default: CODE_DIR's name)")
    invoke.add_argument("--runtime", default="python3.11", choices=sorted(RUNTIMES))
    invoke.add_argument("--event", default=None, help="JSON file, or - for stdin (default {})")
    invoke.add_argument("--memory", type=int, default=128, help="MB, 128-10240")
    invoke.add_argument("--timeout", type=int, default=3, help="seconds, 1-900")
    invoke.add_argument("--tmp", type=int, default=512, help="/tmp size in MB, 512-10240")
    invoke.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    invoke.add_argument("--repeat", type=int, default=1, help="invocations in total")
    invoke.add_argument("--interval", type=float, default=0.0, help="seconds between rounds")
    invoke.add_argument("--concurrency", type=int, default=1, help="invocations at a time")
    invoke.add_argument("--json", action="store_true", help="one JSON object per invocation")
    return parser


def _read_event(source: str | None) -> Any:
    if source is None:
        return {}
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        _fail(f"cannot read event {source}: {exc.strerror}")
    try:
        return json.loads(text)
    except ValueError as exc:
        _fail(f"event is not valid JSON: {exc}")


def _spec(args: argparse.Namespace) -> FunctionSpec:
    if not args.code_dir.is_dir():
        _fail(f"{args.code_dir} is not a directory")
    environment = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            _fail(f"--env expects KEY=VALUE, got {item!r}")
        environment[key] = value
    name = (
        args.name
        or "".join(c if c.isalnum() or c in "-_" else "-" for c in args.code_dir.resolve().name)[
            :64
        ]
        or "function"
    )
    try:
        spec = FunctionSpec.from_config(
            {
                "name": name,
                "handler": args.handler,
                "code": args.code_dir,
                "runtime": args.runtime,
                "memory_mb": args.memory,
                "timeout_s": args.timeout,
                "ephemeral_storage_mb": args.tmp,
                "environment": environment,
            }
        )
    except SpecError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read {args.code_dir}: {exc.strerror}")
    if not spec.has_handler_module():
        module = spec.handler_file_hint()
        _fail(f"handler file {module} not found in {args.code_dir}")
    return spec


def _emit(result: InvocationResult, as_json: bool) -> None:
    if as_json:
        data = result.to_dict()
        print(json.dumps({key: data[key] for key in JSON_FIELDS}), flush=True)
        return
    if result.status == "throttled" and result.error:
        print(f"{result.error['errorType']}: {result.error['errorMessage']}", flush=True)
        return
    sys.stdout.write(result.log)
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.repeat < 1:
        _fail("--repeat must be at least 1")
    if args.concurrency < 1:
        _fail("--concurrency must be at least 1")
    if args.interval < 0:
        _fail("--interval must not be negative")
    spec = _spec(args)
    event = _read_event(args.event)
    pool = EnvironmentPool(account_concurrency=max(args.concurrency, 1))
    failed = False
    try:
        with ThreadPoolExecutor(max_workers=args.concurrency) as executor:
            remaining = args.repeat
            while remaining:
                batch = min(args.concurrency, remaining)
                futures = [executor.submit(pool.invoke, spec, event) for _ in range(batch)]
                results = [future.result() for future in futures]
                for result in sorted(results, key=lambda r: r.started_at):
                    _emit(result, args.json)
                    failed = failed or result.status != "success"
                remaining -= batch
                if remaining and args.interval:
                    time.sleep(args.interval)
    except JailUnavailable as exc:
        print(f"error: the sandbox is unavailable: {exc}", file=sys.stderr)
        return 3
    finally:
        pool.shutdown()
    return 1 if failed else 0
