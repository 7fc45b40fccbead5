"""ExecutionEnvironment: one jailed, long-lived runtime process and the host side that drives it.

The host talks to the runtime over three pipes: requests (the runtime's stdin), responses (a
separate fd, so user output can never be mistaken for a frame) and the log (the runtime's
stdout and stderr, read incrementally and capped). One poll loop per call waits on the
response pipe, the log pipe and a pidfd of the jail, with the invocation's deadline as timeout.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.engine import jail, seccomp
from sandbox.engine.cgroups import EnvCgroup
from sandbox.engine.protocol import (
    Frame,
    FrameReader,
    ProtocolError,
    encode_event,
    encode_request,
    loads_bounded,
)
from sandbox.engine.runtimes import RUNTIMES
from sandbox.engine.services import ENDPOINT_URL, JAIL_SOCKET, Endpoint, ServicesHub
from sandbox.engine.spawner import Spawner
from sandbox.engine.spec import REGION, FunctionSpec

INIT_TIMEOUT_S = 10.0  # Lambda's INIT phase limit
LOG_KEEP_BYTES = 1024 * 1024  # output kept per invocation; the rest is dropped with a marker
LOG_KILL_BYTES = 16 * 1024 * 1024  # output past this kills the environment (a flood)
MEMORY_POLL_S = 0.005  # how often anonymous memory is checked while code runs
NOFILE = 1024  # Lambda's open file limit

_SIGNAL_NAMES = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
}


@dataclass
class Outcome:
    """What happened during one phase (INIT or an invocation), before it becomes a result."""

    status: str  # success, error, timeout, out_of_memory, crash
    output: str
    started_at: float
    ended_at: float
    duration_ms: float
    body: bytes = b""
    payload: Any = None  # the response, parsed (and bounded) on success
    error: dict[str, Any] | None = None
    handler_ms: float | None = None
    exit_reason: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    # The calls the phase made to the lab's AWS services (services.Endpoint records them).
    calls: list[dict[str, Any]] = field(default_factory=list)


class _Exit(Exception):
    """Internal: the wait loop ended without a frame."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # timeout, exited, oom, flood, protocol


class ExecutionEnvironment:
    """A jailed runtime for one function version. Not thread-safe: the pool lends it to one
    thread at a time."""

    def __init__(
        self,
        *,
        spec: FunctionSpec,
        code_dir: Path,
        bootstrap: Path,
        cgroup: EnvCgroup,
        spawner: Spawner,
        provisioned: bool = False,
        uid: int = jail.SANDBOX_UID,
        services: ServicesHub | None = None,
        services_environment: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.uid = uid  # the host uid the jail runs as (one per live environment, as root)
        self.id = uuid.uuid4().hex[:12]
        self.provisioned = provisioned
        self.code_dir = code_dir
        self.bootstrap = bootstrap
        self.cgroup = cgroup
        self._spawner = spawner
        self.limits: dict[str, str] = {}
        self.born = self.last_used = time.monotonic()
        self.invocations = 0
        self.frozen = False
        self.dead = False
        self.released = False  # set once kill() has finished: nothing of it is left
        self.max_memory_mb = 0
        self.log_stream = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{spec.version}]{self.id}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._pidfd = -1
        self._req = self._resp = self._log = -1
        self._reader = FrameReader()
        self._out = bytearray()
        self._out_total = 0
        self._pending = b""
        self._poller = select.poll()
        self._killed_for_memory = False
        # The lab's AWS services: a socket of its own when the pool has a services handler,
        # and the variables that reach them (the role's credentials).
        self._services = services
        self._services_environment = dict(services_environment or {})
        self._endpoint: Endpoint | None = None
        # Set by stop() from another thread: what ran was ended from outside, for this reason.
        self.stop_reason = ""

    # ----------------------------------------------------------------- lifecycle

    def start(self, init_timeout_s: float = INIT_TIMEOUT_S) -> Outcome:
        """Spawn the jail and run INIT (import the handler's module).

        Returns the INIT outcome (status success or the init error). Raises JailUnavailable if
        the jail itself could not be built; the environment is then already cleaned up (every
        descriptor closed, its cgroup removed).
        """
        with contextlib.ExitStack() as on_failure:
            on_failure.callback(self.kill)
            self._create_cgroup()
            self._open_services()
            rlimits = self._rlimits()
            init_started = time.time()
            t0 = time.perf_counter()
            self._spawn(rlimits)
            deadline = time.monotonic() + init_timeout_s
            self._await_runtime(rlimits, deadline)
            on_failure.pop_all()
        return self._await_init(init_started, t0, deadline, init_timeout_s)

    def _open_services(self) -> None:
        if self._services is None:
            return
        try:
            self._endpoint = self._services.open(
                directory=self.code_dir.parent,
                spec=self.spec,
                environment_id=self.id,
                uid=self.uid,
            )
        except OSError as exc:
            raise jail.JailUnavailable(f"cannot open the lab's services socket: {exc}") from exc

    def _take_calls(self) -> list[dict[str, Any]]:
        return self._endpoint.take_calls() if self._endpoint is not None else []

    def _create_cgroup(self) -> None:
        spec = self.spec
        cg = self.cgroup.dirs
        try:
            # /tmp pages are charged to this cgroup, so its hard limit is memory + /tmp; the
            # function's own memory limit is enforced on anonymous memory by _over_memory(), in
            # INIT as in invocations (a frozen environment allocates nothing).
            self.cgroup.create(
                memory_limit_mb=spec.memory_mb + spec.ephemeral_storage_mb,
                cpu_mb=spec.memory_mb,
            )
        except OSError as exc:
            raise jail.JailUnavailable(f"cannot set up cgroups for the environment: {exc}") from exc
        version = self.cgroup.version or "v1"
        self.limits = {
            "memory": f"cgroup-{version}" if "memory" in cg else "rlimit-as",
            "processes": f"cgroup-{version}" if "pids" in cg else "rlimit-nproc",
            "cpu": f"cgroup-{version}-quota-and-weight" if "cpu" in cg else "none",
            "freeze": f"cgroup-{version}-freezer" if "freezer" in cg else "sigstop",
            "tmp": "tmpfs-size",
            "open_files": "rlimit-nofile",
            "uid": f"host-uid-{self.uid}" if os.geteuid() == 0 else "launcher-uid",
        }

    def _rlimits(self) -> dict[str, int]:
        spec = self.spec
        cg = self.cgroup.dirs
        rlimits: dict[str, int] = {
            "RLIMIT_NOFILE": NOFILE,
            "RLIMIT_CORE": 0,
            # No file can be bigger than /tmp (sparse files included). One MB of slack so that
            # filling /tmp with one file still ends in ENOSPC, as on Lambda, not EFBIG.
            "RLIMIT_FSIZE": (spec.ephemeral_storage_mb + 1) * 1024 * 1024,
        }
        if "memory" not in cg:
            # Address space is a coarse stand-in for a memory cgroup; the slack covers the
            # interpreter's mappings that are never touched.
            rlimits["RLIMIT_AS"] = (spec.memory_mb + 256) * 1024 * 1024
        if "pids" not in cg:
            # Counts every process of the environment's own host uid (one uid per environment
            # as root), so one environment's fork bomb cannot use up another's.
            rlimits["RLIMIT_NPROC"] = 1024
        return rlimits

    def _spawn(self, rlimits: dict[str, int]) -> None:
        """Start bwrap with the runtime; the jail-side descriptors are closed whatever happens."""
        # Interpreter flags that depend on the function (Node.js: heap size and rlimits).
        runtime = RUNTIMES[self.spec.runtime].configured(
            memory_mb=self.spec.memory_mb, rlimits=rlimits
        )
        with contextlib.ExitStack() as child_fds:
            try:
                filter_fd = seccomp.filter_fd()
            except OSError as exc:
                raise jail.JailUnavailable(f"cannot load the seccomp filter: {exc}") from exc
            child_fds.callback(os.close, filter_fd)
            req_r, self._req = os.pipe()
            child_fds.callback(os.close, req_r)
            self._resp, resp_w = os.pipe()
            child_fds.callback(os.close, resp_w)
            self._log, log_w = os.pipe()
            child_fds.callback(os.close, log_w)
            bwrap_args = jail.bwrap_argv(
                runtime=runtime,
                code_dir=self.code_dir,
                bootstrap=self.bootstrap,
                tmp_mb=self.spec.ephemeral_storage_mb,
                resp_fd=resp_w,
                seccomp_fd=filter_fd,
                hostname="localhost",
                services_socket=self._endpoint.path if self._endpoint is not None else None,
            )
            # bwrap reads its arguments from a memfd, so neither host users (ps) nor the jail
            # (/proc/1/cmdline) see the host paths, the pool's name or anything else in them.
            args_fd = jail.args_memfd(bwrap_args)
            child_fds.callback(os.close, args_fd)
            argv = jail.launch_argv(
                cgroup_procs=self.cgroup.procs_files(),
                uid=self.uid,
                jail=[
                    jail.find_bwrap(),
                    "--args",
                    str(args_fd),
                    *jail.command_argv(runtime, resp_w),
                ],
            )
            try:
                self._proc = self._spawner.popen(
                    argv,
                    stdin=req_r,
                    stdout=log_w,
                    stderr=log_w,
                    pass_fds=(resp_w, filter_fd, args_fd),
                    env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
                    close_fds=True,
                )
            except OSError as exc:
                raise jail.JailUnavailable(f"cannot start the jail: {exc}") from exc
        self._pidfd = os.pidfd_open(self._proc.pid)
        for fd in (self._req, self._resp, self._log):
            os.set_blocking(fd, False)
        self._poller.register(self._resp, select.POLLIN)
        self._poller.register(self._log, select.POLLIN)
        self._poller.register(self._pidfd, select.POLLIN)

    def _await_runtime(self, rlimits: dict[str, int], deadline: float) -> None:
        """Wait for the runtime to report in, then send it the INIT request."""
        try:
            first = self._wait(deadline)
        except _Exit as exc:
            output = self._take_output()
            if exc.kind == "timeout":
                raise jail.JailUnavailable("the jail did not start within the INIT limit") from None
            raise jail.JailUnavailable(
                f"the jail failed to start: {output.strip()[:500] or exc.kind}"
            ) from None
        if first.meta.get("type") != "up":
            raise jail.JailUnavailable("the runtime did not report in")
        runtime = RUNTIMES[self.spec.runtime]
        spec = self.spec
        if self._endpoint is not None:
            self._endpoint.begin()
        self._send(
            encode_request(
                {
                    "type": "init",
                    "handler": spec.handler,
                    "function_name": spec.name,
                    "function_version": spec.version,
                    "memory_mb": spec.memory_mb,
                    "log_group_name": f"/aws/lambda/{spec.name}",
                    "log_stream_name": self.log_stream,
                    "rlimits": rlimits,
                    # Where the runtime's relay to the lab's services connects (none: no relay).
                    "services_socket": JAIL_SOCKET if self._endpoint is not None else "",
                    # The function's environment travels in this frame, never on a command line.
                    "environment": self._environment(runtime.execution_env, runtime.path_env),
                }
            )
        )

    def _await_init(
        self, init_started: float, t0: float, deadline: float, init_timeout_s: float
    ) -> Outcome:
        outcome = self._init_outcome(init_started, t0, deadline, init_timeout_s)
        outcome.calls = self._take_calls()
        return outcome

    def _init_outcome(
        self, init_started: float, t0: float, deadline: float, init_timeout_s: float
    ) -> Outcome:
        try:
            frame = self._wait(deadline, watch_memory=True)
        except _Exit as exc:
            return self._failed(exc.kind, init_started, t0, timeout_s=init_timeout_s)
        ended = time.time()
        duration = (time.perf_counter() - t0) * 1000
        output = self._take_output()
        self._sample_memory()
        if frame.meta.get("type") == "ready":
            self.freeze()
            return Outcome("success", output, init_started, ended, duration)
        error = None
        if frame.meta.get("type") == "init_error":
            error = _error_from_runtime(frame.data)
        self.kill()  # Lambda retries INIT on the next invocation: this environment is done.
        return Outcome(
            "error", output, init_started, ended, duration, error=error or _protocol_error()
        )

    def _environment(self, execution_env: str, path_env: str) -> dict[str, str]:
        spec = self.spec
        env = {
            # Lambda's reserved variables first: the spec cannot contain these keys.
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": (
                "provisioned-concurrency" if self.provisioned else "on-demand"
            ),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EXECUTION_ENV": execution_env,
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": jail.TASK_ROOT,
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": path_env,
            "HOME": "/tmp",
        }
        if self._endpoint is not None:
            # The SDKs (boto3/botocore, the AWS SDK for JavaScript v3) send every call here.
            env["AWS_ENDPOINT_URL"] = ENDPOINT_URL
        env.update(spec.environment)
        if self._endpoint is not None:
            # The execution role's credentials, as Lambda sets them (reserved: no spec has them).
            env.update(self._services_environment)
        return env

    def invoke(
        self,
        *,
        request_id: str,
        event: bytes,
        trace_id: str,
        budget_s: float | None = None,
        invoked_arn: str = "",
    ) -> Outcome:
        """Run one event through the handler. Never raises for user-code problems.

        invoked_arn is the ARN the invocation was made through (the handler's
        context.invoked_function_arn; default: the unqualified ARN). It travels with each
        invoke, not with INIT, because one warm environment serves $LATEST, a version and the
        aliases that point to it alike.

        budget_s (default: the function's timeout) is the time left for this invocation, less
        when a retried INIT already used some of it. On timeout, crash, out-of-memory or an
        output flood the environment is killed (dead). The outcome's calls are the requests
        the invocation sent to the lab's services.
        """
        if self._endpoint is not None:
            self._endpoint.begin()
        outcome = self._invoke(
            request_id=request_id,
            event=event,
            trace_id=trace_id,
            budget_s=budget_s,
            invoked_arn=invoked_arn or self.spec.invoked_arn(),
        )
        outcome.calls = self._take_calls()
        return outcome

    def _invoke(
        self,
        *,
        request_id: str,
        event: bytes,
        trace_id: str,
        budget_s: float | None,
        invoked_arn: str,
    ) -> Outcome:
        spec = self.spec
        self.invocations += 1
        self.thaw()
        self._out_total = 0
        started_at = time.time()
        t0 = time.perf_counter()
        budget = spec.timeout_s if budget_s is None else max(budget_s, 0.0)
        deadline = time.monotonic() + budget
        meta = {
            "type": "invoke",
            "request_id": request_id,
            "deadline_ms": int((started_at + budget) * 1000),
            "trace_id": trace_id,
            "invoked_function_arn": invoked_arn,
        }
        self._send(encode_request(meta, encode_event(event)))
        try:
            frame = self._wait(deadline, watch_memory=True)
        except _Exit as exc:
            return self._failed(exc.kind, started_at, t0, timeout_s=spec.timeout_s, limit_s=budget)
        ended_at = time.time()
        duration = (time.perf_counter() - t0) * 1000
        output = self._take_output()
        if frame.meta.get("type") != "result" or frame.meta.get("request_id") != request_id:
            self.kill()
            return Outcome("crash", output, started_at, ended_at, duration, error=_protocol_error())
        self.last_used = time.monotonic()
        self._sample_memory(frame.meta.get("maxrss_kb"))
        # Everything in the frame was written by code the handler controls: check each field.
        reported = frame.meta.get("handler_ms")
        handler_ms = (
            float(reported)
            if isinstance(reported, int | float)
            and not isinstance(reported, bool)
            and 0 <= reported <= duration
            else None
        )
        if frame.meta.get("exiting") is True:
            # The runtime reported an error outside the handler (Node.js: an unhandled
            # rejection) and exits, as Lambda's does: the next invocation is a cold start.
            self.kill()
        ok = frame.meta.get("ok")
        if ok is True:
            try:
                payload = loads_bounded(frame.data)
            except ValueError:
                self.kill()
                return Outcome(
                    "crash", output, started_at, ended_at, duration, error=_protocol_error()
                )
            return Outcome(
                "success",
                output,
                started_at,
                ended_at,
                duration,
                body=frame.data,
                payload=payload,
                handler_ms=handler_ms,
            )
        error = _error_from_runtime(frame.data) if ok is False else None
        if error is None:
            self.kill()
            return Outcome("crash", output, started_at, ended_at, duration, error=_protocol_error())
        return Outcome(
            "error",
            output,
            started_at,
            ended_at,
            duration,
            error=error,
            handler_ms=handler_ms,
        )

    def _sample_memory(self, runtime_maxrss_kb: object = None) -> None:
        """Max Memory Used: the cgroup's anonymous memory; the runtime's own figure (untrusted,
        so clamped to the function's memory) only where there is no memory cgroup."""
        anon = self.cgroup.anon_bytes()
        if anon is not None:
            self.max_memory_mb = max(self.max_memory_mb, -(-anon // (1024 * 1024)))
            return
        if isinstance(runtime_maxrss_kb, int) and not isinstance(runtime_maxrss_kb, bool):
            reported = min(max(runtime_maxrss_kb, 0) // 1024 + 1, self.spec.memory_mb)
            self.max_memory_mb = max(self.max_memory_mb, reported)

    def _failed(
        self,
        kind: str,
        started_at: float,
        t0: float,
        *,
        timeout_s: float,
        limit_s: float | None = None,
    ) -> Outcome:
        """Build the outcome of a phase that ended without a frame, and discard the env.

        timeout_s is the limit the timeout message names; limit_s (default timeout_s) the time
        this phase actually had, which a timed-out phase reports as its duration."""
        if self.stop_reason and kind in ("exited", "protocol"):
            kind = "stopped"
        if kind == "exited" and (self._killed_for_memory or self.cgroup.oom_killed()):
            kind = "oom"
        if kind == "exited" and self._proc is not None:
            # The runtime is gone; let bwrap report its exit status before we reap the rest.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)
        self.kill()
        if kind == "exited" and self.cgroup.oom_killed():
            kind = "oom"
        output = self._take_output()
        ended_at = time.time()
        duration = (time.perf_counter() - t0) * 1000
        if kind == "timeout":
            return Outcome(
                "timeout",
                output,
                started_at,
                ended_at,
                (timeout_s if limit_s is None else limit_s) * 1000,
                error={
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout_s:.2f} seconds",
                },
            )
        if kind == "oom":
            self.max_memory_mb = self.spec.memory_mb
            return Outcome(
                "out_of_memory",
                output,
                started_at,
                ended_at,
                duration,
                error={
                    "errorType": "Runtime.OutOfMemory",
                    "errorMessage": "Runtime exited with error: signal: killed",
                },
                exit_reason="Runtime exited with error: signal: killed",
            )
        if kind == "stopped":
            return Outcome(
                "stopped",
                output,
                started_at,
                ended_at,
                duration,
                error={"errorType": "Sandbox.Stopped", "errorMessage": self.stop_reason},
                exit_reason=self.stop_reason,
            )
        if kind == "flood":
            reason = f"output exceeded {LOG_KILL_BYTES // (1024 * 1024)} MB; runtime killed"
            return Outcome(
                "crash",
                output,
                started_at,
                ended_at,
                duration,
                error={"errorType": "Sandbox.OutputLimitExceeded", "errorMessage": reason},
                exit_reason=reason,
            )
        if kind == "protocol":
            return Outcome("crash", output, started_at, ended_at, duration, error=_protocol_error())
        reason = f"Runtime exited with error: {self._exit_description()}"
        return Outcome(
            "crash",
            output,
            started_at,
            ended_at,
            duration,
            error={"errorType": "Runtime.ExitError", "errorMessage": reason},
            exit_reason=reason,
        )

    def _exit_description(self) -> str:
        code = self._proc.returncode if self._proc is not None else None
        if code is None:
            return "exit status unknown"
        # bwrap reports a child killed by signal N as exit status 128 + N.
        signum = code - 128 if code > 128 else -code
        with contextlib.suppress(ValueError):
            if signum > 0:
                sig = signal.Signals(signum)
                return f"signal: {_SIGNAL_NAMES.get(sig, sig.name)}"
        return f"exit status {code}"

    # ----------------------------------------------------------------- I/O

    def _send(self, data: bytes) -> None:
        self._pending += data
        self._flush_pending()

    def _flush_pending(self) -> None:
        while self._pending:
            try:
                written = os.write(self._req, self._pending)
            except BlockingIOError:
                self._poller.register(self._req, select.POLLOUT)
                return
            except (BrokenPipeError, OSError):
                self._pending = b""
                break
            self._pending = self._pending[written:]
        with contextlib.suppress(KeyError):
            self._poller.unregister(self._req)

    def _wait(self, deadline: float, *, watch_memory: bool = False) -> Frame:
        """Pump the pipes until a frame arrives; raise _Exit(kind) otherwise."""
        watch = watch_memory and "memory" in self.cgroup.dirs
        exited = False
        while True:
            try:
                frame = self._reader.next_frame()
            except ProtocolError:
                raise _Exit("protocol") from None
            if frame is not None:
                return frame
            if exited:
                raise _Exit("exited")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Exit("timeout")
            wait_s = min(remaining, MEMORY_POLL_S) if watch else remaining
            events = self._poller.poll(max(1, int(wait_s * 1000 + 0.999)))
            for fd, mask in events:
                if fd == self._resp:
                    if not self._read_resp():
                        exited = True
                elif fd == self._log:
                    if not self._read_log():
                        self._poller.unregister(self._log)
                elif fd == self._pidfd:
                    # Gone: collect what it wrote before dying, then report the exit.
                    self._read_resp()
                    self._drain_log()
                    exited = True
                elif fd == self._req and mask & (select.POLLOUT | select.POLLERR):
                    self._flush_pending()
            if self._out_total > LOG_KILL_BYTES:
                raise _Exit("flood")
            if watch and self._over_memory():
                self._killed_for_memory = True
                raise _Exit("oom")

    def _over_memory(self) -> bool:
        anon = self.cgroup.anon_bytes()
        if anon is None:
            return False
        self.max_memory_mb = max(self.max_memory_mb, -(-anon // (1024 * 1024)))
        return anon > self.spec.memory_mb * 1024 * 1024

    def _read_resp(self) -> bool:
        """Read what is available; False at end of file."""
        while True:
            try:
                chunk = os.read(self._resp, 1 << 20)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            self._reader.feed(chunk)

    def _read_log(self) -> bool:
        while True:
            try:
                chunk = os.read(self._log, 1 << 16)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            self._out_total += len(chunk)
            room = LOG_KEEP_BYTES - len(self._out)
            if room > 0:
                self._out += chunk[:room]
            if self._out_total > LOG_KILL_BYTES:
                return True

    def _drain_log(self) -> None:
        if self._log >= 0:
            self._read_log()

    def _take_output(self) -> str:
        self._drain_log()
        text = self._out.decode("utf-8", errors="replace")
        if self._out_total > len(self._out):
            dropped = self._out_total - len(self._out)
            text += f"\n[output truncated: {dropped} more bytes not shown]\n"
        self._out = bytearray()
        self._out_total = 0
        return text

    # ----------------------------------------------------------------- freezing and killing

    def freeze(self) -> None:
        """Stop all CPU use in the environment until thaw() (Lambda freezes idle environments)."""
        if self.dead or self.frozen:
            return
        if not self.cgroup.freeze():
            self._signal_tree(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.dead or not self.frozen:
            return
        if not self.cgroup.thaw():
            self._signal_tree(signal.SIGCONT)
        self.frozen = False

    def _signal_tree(self, sig: int) -> None:
        if self._proc is None:
            return
        for pid in _descendants(self._proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def stop(self, reason: str, timeout_s: float = 2.0) -> None:
        """End whatever the environment is running now, from a thread other than the one
        using it (an operator stopping one invocation). Thread-safe; idempotent.

        Synchronous: when it returns, no process of the environment is left but its launcher
        (bwrap, which exits by itself once its child is gone). It touches no descriptor: the
        thread waiting on the invocation sees the runtime exit, reports it `stopped` with
        reason and discards the environment (kill() closes the pipes and the pidfd there), so
        no descriptor is closed under a poll() of another thread or leaked.
        """
        self.stop_reason = reason
        proc = self._proc
        if self.dead or proc is None:
            return  # nothing started yet: the pool checks stop_reason before it runs anything
        if self.cgroup.dirs:
            self.cgroup.kill_all(timeout_s, spare=proc.pid)
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pids = _descendants(proc.pid)
            if not pids:
                return
            for pid in pids:  # SIGKILL ends stopped (frozen) processes too
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)

    def kill(self) -> None:
        """Kill every process of the environment and release its resources. Idempotent.

        Synchronous: when it returns, no process of the environment is left running (the
        cgroup is empty, or without cgroups no process of its host uid remains).
        """
        if self.dead:
            return
        self.dead = True
        if self._endpoint is not None:
            self._endpoint.close()
        launcher = self._proc.pid if self._proc is not None else None
        if self.cgroup.dirs:
            # Everything but bwrap first: bwrap then reaps its child and exits, leaving no
            # zombie behind for the host's init.
            self.cgroup.kill_all(spare=launcher)
        elif self._proc is not None:
            if self.frozen:
                self._signal_tree(signal.SIGCONT)
            self._signal_tree(signal.SIGKILL)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=5)
        self.cgroup.kill_all()
        if self._proc is not None and not self.cgroup.dirs and self.uid != os.geteuid():
            _kill_uid(self.uid)
        self._drain_log()
        for fd in (self._req, self._resp, self._log, self._pidfd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._req = self._resp = self._log = self._pidfd = -1
        for _ in range(100):
            if self.cgroup.remove():
                break
            time.sleep(0.005)
        self.released = True

    def freezer_state(self) -> str | None:
        return self.cgroup.freezer_state()


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                children = Path(f"/proc/{current}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for child in children:
                found.append(int(child))
                stack.append(int(child))
    return found


def _kill_uid(uid: int, timeout_s: float = 2.0) -> None:
    """SIGKILL every process of host uid `uid` until none is left (no-cgroup fallback)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                owner = os.stat(f"/proc/{entry}").st_uid
                state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if owner == uid and state != "Z":  # a zombie holds nothing but its pid
                found = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry), signal.SIGKILL)
        if not found:
            return
        time.sleep(0.002)


MAX_ERROR_TEXT = 64 * 1024  # errorMessage / errorType kept from the runtime
MAX_STACK_FRAMES = 100


def _error_from_runtime(data: bytes) -> dict[str, Any] | None:
    """The runtime's error object, checked and bounded; None if it is not one."""
    try:
        error = loads_bounded(data)
    except ValueError:
        return None
    if not isinstance(error, dict):
        return None
    message, kind = error.get("errorMessage"), error.get("errorType")
    if not isinstance(message, str) or not isinstance(kind, str) or not kind:
        return None
    checked: dict[str, Any] = {"errorMessage": message[:MAX_ERROR_TEXT], "errorType": kind[:256]}
    # Python's runtime sends stackTrace, Node.js's trace: both lists of strings.
    for key in ("stackTrace", "trace"):
        if key in error:
            lines = error[key] if isinstance(error[key], list) else []
            checked[key] = [str(line)[:4096] for line in lines[:MAX_STACK_FRAMES]]
    return checked


def _protocol_error() -> dict[str, Any]:
    return {
        "errorType": "Runtime.ExitError",
        "errorMessage": "Runtime exited with error: invalid response from the runtime",
    }
