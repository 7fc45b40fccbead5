"""The memory tuning lab's figures through the real engine. Prints them; asserts nothing.

    python bench/tuning.py [--blueprint init-outside-handler] [--runs 3] [--sizes 128,512,1024,1769]

Builds a throwaway SQLite database, creates a function from a template, starts a tuning run
with sandbox.services.tuning_start (each run at a size: a cold start in a fresh environment,
then a warm invocation) and runs it in this process with sandbox.execution.tuning_execute, as
a sandbox worker would. Then prints what the lab page shows: per memory size the spread of
Init Duration and of the warm invocation, the cost per invocation at 0%, 10% and 100% cold
starts, and the verdicts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blueprint", default="init-outside-handler")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="128,512,1024,1769")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    workdir = tempfile.mkdtemp(prefix="lambdalab-bench-tuning-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lambdalab.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test.utils import override_settings

    call_command("migrate", verbosity=0)
    from sandbox import execution, selectors, services
    from sandbox.pool import shutdown_pool

    user = User.objects.create(username="bench")
    function = services.function_create(owner=user, name="tuned", blueprint=args.blueprint)
    # The bench is one learner running far more than a minute's share; lift the per-learner caps.
    with override_settings(
        SANDBOX_USER_INVOCATIONS_PER_MINUTE=10_000, SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS=10_000
    ):
        experiment = services.tuning_start(
            function=function,
            event_text="{}",
            memory_sizes=sizes,
            runs_per_size=args.runs,
            requested_by=user,
        )
    started = time.perf_counter()
    try:
        execution.tuning_execute(experiment_id=experiment.pk, worker="bench")
    finally:
        shutdown_pool()
    took = time.perf_counter() - started

    print(
        f"{args.blueprint}, {args.runs} runs per size (cold + warm each), "
        f"{os.cpu_count()} CPUs, {took:.1f} s in all"
    )
    header = f"{'memory':>8} | {'Init Duration ms (range)':>26} | {'warm ms (range)':>18} | "
    header += " | ".join(f"{f'${{/M}} at {rate:.0%} cold':>16}" for rate in (0.0, 0.1, 1.0))
    print(header.replace("${/M}", "$/M"))
    print("-" * len(header))
    summaries = {
        rate: selectors.tuning_summary(experiment=experiment, cold_start_rate=rate)
        for rate in (0.0, 0.1, 1.0)
    }
    for index, size in enumerate(sizes):
        point = summaries[0.1].points[index]

        def spread(s: object) -> str:
            if s is None:
                return "-"
            return f"{s.mean:,.2f} ({s.low:,.2f}-{s.high:,.2f})"  # type: ignore[attr-defined]

        costs = " | ".join(
            f"{summaries[rate].points[index].cost_per_million or 0:>16.4f}"
            for rate in (0.0, 0.1, 1.0)
        )
        print(f"{size:>6} MB | {spread(point.init):>26} | {spread(point.warm):>18} | {costs}")
    print()
    for verdict in summaries[0.1].verdicts:
        print(f"- {verdict.text}")


if __name__ == "__main__":
    main()
