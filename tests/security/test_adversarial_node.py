"""Hostile Node.js handlers, run through the real jail. Like the Python ones, each must be
contained, leave the host unharmed, and leave the function working."""

import os
import socket
import threading
from collections.abc import Iterator

import pytest

from sandbox.engine import EnvironmentPool, FunctionSpec, InvocationResult
from tests.engine.support import make_node_spec

HOSTILE = """
import fs from "node:fs";
import net from "node:net";
import dns from "node:dns/promises";
import os from "node:os";
import { spawn, spawnSync } from "node:child_process";
import { Worker } from "node:worker_threads";

const errno = (err) => err.code ?? String(err);

const ACTIONS = {
  ok: async () => "ok",

  spawn_bomb: async () => {
    // Children that stay alive, until the process cap says no.
    let spawned = 0;
    for (let i = 0; i < 3000; i++) {
      const child = spawn("/usr/bin/sleep", ["30"], { stdio: "ignore" });
      const failed = await new Promise((resolve) => {
        child.once("spawn", () => resolve(null));
        child.once("error", (err) => resolve(err));
      });
      if (failed) return { spawned, error: errno(failed) };
      spawned += 1;
    }
    return { spawned, error: null };
  },

  worker_bomb: async () => {
    // Each worker is a thread with its own V8 heap: threads and memory both run out.
    const workers = [];
    try {
      for (let i = 0; i < 2000; i++) {
        workers.push(new Worker("setInterval(() => {}, 1000)", { eval: true }));
      }
    } catch (err) {
      return { workers: workers.length, error: errno(err) };
    }
    await new Promise((resolve) => setTimeout(resolve, 20000));
    return { workers: workers.length, error: null };
  },

  cpu_loop: async () => {
    for (;;) {}
  },

  environ: async (event) => ({
    env: { ...process.env },
    host: (() => {
      try {
        return fs.readFileSync(`/proc/${event.host_pid}/environ`, "latin1");
      } catch (err) {
        return errno(err);
      }
    })(),
    init: (() => {
      try {
        return fs.readFileSync("/proc/1/environ", "latin1");
      } catch (err) {
        return errno(err);
      }
    })(),
  }),

  read_paths: async (event) => {
    const out = {};
    for (const path of event.paths) {
      try {
        out[path] = fs.readFileSync(path, "latin1").slice(0, 64);
      } catch (err) {
        out[path] = errno(err);
      }
    }
    out.proc = fs.readdirSync("/proc").filter((name) => /^\\d+$/.test(name)).map(Number);
    out.root = fs.readdirSync("/").sort();
    return out;
  },

  network: async (event) => {
    const out = { interfaces: Object.keys(os.networkInterfaces()) };
    out.loopback = await new Promise((resolve) => {
      const socket = net.connect(event.port, "127.0.0.1");
      socket.once("connect", () => { socket.destroy(); resolve("connected"); });
      socket.once("error", (err) => resolve(errno(err)));
    });
    try {
      await dns.lookup("example.com");
      out.dns = "resolved";
    } catch (err) {
      out.dns = errno(err);
    }
    out.internet = await new Promise((resolve) => {
      const socket = net.connect(53, "1.1.1.1");
      socket.setTimeout(500, () => { socket.destroy(); resolve("timeout"); });
      socket.once("connect", () => { socket.destroy(); resolve("connected"); });
      socket.once("error", (err) => resolve(errno(err)));
    });
    return out;
  },

  write_outside: async () => {
    const out = {};
    for (const path of ["/var/task/index.mjs", "/var/lang/bin/node", "/var/runtime/x",
                        "/var/runtime/node_modules/x", "/usr/evil", "/evil", "/dev/shm/x"]) {
      try {
        fs.writeFileSync(path, "pwned");
        out[path] = "written";
      } catch (err) {
        out[path] = errno(err);
      }
    }
    return out;
  },

  tmp_fill: async () => {
    const chunk = Buffer.alloc(1 << 20, 120);
    const fd = fs.openSync("/tmp/fill", "w");
    let written = 0;
    try {
      for (;;) {
        fs.writeSync(fd, chunk);
        written += 1;
      }
    } catch (err) {
      return { error: errno(err), written_mb: written };
    } finally {
      fs.closeSync(fd);
    }
  },

  tmp_size: async () =>
    fs.readdirSync("/tmp").reduce((n, f) => n + fs.statSync(`/tmp/${f}`).size, 0),

  stdin_child: async () => {
    // A child with stdio "inherit" gets the request pipe as its stdin.
    const result = spawnSync("/usr/bin/timeout", ["0.2", "/usr/bin/cat"], { stdio: "inherit" });
    return result.status;
  },
};

export const handler = async (event) => ACTIONS[event.action](event);
"""


@pytest.fixture
def hostile() -> FunctionSpec:
    """A fresh function per test, so one attack's leftovers never meet the next test."""
    return make_node_spec(HOSTILE, timeout_s=2, memory_mb=512)


def run(
    pool: EnvironmentPool, spec: FunctionSpec, action: str, **extra: object
) -> InvocationResult:
    return pool.invoke(spec, {"action": action, **extra})


def assert_recovers(pool: EnvironmentPool, spec: FunctionSpec) -> None:
    after = pool.invoke(spec, {"action": "ok"})
    assert after.status == "success", after.log
    assert after.payload == "ok"


def test_child_process_spawn_bomb_hits_the_process_cap(pool: EnvironmentPool):
    # A full vCPU and time to spare, so the bomb reaches the cap even on a busy machine
    # (about 8 s idle: each spawn is a fork of Node.js).
    hostile = make_node_spec(HOSTILE, timeout_s=60, memory_mb=1769)
    result = run(pool, hostile, "spawn_bomb")
    assert result.status == "success", result.log
    assert result.payload["error"] == "EAGAIN", result.payload
    # Node's own threads count against the cap (1,024 tasks) too.
    assert 900 < result.payload["spawned"] < 1024
    assert_recovers(pool, hostile)


def test_worker_threads_bomb_is_contained(pool: EnvironmentPool):
    hostile = make_node_spec(HOSTILE, timeout_s=4, memory_mb=1769)
    result = run(pool, hostile, "worker_bomb")
    # Every worker is a thread with its own V8 heap: the function runs out of threads, memory
    # or time, never the host's; and its environment is discarded.
    assert result.status in ("timeout", "out_of_memory", "crash"), result.log
    after = pool.invoke(hostile, {"action": "ok"})
    assert after.payload == "ok" and after.cold_start


def test_cpu_loop_times_out(pool: EnvironmentPool, hostile: FunctionSpec):
    result = run(pool, hostile, "cpu_loop")
    assert result.status == "timeout"
    assert_recovers(pool, hostile)


def test_process_env_holds_no_host_environment(
    pool: EnvironmentPool, hostile: FunctionSpec, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LAMBDALAB_HOST_SECRET", "s3cret")
    seen = run(pool, hostile, "environ", host_pid=os.getpid()).payload
    env = seen["env"]
    assert "LAMBDALAB_HOST_SECRET" not in env
    assert "s3cret" not in str(seen)
    assert not any(key.startswith(("DJANGO", "DATABASE", "CELERY", "VIRTUAL_ENV")) for key in env)
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs24.x"
    assert seen["host"] == "ENOENT"  # the host's processes are not in the jail's /proc
    assert_recovers(pool, hostile)


def test_host_files_and_processes_are_invisible(pool: EnvironmentPool, hostile: FunctionSpec):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = ["/etc/passwd", "/etc/shadow", f"{root}/pyproject.toml", "/root/.bash_history"]
    seen = run(pool, hostile, "read_paths", paths=paths).payload
    for path in paths:
        assert seen[path] == "ENOENT", f"{path} readable: {seen[path]!r}"
    assert max(seen["proc"]) < 10
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
    assert_recovers(pool, hostile)


@pytest.fixture
def host_listener() -> Iterator[tuple[int, list[object]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_no_network(pool: EnvironmentPool, hostile: FunctionSpec, host_listener):
    port, accepted = host_listener
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    seen = run(pool, hostile, "network", port=port).payload
    assert seen["interfaces"] == ["lo"]
    assert seen["loopback"] != "connected"
    assert seen["dns"] != "resolved"
    assert seen["internet"] != "connected"
    assert len(accepted) == 1
    assert_recovers(pool, hostile)


def test_runtime_code_and_sdk_are_read_only(pool: EnvironmentPool, hostile: FunctionSpec):
    seen = run(pool, hostile, "write_outside").payload
    assert "written" not in seen.values(), seen
    assert_recovers(pool, hostile)


def test_tmp_quota_holds_and_survives_warm_invocations(pool: EnvironmentPool):
    hostile = make_node_spec(HOSTILE, timeout_s=10, memory_mb=1769)
    filled = run(pool, hostile, "tmp_fill")
    assert filled.status == "success", filled.log
    assert filled.payload["error"] == "ENOSPC"
    assert 500 <= filled.payload["written_mb"] <= 512
    size = run(pool, hostile, "tmp_size")
    assert size.environment_id == filled.environment_id
    assert size.payload >= 500 * 1024 * 1024


def test_a_child_reading_inherited_stdin_cannot_hang_the_environment(
    pool: EnvironmentPool, hostile: FunctionSpec
):
    result = run(pool, hostile, "stdin_child")
    assert result.status in ("success", "timeout"), result.log
    assert_recovers(pool, hostile)
