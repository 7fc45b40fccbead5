"""EnvironmentPool: warm reuse, cold starts, concurrency limits, freezing and keep-alive reaping.

Thread-safe: one pool per worker process, invoke() called from many threads. The lock guards
only bookkeeping; starting, invoking, freezing and killing environments happen outside it.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sandbox.engine import leftovers, report
from sandbox.engine.cgroups import CgroupParent, pool_bases
from sandbox.engine.environment import INIT_TIMEOUT_S, ExecutionEnvironment, Outcome
from sandbox.engine.jail import JailUnavailable
from sandbox.engine.protocol import MAX_REQUEST_BYTES
from sandbox.engine.result import InvocationResult
from sandbox.engine.spawner import Spawner
from sandbox.engine.spec import FunctionSpec
from sandbox.engine.workspace import Workspace

_CANARY = """
import os, socket
def handler(event, context):
    return {
        "uid": os.getuid(),
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
        "etc": os.path.exists("/etc/passwd"),
        "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "seccomp": [
            line.split()[1] for line in open("/proc/self/status") if line.startswith("Seccomp:")
        ],
        "echo": event,
    }
"""


class EnvironmentPool:
    """Execution environments for many functions, with Lambda's concurrency rules.

    account_concurrency caps invocations in flight across all functions (Lambda's account
    limit); keep_alive_s is how long an idle environment stays warm; max_idle_environments caps
    the warm ones kept (least recently used go first). use_cgroups=False forces the rlimit and
    SIGSTOP fallbacks (for tests of those paths).
    """

    def __init__(
        self,
        *,
        account_concurrency: int = 1000,
        keep_alive_s: float = 600.0,
        max_idle_environments: int = 64,
        init_timeout_s: float = INIT_TIMEOUT_S,
        use_cgroups: bool = True,
        workdir: Path | None = None,
    ) -> None:
        if account_concurrency < 1:
            raise ValueError("account_concurrency must be at least 1")
        self.account_concurrency = account_concurrency
        self.keep_alive_s = keep_alive_s
        self.max_idle_environments = max_idle_environments
        self.init_timeout_s = init_timeout_s
        self._lock = threading.Lock()
        # Signalled when provisioned environments finish starting, so that invocations arriving
        # meanwhile wait for them instead of cold-starting environments of their own.
        self._provisioned_ready = threading.Condition(self._lock)
        self._idle: dict[str, list[ExecutionEnvironment]] = {}
        self._busy: set[ExecutionEnvironment] = set()
        self._retiring: set[ExecutionEnvironment] = set()
        self._inflight = 0
        self._inflight_by_fn: Counter[tuple[str, str]] = Counter()
        self._reserved: dict[tuple[str, str], int] = {}
        self._current: dict[tuple[str, str], str] = {}
        self._provisioning: dict[str, int] = {}  # provisioned environments being started
        self._closed = False
        # Leftovers of pools whose worker died without shutdown(): cgroups (and any jails
        # still frozen in them) and workspaces. Live pools' are recognised by name and kept.
        leftovers.sweep(
            cgroup_bases=pool_bases() if use_cgroups else {},
            workspace_root=workdir or Path(tempfile.gettempdir()),
        )
        name = leftovers.owner_name()
        self._cgroups = CgroupParent(name, enabled=use_cgroups)
        self._workspace = Workspace(name, workdir)
        self._spawner = Spawner()
        self._stop = threading.Event()
        self._reaper = threading.Thread(
            target=self._reap_loop, name="lambdalab-reaper", daemon=True
        )
        self._reaper.start()

    # ----------------------------------------------------------------- public API

    def check(self) -> None:
        """Run a canary through the jail; raise JailUnavailable saying why if it is not sound."""
        spec = FunctionSpec(
            name="lambdalab-canary",
            handler="canary.handler",
            code={"canary.py": _CANARY},
            timeout_s=10,
            memory_mb=1769,  # a full vCPU, so the check is quick
            namespace="__canary__",
        )
        env = self._new_environment(spec, provisioned=False)
        try:
            init = env.start(self.init_timeout_s)
            if init.status != "success":
                raise JailUnavailable(f"canary failed to initialise: {init.error}")
            outcome = env.invoke(request_id=str(uuid.uuid4()), event=b'"ping"', trace_id="")
        finally:
            env.kill()
        if outcome.status != "success":
            raise JailUnavailable(f"canary invocation failed: {outcome.error}")
        seen = json.loads(outcome.body)
        problems = []
        if seen.get("echo") != "ping":
            problems.append("event did not round-trip")
        if seen.get("uid") != 65534:
            problems.append(f"code runs as uid {seen.get('uid')}, not 65534")
        if seen.get("interfaces") != ["lo"]:
            problems.append(f"network interfaces visible: {seen.get('interfaces')}")
        if seen.get("etc"):
            problems.append("host /etc is visible")
        if len(seen.get("processes", [])) > 3:
            problems.append("host processes are visible")
        if seen.get("seccomp") != ["2"]:  # 2: SECCOMP_MODE_FILTER
            problems.append(f"no seccomp filter (Seccomp: {seen.get('seccomp')})")
        if problems:
            raise JailUnavailable("jail is not isolating: " + "; ".join(problems))

    def invoke(self, spec: FunctionSpec, event: Any) -> InvocationResult:
        """Invoke spec with event (any JSON value) the way Lambda does (RequestResponse).

        Returns an InvocationResult for every outcome of user code, including throttling.
        Raises JailUnavailable if an environment cannot be jailed, RuntimeError after shutdown().
        """
        request_id = str(uuid.uuid4())
        try:
            event_bytes = json.dumps(event, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            return _rejected(spec, request_id, "InvalidRequestContentException", str(exc))
        if len(event_bytes) > MAX_REQUEST_BYTES:
            return _rejected(
                spec,
                request_id,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the Invoke operation",
            )
        if spec.provisioned_concurrency:
            self.provision(spec)

        with self._lock:
            if self._closed:
                raise RuntimeError("the pool has been shut down")
            retired = self._note_version(spec)
            reason = self._admit(spec)
            env = None
            if reason is None:
                self._inflight += 1
                self._inflight_by_fn[spec.function_key] += 1
                stack = self._idle.get(spec.version_key)
                if stack:
                    env = stack.pop()
                    self._busy.add(env)
        for old in retired:
            old.kill()
        if reason is not None:
            return _throttled(spec, request_id, reason)

        try:
            return self._run(spec, env, request_id, event_bytes)
        finally:
            with self._lock:
                self._inflight -= 1
                self._inflight_by_fn[spec.function_key] -= 1

    def provision(self, spec: FunctionSpec) -> int:
        """Start spec's provisioned environments now (INIT done, frozen, never reaped).

        Returns how many were started by this call. An environment whose INIT fails is dropped.
        """
        with self._lock:
            retired = self._note_version(spec)
            have = sum(
                1
                for env in self._all_envs()
                if env.provisioned and env.spec.version_key == spec.version_key
            )
            need = spec.provisioned_concurrency - have - self._starting_provisioned(spec)
            if need > 0:
                self._provisioning[spec.version_key] = (
                    self._provisioning.get(spec.version_key, 0) + need
                )
            else:
                # Another thread is starting them: wait, as Lambda would route to them.
                deadline = time.monotonic() + self.init_timeout_s * spec.provisioned_concurrency
                while self._starting_provisioned(spec) > 0 and time.monotonic() < deadline:
                    self._provisioned_ready.wait(max(deadline - time.monotonic(), 0.0))
        for old in retired:
            old.kill()
        started = 0
        try:
            for _ in range(max(need, 0)):
                env = self._new_environment(spec, provisioned=True)
                init = env.start(self.init_timeout_s)
                if init.status != "success":
                    env.kill()
                    continue
                started += 1
                with self._lock:
                    self._provisioning[spec.version_key] -= 1
                    self._idle.setdefault(spec.version_key, []).insert(0, env)
        finally:
            if need > 0:
                with self._lock:
                    self._provisioning[spec.version_key] -= need - started
                    self._provisioned_ready.notify_all()
        return started

    def stats(self) -> dict[str, Any]:
        """Counts for health pages: environments idle/busy/frozen, in-flight, limits used."""
        with self._lock:
            idle = [env for stack in self._idle.values() for env in stack]
            return {
                "environments": len(idle) + len(self._busy),
                "idle": len(idle),
                "busy": len(self._busy),
                "frozen": sum(1 for env in idle if env.frozen),
                "provisioned": sum(1 for env in self._all_envs() if env.provisioned),
                "inflight": self._inflight,
                "account_concurrency": self.account_concurrency,
                "cgroups": sorted(self._cgroups.available),
            }

    def environments(self) -> list[dict[str, Any]]:
        """One row per live environment (id, function, state, invocations, idle seconds)."""
        now = time.monotonic()
        with self._lock:
            rows = []
            for env in self._all_envs():
                rows.append(
                    {
                        "environment_id": env.id,
                        "namespace": env.spec.namespace,
                        "function_name": env.spec.name,
                        "version_key": env.spec.version_key,
                        "state": "busy"
                        if env in self._busy
                        else ("frozen" if env.frozen else "idle"),
                        "provisioned": env.provisioned,
                        "invocations": env.invocations,
                        "idle_s": 0.0 if env in self._busy else now - env.last_used,
                        "limits": dict(env.limits),
                    }
                )
            return rows

    def shutdown(self) -> None:
        """Kill every environment and remove the pool's files and cgroups. Idempotent."""
        with self._lock:
            self._closed = True
            envs = list(self._all_envs())
            self._idle.clear()
        self._stop.set()
        for env in envs:
            env.kill()
        if self._reaper.is_alive() and threading.current_thread() is not self._reaper:
            self._reaper.join(timeout=5)
        self._spawner.stop()
        self._cgroups.remove()
        self._workspace.remove()

    def __enter__(self) -> EnvironmentPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ----------------------------------------------------------------- internals

    def _starting_provisioned(self, spec: FunctionSpec) -> int:
        return self._provisioning.get(spec.version_key, 0)

    def _all_envs(self) -> list[ExecutionEnvironment]:
        return [env for stack in self._idle.values() for env in stack] + list(self._busy)

    def _note_version(self, spec: FunctionSpec) -> list[ExecutionEnvironment]:
        """Record spec as its function's current version; return idle envs of older ones.

        Busy environments of an older version finish their invocation and are then retired.
        """
        key = spec.function_key
        if spec.reserved_concurrency is None:
            self._reserved.pop(key, None)
        else:
            self._reserved[key] = spec.reserved_concurrency
        if self._current.get(key) == spec.version_key:
            return []
        self._current[key] = spec.version_key
        retired: list[ExecutionEnvironment] = []
        for version, stack in list(self._idle.items()):
            if stack and stack[0].spec.function_key == key and version != spec.version_key:
                retired.extend(stack)
                del self._idle[version]
        for env in self._busy:
            if env.spec.function_key == key:
                self._retiring.add(env)
        return retired

    def _admit(self, spec: FunctionSpec) -> str | None:
        """None if the invocation may run, else Lambda's throttling reason."""
        key = spec.function_key
        reserved = self._reserved.get(key)
        if reserved is not None:
            if self._inflight_by_fn[key] >= reserved:
                return "ReservedFunctionConcurrentInvocationLimitExceeded"
            return None
        # Unreserved functions share what reserved ones leave of the account limit.
        unreserved_capacity = self.account_concurrency - sum(self._reserved.values())
        unreserved_inflight = self._inflight - sum(
            self._inflight_by_fn[fn] for fn in self._reserved
        )
        if unreserved_inflight >= unreserved_capacity or self._inflight >= self.account_concurrency:
            return "ConcurrentInvocationLimitExceeded"
        return None

    def _new_environment(self, spec: FunctionSpec, *, provisioned: bool) -> ExecutionEnvironment:
        code_dir = self._workspace.code_dir(spec)
        env = ExecutionEnvironment(
            spec=spec,
            code_dir=code_dir,
            bootstrap=self._workspace.bootstrap(spec.runtime),
            cgroup=self._cgroups.child("pending"),
            spawner=self._spawner,
            provisioned=provisioned,
        )
        env.cgroup = self._cgroups.child(f"env-{env.id}")
        return env

    def _run(
        self,
        spec: FunctionSpec,
        env: ExecutionEnvironment | None,
        request_id: str,
        event: bytes,
    ) -> InvocationResult:
        init: Outcome | None = None
        if env is None:
            env = self._new_environment(spec, provisioned=False)
            init = env.start(self.init_timeout_s)  # JailUnavailable propagates
            if init.status != "success":
                return _build(spec, request_id, None, env, init)
            with self._lock:
                self._busy.add(env)
        try:
            outcome = env.invoke(request_id=request_id, event=event, trace_id=_trace_id(request_id))
        finally:
            self._release(env)
        return _build(spec, request_id, outcome, env, init)

    def _release(self, env: ExecutionEnvironment) -> None:
        with self._lock:
            self._busy.discard(env)
            retire = env in self._retiring or self._closed
            self._retiring.discard(env)
        if env.dead:
            return
        if retire:
            env.kill()
            return
        env.freeze()
        evicted: list[ExecutionEnvironment] = []
        with self._lock:
            if self._closed:
                evicted.append(env)
            else:
                self._idle.setdefault(env.spec.version_key, []).append(env)
                evicted = self._over_idle_cap()
        for old in evicted:
            old.kill()

    def _over_idle_cap(self) -> list[ExecutionEnvironment]:
        idle = [env for stack in self._idle.values() for env in stack if not env.provisioned]
        excess = len(idle) - self.max_idle_environments
        if excess <= 0:
            return []
        idle.sort(key=lambda env: env.last_used)
        victims = idle[:excess]
        for env in victims:
            self._idle[env.spec.version_key].remove(env)
        return victims

    def _reap_loop(self) -> None:
        interval = min(1.0, max(0.05, self.keep_alive_s / 4))
        while not self._stop.wait(interval):
            self.reap()

    def reap(self) -> int:
        """Shut down idle environments past keep-alive (provisioned ones stay). Returns count."""
        cutoff = time.monotonic() - self.keep_alive_s
        with self._lock:
            victims = []
            for version, stack in list(self._idle.items()):
                keep = [env for env in stack if env.provisioned or env.last_used > cutoff]
                victims += [env for env in stack if env not in keep]
                if keep:
                    self._idle[version] = keep
                else:
                    del self._idle[version]
        for env in victims:
            env.kill()
        return len(victims)


def _trace_id(request_id: str) -> str:
    return f"Root=1-{int(time.time()):08x}-{request_id.replace('-', '')[:24]};Parent=0;Sampled=0"


def _build(
    spec: FunctionSpec,
    request_id: str,
    outcome: Outcome | None,
    env: ExecutionEnvironment,
    init: Outcome | None,
) -> InvocationResult:
    """Turn the INIT and invoke outcomes into an InvocationResult with Lambda's log lines."""
    phase = outcome if outcome is not None else init
    assert phase is not None
    if outcome is None and init is not None:
        # INIT failed: Lambda reports the init error as the invocation's error.
        duration = 0.0
        status = init.status if init.status != "success" else "error"
    else:
        duration = phase.duration_ms
        status = phase.status
    init_ms = init.duration_ms if init is not None else None
    error = dict(phase.error) if phase.error is not None else None
    if error is not None:
        if status in ("timeout", "out_of_memory", "crash"):
            error["errorMessage"] = f"RequestId: {request_id} Error: {error['errorMessage']}"
        error["requestId"] = request_id
        error.setdefault("stackTrace", [])
    payload: Any = None
    if status == "success" and outcome is not None:
        payload = json.loads(outcome.body)
    extra = ""
    if status == "timeout":
        extra = report.timeout_line(request_id, float(spec.timeout_s), phase.ended_at)
    elif status in ("out_of_memory", "crash") and error is not None:
        extra = report.exit_lines(
            request_id, phase.exit_reason or "Runtime exited", str(error["errorType"])
        )
    max_used = max(env.max_memory_mb, 1)
    line = report.report_line(
        request_id=request_id,
        duration_ms=duration,
        memory_size_mb=spec.memory_mb,
        max_memory_used_mb=max_used,
        init_duration_ms=init_ms,
        status=status,
        error_type=str(error["errorType"]) if error else None,
    )
    init_output = init.output if init is not None else ""
    output = outcome.output if outcome is not None else ""
    log = init_output + report.assemble(
        request_id=request_id, output=output, extra=extra, report=line
    )
    return InvocationResult(
        request_id=request_id,
        status=status,  # type: ignore[arg-type]
        payload=payload,
        error=error,
        log=log,
        duration_ms=round(duration, 2),
        billed_duration_ms=report.billed_ms(duration),
        init_duration_ms=round(init_ms, 2) if init_ms is not None else None,
        max_memory_used_mb=max_used,
        memory_size_mb=spec.memory_mb,
        cold_start=init is not None,
        environment_id=env.id,
        function_name=spec.name,
        billed_duration_with_init_ms=report.billed_ms(duration + (init_ms or 0.0)),
        handler_duration_ms=phase.handler_ms,
        started_at=phase.started_at if outcome is not None else (init.ended_at if init else 0.0),
        ended_at=phase.ended_at,
        init_started_at=init.started_at if init is not None else None,
        init_ended_at=init.ended_at if init is not None else None,
        limits=dict(env.limits),
    )


def _throttled(spec: FunctionSpec, request_id: str, reason: str) -> InvocationResult:
    now = time.time()
    return InvocationResult(
        request_id=request_id,
        status="throttled",
        payload=None,
        error={
            "errorMessage": "Rate Exceeded.",
            "errorType": "TooManyRequestsException",
            "requestId": request_id,
            "stackTrace": [],
            "Reason": reason,
        },
        log="",
        duration_ms=0.0,
        billed_duration_ms=0,
        init_duration_ms=None,
        max_memory_used_mb=0,
        memory_size_mb=spec.memory_mb,
        cold_start=False,
        environment_id=None,
        function_name=spec.name,
        started_at=now,
        ended_at=now,
    )


def _rejected(
    spec: FunctionSpec, request_id: str, error_type: str, message: str
) -> InvocationResult:
    result = _throttled(spec, request_id, "")
    result.status = "error"
    result.error = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": [],
    }
    return result
