"""Render time of /progress/ for a learner with a long history. Prints figures; asserts nothing.

    python bench/progress.py [--answers 10000] [--samples 30]

Builds a throwaway SQLite database (migrated from scratch) holding a 40-question bank, a learner
with `--answers` answered questions, as many review logs, a card per question and a 20-minute
study session every other day for a year; then times GET /progress/ through Django's test
client (the whole request: middleware, queries, charts, template) after three warm-up requests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="lambdalab-bench-progress-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lambdalab.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    setup_test_environment()
    call_command("migrate", verbosity=0)

    from datetime import timedelta

    from learn.practice.models import Answer, LearnerGoal
    from learn.study.models import StudyProfile
    from tests.practice.factories import LessonFactory, ModuleFactory, single_question
    from tests.study.history import history_build

    module = ModuleFactory()
    lessons = [LessonFactory(module=module, slug=f"bench-{n}", order=n) for n in range(8)]
    tags = [["cold-starts", "pricing"], ["limits"], ["concurrency", "limits"], ["pricing"]]
    versions = [
        single_question(question__lesson=lessons[n % 8], question__tags=tags[n % 4])
        for n in range(40)
    ]
    user = User.objects.create(username="bench")
    StudyProfile.objects.create(user=user, time_zone="Europe/Paris")
    LearnerGoal.objects.create(user=user, interview_date=timezone.now().date() + timedelta(days=21))
    built = time.perf_counter()
    history_build(user=user, versions=versions, answers=args.answers, now=timezone.now())
    built = time.perf_counter() - built

    client = Client()
    client.force_login(user)
    for _ in range(3):
        assert client.get("/progress/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get("/progress/")
    query_count = len(queries.captured_queries)
    timings, cpu = [], []
    for _ in range(args.samples):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get("/progress/")
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200
    timings.sort()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(client.get, "/progress/")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        slow: list[tuple[float, str]] = []

        def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                slow.append(((time.perf_counter() - began) * 1000, sql[:140]))

        with connection.execute_wrapper(timed):
            client.get("/progress/")
        for ms, sql in sorted(slow, reverse=True)[:8]:
            print(f"{ms:7.1f} ms  {sql}")
    answers = Answer.objects.filter(item__attempt__user=user).count()
    print(f"answers: {answers:,}  (history built in {built:.1f} s, SQLite, {args.samples} samples)")
    print(f"queries per request: {query_count}")
    print(f"page size: {len(response.content) / 1024:.0f} KiB")
    print(f"render p50: {statistics.median(timings):.1f} ms")
    print(f"render p95: {timings[int(0.95 * (len(timings) - 1))]:.1f} ms")
    print(f"render min: {timings[0]:.1f} ms   max: {timings[-1]:.1f} ms")
    print(f"CPU time p50: {statistics.median(cpu):.1f} ms (this process, SQLite included)")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
