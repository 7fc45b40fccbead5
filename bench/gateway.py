"""What the lab's gateway adds to a call into moto, in one process.

`scripts/services.py --moto -- .venv/bin/python bench/gateway.py [--n 300]` makes a throwaway
SQLite database and times, against the given moto, S3 GetObject (1 KB) and DynamoDB PutItem
three ways: boto3 straight to moto (the site's own lab_client), boto3 through
gateway.handle() with a learner's access key (SigV4 check, account scoping, forwarding), and
through gateway.handle() with an execution role's session (plus policy evaluation), and with
a session whose PutItem is allowed only by a dynamodb:LeadingKeys Condition (plus the
request's context keys and the table's key schema, read from the lab's record). The
gateway is called in-process (no socket, no jail), so the difference is the gateway's own
work. It prints p50/p99 of each. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(n: int, call: Callable[[], Any]) -> list[float]:
    for _ in range(10):
        call()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def gateway_client(service: str, creds: dict[str, str], function_id: int | None) -> Any:
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    from sandbox.aws import gateway

    class Raw(io.BytesIO):
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield self.getvalue()

    client = boto3.client(
        service,
        endpoint_url="http://127.0.0.1:9001",
        region_name="us-east-1",
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=creds.get("AWS_SESSION_TOKEN"),
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )

    def send(request: Any, **_: Any) -> AWSResponse:
        parts = urlsplit(request.url)
        body = request.body or b""
        body = body.read() if hasattr(body, "read") else body
        body = body.encode() if isinstance(body, str) else body
        headers = [
            (k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()
        ]
        result = gateway.handle(
            gateway.GatewayRequest(
                method=request.method,
                target=parts.path + (f"?{parts.query}" if parts.query else ""),
                headers=[*headers, ("Host", parts.netloc)],
                body=body,
            ),
            function_id=function_id,
        )
        return AWSResponse(request.url, result.status, dict(result.headers), Raw(result.body))

    client.meta.events.register("before-send", send)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="calls timed per row")
    args = parser.parse_args()
    if not os.environ.get("LAB_SERVICES_URL"):
        raise SystemExit("run under scripts/services.py --moto -- (it exports LAB_SERVICES_URL)")
    workdir = Path(tempfile.mkdtemp(prefix="lambdalab-bench-gateway-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="lambdalab.settings",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        DJANGO_LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from sandbox.api import services as api_services
    from sandbox.aws import records, roles
    from sandbox.aws.accounts import account_for
    from sandbox.aws.clients import lab_client
    from sandbox.aws.models import ResourceKind
    from sandbox.services import function_create

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(f"bench-{uuid.uuid4().hex[:6]}")
    account = account_for(user)
    key, secret = api_services.access_key_create(owner=user)
    learner = {"AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": secret}
    function = function_create(owner=user, name="bench")
    bucket = f"bench-{account}"
    role = roles.function_role(function)
    for template, name in (("s3-read", bucket), ("dynamodb-crud", "Bench")):
        document = roles.template_document(template, account_id=account, name=name)
        roles.role_put_policy(role=role, name=template, document=document)
    session = roles.session_credentials(function)
    conditional = function_create(owner=user, name="bench-conditional")
    roles.role_put_policy(
        role=roles.role_save(owner=user, name="bench-conditional"),
        name="own-items",
        document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "dynamodb:PutItem"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*", "arn:aws:dynamodb:*:*:table/Bench"],
                    "Condition": {
                        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["1"]},
                        "StringEquals": {"aws:RequestedRegion": "us-east-1"},
                    },
                }
            ],
        },
    )
    roles.function_role_set(
        function=conditional, role=roles.role_from_arn(owner=user, arn="bench-conditional")
    )
    conditional_session = roles.session_credentials(conditional)

    direct_s3, direct_ddb = (lab_client(s, account_id=account) for s in ("s3", "dynamodb"))
    direct_s3.create_bucket(Bucket=bucket)
    direct_s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(1024))
    direct_ddb.create_table(
        TableName="Bench",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    records.resource_record(
        owner=user,
        kind=ResourceKind.TABLE,
        name="Bench",
        spec={"TableName": "Bench", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]},
    )
    ways = {
        "boto3 → moto": (direct_s3, direct_ddb),
        "→ gateway (learner key)": (
            gateway_client("s3", learner, None),
            gateway_client("dynamodb", learner, None),
        ),
        "→ gateway (role session)": (
            gateway_client("s3", session, function.pk),
            gateway_client("dynamodb", session, function.pk),
        ),
        "→ gateway (conditional)": (
            gateway_client("s3", conditional_session, conditional.pk),
            gateway_client("dynamodb", conditional_session, conditional.pk),
        ),
    }
    print(f"\nn={args.n} per row, 1 KB object, load average {os.getloadavg()[0]:.1f}\n")
    print(f"| {'path':26} | GetObject p50 | p99 | PutItem p50 | p99 |")
    print(f"|{'-' * 28}|{'-' * 14}:|{'-' * 6}:|{'-' * 12}:|{'-' * 6}:|")
    for label, (s3, ddb) in ways.items():
        get = timed(args.n, lambda s3=s3: s3.get_object(Bucket=bucket, Key="k")["Body"].read())
        put = timed(
            args.n, lambda ddb=ddb: ddb.put_item(TableName="Bench", Item={"id": {"S": "1"}})
        )
        print(
            f"| {label:26} | {pct(get, 0.5):10.2f} ms | {pct(get, 0.99):5.1f} "
            f"| {pct(put, 0.5):8.2f} ms | {pct(put, 0.99):5.1f} |"
        )


if __name__ == "__main__":
    main()
