"""The lab's AWS services as a handler reaches them: one Unix socket per environment.

The jail has no network but its own loopback. Each environment that may call the lab's
services gets a Unix socket, bound into the jail at JAIL_SOCKET; the runtime relays
`AWS_ENDPOINT_URL` (a port on the jail's own 127.0.0.1) to it byte for byte. On the host this
module reads HTTP/1.1 requests from those sockets and hands each, whole, to the pool's
services handler, a callable `ServiceRequest -> ServiceResponse` (the worker's goes to the
lab's gateway). The host side opens no connection of its own: whatever the jail sends ends in
that callable or in an error response, never on a host port.

Everything read from a socket is untrusted: request lines and headers are bounded and checked,
bodies are capped (Content-Length or chunked, never both), a request must arrive whole within
REQUEST_TIMEOUT_S, an idle keep-alive connection is closed after IDLE_TIMEOUT_S, and an
environment holds at most MAX_CONNECTIONS at once. One thread (the hub) accepts on every
environment's socket; each connection is served by a thread of its own, so a slow call of one
environment never holds up another's. Closing an environment's endpoint removes its socket and
ends its connections.
"""

from __future__ import annotations

import contextlib
import http
import os
import re
import selectors
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.engine.spec import FunctionSpec

# Where the socket appears inside the jail, and the port the runtime's relay listens on
# (LocalStack's, so that examples written for it read the same).
JAIL_SOCKET = "/var/runtime/lab-services.sock"
RELAY_PORT = 4566
ENDPOINT_URL = f"http://127.0.0.1:{RELAY_PORT}"

MAX_HEADER_BYTES = 64 * 1024  # request line and headers together
MAX_HEADERS = 128
MAX_BODY_BYTES = 16 * 1024 * 1024  # an S3 PutObject from a handler; bigger uploads are refused
MAX_CONNECTIONS = 16  # per environment (boto3 keeps up to 10 by default)
# Request bodies an environment may have buffered on the host at once, over all its connections:
# the worker's memory is not the environment's, so its cgroup does not bound this.
MAX_BUFFERED_BYTES = 2 * MAX_BODY_BYTES
MAX_CALLS = 1000  # calls recorded per invocation; the rest are counted, not kept
REQUEST_TIMEOUT_S = 30.0  # from a request's first byte to its last
IDLE_TIMEOUT_S = 60.0  # between requests on a kept-alive connection
SEND_TIMEOUT_S = 30.0

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_TARGET = re.compile(rb"^/[\x21-\x7e]*$")  # origin-form: a path (and query), visible ASCII
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_CONTROL = re.compile(r"[\r\n\x00]")
_CHUNK_SIZE = re.compile(rb"^([0-9A-Fa-f]{1,8})(?:;[^\r\n]*)?$")
# Hop-by-hop headers: they describe one connection, so they are neither passed on nor copied
# back from the handler's response (RFC 9110, section 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)


@dataclass(frozen=True)
class ServiceRequest:
    """One HTTP request a handler sent to the lab's services, as it arrived (hop-by-hop
    headers removed, a chunked body decoded), the function whose environment sent it, and the
    handle of the invocation it runs."""

    function: FunctionSpec
    environment_id: str
    method: str
    target: str  # path and query, as sent
    headers: tuple[tuple[str, str], ...]
    body: bytes
    # The handle the invocation running in the environment was started with (the pool sets
    # it; None when it has none).
    handle: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class ServiceResponse:
    """What the services handler answers. `call`, when given, is recorded on the invocation
    (service, operation, resource, outcome, status...; the engine adds `ms` and `offset_ms`)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    call: Mapping[str, Any] | None = None


ServicesHandler = Callable[[ServiceRequest], ServiceResponse]


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Closed(Exception):
    """The peer went away (or the endpoint closed) between requests."""


@dataclass
class _Calls:
    started: float = field(default_factory=time.monotonic)
    kept: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0


class Endpoint:
    """One environment's socket on the host, and the calls recorded through it."""

    def __init__(
        self, hub: ServicesHub, *, path: Path, spec: FunctionSpec, environment_id: str
    ) -> None:
        self.hub = hub
        self.path = path
        self.spec = spec
        self.environment_id = environment_id
        self.closed = False
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._calls = _Calls()
        self._buffered = 0

    def _reserve(self, size: int) -> None:
        """Count size more body bytes against the environment's buffer (503 when full)."""
        with self._lock:
            if self._buffered + size > MAX_BUFFERED_BYTES:
                raise _BadRequest(503, "too many large requests at once; try again")
            self._buffered += size

    def _unreserve(self, size: int) -> None:
        with self._lock:
            self._buffered -= size

    # -------------------------------------------------------------- call records

    def begin(self) -> None:
        """Start recording a new phase (INIT or an invocation): earlier calls are dropped."""
        with self._lock:
            self._calls = _Calls()

    def take_calls(self) -> list[dict[str, Any]]:
        """The calls recorded since begin(), oldest first (and a marker for dropped ones)."""
        with self._lock:
            calls, self._calls = self._calls, _Calls()
        kept = calls.kept
        if calls.dropped:
            kept.append({"outcome": "dropped", "count": calls.dropped})
        return kept

    def _record(self, call: Mapping[str, Any], started: float, ms: float) -> None:
        with self._lock:
            calls = self._calls
            if len(calls.kept) >= MAX_CALLS:
                calls.dropped += 1
                return
            record = dict(call)
            record.setdefault("ms", round(ms, 2))
            record["offset_ms"] = round(max(started - calls.started, 0.0) * 1000, 2)
            calls.kept.append(record)

    # -------------------------------------------------------------- connections

    def _adopt(self, conn: socket.socket) -> None:
        with self._lock:
            if self.closed or len(self._connections) >= MAX_CONNECTIONS:
                refuse = True
            else:
                refuse = False
                self._connections.add(conn)
                thread = threading.Thread(
                    target=self._serve,
                    args=(conn,),
                    name=f"lambdalab-services-{self.environment_id}",
                    daemon=True,
                )
                self._threads.add(thread)
        if refuse:
            with contextlib.suppress(OSError):
                conn.settimeout(1.0)
                conn.sendall(_error_response(503, "too many connections to the lab's services"))
            conn.close()
            return
        thread.start()

    def _serve(self, conn: socket.socket) -> None:
        reader = _Reader(conn)
        try:
            while not self.closed:
                self._unreserve(reader.reserved)
                reader.reserved = 0
                try:
                    request, keep_alive = _read_request(reader, self)
                except _Closed:
                    return
                except _BadRequest as exc:
                    self._record(
                        {"outcome": "error", "status": exc.status, "message": exc.reason},
                        time.monotonic(),
                        0.0,
                    )
                    with contextlib.suppress(OSError):
                        conn.settimeout(SEND_TIMEOUT_S)
                        conn.sendall(_error_response(exc.status, exc.reason))
                    return
                started = time.monotonic()
                response = self._call(request)
                ms = (time.monotonic() - started) * 1000
                if response.call is not None:
                    self._record(response.call, started, ms)
                conn.settimeout(SEND_TIMEOUT_S)
                conn.sendall(_encode_response(response, request.method, keep_alive))
                if not keep_alive:
                    return
        except OSError:
            return
        finally:
            self._unreserve(reader.reserved)
            with self._lock:
                self._connections.discard(conn)
                self._threads.discard(threading.current_thread())
            with contextlib.suppress(OSError):
                conn.close()

    def _call(self, request: ServiceRequest) -> ServiceResponse:
        try:
            return self.hub.handler(request)
        except Exception as exc:  # the handler's fault must not become the worker's
            return ServiceResponse(
                status=502,
                headers=(("Content-Type", "text/plain"),),
                body=b"The lab's services failed to answer this request.\n",
                call={"outcome": "error", "status": 502, "message": type(exc).__name__},
            )

    def close(self) -> None:
        """Remove the socket and end every connection (threads busy in the handler finish
        their call, then find the connection gone). Idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            connections = list(self._connections)
        self.hub._forget(self)
        with contextlib.suppress(OSError):
            self.path.unlink()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._threads)


class ServicesHub:
    """Accepts connections on every endpoint's socket (one thread for the pool)."""

    def __init__(self, handler: ServicesHandler) -> None:
        self.handler = handler
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._pending: list[tuple[str, socket.socket, Endpoint | None]] = []
        self._endpoints: dict[Endpoint, socket.socket] = {}
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="lambdalab-services", daemon=True)
        self._thread.start()

    def open(
        self, *, directory: Path, spec: FunctionSpec, environment_id: str, uid: int
    ) -> Endpoint:
        """A listening socket for one environment, in directory, that only host uid `uid`
        (the environment's own, or the launcher's) may connect to. Raises OSError."""
        path = directory / f"services-{environment_id}-{uuid.uuid4().hex[:8]}.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # Bound through the directory's descriptor: a socket's path is limited to 107 bytes,
            # and the pool's directory can be anywhere ($TMPDIR).
            dir_fd = os.open(directory, os.O_PATH | os.O_DIRECTORY)
            try:
                listener.bind(f"/proc/self/fd/{dir_fd}/{path.name}")
            finally:
                os.close(dir_fd)
            os.chmod(path, 0o600)
            if os.geteuid() == 0 and uid != 0:
                os.chown(path, uid, uid)
            listener.listen(MAX_CONNECTIONS)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        endpoint = Endpoint(self, path=path, spec=spec, environment_id=environment_id)
        with self._lock:
            if self._stopped:
                listener.close()
                path.unlink()
                raise OSError("the services hub has stopped")
            self._endpoints[endpoint] = listener
            self._pending.append(("add", listener, endpoint))
        self._wake()
        return endpoint

    def _forget(self, endpoint: Endpoint) -> None:
        with self._lock:
            listener = self._endpoints.pop(endpoint, None)
            if listener is not None:
                self._pending.append(("remove", listener, None))
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _loop(self) -> None:
        while True:
            with self._lock:
                pending, self._pending = self._pending, []
                stopped = self._stopped
            for action, listener, endpoint in pending:
                if action == "add":
                    self._selector.register(listener, selectors.EVENT_READ, endpoint)
                else:
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.unregister(listener)
                    listener.close()
            if stopped:
                return
            for key, _ in self._selector.select():
                if key.data is None:
                    with contextlib.suppress(OSError):
                        while self._wake_r.recv(4096):
                            pass
                    continue
                ready = key.fileobj
                if not isinstance(ready, socket.socket):
                    continue
                try:
                    conn, _ = ready.accept()
                except OSError:
                    continue
                conn.setblocking(True)
                key.data._adopt(conn)

    def endpoints(self) -> list[Endpoint]:
        with self._lock:
            return list(self._endpoints)

    def stop(self) -> None:
        """Close every endpoint and end the hub's thread. Idempotent."""
        for endpoint in self.endpoints():
            endpoint.close()
        with self._lock:
            self._stopped = True
        self._wake()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()


# ------------------------------------------------------------------ HTTP/1.1, bounded


class _Reader:
    """Buffered reads from a blocking socket, each bounded by a deadline."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = bytearray()
        self.deadline = 0.0
        self.reserved = 0  # body bytes of the current request counted against the endpoint

    def fill(self) -> bool:
        """Read more bytes before the deadline; False at end of stream."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.conn.settimeout(remaining)
        chunk = self.conn.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def line(self, limit: int) -> bytes:
        """One CRLF-terminated line (without it), of at most `limit` bytes."""
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 2]
                if len(line) > limit:
                    raise _BadRequest(431, "request header too large")
                return line
            if len(self.buffer) > limit:
                raise _BadRequest(431, "request header too large")
            if not self.fill():
                raise _BadRequest(400, "the request ended early")

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self.fill():
                raise _BadRequest(400, "the request body ended early")
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def _read_request(reader: _Reader, endpoint: Endpoint) -> tuple[ServiceRequest, bool]:
    """The next request on the connection and whether to keep the connection open."""
    reader.deadline = time.monotonic() + IDLE_TIMEOUT_S
    try:
        while not reader.buffer:
            if not reader.fill():
                raise _Closed
    except (TimeoutError, OSError):
        raise _Closed from None
    reader.deadline = time.monotonic() + REQUEST_TIMEOUT_S
    try:
        return _parse(reader, endpoint)
    except TimeoutError:
        raise _BadRequest(408, "the request did not arrive in time") from None


def _parse(reader: _Reader, endpoint: Endpoint) -> tuple[ServiceRequest, bool]:
    budget = MAX_HEADER_BYTES
    request_line = reader.line(budget)
    budget -= len(request_line) + 2
    parts = request_line.split(b" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not _TARGET.match(parts[1]):
        raise _BadRequest(400, "malformed request line")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise _BadRequest(505, "only HTTP/1.1 is spoken here")
    headers: list[tuple[str, str]] = []
    while True:
        line = reader.line(budget)
        budget -= len(line) + 2
        if budget < 0:
            raise _BadRequest(431, "request header too large")
        if not line:
            break
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name) or _BAD_VALUE.search(value):
            raise _BadRequest(400, "malformed header")
        if len(headers) >= MAX_HEADERS:
            raise _BadRequest(431, "too many headers")
        headers.append((name.decode("ascii"), value.strip(b" \t").decode("latin-1")))
    fields: dict[str, list[str]] = {}
    for key, text in headers:
        fields.setdefault(key.lower(), []).append(text)
    connection = {
        token.strip().lower()
        for value in fields.get("connection", [])
        for token in value.split(",")
    }
    keep_alive = "close" not in connection if version == b"HTTP/1.1" else "keep-alive" in connection
    encodings = fields.get("transfer-encoding")
    lengths = fields.get("content-length")
    if encodings is not None and lengths is not None:
        raise _BadRequest(400, "both Content-Length and Transfer-Encoding")
    continue_expected = any(v.lower() == "100-continue" for v in fields.get("expect", []))
    if encodings is not None:
        if [e.strip().lower() for v in encodings for e in v.split(",")] != ["chunked"]:
            raise _BadRequest(501, "unsupported transfer encoding")
        if continue_expected:
            reader.conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = _read_chunked(reader, endpoint)
    elif lengths is not None:
        if len(set(lengths)) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 12:
            raise _BadRequest(400, "invalid Content-Length")
        size = int(lengths[0])
        if size > MAX_BODY_BYTES:
            raise _BadRequest(413, f"request body over {MAX_BODY_BYTES} bytes")
        endpoint._reserve(size)
        reader.reserved += size
        if continue_expected and size:
            reader.conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = reader.exactly(size)
    else:
        body = b""
    passed = tuple((name, value) for name, value in headers if name.lower() not in HOP_BY_HOP)
    request = ServiceRequest(
        function=endpoint.spec,
        environment_id=endpoint.environment_id,
        method=method.decode("ascii"),
        target=target.decode("ascii"),
        headers=passed,
        body=body,
    )
    return request, keep_alive


def _read_chunked(reader: _Reader, endpoint: Endpoint) -> bytes:
    body = bytearray()
    while True:
        match = _CHUNK_SIZE.match(reader.line(1024))
        if match is None:
            raise _BadRequest(400, "malformed chunk")
        size = int(match[1], 16)
        if len(body) + size > MAX_BODY_BYTES:
            raise _BadRequest(413, f"request body over {MAX_BODY_BYTES} bytes")
        if size == 0:
            break
        endpoint._reserve(size)
        reader.reserved += size
        body += reader.exactly(size)
        if reader.exactly(2) != b"\r\n":
            raise _BadRequest(400, "malformed chunk")
    trailers = 0
    while reader.line(MAX_HEADER_BYTES):  # trailers are read and dropped
        trailers += 1
        if trailers > MAX_HEADERS:
            raise _BadRequest(431, "too many trailers")
    return bytes(body)


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _encode_response(response: ServiceResponse, method: str, keep_alive: bool) -> bytes:
    status = response.status if 100 <= response.status <= 599 else 502
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    upstream_length = None
    for name, value in response.headers:
        lowered = name.lower()
        if lowered == "content-length":
            upstream_length = value
            continue
        if lowered in HOP_BY_HOP or not _TOKEN.match(name.encode("latin-1", "replace")):
            continue
        lines.append(f"{name}: {_CONTROL.sub(' ', value)}")
    body = response.body
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        # No body, but a HEAD answer says how long the body would be (S3's HeadObject).
        if method == "HEAD" and upstream_length is not None and upstream_length.isdigit():
            lines.append(f"Content-Length: {upstream_length}")
        body = b""
    else:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1", "replace") + body


def _error_response(status: int, reason: str) -> bytes:
    body = f"{reason}\n".encode()
    return (
        f"HTTP/1.1 {status} {_reason(status)}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
