"""EnvironmentPool: warm reuse, cold starts, concurrency limits, freezing and keep-alive reaping.

Thread-safe: one pool per worker process, invoke() called from many threads. The lock guards
only bookkeeping; starting, invoking, freezing and killing environments happen outside it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sandbox.engine import leftovers, result
from sandbox.engine.cgroups import CgroupParent, pool_bases
from sandbox.engine.environment import INIT_TIMEOUT_S, ExecutionEnvironment, Outcome
from sandbox.engine.jail import SANDBOX_UID, JailUnavailable
from sandbox.engine.protocol import MAX_JSON_DEPTH, MAX_REQUEST_BYTES, json_depth
from sandbox.engine.result import InvocationResult
from sandbox.engine.services import (
    ServiceRequest,
    ServiceResponse,
    ServicesHandler,
    ServicesHub,
)
from sandbox.engine.spawner import Spawner
from sandbox.engine.spec import FunctionSpec, SpecError
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


class ReservationError(ValueError):
    """A reserved concurrency that the account cannot give (Lambda's message)."""


DEFAULT_UIDS = range(200_000, 204_096)  # host uids for environments when run as root


def _host_memory_mb() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 4096


def env_cost_mb(spec: FunctionSpec) -> int:
    """What an environment may hold at most: its memory plus its /tmp (tmpfs pages are charged
    to memory), the figure admission counts against the host's and the learner's budgets."""
    return spec.memory_mb + spec.ephemeral_storage_mb


class EnvironmentPool:
    """Execution environments for many functions and many learners, with Lambda's concurrency
    rules plus fairness between learners.

    account_concurrency caps invocations in flight across all functions (Lambda's account
    limit); reservations may take all of it but unreserved_minimum (Lambda keeps 100 of 1,000).
    Functions are grouped by FunctionSpec.tenant (one learner): learner_concurrency caps their
    invocations in flight, learner_provisioned their provisioned environments,
    learner_memory_mb the memory their environments may hold; memory_budget_mb is the same
    for the whole host (also a cgroup limit on the pool). Idle environments are evicted, least
    recently used first, before anyone is refused. keep_alive_s is how long an idle environment
    stays warm; max_idle_environments caps the warm ones kept. Each environment runs as its own
    host uid from `uids` (as root). use_cgroups=False forces the rlimit and SIGSTOP fallbacks.

    services_handler, when given, is where handlers' calls to the lab's AWS services go: every
    environment gets a socket to it (services.py) and `AWS_ENDPOINT_URL` pointing there, plus
    the variables services_environment(spec) returns (the execution role's credentials). The
    handler is called from the pool's threads, several at once. Without it the jail has no way
    out at all.
    """

    def __init__(
        self,
        *,
        account_concurrency: int = 1000,
        unreserved_minimum: int | None = None,
        learner_concurrency: int | None = None,
        learner_provisioned: int | None = None,
        memory_budget_mb: int | None = None,
        learner_memory_mb: int | None = None,
        keep_alive_s: float = 600.0,
        max_lifetime_s: float = 7200.0,
        max_idle_environments: int = 64,
        init_timeout_s: float = INIT_TIMEOUT_S,
        use_cgroups: bool = True,
        uids: range = DEFAULT_UIDS,
        workdir: Path | None = None,
        services_handler: ServicesHandler | None = None,
        services_environment: Callable[[FunctionSpec], Mapping[str, str]] | None = None,
    ) -> None:
        if account_concurrency < 1:
            raise ValueError("account_concurrency must be at least 1")
        self.account_concurrency = account_concurrency
        # Lambda keeps 100 of its default 1,000 unreserved; smaller limits keep a tenth (>= 1).
        self.unreserved_minimum = (
            max(1, account_concurrency // 10) if unreserved_minimum is None else unreserved_minimum
        )
        if not 0 <= self.unreserved_minimum <= account_concurrency:
            raise ValueError("unreserved_minimum must be between 0 and account_concurrency")
        self.learner_concurrency = learner_concurrency or account_concurrency
        self.learner_provisioned = learner_provisioned
        host_mb = _host_memory_mb()
        self.memory_budget_mb = memory_budget_mb or host_mb * 3 // 4
        self.learner_memory_mb = learner_memory_mb or self.memory_budget_mb * 2 // 3
        self.keep_alive_s = keep_alive_s
        self.max_lifetime_s = max_lifetime_s
        self.max_idle_environments = max_idle_environments
        self.init_timeout_s = init_timeout_s
        self._lock = threading.Lock()
        # Signalled when provisioned environments finish starting, so that invocations arriving
        # meanwhile wait for them instead of cold-starting environments of their own.
        self._provisioned_ready = threading.Condition(self._lock)
        self._idle: dict[str, list[ExecutionEnvironment]] = {}
        self._busy: set[ExecutionEnvironment] = set()
        self._retiring: set[ExecutionEnvironment] = set()
        self._live: set[ExecutionEnvironment] = set()  # every environment not yet released
        self._evicting: set[ExecutionEnvironment] = set()  # live, but no longer counted
        self._claimed: Counter[str] = Counter()  # MB claimed by environments being created
        self._claimed_code: Counter[str] = Counter()  # code versions of those being created
        self._inflight = 0
        self._inflight_by_fn: Counter[tuple[str, str]] = Counter()
        self._inflight_by_learner: Counter[str] = Counter()
        # Invocations started with a handle (so that stop() can find them), and stop requests
        # for handles not (yet) here, kept STOP_REMEMBER_S: a stop can overtake its invocation.
        self._running: dict[str, _Running] = {}
        self._stop_requests: dict[str, tuple[float, str]] = {}
        self._reserved: dict[tuple[str, str], int] = {}
        self._current: dict[tuple[str, str, str], str] = {}
        # Provisioned environments being started, by (namespace, version key).
        self._provisioning: dict[tuple[str, str], int] = {}
        self._free_uids = list(reversed(uids))
        # Every pool on the host draws from the same range: a uid is taken by holding an
        # exclusive lock on its file, which the kernel drops if this process dies.
        self._uid_locks: dict[int, int] = {}
        self._uid_dir = (workdir or Path(tempfile.gettempdir())) / "lambdalab-uids"
        self._closed = False
        # Leftovers of pools whose worker died without shutdown(): cgroups (and any jails
        # still frozen in them) and workspaces. Live pools' are recognised by name and kept.
        leftovers.sweep(
            cgroup_bases=pool_bases() if use_cgroups else {},
            workspace_root=workdir or Path(tempfile.gettempdir()),
        )
        name = leftovers.owner_name()
        self._cgroups = CgroupParent(
            name, enabled=use_cgroups, memory_budget_mb=self.memory_budget_mb
        )
        self._workspace = Workspace(name, workdir)
        self._spawner = Spawner()
        self._services = (
            ServicesHub(self._naming_invocation(services_handler))
            if services_handler is not None
            else None
        )
        self._services_environment = services_environment
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
        with self._lock:
            self._claimed[spec.tenant] += env_cost_mb(spec)
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
        seen = outcome.payload if isinstance(outcome.payload, dict) else {}
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

    def invoke(
        self,
        spec: FunctionSpec,
        event: Any,
        *,
        on_admitted: Callable[[], None] | None = None,
        handle: str | None = None,
        qualifier: str | None = None,
    ) -> InvocationResult:
        """Invoke spec with event (any JSON value) the way Lambda does (RequestResponse).

        qualifier is what the caller invoked through ($LATEST, a version or an alias; none:
        unqualified): the handler's context.invoked_function_arn ends with it. It does not
        choose the environment: a version's warm environments serve all its aliases. One
        Lambda would refuse is rejected (InvalidParameterValueException) before anything runs.

        handle, when given, names this invocation for stop(handle): unique per invocation.

        on_admitted, when given, is called once the invocation has been admitted or refused and
        its environment chosen (a warm one taken, or a cold one's memory claimed), before it
        runs. Requests that wait there together (a burst's barrier) are admitted as
        simultaneous requests are on Lambda: none can reuse an environment another of them is
        about to use. Returns an InvocationResult for every outcome of user code, including
        throttling. Raises JailUnavailable if an environment cannot be jailed, RuntimeError
        after shutdown().
        """
        admitted = _Once(on_admitted)
        running = self._track(handle)
        try:
            return self._invoke(spec, event, admitted, running, qualifier)
        finally:
            admitted()
            self._untrack(handle, running)

    def stop(self, handle: str, reason: str = "Stopped") -> bool:
        """End the invocation started with this handle: its environment is killed (and
        discarded) and it returns a result with status `stopped` and reason as its error
        message. Synchronous: when this returns True, no process of it is left running.

        Returns False when no such invocation runs in this pool; the request is then kept
        for STOP_REMEMBER_S, and an invocation with that handle arriving meanwhile is stopped
        before it runs anything.
        """
        with self._lock:
            now = time.monotonic()
            for old, (at, _) in list(self._stop_requests.items()):
                if now - at > STOP_REMEMBER_S:
                    del self._stop_requests[old]
            running = self._running.get(handle)
            if running is None:
                self._stop_requests[handle] = (now, reason)
                return False
        with running.lock:
            running.reason = running.reason or reason
            if running.env is not None:
                running.env.stop(running.reason)
        return True

    def _naming_invocation(self, handler: ServicesHandler) -> ServicesHandler:
        """handler, given requests that name the invocation their environment runs (its
        handle), so the services can tell which invocation a handler's call belongs to."""

        def named(request: ServiceRequest) -> ServiceResponse:
            return handler(
                dataclasses.replace(request, handle=self.handle_in(request.environment_id))
            )

        return named

    def handle_in(self, environment_id: str) -> str | None:
        """The handle of the invocation running in the environment now, or None (none runs
        there, or it was started without a handle)."""
        with self._lock:
            for handle, running in self._running.items():
                env = running.env
                if env is not None and env.id == environment_id:
                    return handle
        return None

    def _track(self, handle: str | None) -> _Running | None:
        if handle is None:
            return None
        with self._lock:
            if handle in self._running:
                raise ValueError(f"an invocation with handle {handle!r} is already running")
            running = self._running[handle] = _Running()
            request = self._stop_requests.pop(handle, None)
            if request is not None and time.monotonic() - request[0] <= STOP_REMEMBER_S:
                running.reason = request[1]
        return running

    def _untrack(self, handle: str | None, running: _Running | None) -> None:
        if handle is None or running is None:
            return
        with running.lock:  # waits for a stop() under way: it must not outlive the invocation
            running.env = None
        with self._lock:
            self._running.pop(handle, None)

    def _invoke(
        self,
        spec: FunctionSpec,
        event: Any,
        admitted: _Once,
        running: _Running | None,
        qualifier: str | None,
    ) -> InvocationResult:
        request_id = str(uuid.uuid4())
        if running is not None and running.reason:
            return result.stopped(spec, request_id, running.reason)
        try:
            invoked_arn = spec.invoked_arn(qualifier)
        except SpecError as exc:
            return result.rejected(spec, request_id, "InvalidParameterValueException", str(exc))
        try:
            event_bytes = json.dumps(event, allow_nan=False).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            message = "event is nested too deeply" if isinstance(exc, RecursionError) else exc
            return result.rejected(spec, request_id, "InvalidRequestContentException", str(message))
        if json_depth(event_bytes) > MAX_JSON_DEPTH:
            return result.rejected(
                spec,
                request_id,
                "InvalidRequestContentException",
                f"Could not parse request body into json: nested deeper than {MAX_JSON_DEPTH}",
            )
        if len(event_bytes) > MAX_REQUEST_BYTES:
            return result.rejected(
                spec,
                request_id,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the Invoke operation",
            )
        if spec.provisioned_concurrency:
            self.provision(spec)

        env = None
        evicted: list[ExecutionEnvironment] = []
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool has been shut down")
            problem = self._reservation_problem(spec)
            if problem is not None:
                return result.rejected(spec, request_id, "InvalidParameterValueException", problem)
            retired = self._note_version(spec) + self._trim_provisioned(spec)
            throttle = self._admit(spec)
            if throttle is None:
                env = self._warm(spec, retired)
                if env is not None:
                    self._busy.add(env)
                else:
                    throttle, evicted = self._claim_memory(spec)
            if throttle is None:
                self._inflight += 1
                self._inflight_by_fn[spec.function_key] += 1
                self._inflight_by_learner[spec.tenant] += 1
        for old in retired + evicted:
            old.kill()
        if throttle is not None:
            return result.throttled(spec, request_id, *throttle)

        try:
            admitted()
            return self._run(spec, env, request_id, event_bytes, running, invoked_arn)
        finally:
            with self._lock:
                self._inflight -= 1
                self._inflight_by_fn[spec.function_key] -= 1
                self._inflight_by_learner[spec.tenant] -= 1

    def provision(self, spec: FunctionSpec) -> int:
        """Start spec's provisioned environments now (INIT done, frozen, never reaped).

        Lowering provisioned concurrency retires the extra environments. A learner's provisioned
        environments are capped (learner_provisioned) and count toward the memory budgets.
        Returns how many were started by this call. An environment whose INIT fails is dropped.
        """
        key = (spec.tenant, spec.version_key)
        with self._lock:
            retired = self._note_version(spec) + self._trim_provisioned(spec)
            have = sum(
                1
                for env in self._all_envs()
                if env.provisioned and env.spec.version_key == spec.version_key
            )
            need = spec.provisioned_concurrency - have - self._provisioning.get(key, 0)
            if self.learner_provisioned is not None:
                learner_has = sum(
                    1
                    for env in self._all_envs()
                    if env.provisioned and env.spec.tenant == spec.tenant
                ) + sum(n for (ns, _), n in self._provisioning.items() if ns == spec.tenant)
                need = min(need, self.learner_provisioned - learner_has)
            if need > 0:
                self._provisioning[key] = self._provisioning.get(key, 0) + need
            elif self._provisioning.get(key, 0) > 0:
                # Another thread is starting them: wait, as Lambda would route to them.
                deadline = time.monotonic() + self.init_timeout_s * spec.provisioned_concurrency
                while self._provisioning.get(key, 0) > 0 and time.monotonic() < deadline:
                    self._provisioned_ready.wait(max(deadline - time.monotonic(), 0.0))
        for old in retired:
            old.kill()
        started = 0
        try:
            for _ in range(max(need, 0)):
                with self._lock:
                    throttle, evicted = self._claim_memory(spec)
                for old in evicted:
                    old.kill()
                if throttle is not None:
                    break
                env = self._new_environment(spec, provisioned=True)
                init = env.start(self.init_timeout_s)
                if init.status != "success":
                    env.kill()
                    continue
                started += 1
                with self._lock:
                    self._provisioning[key] -= 1
                    self._idle.setdefault(spec.version_key, []).insert(0, env)
        finally:
            if need > 0:
                with self._lock:
                    self._provisioning[key] -= need - started
                    if self._provisioning[key] <= 0:
                        del self._provisioning[key]
                    self._provisioned_ready.notify_all()
        return started

    def retire(self, namespace: str, name: str) -> int:
        """Forget a function: end its reservation and shut down its environments (provisioned
        ones included; busy ones when their invocation ends). Call it when a function is
        deleted or its configuration changes. Returns how many environments were shut down."""
        key = (namespace, name)
        with self._lock:
            self._reserved.pop(key, None)
            for current in [c for c in self._current if c[:2] == key]:
                del self._current[current]
            victims: list[ExecutionEnvironment] = []
            for version, stack in list(self._idle.items()):
                mine = [env for env in stack if env.spec.function_key == key]
                if mine:
                    victims += mine
                    rest = [env for env in stack if env not in mine]
                    if rest:
                        self._idle[version] = rest
                    else:
                        del self._idle[version]
            for env in self._busy:
                if env.spec.function_key == key:
                    self._retiring.add(env)
        for env in victims:
            env.kill()
        return len(victims)

    def stats(self) -> dict[str, Any]:
        """Counts for health pages: environments, in-flight, limits and how each is enforced."""
        with self._lock:
            self._prune()
            idle = [env for stack in self._idle.values() for env in stack]
            available = self._cgroups.available
            version = self._cgroups.version or "none"
            return {
                "environments": len(idle) + len(self._busy),
                "idle": len(idle),
                "busy": len(self._busy),
                "frozen": sum(1 for env in idle if env.frozen),
                "provisioned": sum(1 for env in self._all_envs() if env.provisioned),
                "inflight": self._inflight,
                "account_concurrency": self.account_concurrency,
                "unreserved_minimum": self.unreserved_minimum,
                "reserved": sum(self._reserved.values()),
                "learner_concurrency": self.learner_concurrency,
                "learner_provisioned": self.learner_provisioned,
                "memory_budget_mb": self.memory_budget_mb,
                "learner_memory_mb": self.learner_memory_mb,
                "memory_committed_mb": self._committed_mb(),
                "cgroups": sorted(available),
                "cgroup_version": version,
                "enforcement": {
                    "memory": f"cgroup-{version}" if "memory" in available else "rlimit-as",
                    "processes": f"cgroup-{version}" if "pids" in available else "rlimit-nproc",
                    "cpu": f"cgroup-{version}" if "cpu" in available else "none",
                    "freeze": f"cgroup-{version}" if "freezer" in available else "sigstop",
                    "uid": "one host uid per environment" if os.geteuid() == 0 else "launcher",
                },
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
                        "memory_mb": env_cost_mb(env.spec),
                        "uid": env.uid,
                        "limits": dict(env.limits),
                    }
                )
            return rows

    def shutdown(self) -> None:
        """Kill every environment and remove the pool's files and cgroups. Idempotent."""
        with self._lock:
            self._closed = True
            envs = list(self._live)
            self._idle.clear()
        self._stop.set()
        for env in envs:
            env.kill()
        if self._reaper.is_alive() and threading.current_thread() is not self._reaper:
            self._reaper.join(timeout=5)
        self._spawner.stop()
        if self._services is not None:
            self._services.stop()
        with self._lock:
            for fd in self._uid_locks.values():
                os.close(fd)
            self._uid_locks.clear()
        self._cgroups.remove()
        self._workspace.remove()

    def __enter__(self) -> EnvironmentPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ----------------------------------------------------------------- internals (lock held)

    def _all_envs(self) -> list[ExecutionEnvironment]:
        return [env for stack in self._idle.values() for env in stack] + list(self._busy)

    def _prune(self) -> None:
        """Drop released environments from the books, give their uids back and remove code
        directories no live environment uses any more."""
        gone = [env for env in self._live if env.released]
        for env in gone:
            self._live.discard(env)
            self._evicting.discard(env)
            self._free_uid(env.uid)
        in_use = {env.spec.code_sha256 for env in self._live}
        being_created = {sha for sha, count in self._claimed_code.items() if count > 0}
        for sha in {env.spec.code_sha256 for env in gone} - in_use - being_created:
            self._workspace.release(sha)

    def _take_uid(self) -> int:
        """A host uid no other environment on this host uses (any pool's), as root."""
        if os.geteuid() != 0:
            return SANDBOX_UID  # bwrap runs as the launcher anyway
        self._uid_dir.mkdir(mode=0o700, exist_ok=True)
        for _ in range(len(self._free_uids)):
            uid = self._free_uids.pop()
            fd = os.open(self._uid_dir / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                self._free_uids.insert(0, uid)  # another pool's: try it again later
                continue
            self._uid_locks[uid] = fd
            return uid
        raise JailUnavailable("no free sandbox uid on this host")

    def _free_uid(self, uid: int) -> None:
        fd = self._uid_locks.pop(uid, None)
        if fd is not None:
            os.close(fd)
            self._free_uids.append(uid)

    def _committed_mb(self, tenant: str | None = None) -> int:
        live = sum(
            env_cost_mb(env.spec)
            for env in self._live - self._evicting
            if tenant is None or env.spec.tenant == tenant
        )
        claimed = sum(self._claimed.values()) if tenant is None else self._claimed[tenant]
        return live + claimed

    def _claim_memory(
        self, spec: FunctionSpec
    ) -> tuple[tuple[str, str] | None, list[ExecutionEnvironment]]:
        """Make room for one new environment of spec: evict idle environments (least recently
        used first) until it fits both budgets, then claim its memory. Returns (throttle or
        None, the evicted environments for the caller to kill outside the lock)."""
        self._prune()
        need = env_cost_mb(spec)
        tenant = spec.tenant
        evicted: list[ExecutionEnvironment] = []
        idle = sorted(
            (env for stack in self._idle.values() for env in stack if not env.provisioned),
            key=lambda env: env.last_used,
        )
        freed_host = 0
        freed_ns = 0

        def fits() -> bool:
            host_ok = self._committed_mb() - freed_host + need <= self.memory_budget_mb
            ns_ok = self._committed_mb(tenant) - freed_ns + need <= self.learner_memory_mb
            return host_ok and ns_ok

        while not fits():
            ns_short = self._committed_mb(tenant) - freed_ns + need > self.learner_memory_mb
            candidates = [env for env in idle if env.spec.tenant == tenant or not ns_short]
            if not candidates:
                for env in evicted:  # nothing was enough: keep what was going to be evicted
                    self._idle.setdefault(env.spec.version_key, []).append(env)
                return _memory_throttle(self, spec, ns_short), []
            victim = candidates[0]
            idle.remove(victim)
            self._idle[victim.spec.version_key].remove(victim)
            if not self._idle[victim.spec.version_key]:
                del self._idle[victim.spec.version_key]
            evicted.append(victim)
            freed_host += env_cost_mb(victim.spec)
            if victim.spec.tenant == tenant:
                freed_ns += env_cost_mb(victim.spec)
        if not self._free_uids and os.geteuid() == 0:
            for env in evicted:
                self._idle.setdefault(env.spec.version_key, []).append(env)
            return ("SandboxCapacityExceeded", "Rate Exceeded. No sandbox uid is free."), []
        self._claimed[tenant] += need
        # The victims are killed outside the lock; their uids come back once they are released.
        self._evicting.update(evicted)
        return None, evicted

    def _warm(
        self, spec: FunctionSpec, retired: list[ExecutionEnvironment]
    ) -> ExecutionEnvironment | None:
        """The most recently used idle environment of spec's version, if one is young enough.

        Older ones are added to retired: Lambda recycles environments after some hours, and
        the role credentials an environment got at INIT must not outlive it.
        """
        stack = self._idle.get(spec.version_key)
        now = time.monotonic()
        while stack:
            env = stack.pop()
            if now - env.born < self.max_lifetime_s:
                return env
            retired.append(env)
        return None

    def _note_version(self, spec: FunctionSpec) -> list[ExecutionEnvironment]:
        """Record spec as its function's current version; return idle envs of older ones.

        Busy environments of an older version finish their invocation and are then retired.
        """
        key = spec.function_key
        if spec.reserved_concurrency is None:
            self._reserved.pop(key, None)
        else:
            self._reserved[key] = spec.reserved_concurrency
        # Per published version (or $LATEST): invoking version 1 leaves version 2's warm and
        # provisioned environments alone, as on Lambda; only a changed $LATEST retires its own.
        current = (*key, spec.version)
        if self._current.get(current) == spec.version_key:
            return []
        self._current[current] = spec.version_key
        retired: list[ExecutionEnvironment] = []
        for version, stack in list(self._idle.items()):
            if stack and self._same_version(stack[0].spec, spec) and version != spec.version_key:
                retired.extend(stack)
                del self._idle[version]
        for env in self._busy:
            if self._same_version(env.spec, spec) and env.spec.version_key != spec.version_key:
                self._retiring.add(env)
        return retired

    @staticmethod
    def _same_version(one: FunctionSpec, other: FunctionSpec) -> bool:
        return one.function_key == other.function_key and one.version == other.version

    def _trim_provisioned(self, spec: FunctionSpec) -> list[ExecutionEnvironment]:
        """Idle provisioned environments of spec beyond its provisioned concurrency."""
        stack = self._idle.get(spec.version_key, [])
        provisioned = [env for env in stack if env.provisioned]
        extra = provisioned[spec.provisioned_concurrency :]
        if extra:
            self._idle[spec.version_key] = [env for env in stack if env not in extra]
        return extra

    def _reservation_problem(self, spec: FunctionSpec) -> str | None:
        """Lambda's refusal if spec's reserved concurrency cannot be given, else None."""
        if spec.reserved_concurrency is None:
            return None
        others = sum(v for k, v in self._reserved.items() if k != spec.function_key)
        if others + spec.reserved_concurrency > self.account_concurrency - self.unreserved_minimum:
            return reservation_message(self.unreserved_minimum)
        learner = sum(
            v
            for k, v in self._reserved.items()
            if k[0].split("/", 1)[0] == spec.tenant and k != spec.function_key
        )
        if learner + spec.reserved_concurrency > self.learner_concurrency:
            return (
                "Specified ReservedConcurrentExecutions for function exceeds the "
                f"{self.learner_concurrency} concurrent executions each learner may use."
            )
        return None

    def _admit(self, spec: FunctionSpec) -> tuple[str, str] | None:
        """None if the invocation may run, else Lambda's throttling reason and message."""
        if self._inflight_by_learner[spec.tenant] >= self.learner_concurrency:
            return (
                "LearnerConcurrentInvocationLimitExceeded",
                f"Rate Exceeded. Each learner may have {self.learner_concurrency} "
                "invocations in flight at once.",
            )
        key = spec.function_key
        reserved = self._reserved.get(key)
        if reserved is not None:
            if self._inflight_by_fn[key] >= reserved:
                return ("ReservedFunctionConcurrentInvocationLimitExceeded", "Rate Exceeded.")
            return None
        # Unreserved functions share what reserved ones leave of the account limit.
        unreserved_capacity = self.account_concurrency - sum(self._reserved.values())
        unreserved_inflight = self._inflight - sum(
            self._inflight_by_fn[fn] for fn in self._reserved
        )
        if unreserved_inflight >= unreserved_capacity or self._inflight >= self.account_concurrency:
            return ("ConcurrentInvocationLimitExceeded", "Rate Exceeded.")
        return None

    # ----------------------------------------------------------------- internals (no lock)

    def _new_environment(self, spec: FunctionSpec, *, provisioned: bool) -> ExecutionEnvironment:
        """An environment for spec; its memory must have been claimed (_claim_memory)."""
        with self._lock:
            # Its code directory must not be removed between being written and being used.
            self._claimed_code[spec.code_sha256] += 1
        try:
            code_dir = self._workspace.code_dir(spec)
            services_env = (
                self._services_environment(spec)
                if self._services is not None and self._services_environment is not None
                else None
            )
        except BaseException:
            with self._lock:
                self._claimed[spec.tenant] -= env_cost_mb(spec)
                self._claimed_code[spec.code_sha256] -= 1
            raise
        with self._lock:
            self._prune()
            try:
                uid = self._take_uid()
            except JailUnavailable:
                self._claimed[spec.tenant] -= env_cost_mb(spec)
                self._claimed_code[spec.code_sha256] -= 1
                raise
            env = ExecutionEnvironment(
                spec=spec,
                code_dir=code_dir,
                bootstrap=self._workspace.bootstrap(spec.runtime),
                cgroup=self._cgroups.child("pending"),
                spawner=self._spawner,
                provisioned=provisioned,
                uid=uid,
                services=self._services,
                services_environment=services_env,
            )
            env.cgroup = self._cgroups.child(f"env-{env.id}")
            self._claimed[spec.tenant] -= env_cost_mb(spec)
            self._live.add(env)
            self._claimed_code[spec.code_sha256] -= 1
        return env

    def _run(
        self,
        spec: FunctionSpec,
        env: ExecutionEnvironment | None,
        request_id: str,
        event: bytes,
        running: _Running | None = None,
        invoked_arn: str = "",
    ) -> InvocationResult:
        init: Outcome | None = None
        failed_init: Outcome | None = None
        retry: Outcome | None = None
        if env is None:
            env = self._new_environment(spec, provisioned=False)
            _attach(running, env)
            try:
                init = env.start(self.init_timeout_s)
            except JailUnavailable:
                if not env.stop_reason:
                    raise
                # Killed while the jail was starting: stopped, not a broken sandbox.
                env.kill()
                return result.stopped(spec, request_id, env.stop_reason)
            if env.stop_reason:
                env.kill()
                return result.stopped(spec, request_id, env.stop_reason)
            if init.status != "success":
                # Lambda retries a failed INIT once inside the invocation ("suppressed init"),
                # within the function's timeout; only a second failure fails the invocation.
                failed_init, init = init, None
                with self._lock:
                    self._claimed[spec.tenant] += env_cost_mb(spec)
                env = self._new_environment(spec, provisioned=False)
                _attach(running, env)
                retry = env.start(float(spec.timeout_s))
                if env.stop_reason:
                    env.kill()
                    return result.stopped(spec, request_id, env.stop_reason)
                if retry.status != "success":
                    return result.from_init_failure(spec, request_id, env, failed_init, retry)
            with self._lock:
                self._busy.add(env)
        else:
            _attach(running, env)
        budget = None if retry is None else spec.timeout_s - retry.duration_ms / 1000
        try:
            if env.stop_reason:  # stopped while it was being admitted or initialised
                return result.stopped(spec, request_id, env.stop_reason)
            outcome = env.invoke(
                request_id=request_id,
                event=event,
                trace_id=_trace_id(request_id),
                budget_s=budget,
                invoked_arn=invoked_arn,
            )
        finally:
            self._release(env)
        return result.from_outcomes(
            spec, request_id, outcome, env, init=init, failed_init=failed_init, retry=retry
        )

    def _release(self, env: ExecutionEnvironment) -> None:
        with self._lock:
            self._busy.discard(env)
            # A stopped environment's processes are gone, whatever the invocation returned.
            retire = env in self._retiring or self._closed or bool(env.stop_reason)
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


STOP_REMEMBER_S = 60.0


class _Running:
    """An invocation started with a handle: its environment once chosen, and a stop's reason.

    lock orders stop() against the invocation's end, so an environment is never stopped once
    it is back in the pool serving another invocation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.env: ExecutionEnvironment | None = None
        self.reason = ""


def _attach(running: _Running | None, env: ExecutionEnvironment) -> None:
    """Make env the one stop() kills; a stop that came first marks it stopped at once."""
    if running is None:
        return
    with running.lock:
        running.env = env
        if running.reason:
            env.stop_reason = running.reason


class _Once:
    """Call a callback at most once (None: do nothing)."""

    def __init__(self, callback: Callable[[], None] | None) -> None:
        self._callback = callback

    def __call__(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


def reservation_message(unreserved_minimum: int) -> str:
    """Lambda's refusal of a reservation that would leave too little unreserved."""
    return (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        f"UnreservedConcurrentExecution below its minimum value of [{unreserved_minimum}]."
    )


def _memory_throttle(pool: EnvironmentPool, spec: FunctionSpec, learner: bool) -> tuple[str, str]:
    need = env_cost_mb(spec)
    if learner:
        return (
            "LearnerMemoryLimitExceeded",
            f"Rate Exceeded. A new {need} MB environment (memory + /tmp) does not fit in the "
            f"{pool.learner_memory_mb} MB each learner's environments may hold at once.",
        )
    return (
        "SandboxMemoryExhausted",
        f"Rate Exceeded. The sandbox host has no room for a new {need} MB environment "
        f"(memory + /tmp) within its {pool.memory_budget_mb} MB budget; try again shortly.",
    )


def _trace_id(request_id: str) -> str:
    return f"Root=1-{int(time.time()):08x}-{request_id.replace('-', '')[:24]};Parent=0;Sampled=0"
