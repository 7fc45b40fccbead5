"""cgroup limits for execution environments (v1 or v2, detected): memory, pids, CPU, freezing.

Each pool makes a directory (named by leftovers.owner_name()) under the launcher's own cgroup
(so any limit placed on the worker still applies), and each environment gets a child of it. The
pool's directory carries the host-wide memory budget; each child carries its environment's
limits. Controllers that are missing or not writable are simply absent from `available`; the
environment then falls back to rlimits / SIGSTOP and says so in its `limits`.

`dirs` maps each usable controller to its directory. On cgroup v1 each controller has its own
hierarchy; on v2 (one unified hierarchy) every controller maps to the same directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu", "freezer")
MAX_PROCESSES = 1024  # Lambda's limit on processes/threads per environment
# The kernel's default CFS period. A throttled function waits out the rest of its period, so a
# 128 MB function (7.2 ms of CPU per period) can stall up to ~93 ms. A shorter period with the
# same share (13.8 ms with the kernel's 1 ms minimum quota at 128 MB) was measured with
# bench/engine.py on 2 cores: warm overhead p99 at 128 MB fell from 48-86 ms to 14-25 ms, but
# its cold start p50 rose from 245-300 ms to 365-465 ms (also with the bench pinned to one CPU,
# so not per-CPU runtime stranding alone); 27.6 and 41.5 ms periods traded the same way. Cold
# starts matter more to users here, so the period stays at 100 ms.
CPU_PERIOD_US = 100_000
FULL_VCPU_MB = 1769  # Lambda: 1,769 MB buys one vCPU
# Every environment gets the same weight when the host's CPUs are contended, whatever its
# memory size: the quota (above) is what a bigger function buys, not a bigger slice of others'.
CPU_SHARES_V1 = 1024
CPU_WEIGHT_V2 = 100


def host_cpus() -> int:
    """CPUs this process may run on (the cap for any one environment's quota)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def pool_cpu_quota_us(cpus: int | None = None) -> int:
    """CFS quota of all environments together: the host's CPUs less half a CPU, which stays
    for the host (the worker that drives the jails, the web server)."""
    return max(CPU_PERIOD_US, (cpus or host_cpus()) * CPU_PERIOD_US - CPU_PERIOD_US // 2)


def cpu_quota_us(memory_mb: int, cpus: int | None = None) -> int:
    """CFS quota per CPU_PERIOD_US for a function of memory_mb (1,769 MB buys one vCPU), capped
    at what all environments together get (a child's quota may not exceed its parent's)."""
    return max(1000, min(pool_cpu_quota_us(cpus), CPU_PERIOD_US * memory_mb // FULL_VCPU_MB))


def detect_version(root: Path = CGROUP_ROOT) -> str | None:
    """'v2' for a unified hierarchy, 'v1' for per-controller mounts, None if neither is usable."""
    if (root / "cgroup.controllers").exists():
        return "v2"
    if any((root / c / "cgroup.procs").exists() for c in CONTROLLERS):
        return "v1"
    return None


def _own_paths() -> dict[str, str]:
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else ("",):
            paths[controller] = path
    return paths


def pool_bases(root: Path = CGROUP_ROOT) -> dict[str, Path]:
    """Where pools make their directories: the launcher's own cgroup, per usable controller."""
    version = detect_version(root)
    own = _own_paths()
    bases: dict[str, Path] = {}
    if version == "v2":
        base = root / own.get("", "/").lstrip("/")
        if not (base / "cgroup.procs").exists():
            base = root
        offered = _read(base / "cgroup.controllers").split()
        for controller in ("memory", "pids", "cpu"):
            if controller in offered:
                bases[controller] = base
        if (base / "cgroup.freeze").exists() or base == root:
            bases["freezer"] = base  # v2's freezer is core, not a controller
        return bases
    for controller in CONTROLLERS:
        mount = root / controller
        if not (mount / "cgroup.procs").exists():
            continue
        base = mount / own.get(controller, "/").lstrip("/")
        if not (base / "cgroup.procs").exists():
            base = mount  # a cgroup namespace shows "/" for a non-root path
        bases[controller] = base
    return bases


class CgroupParent:
    """The pool's cgroup directories, one per usable controller, named `name` (see leftovers).

    memory_budget_mb, when given and the memory controller is usable, is a hard limit on all the
    pool's environments together (the host's memory budget for learner code).
    """

    def __init__(
        self,
        name: str,
        enabled: bool = True,
        *,
        root: Path = CGROUP_ROOT,
        memory_budget_mb: int | None = None,
    ) -> None:
        self.dirs: dict[str, Path] = {}
        self.version = detect_version(root) if enabled else None
        if not enabled or self.version is None:
            return
        made: set[Path] = set()
        for controller, base in pool_bases(root).items():
            path = base / name
            if path not in made:  # on v2 every controller shares one directory
                try:
                    path.mkdir()
                except OSError:
                    continue
                made.add(path)
            self.dirs[controller] = path
        if self.version == "v2":
            self._enable_v2_controllers()
        if "cpu" in self.dirs:
            # All environments together leave half a CPU to the host (the worker that drives
            # them, the web server): learner code can slow the host, never stall it.
            quota = pool_cpu_quota_us()
            with contextlib.suppress(OSError):
                if self.version == "v2":
                    _write(self.dirs["cpu"] / "cpu.max", f"{quota} {CPU_PERIOD_US}")
                else:
                    _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
                    _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(quota))
        if memory_budget_mb is not None and "memory" in self.dirs:
            limit = str(memory_budget_mb * 1024 * 1024)
            name_v1 = "memory.limit_in_bytes" if self.version == "v1" else "memory.max"
            # If refused, the per-environment limits and admission still hold.
            with contextlib.suppress(OSError):
                _write(self.dirs["memory"] / name_v1, limit)

    def _enable_v2_controllers(self) -> None:
        """Let children of the pool's directory use memory, pids and cpu (v2 subtree_control)."""
        if not self.dirs:
            return
        pool_dir = next(iter(self.dirs.values()))
        wanted = [c for c in ("memory", "pids", "cpu") if c in self.dirs]
        for parent in (pool_dir.parent, pool_dir):
            for controller in list(wanted):
                try:
                    _write(parent / "cgroup.subtree_control", f"+{controller}")
                except OSError:
                    # The parent holds processes of its own (v2's "no internal processes"
                    # rule) or was not delegated: that controller falls back to rlimits.
                    wanted.remove(controller)
                    self.dirs.pop(controller, None)

    @property
    def available(self) -> frozenset[str]:
        return frozenset(self.dirs)

    def child(self, env_id: str) -> EnvCgroup:
        return EnvCgroup({c: d / env_id for c, d in self.dirs.items()}, version=self.version)

    def remove(self) -> None:
        for path in set(self.dirs.values()):
            with contextlib.suppress(OSError):
                path.rmdir()


class EnvCgroup:
    """One environment's cgroups. create() must succeed before the jail is started."""

    def __init__(self, dirs: dict[str, Path], version: str | None = "v1") -> None:
        self.dirs = dirs
        self.version = version

    @property
    def _paths(self) -> list[Path]:
        return sorted(set(self.dirs.values()))

    def create(self, *, memory_limit_mb: int, cpu_mb: int) -> None:
        """Make the directories and set limits; raises OSError if a controller refuses."""
        for path in self._paths:
            path.mkdir()
        limit = str(memory_limit_mb * 1024 * 1024)
        quota = cpu_quota_us(cpu_mb)
        if self.version == "v2":
            if "memory" in self.dirs:
                _write(self.dirs["memory"] / "memory.max", limit)
                # No swapping: Lambda has no swap, and swap would hide OOM.
                swap = self.dirs["memory"] / "memory.swap.max"
                if swap.exists():
                    _write(swap, "0")
            if "pids" in self.dirs:
                _write(self.dirs["pids"] / "pids.max", str(MAX_PROCESSES))
            if "cpu" in self.dirs:
                _write(self.dirs["cpu"] / "cpu.max", f"{quota} {CPU_PERIOD_US}")
                _write(self.dirs["cpu"] / "cpu.weight", str(CPU_WEIGHT_V2))
            return
        if "memory" in self.dirs:
            _write(self.dirs["memory"] / "memory.limit_in_bytes", limit)
            memsw = self.dirs["memory"] / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                # No swapping either: Lambda has no swap, and swap would hide OOM.
                _write(memsw, limit)
        if "pids" in self.dirs:
            _write(self.dirs["pids"] / "pids.max", str(MAX_PROCESSES))
        if "cpu" in self.dirs:
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(quota))
            _write(self.dirs["cpu"] / "cpu.shares", str(CPU_SHARES_V1))

    def procs_files(self) -> list[str]:
        return [str(path / "cgroup.procs") for path in self._paths]

    def freeze(self) -> bool:
        if "freezer" not in self.dirs:
            return False
        if self.version == "v2":
            _write(self.dirs["freezer"] / "cgroup.freeze", "1")
        else:
            _write(self.dirs["freezer"] / "freezer.state", "FROZEN")
        return True

    def thaw(self) -> bool:
        if "freezer" not in self.dirs:
            return False
        if self.version == "v2":
            _write(self.dirs["freezer"] / "cgroup.freeze", "0")
        else:
            _write(self.dirs["freezer"] / "freezer.state", "THAWED")
        return True

    def freezer_state(self) -> str | None:
        if "freezer" not in self.dirs:
            return None
        if self.version == "v2":
            events = _keyed(_read(self.dirs["freezer"] / "cgroup.events"))
            return "FROZEN" if events.get("frozen") == 1 else "THAWED"
        try:
            return (self.dirs["freezer"] / "freezer.state").read_text().strip()
        except OSError:
            return None

    def memory_stat(self) -> dict[str, int]:
        if "memory" not in self.dirs:
            return {}
        return _keyed(_read(self.dirs["memory"] / "memory.stat"))

    def anon_bytes(self) -> int | None:
        """Anonymous memory of every process in the environment (not /tmp, not page cache)."""
        stats = self.memory_stat()
        if not stats:
            return None
        return stats.get("anon") if self.version == "v2" else stats.get("total_rss")

    def oom_killed(self) -> bool:
        if "memory" not in self.dirs:
            return False
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        return _keyed(_read(self.dirs["memory"] / name)).get("oom_kill", 0) > 0

    def pids(self) -> list[int]:
        for path in self._paths:
            try:
                return [int(p) for p in (path / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                continue
        return []

    def kill_all(self, timeout_s: float = 2.0, *, spare: int | None = None) -> bool:
        """Kill every process in the environment (but `spare`) and wait until none is left.

        Freezes first so that nothing can fork while the kill is under way, kills, thaws so
        that frozen processes can die, then waits for the cgroup to be empty. `spare` is the
        jail's launcher (bwrap), left to reap its child and exit by itself, so that no zombie
        is left to the host's init. Returns whether it emptied within timeout_s.
        """
        if not self.dirs:
            return True
        with contextlib.suppress(OSError):
            self.freeze()
        kill_file = self._paths[0] / "cgroup.kill"
        if spare is None and self.version == "v2" and kill_file.exists():
            with contextlib.suppress(OSError):
                _write(kill_file, "1")
        for pid in self.pids():
            if pid != spare:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.thaw()
        deadline = time.monotonic() + timeout_s
        while True:
            pids = [pid for pid in self.pids() if pid != spare]
            if not pids:
                return True
            if time.monotonic() > deadline:
                return False
            for pid in pids:  # forked between the freeze and the kill: kill again
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)

    def remove(self) -> bool:
        """Remove the directories; False if some are still busy (dying processes)."""
        done = True
        for path in self._paths:
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _keyed(text: str) -> dict[str, int]:
    """Parse 'key value' lines (memory.stat, memory.events, cgroup.events, oom_control)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            values[key] = int(value)
    return values


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
