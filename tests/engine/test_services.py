"""The jail's one way out: a Unix socket per environment to the pool's services handler.

The host side is tested twice: straight on its socket (how it reads HTTP from a peer it does
not trust), and from inside real jails (what a handler can and cannot reach).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.engine import EnvironmentPool, services
from sandbox.engine.services import ServiceRequest, ServiceResponse, ServicesHub
from tests.engine.support import TRIVIAL, make_node_spec, make_spec

ROLE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "ASIAROLEEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "role-secret",
    "AWS_SESSION_TOKEN": "role-token",
}


class Recorder:
    """A services handler that answers with what it was sent, and remembers every request."""

    def __init__(self) -> None:
        self.requests: list[ServiceRequest] = []
        self.fail = False
        self.delay_s = 0.0

    def __call__(self, request: ServiceRequest) -> ServiceResponse:
        self.requests.append(request)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("the gateway is down")
        body = json.dumps(
            {
                "method": request.method,
                "target": request.target,
                "headers": [list(pair) for pair in request.headers],
                "body": request.body.decode("latin-1"),
                "function": request.function.name,
            }
        ).encode()
        length = (("Content-Length", "12345"),) if request.method == "HEAD" else ()
        return ServiceResponse(
            status=200,
            headers=(("Content-Type", "application/json"), ("Connection", "upgrade"), *length),
            body=body,
            call={"service": "echo", "operation": request.method, "outcome": "allowed"},
        )


# ------------------------------------------------------------------ the host side, directly


@pytest.fixture
def hub_endpoint(tmp_path: Path) -> Iterator[tuple[Recorder, services.Endpoint]]:
    recorder = Recorder()
    hub = ServicesHub(recorder)
    endpoint = hub.open(
        directory=tmp_path, spec=make_spec(TRIVIAL), environment_id="env1", uid=os.geteuid()
    )
    yield recorder, endpoint
    hub.stop()


def _connect(endpoint: services.Endpoint) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    conn.connect(str(endpoint.path))
    return conn


def _read_response(conn: socket.socket, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    size = 0 if head else int(headers.get("content-length", "0"))
    while len(rest) < size:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest


def test_requests_with_length_or_chunks_are_handed_over_whole_on_one_connection(hub_endpoint):
    recorder, endpoint = hub_endpoint
    with _connect(endpoint) as conn:
        conn.sendall(b"PUT /bucket/key?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        status, headers, body = _read_response(conn)
        assert status == 200 and headers["connection"] == "keep-alive"
        assert json.loads(body)["body"] == "hello"
        conn.sendall(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n"
        )
        status, _, body = _read_response(conn)
        sent = json.loads(body)
    assert status == 200 and sent["body"] == "abcdefg"
    # Hop-by-hop headers describe the jail's connection, not the request.
    assert [name for name, _ in sent["headers"]] == ["Host"]
    assert [r.target for r in recorder.requests] == ["/bucket/key?x=1", "/"]
    assert recorder.requests[0].function.name == "fn"
    calls = endpoint.take_calls()
    assert [c["operation"] for c in calls] == ["PUT", "POST"]
    assert all(c["ms"] >= 0 and c["offset_ms"] >= 0 for c in calls)


def test_expect_continue_is_answered_and_head_keeps_its_length(hub_endpoint):
    _, endpoint = hub_endpoint
    with _connect(endpoint) as conn:
        conn.sendall(b"PUT / HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert conn.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.sendall(b"ok")
        status, _, body = _read_response(conn)
        assert status == 200 and json.loads(body)["body"] == "ok"
        conn.sendall(b"HEAD /b/k HTTP/1.1\r\n\r\n")
        status, headers, body = _read_response(conn, head=True)
        assert status == 200 and headers["content-length"] == "12345" and body == b""
        # The connection-specific header the handler returned is not passed on.
        assert headers["connection"] == "keep-alive"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET http://169.254.169.254/ HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * (70 * 1024) + b"\r\n\r\n", 431),
    ],
)
def test_malformed_requests_get_a_clean_error_and_reach_no_one(
    hub_endpoint, request_bytes: bytes, status: int
):
    recorder, endpoint = hub_endpoint
    with _connect(endpoint) as conn:
        conn.sendall(request_bytes)
        got, headers, _ = _read_response(conn)
        assert got == status
        assert headers["connection"] == "close"
        assert conn.recv(10) == b""  # closed after the error
    assert recorder.requests == []
    assert endpoint.take_calls()[0]["status"] == status


def test_a_huge_chunked_body_is_refused_before_it_is_all_read(hub_endpoint, monkeypatch):
    recorder, endpoint = hub_endpoint
    monkeypatch.setattr(services, "MAX_BODY_BYTES", 1000)
    with _connect(endpoint) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        conn.sendall(b"400\r\n" + b"x" * 1024 + b"\r\n")
        assert _read_response(conn)[0] == 413
    assert recorder.requests == []


def test_an_environment_cannot_pin_more_host_memory_than_its_buffer(hub_endpoint, monkeypatch):
    recorder, endpoint = hub_endpoint
    monkeypatch.setattr(services, "MAX_BUFFERED_BYTES", 1000)
    with _connect(endpoint) as first, _connect(endpoint) as second:
        first.sendall(b"PUT / HTTP/1.1\r\nContent-Length: 800\r\n\r\n" + b"x" * 10)
        _wait_for(lambda: endpoint._buffered == 800)
        second.sendall(b"PUT / HTTP/1.1\r\nContent-Length: 800\r\n\r\n")
        assert _read_response(second)[0] == 503
        first.sendall(b"x" * 790)
        assert _read_response(first)[0] == 200
        first.sendall(b"PUT / HTTP/1.1\r\nContent-Length: 800\r\n\r\n" + b"y" * 800)
        assert _read_response(first)[0] == 200  # the first request's share was given back
    _wait_for(lambda: endpoint._buffered == 0)
    assert len(recorder.requests) == 2


def test_a_slow_request_times_out_and_an_idle_connection_is_closed(hub_endpoint, monkeypatch):
    recorder, endpoint = hub_endpoint
    monkeypatch.setattr(services, "REQUEST_TIMEOUT_S", 0.3)
    monkeypatch.setattr(services, "IDLE_TIMEOUT_S", 0.3)
    with _connect(endpoint) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        assert _read_response(conn)[0] == 408
    with _connect(endpoint) as conn:
        assert conn.recv(10) == b""  # nothing sent: closed after the idle timeout
    assert recorder.requests == []


def test_a_failing_handler_is_a_502_and_the_connection_lives_on(hub_endpoint):
    recorder, endpoint = hub_endpoint
    recorder.fail = True
    with _connect(endpoint) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert _read_response(conn)[0] == 502
        recorder.fail = False
        conn.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert _read_response(conn)[0] == 200
    outcomes = [call["outcome"] for call in endpoint.take_calls()]
    assert outcomes == ["error", "allowed"]


def test_connections_past_the_cap_are_refused(hub_endpoint, monkeypatch):
    _, endpoint = hub_endpoint
    monkeypatch.setattr(services, "MAX_CONNECTIONS", 2)
    held = [_connect(endpoint) for _ in range(2)]
    try:
        for conn in held:  # a request each, so both are being served
            conn.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert _read_response(conn)[0] == 200
        with _connect(endpoint) as extra:
            assert _read_response(extra)[0] == 503
    finally:
        for conn in held:
            conn.close()


def test_closing_an_endpoint_removes_its_socket_and_ends_its_connections(hub_endpoint):
    _, endpoint = hub_endpoint
    conn = _connect(endpoint)
    conn.sendall(b"GET / HTTP/1.1\r\n\r\n")
    assert _read_response(conn)[0] == 200
    endpoint.close()
    assert not endpoint.path.exists()
    assert conn.recv(10) == b""
    conn.close()
    _wait_for(lambda: not endpoint.threads())


def test_only_the_owner_may_connect(hub_endpoint):
    _, endpoint = hub_endpoint
    assert endpoint.path.stat().st_mode & 0o777 == 0o600


def _wait_for(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# ------------------------------------------------------------------ from inside the jail


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def services_pool(recorder: Recorder) -> Iterator[EnvironmentPool]:
    pool = EnvironmentPool(
        account_concurrency=10,
        services_handler=recorder,
        services_environment=lambda spec: ROLE_ENVIRONMENT,
    )
    pool.check()  # the canary's checks (no interface but lo) hold with a socket bound in
    yield pool
    pool.shutdown()


CALLER = """
import os, urllib.request, json
def handler(event, context):
    url = os.environ["AWS_ENDPOINT_URL"] + "/queue?Action=Send"
    replies = []
    for body in event["bodies"]:
        request = urllib.request.Request(url, data=body.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as reply:
            replies.append(json.loads(reply.read()))
    return {
        "replies": replies,
        "credentials": [os.environ.get(k) for k in
                        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")],
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
    }
"""


def test_a_handler_reaches_the_services_handler_and_its_calls_are_recorded(
    services_pool: EnvironmentPool, recorder: Recorder
):
    spec = make_spec(CALLER, timeout_s=10)
    result = services_pool.invoke(spec, {"bodies": ["one", "two"]})
    assert result.status == "success", result.log
    assert [r["body"] for r in result.payload["replies"]] == ["one", "two"]
    assert result.payload["replies"][0]["target"] == "/queue?Action=Send"
    assert result.payload["credentials"] == list(ROLE_ENVIRONMENT.values())
    assert result.payload["endpoint"] == "http://127.0.0.1:4566"
    assert [call["operation"] for call in result.service_calls] == ["POST", "POST"]
    # The request arrives as the handler sent it, and names the environment's own function.
    mine = [r for r in recorder.requests if r.function.namespace == spec.namespace]
    assert {r.header("Host") for r in mine} == {"127.0.0.1:4566"}
    # A warm invocation records only its own calls.
    again = services_pool.invoke(spec, {"bodies": ["three"]})
    assert not again.cold_start
    assert len(again.service_calls) == 1


def test_calls_made_during_init_are_recorded_on_the_cold_invocation(
    services_pool: EnvironmentPool,
):
    source = """
    import os, urllib.request
    urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/init", timeout=5).read()
    def handler(event, context):
        return "ok"
    """
    result = services_pool.invoke(make_spec(source, timeout_s=10), {})
    assert result.status == "success", result.log
    assert [call["operation"] for call in result.service_calls] == ["GET"]


REACH = """
import socket
def handler(event, context):
    seen = {}
    for host, port in event["targets"]:
        try:
            socket.create_connection((host, port), timeout=1).close()
            seen[f"{host}:{port}"] = "connected"
        except OSError as exc:
            seen[f"{host}:{port}"] = type(exc).__name__
    return seen
"""


def test_no_host_port_is_reachable_but_the_services(services_pool: EnvironmentPool):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    targets = [["127.0.0.1", port]]
    # Whatever else the host runs for the lab (Redis, the database, the web server, moto).
    for variable in ("REDIS_URL", "LAB_SERVICES_URL", "DATABASE_URL", "POSTGRES_URL"):
        value = os.environ.get(variable, "")
        if "://" in value and ":" in value.split("://", 1)[1].split("/")[0].split("@")[-1]:
            host_port = value.split("://", 1)[1].split("/")[0].split("@")[-1]
            host, _, number = host_port.rpartition(":")
            targets.append([host, int(number)])
    targets.append(["127.0.0.1", 8000])  # make run's web server
    try:
        result = services_pool.invoke(make_spec(REACH, timeout_s=30), {"targets": targets})
        assert result.status == "success", result.log
        reached = {target: how for target, how in result.payload.items() if how == "connected"}
        assert reached == {}, reached
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing from the jail ever arrived
    finally:
        listener.close()
    # Its own loopback works: the relay to the services is a listener there.
    own = services_pool.invoke(make_spec(REACH), {"targets": [["127.0.0.1", 4566]]})
    assert own.payload == {"127.0.0.1:4566": "connected"}


RAW = """
import socket, time
def handler(event, context):
    replies = []
    for request in event["requests"]:
        conn = socket.create_connection(("127.0.0.1", 4566), timeout=10)
        data = request.encode("latin-1")
        if event.get("slow"):
            conn.sendall(data[:10])
            time.sleep(event["slow"])
        else:
            conn.sendall(data)
        reply = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
        conn.close()
        replies.append(reply.split(b"\\r\\n", 1)[0].decode())
    return replies
"""


def test_malformed_huge_and_slow_requests_from_a_handler_end_cleanly(
    services_pool: EnvironmentPool, monkeypatch: pytest.MonkeyPatch
):
    spec = make_spec(RAW, timeout_s=20)
    requests = [
        "NONSENSE\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nX: " + "y" * 100_000 + "\r\n\r\n",
    ]
    result = services_pool.invoke(spec, {"requests": requests})
    assert result.status == "success", result.log
    assert result.payload == [
        "HTTP/1.1 400 Bad Request",
        "HTTP/1.1 413 Request Entity Too Large",
        "HTTP/1.1 431 Request Header Fields Too Large",
    ]
    monkeypatch.setattr(services, "REQUEST_TIMEOUT_S", 0.5)
    slow = services_pool.invoke(
        spec, {"requests": ["POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"], "slow": 1.5}
    )
    assert slow.payload == ["HTTP/1.1 408 Request Timeout"]
    # The environment, and the worker's side of it, go on serving.
    fine = services_pool.invoke(spec, {"requests": ["GET / HTTP/1.1\r\nConnection: close\r\n\r\n"]})
    assert fine.payload == ["HTTP/1.1 200 OK"]


def test_a_timed_out_handler_mid_call_does_not_hold_the_worker(
    services_pool: EnvironmentPool, recorder: Recorder
):
    recorder.delay_s = 2.0
    try:
        result = services_pool.invoke(make_spec(CALLER, timeout_s=1), {"bodies": ["slow"]})
    finally:
        recorder.delay_s = 0.0
    assert result.status == "timeout"
    # The environment is gone; its socket with it.
    assert not any(
        endpoint.environment_id == result.environment_id
        for endpoint in services_pool._services.endpoints()  # type: ignore[union-attr]
    )


def test_without_a_services_handler_the_jail_has_no_socket_and_no_endpoint(
    pool: EnvironmentPool,
):
    source = f"""
    import os
    def handler(event, context):
        return [os.path.exists({services.JAIL_SOCKET!r}), os.environ.get("AWS_ENDPOINT_URL")]
    """
    result = pool.invoke(make_spec(source), {})
    assert result.payload == [False, None]
    assert result.service_calls == []


def _services_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lambdalab-services")]


def test_environments_and_pools_leave_no_socket_thread_or_descriptor_behind():
    before_fds = len(os.listdir("/proc/self/fd"))
    # Other tests' connection threads may still be ending: only new ones would be leaks.
    before_threads = set(_services_threads())
    recorder = Recorder()
    pool = EnvironmentPool(account_concurrency=5, services_handler=recorder)
    root = pool._workspace.root
    spec = make_spec(CALLER, timeout_s=10)
    for _ in range(3):
        result = pool.invoke(spec, {"bodies": ["x"]})
        assert result.status == "success", result.log
    pool.retire(spec.namespace, spec.name)
    assert pool._services is not None
    _wait_for(lambda: not pool._services.endpoints())  # type: ignore[union-attr]
    assert not list(root.glob("services-*.sock"))
    pool.invoke(spec, {"bodies": ["y"]})  # one left warm when the pool shuts down
    pool.shutdown()
    assert not root.exists()
    _wait_for(lambda: set(_services_threads()) <= before_threads)
    _wait_for(lambda: len(os.listdir("/proc/self/fd")) <= before_fds)


# ------------------------------------------------------------------ real boto3, real moto


class MotoForwarder:
    """Until the lab's gateway is wired in: pass each request to moto in one account."""

    def __init__(self, url: str, account_id: str) -> None:
        self.url = url
        self.account_id = account_id

    def __call__(self, request: ServiceRequest) -> ServiceResponse:
        import http.client
        import urllib.parse

        parts = urllib.parse.urlsplit(self.url)
        headers = {name: value for name, value in request.headers}
        headers["x-moto-account-id"] = self.account_id
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            conn.request(request.method, request.target, body=request.body, headers=headers)
            reply = conn.getresponse()
            body = reply.read()
        finally:
            conn.close()
        service = (request.header("Authorization") or "").split("/")[3:4]
        return ServiceResponse(
            status=reply.status,
            headers=tuple(reply.getheaders()),
            body=body,
            call={"service": service[0] if service else "", "status": reply.status},
        )


BOTO3_HANDLER = """
import boto3

s3 = boto3.client("s3")
dynamodb = boto3.resource("dynamodb")

def handler(event, context):
    s3.create_bucket(Bucket="uploads")
    s3.put_object(Bucket="uploads", Key="photo.jpg", Body=b"x" * 200_000)
    head = s3.head_object(Bucket="uploads", Key="photo.jpg")
    size = len(s3.get_object(Bucket="uploads", Key="photo.jpg")["Body"].read())
    table = dynamodb.create_table(
        TableName="thumbnails",
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.put_item(Item={"key": "photo.jpg", "size": size})
    item = table.get_item(Key={"key": "photo.jpg"})["Item"]
    return {
        "head": head["ContentLength"],
        "item": {"key": item["key"], "size": int(item["size"])},
        "sdk": boto3.__file__,
    }
"""


def test_boto3_in_the_jail_uses_s3_and_dynamodb_on_moto(moto_server: str):
    import uuid

    import boto3

    account = str(uuid.uuid4().int)[:12]
    forwarder = MotoForwarder(moto_server, account)
    with EnvironmentPool(
        account_concurrency=2,
        services_handler=forwarder,
        services_environment=lambda spec: ROLE_ENVIRONMENT,
    ) as pool:
        result = pool.invoke(make_spec(BOTO3_HANDLER, timeout_s=30), {})
    assert result.status == "success", result.log
    assert result.payload["head"] == 200_000
    assert result.payload["item"] == {"key": "photo.jpg", "size": 200_000}
    # The SDK the runtime ships, read-only, not one bundled with the function.
    assert result.payload["sdk"] == "/var/lang/lib/python3.11/site-packages/boto3/__init__.py"
    services_seen = [call["service"] for call in result.service_calls]
    assert services_seen.count("s3") == 4 and "dynamodb" in services_seen
    # It all landed in the account the host chose.
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )

    def name_account(request, **_):
        request.headers["x-moto-account-id"] = account

    s3.meta.events.register("before-sign", name_account)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["uploads"]


NODE_SDK_HANDLER = """
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand,
} from "@aws-sdk/client-s3";
import {
  DynamoDBClient, CreateTableCommand, PutItemCommand, GetItemCommand,
} from "@aws-sdk/client-dynamodb";

const s3 = new S3Client({});
const dynamodb = new DynamoDBClient({});

export const handler = async () => {
  await s3.send(new CreateBucketCommand({ Bucket: "node-uploads" }));
  await s3.send(new PutObjectCommand({ Bucket: "node-uploads", Key: "a.txt", Body: "hello" }));
  const got = await s3.send(new GetObjectCommand({ Bucket: "node-uploads", Key: "a.txt" }));
  await dynamodb.send(new CreateTableCommand({
    TableName: "notes",
    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
    BillingMode: "PAY_PER_REQUEST",
  }));
  await dynamodb.send(new PutItemCommand({ TableName: "notes", Item: { id: { S: "1" } } }));
  const item = await dynamodb.send(
    new GetItemCommand({ TableName: "notes", Key: { id: { S: "1" } } }),
  );
  return {
    body: await got.Body.transformToString(),
    item: item.Item,
    endpoint: process.env.AWS_ENDPOINT_URL,
  };
};
"""


def test_the_aws_sdk_for_javascript_in_the_jail_uses_s3_and_dynamodb_on_moto(moto_server: str):
    import uuid

    account = str(uuid.uuid4().int)[:12]
    with EnvironmentPool(
        account_concurrency=2,
        services_handler=MotoForwarder(moto_server, account),
        services_environment=lambda spec: ROLE_ENVIRONMENT,
    ) as pool:
        result = pool.invoke(make_node_spec(NODE_SDK_HANDLER, timeout_s=30), {})
    assert result.status == "success", result.log
    assert result.payload == {
        "body": "hello",
        "item": {"id": {"S": "1"}},
        "endpoint": "http://127.0.0.1:4566",
    }
    assert {call["service"] for call in result.service_calls} == {"s3", "dynamodb"}


def test_a_node_handler_that_never_settles_still_ends_with_the_relay_listening(
    services_pool: EnvironmentPool,
):
    source = """
    export const handler = () => new Promise(() => {});
    """
    result = services_pool.invoke(make_node_spec(source, timeout_s=5), {})
    assert result.status == "success", result.log
    assert result.payload is None
