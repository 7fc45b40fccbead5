"""Owner names for a pool's host resources, and removal of those whose owner is gone.

A pool's cgroup directories and its workspace are all named `lambdalab-<pid>-<start>-<token>`:
the owning process's pid, its start time (field 22 of /proc/<pid>/stat, in clock ticks since
boot) and a random token. The pair (pid, start time) names one process for the life of the
machine, so a reused pid never passes for the old owner. A worker killed without shutdown()
leaves these behind (and, with its environments frozen at the time, jailed processes that the
kernel cannot finish killing until they are thawed); the next pool to start removes every
leftover whose owner is no longer running, and never touches one whose owner is, so several
pools (a worker and a test run, say) can share the machine.

Directories from engines older than this scheme are handled conservatively: cgroups named
`lambdalab-<pid>-<token>` are removed only once that pid is gone; workspaces named
`lambdalab-<random>` say nothing about their owner and are left alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import signal
import time
from pathlib import Path

logger = logging.getLogger(__name__)

PREFIX = "lambdalab-"
_OWNED = re.compile(r"lambdalab-(\d+)-(\d+)-[0-9a-f]{8}")
_LEGACY_CGROUP = re.compile(r"lambdalab-(\d+)-[0-9a-f]{8}")


def process_start_time(pid: int) -> int | None:
    """Clock ticks after boot at which pid started, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces or parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])  # field 22; fields[0] is field 3


def owner_name() -> str:
    """A fresh name for this process's pool resources."""
    pid = os.getpid()
    return f"{PREFIX}{pid}-{process_start_time(pid)}-{secrets.token_hex(4)}"


def owner_alive(name: str, *, legacy_cgroup: bool = False) -> bool | None:
    """Whether the process that made `name` is still running; None if `name` is not ours."""
    match = _OWNED.fullmatch(name)
    if match is not None:
        pid, start = int(match[1]), int(match[2])
        return process_start_time(pid) == start
    if legacy_cgroup:
        legacy = _LEGACY_CGROUP.fullmatch(name)
        if legacy is not None:
            return process_start_time(int(legacy[1])) is not None
    return None


def stale_cgroups(bases: dict[str, Path]) -> list[Path]:
    """Pool cgroup directories under bases (controller -> directory) whose owner is gone."""
    found = []
    for base in bases.values():
        try:
            entries = list(base.iterdir())
        except OSError:
            continue
        for path in entries:
            if owner_alive(path.name, legacy_cgroup=True) is False and path.is_dir():
                found.append(path)
    return found


def stale_workspaces(root: Path) -> list[Path]:
    """Workspaces under root whose owner is gone."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    return [
        path
        for path in entries
        if owner_alive(path.name) is False and path.is_dir() and not path.is_symlink()
    ]


def sweep(*, cgroup_bases: dict[str, Path], workspace_root: Path) -> list[Path]:
    """Remove the cgroups (killing what still runs in them) and workspaces of dead owners.

    Returns what was removed. Never raises: a leftover that cannot be removed now (a process
    still dying, a permission problem) is logged and left for the next pool.
    """
    removed = []
    cgroups = stale_cgroups(cgroup_bases)
    _kill_cgroup_processes(cgroups)
    for path in cgroups:
        if _remove_cgroup(path):
            removed.append(path)
        else:
            logger.warning("could not remove stale cgroup %s", path)
    for path in stale_workspaces(workspace_root):
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            logger.warning("could not remove stale workspace %s", path)
        else:
            removed.append(path)
    for path in removed:
        logger.info("removed %s, left by a sandbox pool that is no longer running", path)
    return removed


def _tree(path: Path) -> list[Path]:
    """path and every cgroup below it, deepest first."""
    below = [child for child in path.rglob("*") if child.is_dir()]
    return [*sorted(below, key=lambda p: len(p.parts), reverse=True), path]


def _kill_cgroup_processes(pool_dirs: list[Path]) -> None:
    """SIGKILL every process left in pool_dirs, thawing frozen ones so the signal lands."""
    groups = [group for path in pool_dirs for group in _tree(path)]
    for _ in range(100):
        pids: set[int] = set()
        for group in groups:
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(p) for p in (group / "cgroup.procs").read_text().split())
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for group in groups:
            state = group / "freezer.state"
            if state.exists():
                with contextlib.suppress(OSError):
                    state.write_text("THAWED")
        time.sleep(0.005)


def _remove_cgroup(path: Path) -> bool:
    for _ in range(100):
        for group in _tree(path):
            with contextlib.suppress(OSError):
                group.rmdir()
        if not path.exists():
            return True
        time.sleep(0.005)
    return False
