"""Benchmark the sandbox engine against python-lambda-local. Prints figures; asserts nothing.

    python bench/engine.py [--quick] [--runtime python3.11 --runtime nodejs24.x]

At 1,769 MB (one full vCPU) and at 128 MB: cold start p50/p99 (a trivial handler, the whole
invoke() round trip including INIT), warm overhead p50/p99 (round trip minus the handler's own
time), warm invocations per second with 2 worker threads, and memory per idle environment
(PSS of its processes). python-lambda-local (the optional `bench` extra) runs the same handler:
its CLI for cold starts, its in-process `call()` for warm ones.

Then what the AWS SDK the runtimes ship adds to a cold start (Init Duration p50, at 1,769 and
128 MB): the trivial handler without and with the lab's services socket and relay, then a
handler module that imports boto3 (and creates an S3 client), or @aws-sdk/client-s3.

Each runtime (python3.11 and nodejs24.x) runs the same trivial handler. The floor is what no
engine can beat: bwrap with the same namespaces starting the bare interpreter (`node -e 0`,
`python3.11 -I -S -c pass`) and exiting, at full CPU; the cold start at 1,769 MB is shown as a
ratio of it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import noisy  # bench/noisy.py, beside this file

from sandbox.engine import EnvironmentPool, FunctionSpec
from sandbox.engine.jail import find_bwrap
from sandbox.engine.runtimes import RUNTIMES

HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
NODE_HANDLER = "export const handler = async () => ({ ok: true });\n"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def spec(memory_mb: int, tag: str, runtime: str = "python3.11") -> FunctionSpec:
    if runtime == "nodejs24.x":
        handler, code = "index.handler", {"index.mjs": NODE_HANDLER + f"// {tag}\n"}
    else:
        handler, code = "app.handler", {"app.py": HANDLER + f"# {tag}\n"}
    return FunctionSpec(
        name="bench",
        handler=handler,
        code=code,
        runtime=runtime,
        memory_mb=memory_mb,
        namespace=f"bench-{runtime}-{tag}",
    )


def bench_floor(runtime: str, n: int) -> float:
    """p50 wall time (ms) of bwrap starting the bare interpreter and exiting, at full CPU."""
    rt = RUNTIMES[runtime]
    argv = [
        find_bwrap(),
        *("--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"),
        *("--clearenv", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"),
    ]
    for link in ("bin", "sbin", "lib", "lib64"):
        if (Path("/") / link).is_symlink():
            argv += ["--symlink", os.readlink(Path("/") / link), f"/{link}"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for host, inside in rt.ro_binds:
        argv += ["--ro-bind", str(host), inside]
    command = ["-e", "0"] if runtime == "nodejs24.x" else ["-c", "pass"]
    argv += ["--", *rt.argv, *command]
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def idle_pss_mb(pool: EnvironmentPool) -> float:
    sizes = []
    for stack in pool._idle.values():  # bench-only peek at the pool's internals
        for env in stack:
            total = 0
            for pid in env.cgroup.pids():
                try:
                    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
            sizes.append(total / 1024)
    return statistics.mean(sizes) if sizes else float("nan")


def bench_engine(
    memory_mb: int, cold_n: int, warm_n: int, seconds: float, runtime: str = "python3.11"
) -> dict[str, float]:
    with EnvironmentPool(account_concurrency=10) as pool:
        pool.check()
        cold = []
        for i in range(cold_n):
            t0 = time.perf_counter()
            result = pool.invoke(spec(memory_mb, f"cold-{memory_mb}-{i}", runtime), {})
            cold.append((time.perf_counter() - t0) * 1000)
            assert result.cold_start and result.status == "success", result.log
        warm_spec = spec(memory_mb, f"warm-{memory_mb}", runtime)
        pool.invoke(warm_spec, {})
        overhead = []
        for _ in range(warm_n):
            t0 = time.perf_counter()
            result = pool.invoke(warm_spec, {})
            wall = (time.perf_counter() - t0) * 1000
            overhead.append(wall - (result.handler_duration_ms or 0.0))
        idle = idle_pss_mb(pool)

        tp_spec = spec(memory_mb, f"tp-{memory_mb}", runtime)
        barrier = threading.Barrier(2)
        counts = [0, 0]
        for _ in range(2):
            pool.invoke(tp_spec, {})

        def worker(slot: int) -> None:
            barrier.wait()
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                if pool.invoke(tp_spec, {}).status == "success":
                    counts[slot] += 1

        # Two environments first, so both workers run warm.
        threads = [threading.Thread(target=pool.invoke, args=(tp_spec, {})) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return {
        "cold_p50": statistics.median(cold),
        "cold_p99": pct(cold, 0.99),
        "warm_p50": statistics.median(overhead),
        "warm_p99": pct(overhead, 0.99),
        "rps": sum(counts) / seconds,
        "idle_mb": idle,
    }


def bench_lambda_local(cold_n: int, warm_n: int, seconds: float) -> dict[str, float] | None:
    cli = shutil.which("python-lambda-local") or str(
        Path(sys.executable).parent / "python-lambda-local"
    )
    try:
        from lambda_local.context import Context
        from lambda_local.main import call
    except ImportError:
        return None
    import logging

    logging.disable(logging.CRITICAL)
    workdir = Path(tempfile.mkdtemp())
    (workdir / "app.py").write_text(HANDLER)
    (workdir / "event.json").write_text("{}")
    cold = []
    for _ in range(cold_n):
        t0 = time.perf_counter()
        subprocess.run(
            [cli, "-f", "handler", "app.py", "event.json"],
            cwd=workdir,
            capture_output=True,
            check=True,
        )
        cold.append((time.perf_counter() - t0) * 1000)
    sys.path.insert(0, str(workdir))
    import app

    overhead = []
    for _ in range(warm_n):
        t0 = time.perf_counter()
        call(app.handler, {}, Context(3))
        overhead.append((time.perf_counter() - t0) * 1000)
    count = [0, 0]

    def worker(slot: int) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            call(app.handler, {}, Context(3))
            count[slot] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shutil.rmtree(workdir, ignore_errors=True)
    return {
        "cold_p50": statistics.median(cold),
        "cold_p99": pct(cold, 0.99),
        "warm_p50": statistics.median(overhead),
        "warm_p99": pct(overhead, 0.99),
        "rps": sum(count) / seconds,
        "idle_mb": float("nan"),
    }


ROWS = [
    ("cold start p50 (ms)", "cold_p50", "lower"),
    ("cold start p99 (ms)", "cold_p99", "lower"),
    ("warm overhead p50 (ms)", "warm_p50", "lower"),
    ("warm overhead p99 (ms)", "warm_p99", "lower"),
    ("warm invocations/s, 2 workers", "rps", "higher"),
    ("memory per idle env (MB PSS)", "idle_mb", "lower"),
    ("floor: bwrap + bare interpreter", "floor", "lower"),
    ("cold p50 / floor", "floor_ratio", "lower"),
]


SDK_CASES = (
    ("python3.11", "trivial, no services socket", None, HANDLER),
    ("python3.11", "trivial, services socket + relay", True, HANDLER),
    ("python3.11", "import boto3", True, "import boto3\n" + HANDLER),
    (
        "python3.11",
        "import boto3; boto3.client('s3')",
        True,
        "import boto3\ns3 = boto3.client('s3')\n" + HANDLER,
    ),
    ("nodejs24.x", "trivial, services socket + relay", True, NODE_HANDLER),
    (
        "nodejs24.x",
        "import @aws-sdk/client-s3; new S3Client",
        True,
        'import { S3Client } from "@aws-sdk/client-s3";\nconst s3 = new S3Client({});\n'
        + NODE_HANDLER,
    ),
)


def _no_calls(request: object) -> object:
    raise RuntimeError("the benchmark's handlers call nothing")


def bench_sdk(runtimes: list[str], n: int) -> None:
    """Init Duration p50 of each SDK_CASES handler at 1,769 and 128 MB."""
    print(f"Cold start with the SDK the runtime ships (Init Duration p50 of {n} cold starts, ms)")
    print("".ljust(48) + "1769 MB".rjust(12) + "128 MB".rjust(12))
    pools = {
        None: EnvironmentPool(account_concurrency=4),
        True: EnvironmentPool(account_concurrency=4, services_handler=_no_calls),  # type: ignore[arg-type]
    }
    try:
        for runtime, label, services, source in SDK_CASES:
            if runtime not in runtimes:
                continue
            cells = []
            for memory_mb in (1769, 128):
                inits = []
                for i in range(n):
                    handler, name = (
                        ("index.handler", "index.mjs")
                        if runtime == "nodejs24.x"
                        else ("app.handler", "app.py")
                    )
                    result = pools[services].invoke(
                        FunctionSpec(
                            name="bench",
                            handler=handler,
                            code={name: source},
                            runtime=runtime,
                            memory_mb=memory_mb,
                            timeout_s=30,
                            namespace=f"bench-sdk-{label}-{memory_mb}-{i}",
                        ),
                        {},
                    )
                    assert result.status == "success" and result.init_duration_ms, result.log
                    inits.append(result.init_duration_ms)
                cells.append(f"{statistics.median(inits):.1f}")
            print(f"{runtime} {label}".ljust(48) + "".join(c.rjust(12) for c in cells))
    finally:
        for pool in pools.values():
            pool.shutdown()
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--runtime", action="append", choices=sorted(RUNTIMES), help="default: all of them"
    )
    parser.add_argument(
        "--sdk-only", action="store_true", help="only the cold starts with the runtimes' SDKs"
    )
    args = parser.parse_args()
    runtimes = args.runtime or ["python3.11", "nodejs24.x"]
    cold_n, warm_n, seconds = (10, 300, 1.0) if args.quick else (40, 2000, 3.0)
    if args.sdk_only:
        bench_sdk(runtimes, 5 if args.quick else 10)
        return
    print(f"Lambda Lab engine benchmark — {os.cpu_count()} CPUs, trivial handler", flush=True)
    figures: dict[str, dict[str, float]] = {}
    for runtime in runtimes:
        big = bench_engine(1769, cold_n, warm_n, seconds, runtime)
        floor = bench_floor(runtime, cold_n)
        big["floor"] = floor
        big["floor_ratio"] = big["cold_p50"] / floor
        figures[f"{runtime} 1769 MB"] = big
        small = bench_engine(128, max(5, cold_n // 4), warm_n // 4, seconds, runtime)
        small["floor"] = small["floor_ratio"] = float("nan")
        figures[f"{runtime} 128 MB"] = small
    local = None
    if "python3.11" in runtimes:
        local = bench_lambda_local(max(5, cold_n // 2), warm_n // 4, seconds)
    columns = list(figures)
    ours_column = "python3.11 1769 MB"
    if local is not None:
        local["floor"] = local["floor_ratio"] = float("nan")
        figures["python-lambda-local"] = local
        columns += ["python-lambda-local", "ratio (py 1769 MB vs p-l-l)"]
    width = 32
    print("".ljust(width) + "".join(c.rjust(26) for c in columns))
    for label, key, better in ROWS:
        cells = [f"{figures[c][key]:.2f}" for c in columns if c in figures]
        if local is not None:
            ours, theirs = figures[ours_column][key], local[key]
            if theirs != theirs or ours != ours or ours == 0:  # NaN: not measurable there
                cells.append("n/a")
            else:
                ratio = theirs / ours if better == "lower" else ours / theirs
                cells.append(f"{ratio:.1f}x {'better' if ratio >= 1 else 'worse'}")
        print(label.ljust(width) + "".join(cell.rjust(26) for cell in cells))
    if local is None:
        print("python-lambda-local is not installed (pip install -e '.[bench]'): no comparison.")
    else:
        print("python-lambda-local runs the handler unisolated in a forked process per call;")
        print("its cold start is its CLI, its warm figures its in-process call().")
    print("floor: bwrap + the bare interpreter (node -e 0, python3.11 -I -S -c pass), full CPU.")
    print(
        "Targets at 1,769 MB on 2 cores: warm overhead p50 <= 1 ms, cold p50 <= 60 ms, "
        ">= 500 warm invocations/s."
    )
    print()
    bench_sdk(runtimes, max(3, cold_n // 4))
    neighbour = noisy.bench_noisy_neighbour(*((200, 5) if args.quick else (1000, 15)))
    noisy.print_rows(neighbour)
    if args.json:
        print(json.dumps({**figures, "noisy neighbour": neighbour}))


if __name__ == "__main__":
    main()
