"""Nothing leaks, nothing read back from the jail is trusted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.engine import EnvironmentPool, JailUnavailable, jail
from sandbox.engine.protocol import MAX_JSON_DEPTH, json_depth, loads_bounded
from tests.engine.support import TRIVIAL, make_spec


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def own_pool() -> Iterator[EnvironmentPool]:
    pool = EnvironmentPool(account_concurrency=10, keep_alive_s=600)
    yield pool
    pool.shutdown()


def test_a_failed_jail_start_leaks_nothing(
    own_pool: EnvironmentPool, monkeypatch: pytest.MonkeyPatch
):
    def no_bwrap() -> str:
        raise JailUnavailable("bubblewrap is not installed")

    monkeypatch.setattr(jail, "find_bwrap", no_bwrap)
    spec = make_spec(TRIVIAL)
    own_pool.stats()
    before = _open_fds()
    for _ in range(5):
        with pytest.raises(JailUnavailable):
            own_pool.invoke(spec, {})
    own_pool.stats()  # the books (and the uids' lock files) are brought up to date
    assert _open_fds() == before
    leftovers = [p for d in own_pool._cgroups.dirs.values() for p in d.iterdir() if p.is_dir()]
    assert leftovers == []
    assert own_pool.stats()["memory_committed_mb"] == 0


def test_a_discarded_environment_is_gone_when_the_result_returns(pool: EnvironmentPool):
    spec = make_spec(
        """
        import os, time
        def handler(event, context):
            for _ in range(200):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
            time.sleep(60)
        """,
        timeout_s=2,
    )
    result = pool.invoke(spec, {})
    assert result.status == "timeout"
    uid = int(result.limits["uid"].rsplit("-", 1)[1])
    survivors = [pid for pid in os.listdir("/proc") if pid.isdigit() and _owner(pid) == uid]
    assert survivors == []


def _owner(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def test_environment_variables_never_appear_on_a_command_line(pool: EnvironmentPool):
    secret = "s3cr3t-" + os.urandom(6).hex()
    spec = make_spec(
        """
        import os
        def handler(event, context):
            own = open("/proc/1/cmdline", "rb").read().decode(errors="replace")
            return {"secret": os.environ["MY_SECRET"], "pid1": own}
        """,
        environment={"MY_SECRET": secret},
    )
    result = pool.invoke(spec, {})
    assert result.status == "success", result.log
    assert result.payload["secret"] == secret
    # Inside: pid 1 shows neither host paths nor the worker's identity.
    pid1 = result.payload["pid1"]
    assert "/tmp/" not in pid1 and "lambdalab-" not in pid1 and str(os.getpid()) not in pid1
    # Outside: no process on the host shows the secret (the environment is still alive).
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            assert secret.encode() not in cmdline


FORGER = """
import json, os, struct

def frame(meta, data=b""):
    raw = json.dumps(meta).encode()
    return struct.pack(">II", len(raw), len(data)) + raw + data

def response_fd():
    # The runtime's response pipe: the one write-only pipe besides stdout and stderr.
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and os.readlink(f"/proc/self/fd/{name}").startswith("pipe:"):
            flags = open(f"/proc/self/fdinfo/{name}").read().split("flags:")[1].split()[0]
            if int(flags, 8) & 0o3 == 1:
                return fd

def handler(event, context):
    fd = response_fd()
    meta = {"type": "result", "request_id": context.aws_request_id, "ok": event["ok"],
            "handler_ms": event.get("ms", 1.0), "maxrss_kb": 976562500 * 1024}
    os.write(fd, frame(meta, event["body"].encode()))
    import time; time.sleep(0.5)
    return "unreachable"
"""


@pytest.mark.parametrize(
    "event",
    [
        {"ok": True, "body": "not json"},
        {"ok": True, "body": "[" * 5000 + "]" * 5000},
        {"ok": False, "body": '"not an error object"'},
        {"ok": "yes", "body": "1"},
    ],
    ids=["invalid-json", "deeply-nested", "bad-error", "bad-ok"],
)
def test_forged_or_malformed_frames_are_a_crash_of_that_invocation(
    pool: EnvironmentPool, event: dict[str, object]
):
    spec = make_spec(FORGER, timeout_s=3)
    result = pool.invoke(spec, event)
    assert result.status == "crash", result.log
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ExitError"
    assert result.max_memory_used_mb <= spec.memory_mb
    assert pool.invoke(spec.__class__(**_same(spec, TRIVIAL)), {}).status == "success"


def test_a_forged_memory_figure_is_not_believed(pool: EnvironmentPool):
    spec = make_spec(FORGER, timeout_s=3)
    result = pool.invoke(spec, {"ok": True, "body": '"forged"', "ms": 10**9})
    assert result.status == "success"
    assert result.payload == "forged"
    assert result.max_memory_used_mb <= spec.memory_mb
    assert f"Max Memory Used: {result.max_memory_used_mb} MB" in result.log
    assert result.handler_duration_ms is None  # the forged 10^9 ms is out of bounds


def _same(spec, source: str) -> dict[str, object]:
    return {
        "name": spec.name,
        "handler": spec.handler,
        "code": {"app.py": source},
        "namespace": spec.namespace,
        "memory_mb": spec.memory_mb,
    }


def test_deeply_nested_events_are_refused_clearly(pool: EnvironmentPool):
    deep: object = []
    for _ in range(MAX_JSON_DEPTH + 1):
        deep = [deep]
    result = pool.invoke(make_spec(TRIVIAL), deep)
    assert result.status == "error"
    assert result.error is not None
    assert result.error["errorType"] == "InvalidRequestContentException"
    assert "nested" in result.error["errorMessage"]


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth(b'{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert json_depth(b'"\\"[["') == 0
    with pytest.raises(ValueError, match="nested"):
        loads_bounded("[" * 300 + "]" * 300)
    assert loads_bounded("[[1]]") == [[1]]


def test_code_directories_go_with_their_last_environment(own_pool: EnvironmentPool):
    first = make_spec(TRIVIAL)
    assert own_pool.invoke(first, {}).status == "success"
    workspace = own_pool._workspace.root
    assert len(list(workspace.glob("code-*"))) == 1
    # A new version retires the old environment; its code directory goes with it.
    second = make_spec(TRIVIAL + "\n# v2\n", namespace=first.namespace)
    assert own_pool.invoke(second, {}).status == "success"
    own_pool.stats()  # the books are brought up to date on every look
    assert [p.name for p in workspace.glob("code-*")] == [f"code-{second.code_sha256[:32]}"]
    own_pool.retire(first.namespace, first.name)
    own_pool.stats()
    assert list(workspace.glob("code-*")) == []
