"""cgroup v1 limits for execution environments: memory, pids, CPU share and freezing.

Each pool makes a directory (named by leftovers.owner_name()) under the launcher's own cgroup
in each controller (so any limit placed on the worker still applies), and each environment gets
a child of it. Controllers that are missing or not writable are simply absent from `available`;
the environment then falls back to rlimits / SIGSTOP and says so in its `limits`.
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


def _own_paths() -> dict[str, str]:
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            paths[controller] = path
    return paths


def pool_bases() -> dict[str, Path]:
    """Where pools make their directories: the launcher's own cgroup, per mounted controller."""
    own = _own_paths()
    bases: dict[str, Path] = {}
    for controller in CONTROLLERS:
        mount = CGROUP_ROOT / controller
        if not (mount / "cgroup.procs").exists():
            continue
        base = mount / own.get(controller, "/").lstrip("/")
        if not (base / "cgroup.procs").exists():
            base = mount  # a cgroup namespace shows "/" for a non-root path
        bases[controller] = base
    return bases


class CgroupParent:
    """The pool's cgroup directories, one per usable controller, named `name` (see leftovers)."""

    def __init__(self, name: str, enabled: bool = True) -> None:
        self.dirs: dict[str, Path] = {}
        if not enabled:
            return
        for controller, base in pool_bases().items():
            try:
                (base / name).mkdir()
            except OSError:
                continue
            self.dirs[controller] = base / name

    @property
    def available(self) -> frozenset[str]:
        return frozenset(self.dirs)

    def child(self, env_id: str) -> EnvCgroup:
        return EnvCgroup({c: d / env_id for c, d in self.dirs.items()})

    def remove(self) -> None:
        for path in self.dirs.values():
            with contextlib.suppress(OSError):
                path.rmdir()


class EnvCgroup:
    """One environment's cgroups. create() must succeed before the jail is started."""

    def __init__(self, dirs: dict[str, Path]) -> None:
        self.dirs = dirs

    def create(self, *, memory_limit_mb: int, cpu_mb: int) -> None:
        """Make the directories and set limits; raises OSError if a controller refuses."""
        for path in self.dirs.values():
            path.mkdir()
        if "memory" in self.dirs:
            limit = str(memory_limit_mb * 1024 * 1024)
            _write(self.dirs["memory"] / "memory.limit_in_bytes", limit)
            memsw = self.dirs["memory"] / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                # No swapping either: Lambda has no swap, and swap would hide OOM.
                _write(memsw, limit)
        if "pids" in self.dirs:
            _write(self.dirs["pids"] / "pids.max", str(MAX_PROCESSES))
        if "cpu" in self.dirs:
            quota = max(1000, CPU_PERIOD_US * cpu_mb // FULL_VCPU_MB)
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(quota))

    def procs_files(self) -> list[str]:
        return [str(path / "cgroup.procs") for path in self.dirs.values()]

    def freeze(self) -> bool:
        if "freezer" not in self.dirs:
            return False
        _write(self.dirs["freezer"] / "freezer.state", "FROZEN")
        return True

    def thaw(self) -> bool:
        if "freezer" not in self.dirs:
            return False
        _write(self.dirs["freezer"] / "freezer.state", "THAWED")
        return True

    def freezer_state(self) -> str | None:
        if "freezer" not in self.dirs:
            return None
        try:
            return (self.dirs["freezer"] / "freezer.state").read_text().strip()
        except OSError:
            return None

    def memory_stat(self) -> dict[str, int]:
        if "memory" not in self.dirs:
            return {}
        try:
            text = (self.dirs["memory"] / "memory.stat").read_text()
        except OSError:
            return {}
        stats: dict[str, int] = {}
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            stats[key] = int(value)
        return stats

    def anon_bytes(self) -> int | None:
        """Anonymous memory of every process in the environment (not /tmp, not page cache)."""
        stats = self.memory_stat()
        return stats.get("total_rss") if stats else None

    def oom_killed(self) -> bool:
        if "memory" not in self.dirs:
            return False
        try:
            text = (self.dirs["memory"] / "memory.oom_control").read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and int(value) > 0:
                return True
        return False

    def pids(self) -> list[int]:
        for path in self.dirs.values():
            try:
                return [int(p) for p in (path / "cgroup.procs").read_text().split()]
            except OSError:
                continue
        return []

    def kill_all(self) -> None:
        """SIGKILL every process in the environment, then thaw so frozen ones can die."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self.thaw()
            time.sleep(0.002)

    def remove(self) -> bool:
        """Remove the directories; False if some are still busy (dying processes)."""
        done = True
        for path in self.dirs.values():
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
