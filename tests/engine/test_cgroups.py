"""cgroup v1 and v2 files, checked against a fake hierarchy (this machine mounts only v1).

The kernel's own behaviour on v2 (subtree_control delegation, cgroup.kill, freezing) cannot
be exercised here; these tests pin down which file each limit is written to and how each
statistic is read, for both versions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.engine import cgroups
from sandbox.engine.cgroups import CgroupParent, EnvCgroup, detect_version


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Record every cgroup file write; the fake files are created (the kernel would have them)."""
    seen: list[tuple[str, str]] = []

    def write(path: Path, value: str) -> None:
        seen.append((path.name, value))
        path.write_text(value)

    monkeypatch.setattr(cgroups, "_write", write)
    return seen


@pytest.fixture
def v2_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cgroup"
    root.mkdir()
    for name in ("cgroup.subtree_control", "cgroup.procs"):
        (root / name).write_text("")
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    monkeypatch.setattr(cgroups, "_own_paths", lambda: {"": "/"})
    return root


def test_versions_are_detected(tmp_path: Path, v2_root: Path):
    assert detect_version(v2_root) == "v2"
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "cgroup.procs").write_text("")
    assert detect_version(v1) == "v1"
    assert detect_version(tmp_path / "none") is None


def test_v2_parent_delegates_sets_the_budget_and_the_host_cpu_reserve(
    v2_root: Path, writes: list[tuple[str, str]]
):
    parent = CgroupParent("pool-1", root=v2_root, memory_budget_mb=2048)
    assert parent.version == "v2"
    assert set(parent.available) == {"memory", "pids", "cpu", "freezer"}
    for controller in ("memory", "pids", "cpu"):
        assert ("cgroup.subtree_control", f"+{controller}") in writes
    pool_dir = v2_root / "pool-1"
    assert (pool_dir / "memory.max").read_text() == str(2048 * 1024 * 1024)
    quota, period = (pool_dir / "cpu.max").read_text().split()
    assert int(period) == cgroups.CPU_PERIOD_US
    expected = cgroups.host_cpus() * cgroups.CPU_PERIOD_US - cgroups.CPU_PERIOD_US // 2
    assert int(quota) == max(cgroups.CPU_PERIOD_US, expected)


def test_v2_environment_limits_freeze_and_statistics(v2_root: Path, writes: list[tuple[str, str]]):
    env_dir = v2_root / "env-1"
    env = EnvCgroup({c: env_dir for c in ("memory", "pids", "cpu", "freezer")}, version="v2")
    env.create(memory_limit_mb=640, cpu_mb=10_240)
    assert (env_dir / "memory.max").read_text() == str(640 * 1024 * 1024)
    assert (env_dir / "pids.max").read_text() == "1024"
    quota, period = (env_dir / "cpu.max").read_text().split()
    assert int(period) == cgroups.CPU_PERIOD_US
    assert int(quota) == cgroups.pool_cpu_quota_us()  # capped at what the pool gets
    assert (env_dir / "cpu.weight").read_text() == "100"
    assert env.procs_files() == [str(env_dir / "cgroup.procs")]  # one unified directory
    assert env.freeze() and (env_dir / "cgroup.freeze").read_text() == "1"
    (env_dir / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    assert env.freezer_state() == "FROZEN"
    assert env.thaw() and (env_dir / "cgroup.freeze").read_text() == "0"
    (env_dir / "memory.stat").write_text("anon 52428800\nfile 1000\nshmem 7\n")
    assert env.anon_bytes() == 52428800
    (env_dir / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert env.oom_killed()
    (env_dir / "cgroup.procs").write_text("")
    (env_dir / "cgroup.kill").write_text("")
    assert env.kill_all(timeout_s=0.1)
    assert ("cgroup.kill", "1") in writes


def test_v1_statistics_are_read_from_their_own_files(tmp_path: Path):
    memory = tmp_path / "memory" / "env"
    memory.mkdir(parents=True)
    env = EnvCgroup({"memory": memory}, version="v1")
    (memory / "memory.stat").write_text("cache 10\nrss 5\ntotal_rss 4096\n")
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert env.anon_bytes() == 4096
    assert not env.oom_killed()
