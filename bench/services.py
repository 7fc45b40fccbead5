"""The lab's AWS services from a function's point of view: how long a trigger takes to reach
the handler, and what a call from inside a warm handler costs.

`scripts/services.py --redis --moto [--postgres] -- .venv/bin/python bench/services.py
[--n 50] [--memory 128]` makes a throwaway database (PostgreSQL with --postgres, else a
temporary SQLite file), starts a Celery worker (threads pool) against the given Redis and moto,
and for each trigger sends one message or object at a time, waiting for the handler to have
run it before sending the next:

- SQS: SendMessage on a mapped queue → the mapping's poller (long polling) → synchronous
  invoke on the worker → handler;
- S3: PutObject on a bucket with a trigger → S3's notification → the trigger's queue → relay →
  asynchronous invoke through Celery → handler.

The handler returns the wall-clock time it started; the figure is that minus the time just
before the send (same host, same clock).

Then a warm handler with a role allowing both times an S3 GetObject and a DynamoDB PutItem
made with boto3 (jail → Unix socket → gateway: SigV4, role policy, record → moto), beside the
same calls made by this process straight to moto: the ratio is what the jail's path adds.
It prints p50/p99 of each. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HANDLER = "import time\n\ndef lambda_handler(event, context):\n    return {'at': time.time()}\n"
CALLER = """import time, boto3

s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")

def lambda_handler(event, context):
    t0 = time.perf_counter()
    s3.get_object(Bucket=event["bucket"], Key="probe.txt")["Body"].read()
    t1 = time.perf_counter()
    dynamodb.put_item(TableName="bench", Item={"id": {"S": context.aws_request_id}})
    t2 = time.perf_counter()
    return {"GetObject": (t1 - t0) * 1000, "PutItem": (t2 - t1) * 1000}
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _wait_for_run(user: Any, function_name: str, after_pk: int, timeout_s: float = 60) -> Any:
    from sandbox.models import Invocation

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = (
            Invocation.objects.filter(
                requested_by=user, function__name=function_name, pk__gt=after_pk
            )
            .exclude(status__in=Invocation.PENDING)
            .order_by("pk")
            .first()
        )
        if run is not None:
            return run
        time.sleep(0.005)
    raise SystemExit(f"{function_name}: no invocation within {timeout_s} s")


def _function(user: Any, name: str, memory_mb: int) -> Any:
    from sandbox import services

    return services.function_create(
        owner=user,
        name=name,
        memory_mb=memory_mb,
        files={"lambda_function.py": HANDLER},
    )


def bench_calls(
    user: Any, account: str, bucket: str, memory_mb: int, n: int
) -> dict[str, list[float]]:
    """GetObject and PutItem timed inside a warm handler, and straight to moto from here."""
    import json

    from sandbox import services
    from sandbox.aws import services as aws_services
    from sandbox.aws.clients import lab_client

    s3 = lab_client("s3", account_id=account)
    dynamodb = lab_client("dynamodb", account_id=account)
    s3.put_object(Bucket=bucket, Key="probe.txt", Body=b"x" * 1024)
    aws_services.table_create(owner=user, name="bench", partition_key="id")
    caller = services.function_create(
        owner=user, name="caller", memory_mb=memory_mb, files={"lambda_function.py": CALLER}
    )
    role = aws_services.role_create(owner=user, name="bench-caller")
    aws_services.role_template_apply(role=role, template="s3-read", resource_name=bucket)
    aws_services.role_policy_save(
        role=role,
        name="table",
        document=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}],
            }
        ),
    )
    aws_services.role_assign(role=role, function_id=caller.pk)
    results: dict[str, list[float]] = {
        "GetObject, in the handler": [],
        "PutItem, in the handler": [],
        "GetObject, gateway's part": [],
        "PutItem, gateway's part": [],
        "GetObject, host to moto": [],
        "PutItem, host to moto": [],
    }
    last = 0
    for i in range(n + 3):  # the first three are the cold start and warm-up
        services.invocation_start(
            function=caller, event_text=json.dumps({"bucket": bucket}), requested_by=user
        )
        run = _wait_for_run(user, "caller", last)
        last = run.pk
        if run.status != "success":
            raise SystemExit(f"the caller failed: {run.error} {run.log[-800:]}")
        if i >= 3:
            results["GetObject, in the handler"].append(run.payload["GetObject"])
            results["PutItem, in the handler"].append(run.payload["PutItem"])
            # What the gateway itself took of each (verify, authorise, forward, as it records).
            for call in run.service_calls:
                results[f"{call['operation']}, gateway's part"].append(call["ms"])
    for i in range(n):
        t0 = time.perf_counter()
        s3.get_object(Bucket=bucket, Key="probe.txt")["Body"].read()
        t1 = time.perf_counter()
        dynamodb.put_item(TableName="bench", Item={"id": {"S": f"host-{i}"}})
        t2 = time.perf_counter()
        results["GetObject, host to moto"].append((t1 - t0) * 1000)
        results["PutItem, host to moto"].append((t2 - t1) * 1000)
    return results


def bench_triggers(
    env: dict[str, str], memory_mb: int, n: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    import django

    os.environ.update(env)
    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from sandbox.aws.accounts import account_for
    from sandbox.aws.clients import lab_client
    from sandbox.models import Invocation
    from sandbox.triggers import services as triggers

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(f"bench-{uuid.uuid4().hex[:6]}")
    account = account_for(user)
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "lambdalab", "worker"),
            *("--queues", "sandbox,default", "--pool", "threads", "--concurrency", "6"),
            *("--hostname", f"bench-{uuid.uuid4().hex[:6]}@localhost"),
            *("--without-mingle", "--without-gossip", "--loglevel", "WARNING"),
        ],
        cwd=ROOT,
        env=env,
    )
    results: dict[str, list[float]] = {"SQS": [], "S3": []}
    try:
        sqs = lab_client("sqs", account_id=account)
        url = sqs.create_queue(QueueName="bench")["QueueUrl"]
        arn = f"arn:aws:sqs:{settings.LAB_REGION}:{account}:bench"
        s3 = lab_client("s3", account_id=account)
        bucket = f"bench-{account}"  # bucket names are global in moto, as on AWS
        s3.create_bucket(Bucket=bucket)
        consumer = _function(user, "sqs-consumer", memory_mb)
        processor = _function(user, "s3-processor", memory_mb)
        triggers.mapping_create(function=consumer, event_source_arn=arn, batch_size=1)
        triggers.s3_trigger_create(function=processor, bucket=bucket)

        def send_sqs(i: int) -> None:
            sqs.send_message(QueueUrl=url, MessageBody=str(i))

        def send_s3(i: int) -> None:
            s3.put_object(Bucket=bucket, Key=f"in/{i}.txt", Body=b"x")

        for label, name, send in (
            ("SQS", "sqs-consumer", send_sqs),
            ("S3", "s3-processor", send_s3),
        ):
            last = Invocation.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            for i in range(n + 3):  # the first three warm up the environment and the path
                start = time.time()
                send(i)
                run = _wait_for_run(user, name, last)
                last = run.pk
                if i >= 3 and run.payload:
                    results[label].append((run.payload["at"] - start) * 1000)
        return results, bench_calls(user, account, bucket, memory_mb, n)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="messages or objects timed per trigger")
    parser.add_argument("--memory", type=int, default=128, help="the functions' memory in MB")
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL") or not os.environ.get("LAB_SERVICES_URL"):
        raise SystemExit("run under scripts/services.py --redis --moto -- (they export the URLs)")
    workdir = Path(tempfile.mkdtemp(prefix="lambdalab-bench-services-"))
    env: dict[str, Any] = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="lambdalab.settings",
        DATABASE_URL=os.environ.get("POSTGRES_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}",
        SANDBOX_USER_INVOCATIONS_PER_MINUTE="1000000",
        SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS="1000",
        DJANGO_LOG_LEVEL="WARNING",
    )
    results, calls = bench_triggers(env, args.memory, args.n)
    print(f"\ntrigger → handler start, {args.memory} MB, {args.n} sends each, one at a time")
    print(f"{'trigger':<8} {'p50 (ms)':>10} {'p99 (ms)':>10}")
    for label, times in results.items():
        if times:
            print(f"{label:<8} {pct(times, 0.5):>10.1f} {pct(times, 0.99):>10.1f}")
    print(f"\nAWS calls, {args.memory} MB warm handler vs this process to moto, {args.n} each")
    print(f"{'call':<28} {'p50 (ms)':>10} {'p99 (ms)':>10} {'p50 ratio':>10}")
    for label, times in calls.items():
        api = label.split(",")[0]
        floor = pct(calls[f"{api}, host to moto"], 0.5)
        ratio = pct(times, 0.5) / floor if floor else float("nan")
        print(f"{label:<28} {pct(times, 0.5):>10.2f} {pct(times, 0.99):>10.2f} {ratio:>9.2f}x")


if __name__ == "__main__":
    main()
