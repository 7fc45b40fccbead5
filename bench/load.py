"""Load: gunicorn (2 workers, production settings) and the Celery sandbox worker under 50 learners.

    .venv/bin/python bench/load.py [--learners 50] [--seconds 60] [--database-url postgres://...]

Starts everything it needs on loopback (a private Redis, a fresh SQLite database unless
--database-url names one, gunicorn, one Celery worker), makes the learners and their sessions,
then runs each learner as a thread for the given time: lesson reads, quiz answers, the review
page and sandbox invocations, in the proportions of MIX. Every request goes to 127.0.0.1 only;
each loop is bounded by the deadline and by MAX_REQUESTS, and everything started is stopped.

Prints per endpoint: requests/s, p50/p95/p99 latency, errors, and the SQL statements and Redis
round trips each request cost (from bench/counting_wsgi.py's headers); then the invocations'
queued → result latency, cold and warm, from the database.
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from services import free_port, start_redis, wait_for_port  # noqa: E402

MIX = [("lesson", 50), ("quiz answer", 25), ("review page", 15), ("invoke", 10)]
MAX_REQUESTS = 200_000  # a ceiling on the whole run, whatever the deadline
HANDLER = 'def lambda_handler(event, context):\n    return {"ok": True, "n": event.get("n")}\n'


def bench_env(database_url: str, redis_url: str) -> dict[str, str]:
    return dict(
        os.environ,
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="bench-load-only-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        # The learners here invoke faster than the per-learner default allows.
        SANDBOX_USER_INVOCATIONS_PER_MINUTE="1000",
        DJANGO_LOG_LEVEL="WARNING",
    )


def setup_world(learners: int) -> dict[str, Any]:
    """Runs inside the bench environment (a subprocess): users, sessions, functions."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lambdalab.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from learn.models import Lesson
    from learn.practice.models import Question
    from sandbox import services
    from sandbox.models import Function

    people = []
    for n in range(learners):
        user, _ = User.objects.get_or_create(username=f"load{n}")
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        function = Function.objects.filter(owner=user).first() or services.function_create(
            owner=user, name="load", files={"lambda_function.py": HANDLER}
        )
        people.append({"session": store.session_key, "function": function.pk})
    quiz_lessons = sorted(
        set(
            Question.objects.filter(type__in=["single", "true_false"])
            .exclude(lesson=None)
            .values_list("lesson__slug", flat=True)
        )
    )
    lessons = list(Lesson.objects.filter(published=True).values_list("slug", flat=True))
    return {"people": people, "lessons": lessons, "quiz_lessons": quiz_lessons}


def invocation_report(since: float) -> dict[str, Any]:
    """Runs inside the bench environment: how the invocations of this run ended, and how fast."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lambdalab.settings")
    django.setup()
    from datetime import UTC, datetime

    from sandbox.models import Invocation

    rows = Invocation.objects.filter(created_at__gte=datetime.fromtimestamp(since, UTC))
    statuses: dict[str, int] = defaultdict(int)
    latency: dict[str, list[float]] = {"cold": [], "warm": []}
    for row in rows:
        statuses[row.status] += 1
        if row.finished_at and row.status == "success":
            key = "cold" if row.cold_start else "warm"
            latency[key].append((row.finished_at - row.created_at).total_seconds() * 1000)
    return {"statuses": dict(statuses), "latency": latency}


class Learner(threading.Thread):
    def __init__(self, port: int, person: dict[str, Any], world: dict[str, Any], run: "Run"):
        super().__init__(daemon=True)
        self.port, self.person, self.world, self.run_state = port, person, world, run
        self.random = random.Random(person["function"])
        self.csrf = "b" * 32
        self.cookie = f"sessionid={person['session']}; csrftoken={self.csrf}"
        self.attempt: str | None = None
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(
        self, endpoint: str, method: str, path: str, form: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, str], str]:
        body = None
        headers = {"Cookie": self.cookie, "Host": "127.0.0.1"}
        if form is not None:
            pairs = []
            for key, value in form.items():
                for item in value if isinstance(value, list) else [value]:
                    pairs.append(f"{key}={item}")
            body = "&".join(pairs)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.csrf
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            status, answer = response.status, {k.lower(): v for k, v in response.getheaders()}
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            status, answer, text = 0, {}, ""
        self.run_state.record(endpoint, time.perf_counter() - started, status, answer)
        return status, answer, text

    def lesson(self) -> None:
        self.request("lesson", "GET", f"/lessons/{self.random.choice(self.world['lessons'])}/")

    def quiz_answer(self) -> None:
        if self.attempt is None:
            lesson = self.random.choice(self.world["quiz_lessons"])
            _, headers, _ = self.request(
                "quiz start", "POST", "/quiz/start/", {"lesson": lesson, "length": 5}
            )
            match = re.search(r"/quiz/attempts/(\d+)/", headers.get("location", ""))
            if not match:
                return
            self.attempt = match.group(1)
        _, _, page = self.request("quiz page", "GET", f"/quiz/attempts/{self.attempt}/")
        item = re.search(r'name="item" value="(\d+)"', page)
        if not item:
            self.attempt = None  # finished: the next turn starts another quiz
            return
        form: dict[str, Any] = {"item": item.group(1)}
        choices = re.findall(r'name="choice"\s+value="(\d+)"', page)
        if choices:
            form["choice"] = [self.random.choice(choices)]
        elif 'name="truth"' in page:
            form["truth"] = self.random.choice(["true", "false"])
        elif 'name="number"' in page:
            form["number"] = "1"
        else:
            form["text"] = "because"
        self.request("quiz answer", "POST", f"/quiz/attempts/{self.attempt}/answer/", form)

    def review_page(self) -> None:
        self.request("review page", "GET", "/quiz/review/")

    def invoke(self) -> None:
        n = self.random.randint(1, 10**6)
        self.request(
            "invoke",
            "POST",
            f"/sandbox/{self.person['function']}/invoke/",
            {"event": f"%7B%22n%22%3A{n}%7D"},
        )

    def run(self) -> None:
        names = [name for name, _ in MIX]
        weights = [weight for _, weight in MIX]
        while time.monotonic() < self.run_state.deadline and self.run_state.take():
            action = self.random.choices(names, weights)[0]
            getattr(self, action.replace(" ", "_"))()
        self.connection.close()


class Run:
    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.lock = threading.Lock()
        self.budget = MAX_REQUESTS
        self.samples: dict[str, list[tuple[float, int, int, int]]] = defaultdict(list)

    def take(self) -> bool:
        with self.lock:
            self.budget -= 1
            return self.budget >= 0

    def record(self, endpoint: str, seconds: float, status: int, headers: dict[str, str]) -> None:
        queries = int(headers.get("x-bench-queries", -1))
        redis_trips = int(headers.get("x-bench-redis", -1))
        with self.lock:
            self.samples[endpoint].append((seconds, status, queries, redis_trips))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def print_report(run: Run, seconds: float, invocations: dict[str, Any]) -> None:
    print(
        f"\n{'endpoint':14} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'errors':>7} {'SQL/req':>8} {'Redis/req':>9}"
    )
    total = 0
    for endpoint, samples in sorted(run.samples.items()):
        total += len(samples)
        times = [s[0] * 1000 for s in samples]
        # A redirect after a POST is the normal answer; 429 would be a deliberate throttle.
        errors = sum(1 for s in samples if s[1] == 0 or s[1] >= 500 or s[1] in {403, 404})
        queries = statistics.mean(s[2] for s in samples)
        trips = statistics.mean(s[3] for s in samples)
        print(
            f"{endpoint:14} {len(samples):8d} {len(samples) / seconds:7.1f} "
            f"{percentile(times, 0.5):7.1f} {percentile(times, 0.95):7.1f} "
            f"{percentile(times, 0.99):7.1f} {errors:7d} {queries:8.1f} {trips:9.1f}"
        )
    print(f"{'all':14} {total:8d} {total / seconds:7.1f}")
    print(f"\ninvocations by outcome: {invocations['statuses']}")
    for kind in ("cold", "warm"):
        values = invocations["latency"][kind]
        if values:
            print(
                f"invocation queued → result, {kind} ({len(values)}, 128 MB): "
                f"p50 {percentile(values, 0.5):.0f} ms, p95 {percentile(values, 0.95):.0f} ms, "
                f"p99 {percentile(values, 0.99):.0f} ms"
            )


def run_json(command: list[str], env: dict[str, str]) -> Any:
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--worker-threads", type=int, default=4)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lambdalab-load-"))
    redis_url, stop_redis = start_redis(workdir)
    database_url = args.database_url or f"sqlite:///{workdir / 'db.sqlite3'}"
    env = bench_env(database_url, redis_url)
    manage = [sys.executable, str(ROOT / "manage.py")]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in (["migrate", "-v0"], ["load_content"], ["collectstatic", "--noinput"]):
            subprocess.run(manage + command, env=env, cwd=ROOT, check=True, capture_output=True)
        world = run_json([sys.executable, __file__, "--setup", str(args.learners)], env)
        port = free_port()
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "lambdalab",
                    "worker",
                    "--queues",
                    "sandbox,default",
                    "--pool",
                    "threads",
                    "--concurrency",
                    str(args.worker_threads),
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--hostname",
                    "load@localhost",
                ],
                env=env,
                cwd=ROOT,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--chdir",
                    str(ROOT),
                    "--pythonpath",
                    str(ROOT / "bench"),
                    "counting_wsgi:application",
                    "--workers",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                ],
                env=env,
                cwd=ROOT,
            )
        )
        wait_for_port(port, "gunicorn")
        time.sleep(3)  # the worker's jail canary
        warm = Learner(port, world["people"][0], world, Run(1))
        for slug in world["lessons"]:
            warm.request("warm-up", "GET", f"/lessons/{slug}/")
        started_at = time.time()
        run = Run(args.seconds)
        learners = [Learner(port, person, world, run) for person in world["people"]]
        began = time.monotonic()
        for learner in learners:
            learner.start()
        for learner in learners:
            learner.join(timeout=args.seconds + 60)
        elapsed = time.monotonic() - began
        time.sleep(10)  # let queued invocations finish before they are counted
        invocations = run_json([sys.executable, __file__, "--report", str(started_at)], env)
        print(
            f"{args.learners} learners, {elapsed:.0f} s, gunicorn 2 workers, one Celery worker "
            f"({args.worker_threads} threads), {database_url.split(':')[0]}, {os.cpu_count()} CPUs"
        )
        print_report(run, elapsed, invocations)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        stop_redis()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--setup":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(setup_world(int(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--report":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(invocation_report(float(sys.argv[2]))))
    else:
        main()
