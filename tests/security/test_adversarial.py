"""Hostile handlers, run through the real jail. Each must be contained, leave the host unharmed,
and leave the function working (the next invocation succeeds)."""

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.engine import EnvironmentPool, FunctionSpec, InvocationResult
from sandbox.engine.pool import DEFAULT_UIDS
from tests.engine.support import make_spec

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = """
import ctypes, os, signal, socket, subprocess, sys, time

def handler(event, context):
    action = event["action"]
    if action == "ok":
        return "ok"
    return ACTIONS[action](event)

def fork_bomb(event):
    pids = 0
    try:
        while True:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            pids += 1
    except OSError as exc:
        return {"forked": pids, "error": exc.errno}

def memory_bomb(event):
    hog = []
    while True:
        hog.append(bytearray(16 * 1024 * 1024))

def cpu_loop(event):
    while True:
        pass

def ignore_sigterm(event):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(0.01)

def tmp_fill(event):
    written = 0
    try:
        with open("/tmp/fill", "wb") as f:
            while True:
                f.write(b"x" * (1 << 20))
                f.flush()
                written += 1
    except OSError as exc:
        return {"errno": exc.errno, "written_mb": written}

def huge_file(event):
    try:
        with open("/tmp/huge", "wb") as f:
            f.seek(700 * 1024 * 1024)
            f.write(b"x")
        return {"errno": None}
    except OSError as exc:
        return {"errno": exc.errno}

def tmp_size(event):
    return sum(os.path.getsize(os.path.join("/tmp", n)) for n in os.listdir("/tmp"))

def network(event):
    out = {"interfaces": [name for _, name in socket.if_nameindex()]}
    try:
        socket.create_connection(("127.0.0.1", event["port"]), timeout=0.5).close()
        out["loopback"] = "connected"
    except OSError as exc:
        out["loopback"] = exc.errno
    try:
        socket.getaddrinfo("example.com", 80)
        out["dns"] = "resolved"
    except OSError as exc:
        out["dns"] = str(exc)
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=0.5).close()
        out["internet"] = "connected"
    except OSError as exc:
        out["internet"] = exc.errno
    return out

def read_paths(event):
    out = {}
    for path in event["paths"]:
        try:
            with open(path, "rb") as f:
                out[path] = f.read(64).decode("latin-1")
        except OSError as exc:
            out[path] = exc.errno
    out["proc"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    out["root"] = sorted(os.listdir("/"))
    return out

def environ(event):
    return dict(os.environ)

def write_outside(event):
    out = {}
    paths = ["/var/task/app.py", "/var/task/new.py", "/usr/evil", "/evil", "/etc/x",
             "/dev/shm/x", "/dev/x"]
    for path in paths + ["/proc/sys/kernel/hostname"]:
        try:
            with open(path, "w") as f:
                f.write("pwned")
            out[path] = "written"
        except OSError as exc:
            out[path] = exc.errno
    return out

def daemon(event):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/usr/bin/sleep", ["sleep", event["marker"]])
        os._exit(0)
    os.wait()
    for _ in range(200):  # until the grandchild has exec'd (else it is frozen before exec)
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if event["marker"].encode() in open(f"/proc/{pid}/cmdline", "rb").read():
                    return "spawned"
            except OSError:
                pass
        time.sleep(0.005)
    return "not spawned"

def flood(event):
    line = "y" * 1023 + "\\n"
    while True:
        sys.stdout.write(line)

def kill_parent(event):
    results = {}
    for sig_target in [os.getppid(), 1]:
        try:
            os.kill(sig_target, signal.SIGKILL)
            results[str(sig_target)] = "sent"
        except OSError as exc:
            results[str(sig_target)] = exc.errno
    try:
        os.kill(-1, signal.SIGKILL)  # everything this user can reach, except itself
        results["all"] = "sent"
    except OSError as exc:
        results["all"] = exc.errno
    time.sleep(0.1)
    return results

def nested_userns(event):
    out = {}
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.unshare(0x10000000)  # CLONE_NEWUSER
    out["unshare"] = "allowed" if rc == 0 else ctypes.get_errno()
    try:
        r = subprocess.run(["/usr/bin/unshare", "-r", "id", "-u"], capture_output=True, timeout=2)
        out["unshare_cmd"] = r.returncode
    except (OSError, subprocess.SubprocessError) as exc:
        out["unshare_cmd"] = str(exc)
    return out

def ptrace(event):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    out = {}
    for pid in (1, os.getppid()):
        rc = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
        out[str(pid)] = ctypes.get_errno() if rc != 0 else "attached"
        if rc == 0:
            libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
    out["status"] = open("/proc/self/status").read()
    return out

def exit_now(event):
    print("bye")
    os._exit(3)

def segfault(event):
    ctypes.string_at(0)

ACTIONS = {name: fn for name, fn in globals().items() if callable(fn) and name != "handler"}
"""


@pytest.fixture
def hostile() -> FunctionSpec:
    """A fresh function per test, so one attack's leftovers never meet the next test."""
    return make_spec(HOSTILE, timeout_s=1)


def run(
    pool: EnvironmentPool, spec: FunctionSpec, action: str, **extra: object
) -> InvocationResult:
    return pool.invoke(spec, {"action": action, **extra})


def assert_recovers(pool: EnvironmentPool, spec: FunctionSpec) -> None:
    after = pool.invoke(spec, {"action": "ok"})
    assert after.status == "success", after.log
    assert after.payload == "ok"


def _host_pids() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


def test_fork_bomb_hits_the_process_cap(pool: EnvironmentPool, hostile: FunctionSpec):
    before = len(_host_pids())
    result = run(pool, hostile, "fork_bomb")
    assert result.status in ("success", "timeout", "out_of_memory")
    if result.status == "success":
        assert result.payload["forked"] < 1024
    assert len(_host_pids()) < before + 1100
    assert pool.invoke(make_spec("def handler(e, c):\n    return 1\n"), {}).status == "success"
    assert_recovers(pool, hostile)
    # A new version retires the environment; every forked child goes with it.
    pool.invoke(make_spec(HOSTILE + "\n# v2\n", namespace=hostile.namespace), {"action": "ok"})
    assert len(_host_pids()) < before + 20


def test_memory_bomb_is_killed_with_out_of_memory(pool: EnvironmentPool):
    spec = make_spec(HOSTILE, memory_mb=128, timeout_s=5)
    result = run(pool, spec, "memory_bomb")
    assert result.status == "out_of_memory"
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.OutOfMemory"
    assert result.max_memory_used_mb == 128
    assert "Error Type: Runtime.OutOfMemory" in result.log
    assert_recovers(pool, spec)


@pytest.mark.parametrize("action", ["cpu_loop", "ignore_sigterm"])
def test_runaway_handlers_time_out(pool: EnvironmentPool, hostile: FunctionSpec, action: str):
    result = run(pool, hostile, action)
    assert result.status == "timeout"
    assert result.environment_id not in {r["environment_id"] for r in pool.environments()}
    assert_recovers(pool, hostile)


def test_tmp_is_capped_by_its_quota_not_memory(pool: EnvironmentPool):
    # 128 MB of memory, 512 MB of /tmp: filling /tmp must end in ENOSPC, not OOM.
    spec = make_spec(HOSTILE, memory_mb=128, timeout_s=20)
    result = run(pool, spec, "tmp_fill")
    assert result.status == "success", result.log
    assert result.payload["errno"] == 28  # ENOSPC
    assert 500 <= result.payload["written_mb"] <= 512
    kept = pool.invoke(spec, {"action": "tmp_size"})
    assert kept.environment_id == result.environment_id and kept.payload > 500 * 1024 * 1024
    assert_recovers(pool, spec)


def test_one_huge_file_is_refused(pool: EnvironmentPool, hostile: FunctionSpec):
    result = run(pool, hostile, "huge_file")
    assert result.status == "success"
    assert result.payload["errno"] == 27  # EFBIG: RLIMIT_FSIZE is the /tmp size
    assert_recovers(pool, hostile)


@pytest.fixture
def host_listener() -> Iterator[tuple[int, list[str]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except OSError:
                continue
            accepted.append(str(addr))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_no_network(pool: EnvironmentPool, hostile: FunctionSpec, host_listener):
    port, accepted = host_listener
    socket.create_connection(("127.0.0.1", port), timeout=1).close()  # the listener works
    result = run(pool, hostile, "network", port=port)
    seen = result.payload
    assert seen["interfaces"] == ["lo"]
    assert seen["loopback"] != "connected"  # the jail's own loopback has no listener
    assert seen["dns"] != "resolved"
    assert seen["internet"] != "connected"
    assert len(accepted) == 1  # only the host's own probe
    assert_recovers(pool, hostile)


def test_host_files_processes_and_environment_are_invisible(
    pool: EnvironmentPool, hostile: FunctionSpec, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LAMBDALAB_HOST_SECRET", "s3cret")
    paths = [
        "/etc/passwd",
        "/etc/shadow",
        str(ROOT / "pyproject.toml"),
        str(ROOT / "db.sqlite3"),
        f"/proc/{os.getpid()}/environ",
        "/proc/1/environ",
        "/root/.bash_history",
    ]
    result = run(pool, hostile, "read_paths", paths=paths)
    seen = result.payload
    for path in paths:
        if path == "/proc/1/environ":
            continue
        assert isinstance(seen[path], int), f"{path} readable: {seen[path]!r}"
    assert "s3cret" not in str(seen)
    assert max(seen["proc"]) < 10  # only the jail's own pid namespace
    assert set(seen["root"]) <= {
        "bin",
        "dev",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "sbin",
        "tmp",
        "usr",
        "var",
    }
    env = run(pool, hostile, "environ").payload
    assert "LAMBDALAB_HOST_SECRET" not in env
    assert not any(key.startswith(("DJANGO", "DATABASE", "CELERY", "VIRTUAL_ENV")) for key in env)
    assert_recovers(pool, hostile)


def test_writing_outside_tmp_fails(pool: EnvironmentPool, hostile: FunctionSpec):
    seen = run(pool, hostile, "write_outside").payload
    assert set(seen) >= {"/dev/shm/x", "/etc/x", "/var/task/app.py"}
    assert all(value != "written" for value in seen.values()), seen
    assert_recovers(pool, hostile)


def _marker_processes(marker: str) -> list[int]:
    found = []
    for pid in _host_pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(pid)
    return found


def test_daemon_does_not_outlive_its_environment(pool: EnvironmentPool):
    spec = make_spec(HOSTILE)
    marker = "9" + str(int.from_bytes(os.urandom(3), "big")) + ".5"
    result = pool.invoke(spec, {"action": "daemon", "marker": marker})
    assert result.payload == "spawned"
    alive = _marker_processes(marker)
    assert alive, "the daemon should exist while its environment lives"
    for pid in alive:
        # The environment's own unprivileged host uid, never root or the worker's.
        assert os.stat(f"/proc/{pid}").st_uid in DEFAULT_UIDS
    # Changing the code retires the environment; the daemon must go with it.
    pool.invoke(make_spec(HOSTILE + "\n# v2\n", namespace=spec.namespace), {"action": "ok"})
    assert _marker_processes(marker) == []


def test_stdout_flood_is_capped(pool: EnvironmentPool, hostile: FunctionSpec):
    result = run(pool, hostile, "flood")
    assert result.status in ("crash", "timeout")
    assert len(result.log) < 2 * 1024 * 1024
    assert "[output truncated" in result.log
    assert_recovers(pool, hostile)


def test_killing_the_parent_and_everything_else(pool: EnvironmentPool, hostile: FunctionSpec):
    result = run(pool, hostile, "kill_parent")
    # The jail's init (pid 1 of its pid namespace) ignores signals from inside, and nothing
    # else is visible, so the runtime survives and nothing on the host is touched (other
    # processes of a busy host come and go, so only the ones a handler would aim at count).
    assert result.status == "success", result.log
    assert {os.getpid(), os.getppid(), 1} <= _host_pids()
    after = pool.invoke(hostile, {"action": "ok"})
    assert after.payload == "ok" and after.environment_id == result.environment_id


def test_nested_user_namespaces_are_blocked(pool: EnvironmentPool, hostile: FunctionSpec):
    seen = run(pool, hostile, "nested_userns").payload
    assert seen["unshare"] != "allowed"
    assert seen["unshare_cmd"] != 0
    assert_recovers(pool, hostile)


def test_ptrace_reaches_nothing_outside(pool: EnvironmentPool, hostile: FunctionSpec):
    seen = run(pool, hostile, "ptrace").payload
    status = seen["status"]
    assert "\nCapEff:\t0000000000000000" in status
    assert "\nUid:\t65534" in status
    # Only jail processes are visible to attach to; the host's pid 1 is not the jail's pid 1.
    assert_recovers(pool, hostile)


@pytest.mark.parametrize(
    ("action", "reason"),
    [("exit_now", "exit status 3"), ("segfault", "signal: segmentation fault")],
)
def test_runtime_exit_is_a_crash(
    pool: EnvironmentPool, hostile: FunctionSpec, action: str, reason: str
):
    result = run(pool, hostile, action)
    assert result.status == "crash"
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ExitError"
    assert result.error["errorMessage"].endswith(f"Runtime exited with error: {reason}")
    assert f"Error: Runtime exited with error: {reason}\nRuntime.ExitError" in result.log
    after = pool.invoke(hostile, {"action": "ok"})
    assert after.cold_start and after.payload == "ok"
