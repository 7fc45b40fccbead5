"""Lambda Lab's Python runtime interface client. Runs INSIDE the jail as /var/runtime/bootstrap.py.

Started as `python3.11 -I -S -B bootstrap.py RESP_FD` with the request pipe on stdin and the log
pipe on stdout/stderr. It only uses the standard library and imports little, because everything
imported here is paid for in every cold start.

Protocol (mirrors sandbox/engine/protocol.py; duplicated because nothing from the project is
visible inside the jail): each frame is an 8-byte header (meta length, data length; big-endian
uint32), a meta object and data bytes. Frames from the host are marshal (the host is trusted,
and marshal needs no import); frames to the host are JSON (the host never unmarshals what user
code could forge). JSON is written with the C encoder in _json directly: `import json` pulls in
`re` and costs ~10 ms of every cold start. logging is imported only when needed
for the same reason.
"""

# mypy: disallow-untyped-defs=False
# (Annotating this file would mean importing typing inside the jail, ~5 ms of every cold start.)

import _json
import marshal
import os
import resource
import struct
import sys
import time

HEADER = struct.Struct(">II")
MAX_RESPONSE_BYTES = 6_291_556  # Lambda's synchronous response limit
TASK_ROOT = "/var/task"
# boto3 and botocore, pinned and read-only, as Lambda ships them (scripts/install-python-sdk.py).
SDK_PATH = "/var/lang/lib/python3.11/site-packages"


def read_exact(fd, size):
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None, b""
    meta_len, data_len = HEADER.unpack(header)
    meta = read_exact(fd, meta_len)
    data = read_exact(fd, data_len) if data_len else b""
    if meta is None or data is None:
        return None, b""
    return marshal.loads(meta), data


def _not_serializable(value):
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


# Same output as json.dumps(value): ASCII, ", " and ": " separators, cycle check, NaN allowed.
_encode = _json.make_encoder(
    {}, _not_serializable, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True
)


def dumps(value):
    return "".join(_encode(value, 0))


def write_frame(fd, meta, data=b""):
    raw = dumps(meta).encode()
    view = memoryview(HEADER.pack(len(raw), len(data)) + raw + data)
    while view:
        view = view[os.write(fd, view) :]


class LambdaContext:
    """The context object Lambda passes to handlers (awslambdaric's LambdaContext)."""

    def __init__(self, init, meta):
        self.aws_request_id = meta["request_id"]
        self.function_name = init["function_name"]
        self.function_version = init["function_version"]
        # Per invoke: one warm environment serves every alias and version that points to it.
        self.invoked_function_arn = meta["invoked_function_arn"]
        # A string on Lambda too: the runtime copies it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
        self.memory_limit_in_mb = str(init["memory_mb"])
        self.log_group_name = init["log_group_name"]
        self.log_stream_name = init["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = meta["deadline_ms"]

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context=None,"
            f"identity=None])"
        )


def make_error(message, error_type, stack_trace, request_id=""):
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack_trace,
    }


def source_line(filename, lineno):
    try:
        with open(filename, encoding="utf-8", errors="replace") as source:
            for number, line in enumerate(source, 1):
                if number == lineno:
                    return line.strip()
    except OSError:
        pass
    return ""


def user_stack(tb):
    """The traceback without this file's leading frames, one string per frame as
    traceback.format_list writes them (the shape of Lambda's stackTrace).

    Walked by hand: importing traceback costs ~20 ms of CPU, which a 128 MB function's 7% share
    of a CPU would add (~300 ms) to the Duration of every failed invocation.
    """
    frames: list[str] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if frames or code.co_filename != __file__:
            line = source_line(code.co_filename, tb.tb_lineno)
            text = f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}\n'
            frames.append(text + (f"    {line}\n" if line else ""))
        tb = tb.tb_next
    return frames


def log_error(error):
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        for element in error["stackTrace"]:
            lines.extend(element.splitlines())
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def set_limits(limits):
    for name, value in limits.items():
        which = getattr(resource, name)
        resource.setrlimit(which, (value, value))


def load_handler(handler):
    """Import the handler's module (Lambda's INIT) and return the function, or an error dict."""
    modname, fname = handler.rsplit(".", 1)
    modname = modname.replace("/", ".")
    try:
        module = __import__(modname, fromlist=["_"])
    except ImportError as exc:
        return None, make_error(
            f"Unable to import module '{modname}': {exc}", "Runtime.ImportModuleError", []
        )
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {(exc.text or "").strip()}\n']
        return None, make_error(
            f"Syntax error in module '{modname}': {exc}", "Runtime.UserCodeSyntaxError", trace
        )
    except Exception as exc:
        return None, make_error(str(exc), type(exc).__name__, user_stack(exc.__traceback__))
    function = getattr(module, fname, None)
    if function is None:
        return None, make_error(
            f"Handler '{fname}' missing on module '{modname}'", "Runtime.HandlerNotFound", []
        )
    return function, None


def install_logging(state):
    """Give the root logger Lambda's line format ([LEVEL]\\ttime\\trequest id\\tmessage)."""
    import logging

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = state["request_id"]
            return True

    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.terminator = ""
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)


RELAY_ADDRESS = ("127.0.0.1", 4566)  # AWS_ENDPOINT_URL, set by the host


def start_relay(path):
    """Relay the jail's 127.0.0.1:4566 to the lab's services socket at `path`, byte for byte.

    The jail has no network: this is how boto3 (which honours AWS_ENDPOINT_URL) reaches the
    lab's services. It runs on threads of this process, started before the handler's module
    is imported; _socket and _thread rather than socket and threading, which would import
    enum, selectors and more (milliseconds of every cold start).
    """
    import _socket
    import _thread

    listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    listener.bind(RELAY_ADDRESS)
    listener.listen(64)

    def close_both(pair, lock, left):
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            for sock in pair:
                sock.close()

    def pump(src, dst, pair, lock, left, downstream):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        try:
            if downstream:
                # The host ended the connection: end the client's too, waking the other pump.
                for sock in pair:
                    sock.shutdown(_socket.SHUT_RDWR)
            else:
                dst.shutdown(_socket.SHUT_WR)
        except OSError:
            pass
        close_both(pair, lock, left)

    def accept():
        while True:
            try:
                fd, _ = listener._accept()  # type: ignore[attr-defined]
            except OSError:
                time.sleep(0.01)  # out of descriptors: let connections finish
                continue
            client = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM, 0, fd)
            client.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            upstream = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                upstream.connect(path)
            except OSError:
                client.close()
                upstream.close()
                continue
            pair, lock, left = (client, upstream), _thread.allocate_lock(), [2]
            _thread.start_new_thread(pump, (client, upstream, pair, lock, left, False))
            _thread.start_new_thread(pump, (upstream, client, pair, lock, left, True))

    _thread.start_new_thread(accept, ())


def main():
    resp_fd = int(sys.argv[1])
    # Move the protocol pipes to close-on-exec descriptors and give the handler a harmless stdin,
    # so user code (and processes it starts) cannot read the next event by accident.
    req_fd = os.dup(0)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    resp = os.dup(resp_fd)
    os.close(resp_fd)
    resp_fd = resp
    # Line-buffered output so prints reach the log even if the handler crashes later.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    write_frame(resp_fd, {"type": "up"})

    init, _ = read_frame(req_fd)
    if init is None:
        return 0
    # Lambda's variables and the function's own arrive here, not on any command line.
    os.environ.update(init["environment"])
    if init.get("services_socket"):
        start_relay(init["services_socket"])
    set_limits(init["rlimits"])
    sys.path.insert(0, TASK_ROOT)
    sys.path.append(SDK_PATH)
    os.chdir(TASK_ROOT)
    state = {"request_id": "", "logging": False}
    handler, error = load_handler(init["handler"])
    if error is not None:
        log_error(error)
        sys.stdout.flush()
        write_frame(resp_fd, {"type": "init_error"}, dumps(error).encode())
        return 0
    write_frame(resp_fd, {"type": "ready"})

    while True:
        meta, data = read_frame(req_fd)
        if meta is None:
            return 0
        request_id = meta["request_id"]
        state["request_id"] = request_id
        if not state["logging"] and "logging" in sys.modules:
            # Installed once the function uses logging (usually at import, during INIT).
            install_logging(state)
            state["logging"] = True
        os.environ["_X_AMZN_TRACE_ID"] = meta["trace_id"]
        context = LambdaContext(init, meta)
        ok = True
        started = time.perf_counter()
        try:
            result = handler(marshal.loads(data), context)
        except Exception as exc:
            ok = False
            error = make_error(
                str(exc), type(exc).__name__, user_stack(exc.__traceback__), request_id
            )
        handler_ms = (time.perf_counter() - started) * 1000
        if ok:
            try:
                body = dumps(result).encode()
            except (TypeError, ValueError) as exc:
                ok = False
                error = make_error(
                    f"Unable to marshal response: {exc}", "Runtime.MarshalError", [], request_id
                )
            else:
                if len(body) > MAX_RESPONSE_BYTES:
                    ok = False
                    error = make_error(
                        "Response payload size exceeded maximum allowed payload size "
                        f"({MAX_RESPONSE_BYTES} bytes).",
                        "Function.ResponseSizeTooLarge",
                        [],
                        request_id,
                    )
        if not ok:
            log_error(error)
            body = dumps(error).encode()
        sys.stdout.flush()
        sys.stderr.flush()
        usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        write_frame(
            resp_fd,
            {
                "type": "result",
                "request_id": request_id,
                "ok": ok,
                "handler_ms": handler_ms,
                "maxrss_kb": max(usage, children),
            },
            body,
        )


if __name__ == "__main__":
    sys.exit(main())
