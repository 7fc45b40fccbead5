"""Noisy neighbour: learner B's latency alone, then while learner A does its worst, in one run.

    python bench/noisy.py [--quick]      (bench/engine.py prints the same rows)

B runs a trivial handler at 128 MB: warm round trip p50/p99 and cold start p50. A, in another
tenant of the same pool, runs at once a CPU loop at 10,240 MB, a fork bomb, a memory bomb and
a /tmp filler, each restarted as soon as it ends, for as long as B is measured. Prints figures
and ratios; asserts nothing. Target: B's warm p99 beside A within 3x of alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.engine import EnvironmentPool, FunctionSpec

TRIVIAL = "def handler(event, context):\n    return {'ok': True}\n"
HOSTILE = {
    "cpu": (
        "def handler(event, context):\n    while True:\n        pass\n",
        10_240,
        512,
    ),
    "fork": (
        "import os, time\n"
        "def handler(event, context):\n"
        "    while True:\n"
        "        try:\n"
        "            if os.fork() == 0:\n"
        "                time.sleep(30)\n"
        "                os._exit(0)\n"
        "        except OSError:\n"
        "            time.sleep(0.01)\n",
        1024,
        512,
    ),
    "memory": (
        "def handler(event, context):\n"
        "    hog = []\n"
        "    while True:\n"
        "        hog.append(bytearray(16 * 1024 * 1024))\n",
        2048,
        512,
    ),
    "tmp": (
        "import os\n"
        "def handler(event, context):\n"
        "    block = os.urandom(1 << 20)\n"
        "    with open('/tmp/fill', 'wb') as out:\n"
        "        while True:\n"
        "            out.write(block)\n",
        128,
        2048,
    ),
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _b_figures(pool: EnvironmentPool, warm_n: int, cold_n: int, tag: str) -> dict[str, float]:
    warm_spec = FunctionSpec(
        name="b", handler="app.handler", code={"app.py": TRIVIAL}, namespace=f"b/{tag}"
    )
    pool.invoke(warm_spec, {})
    warm = []
    for _ in range(warm_n):
        t0 = time.perf_counter()
        pool.invoke(warm_spec, {})
        warm.append((time.perf_counter() - t0) * 1000)
    cold = []
    for i in range(cold_n):
        spec = FunctionSpec(
            name="b",
            handler="app.handler",
            code={"app.py": TRIVIAL + f"# {tag} {i}\n"},
            namespace=f"b/{tag}-cold",
        )
        t0 = time.perf_counter()
        pool.invoke(spec, {})
        cold.append((time.perf_counter() - t0) * 1000)
    return {
        "warm_p50": statistics.median(warm),
        "warm_p99": pct(warm, 0.99),
        "cold_p50": statistics.median(cold),
    }


def bench_noisy_neighbour(warm_n: int, cold_n: int) -> dict[str, dict[str, float]]:
    with EnvironmentPool(account_concurrency=10, learner_concurrency=5) as pool:
        pool.check()
        alone = _b_figures(pool, warm_n, cold_n, "alone")
        stop = threading.Event()

        def attack(kind: str) -> None:
            source, memory_mb, tmp_mb = HOSTILE[kind]
            spec = FunctionSpec(
                name=f"a-{kind}",
                handler="app.handler",
                code={"app.py": source},
                memory_mb=memory_mb,
                ephemeral_storage_mb=tmp_mb,
                timeout_s=5,
                namespace=f"a/{kind}",
            )
            while not stop.is_set():
                pool.invoke(spec, {})

        attackers = [threading.Thread(target=attack, args=(kind,)) for kind in HOSTILE]
        for thread in attackers:
            thread.start()
        time.sleep(1.0)  # every attack under way
        beside = _b_figures(pool, warm_n, cold_n, "beside")
        stop.set()
        for thread in attackers:
            thread.join()
    return {"alone": alone, "beside A": beside}


def print_rows(figures: dict[str, dict[str, float]]) -> None:
    alone, beside = figures["alone"], figures["beside A"]
    print("Noisy neighbour (learner B at 128 MB; A: CPU loop at 10,240 MB, fork bomb,")
    print("memory bomb and /tmp filler at once)")
    print("".ljust(32) + "alone".rjust(14) + "beside A".rjust(14) + "ratio".rjust(10))
    for label, key in (
        ("B warm round trip p50 (ms)", "warm_p50"),
        ("B warm round trip p99 (ms)", "warm_p99"),
        ("B cold start p50 (ms)", "cold_p50"),
    ):
        ratio = beside[key] / alone[key] if alone[key] else float("nan")
        print(
            label.ljust(32)
            + f"{alone[key]:.2f}".rjust(14)
            + f"{beside[key]:.2f}".rjust(14)
            + f"{ratio:.2f}x".rjust(10)
        )
    print("Target: B's warm p99 beside A within 3x of alone.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    warm_n, cold_n = (200, 5) if args.quick else (1000, 15)
    print_rows(bench_noisy_neighbour(warm_n, cold_n))


if __name__ == "__main__":
    main()
