"""The Lambda API's warm invoke against the engine's own, side by side in one run.

`scripts/services.py --redis --postgres -- .venv/bin/python bench/api.py [--n 300]
[--memory 128]` starts a throwaway stack on that PostgreSQL (a temporary SQLite database
without --postgres): gunicorn serving the app, a Celery sandbox worker (threads pool) and the
given Redis. It times boto3's `invoke()` of a warm function (boto3 → SigV4 check → Invocation
row → Celery → worker's pool → Redis → back) and, in this process, `EnvironmentPool.invoke()`
of the same handler at the same memory size, warm. It prints p50/p99 of each and their ratio.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HANDLER = "def lambda_handler(event, context):\n    return {'ok': True}\n"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url_port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", url_port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not start on port {url_port}")


def bench_api(env: dict[str, str], memory_mb: int, n: int) -> list[float]:
    import boto3
    import django
    from botocore.config import Config

    os.environ.update(env)
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from sandbox.api import services

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(f"bench-{uuid.uuid4().hex[:6]}")
    key, secret = services.access_key_create(owner=user)

    port = free_port()
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "lambdalab", "worker"),
            *("--queues", "sandbox,default", "--pool", "threads", "--concurrency", "4"),
            *("--hostname", f"bench-{uuid.uuid4().hex[:6]}@localhost"),
            *("--without-mingle", "--without-gossip", "--loglevel", "WARNING"),
        ],
        cwd=ROOT,
        env=env,
    )
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "lambdalab.wsgi"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"),
            *("--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for(port)
        client = boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"total_max_attempts": 1}),
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("lambda_function.py", HANDLER)
        client.create_function(
            FunctionName="bench",
            Runtime="python3.11",
            Role="arn:aws:iam::123456789012:role/bench",
            Handler="lambda_function.lambda_handler",
            MemorySize=memory_mb,
            Code={"ZipFile": buffer.getvalue()},
        )
        deadline = time.monotonic() + 60
        while True:  # the worker may still be starting (its jail check)
            try:
                client.invoke(FunctionName="bench", Payload=b"{}")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        for _ in range(20):
            client.invoke(FunctionName="bench", Payload=b"{}")
        times = []
        for _ in range(n):
            start = time.perf_counter()
            answer = client.invoke(FunctionName="bench", Payload=b"{}")
            answer["Payload"].read()
            times.append((time.perf_counter() - start) * 1000)
        _print_phases(user)
        _print_queries(key.access_key_id, secret)
        return times
    finally:
        for process in (server, worker):
            process.terminate()
        for process in (server, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _print_phases(user: Any) -> None:
    """Where the time of the timed invocations went, from the Invocation rows' timestamps."""
    from sandbox.models import Invocation

    queued, ran = [], []
    for row in Invocation.objects.filter(requested_by=user).order_by("-pk")[:200]:
        if row.started_at and row.finished_at:
            queued.append((row.started_at - row.created_at).total_seconds() * 1000)
            ran.append((row.finished_at - row.started_at).total_seconds() * 1000)
    if queued:
        print(
            f"\nphases p50: row created → worker claims it {pct(queued, 0.5):.2f} ms, "
            f"claim → result stored {pct(ran, 0.5):.2f} ms"
        )


def _print_queries(key_id: str, secret: str) -> None:
    """The database queries of one warm invoke's web side, counted in this process (the same
    view, database and worker as the timed calls): a figure load does not blur."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    path = "/2015-03-31/functions/bench/invocations"
    request = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1{path}",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(Credentials(key_id, secret), "lambda", "us-east-1").add_auth(request)
    headers = {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in request.headers.items()
        if name.lower() != "content-type"
    }
    with CaptureQueriesContext(connection) as queries:
        answer = Client().post(
            path, data=b"{}", content_type="application/json", HTTP_HOST="127.0.0.1", **headers
        )
    writes = sum(1 for q in queries if not q["sql"].lstrip().upper().startswith("SELECT"))
    print(
        f"web side of one warm invoke (HTTP {answer.status_code}): {len(queries)} database "
        f"statements, {writes} of them not SELECTs"
    )


def bench_engine(memory_mb: int, n: int) -> list[float]:
    from sandbox.engine import EnvironmentPool, FunctionSpec

    spec = FunctionSpec(
        name="bench",
        handler="lambda_function.lambda_handler",
        code={"lambda_function.py": HANDLER},
        memory_mb=memory_mb,
        namespace=f"bench-{uuid.uuid4().hex}",
    )
    pool = EnvironmentPool(account_concurrency=4)
    try:
        pool.check()
        for _ in range(21):
            pool.invoke(spec, {})
        times = []
        for _ in range(n):
            start = time.perf_counter()
            pool.invoke(spec, {})
            times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="warm invocations timed per side")
    parser.add_argument("--memory", type=int, default=128, help="the function's memory in MB")
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("run under scripts/services.py --redis -- (it exports REDIS_URL)")
    workdir = Path(tempfile.mkdtemp(prefix="lambdalab-bench-api-"))
    env: dict[str, Any] = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="lambdalab.settings",
        # PostgreSQL when services.py --postgres runs one (production's database): SQLite's
        # single writer makes the web and the worker wait on each other's locks.
        DATABASE_URL=os.environ.get("POSTGRES_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        SANDBOX_USER_INVOCATIONS_PER_MINUTE="1000000",
        SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS="1000",
        DJANGO_LOG_LEVEL="WARNING",
    )
    api = bench_api(env, args.memory, args.n)
    engine = bench_engine(args.memory, args.n)
    rows = [
        ("warm invoke p50 (ms)", pct(api, 0.5), pct(engine, 0.5)),
        ("warm invoke p99 (ms)", pct(api, 0.99), pct(engine, 0.99)),
    ]
    database = "PostgreSQL" if os.environ.get("POSTGRES_URL") else "SQLite"
    print(f"\nWarm invoke of a trivial handler at {args.memory} MB, {args.n} calls, {database}")
    print(f"load average {os.getloadavg()[0]:.1f}\n")
    print(f"| {'':22} | boto3 → API → Celery → env | engine invoke() | ratio |")
    print(f"|{'-' * 24}|{'-' * 28}:|{'-' * 16}:|{'-' * 6}:|")
    for label, a, e in rows:
        print(f"| {label:22} | {a:26.2f} | {e:15.2f} | {a / e:4.1f}x |")


if __name__ == "__main__":
    main()
