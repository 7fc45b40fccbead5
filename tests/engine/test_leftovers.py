"""Start-up cleanup: a new pool removes what pools of dead processes left behind (cgroups, with
any jail still frozen in them, and workspaces) and never touches a live pool's."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.engine import EnvironmentPool, leftovers
from sandbox.engine.cgroups import pool_bases
from tests.engine.support import TRIVIAL, make_spec

ROOT = Path(__file__).resolve().parents[2]


def dead_pid() -> int:
    child = subprocess.Popen(["/bin/true"])
    child.wait()
    return child.pid


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A workspace root the jail's uid can traverse (pytest's workdir is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="leftovers-test-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def bases() -> dict[str, Path]:
    bases = pool_bases()
    if not {"freezer", "pids"} <= set(bases):
        pytest.skip("needs writable cgroup v1 freezer and pids controllers")
    return bases


@pytest.fixture
def frozen_sleeper() -> Iterator[subprocess.Popen[bytes]]:
    sleeper = subprocess.Popen(["/bin/sleep", "300"])
    yield sleeper
    sleeper.kill()
    sleeper.wait()


def test_owner_names_identify_one_process():
    name = leftovers.owner_name()
    assert name.startswith(f"lambdalab-{os.getpid()}-")
    assert leftovers.owner_alive(name) is True
    pid, start = os.getpid(), leftovers.process_start_time(os.getpid())
    # The same pid with another start time is a reused pid, not this process.
    assert leftovers.owner_alive(f"lambdalab-{pid}-{start + 1}-0123abcd") is False
    assert leftovers.owner_alive(f"lambdalab-{dead_pid()}-{start}-0123abcd") is False
    for foreign in ("lambdalab-services-fk2a19ak", "lambdalab-chromium-x", "lambdalab-ab12cd34"):
        assert leftovers.owner_alive(foreign) is None


def test_dead_owners_leftovers_are_removed_and_others_kept(
    bases: dict[str, Path], workdir: Path, frozen_sleeper: subprocess.Popen[bytes]
):
    me = os.getpid()
    start = leftovers.process_start_time(me)
    assert start is not None
    dead = f"lambdalab-{dead_pid()}-{start}-0badc0de"
    reused = f"lambdalab-{me}-{start + 7}-0badf00d"  # this pid, but an earlier process
    legacy_dead = f"lambdalab-{dead_pid()}-deadbeef"
    legacy_live = f"lambdalab-{me}-cafef00d"
    created = []
    for base in bases.values():
        for name in (dead, reused, legacy_dead, legacy_live):
            (base / name / "env-0123456789ab").mkdir(parents=True)
            created.append(base / name)
    # A jail left frozen by its dead owner: SIGKILL cannot land until it is thawed.
    for base in bases.values():
        (base / dead / "env-0123456789ab" / "cgroup.procs").write_text(str(frozen_sleeper.pid))
    (bases["freezer"] / dead / "env-0123456789ab" / "freezer.state").write_text("FROZEN")

    for name in (dead, reused):
        code = workdir / name / "code-0123"
        code.mkdir(parents=True)
        (code / "app.py").write_text(TRIVIAL)
        (code / "app.py").chmod(0o444)
        code.chmod(0o555)
    foreign = [workdir / "lambdalab-services-fk2a19ak", workdir / "lambdalab-ab12cd34"]
    for path in foreign:
        path.mkdir()
    try:
        with EnvironmentPool(workdir=workdir) as pool:
            assert frozen_sleeper.wait(timeout=10) == -signal.SIGKILL
            for base in bases.values():
                assert not (base / dead).exists()
                assert not (base / reused).exists()
                assert not (base / legacy_dead).exists()
                assert (base / legacy_live / "env-0123456789ab").is_dir()
            assert not (workdir / dead).exists() and not (workdir / reused).exists()
            assert all(path.is_dir() for path in foreign)
            assert pool.invoke(make_spec(TRIVIAL), 1).payload == {"echo": 1}
    finally:
        # If the sweep failed, the sleeper is still frozen and could not die: thaw it first.
        thaw = bases["freezer"] / dead / "env-0123456789ab" / "freezer.state"
        if thaw.exists():
            thaw.write_text("THAWED")
        frozen_sleeper.kill()
        frozen_sleeper.wait()
        for path in created:
            for group in (path / "env-0123456789ab", path):
                if group.exists():
                    group.rmdir()


def test_a_live_pool_in_this_process_is_untouched(workdir: Path):
    spec = make_spec(TRIVIAL)
    with EnvironmentPool(workdir=workdir) as first:
        assert first.invoke(spec, 1).cold_start
        with EnvironmentPool(workdir=workdir) as second:
            assert second.invoke(make_spec(TRIVIAL), 2).payload == {"echo": 2}
            assert first._workspace.root.is_dir()
            assert all(path.is_dir() for path in first._cgroups.dirs.values())
            warm = first.invoke(spec, 3)
            assert not warm.cold_start and warm.payload == {"echo": 3}


WORKER = """
import json, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from sandbox.engine import EnvironmentPool
from tests.engine.support import TRIVIAL, make_spec

pool = EnvironmentPool(workdir=Path({workdir!r}))
result = pool.invoke(make_spec(TRIVIAL), 1)  # leaves a warm environment, frozen
print(json.dumps({{
    "workspace": str(pool._workspace.root),
    "cgroups": [str(path) for path in pool._cgroups.dirs.values()],
    "status": result.status,
}}), flush=True)
sys.stdin.read()  # until killed
"""


def test_a_killed_workers_leftovers_go_only_once_it_is_dead(workdir: Path):
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(WORKER.format(root=str(ROOT), workdir=str(workdir))),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        seen = json.loads(worker.stdout.readline())
        assert seen["status"] == "success"
        paths = [Path(seen["workspace"]), *map(Path, seen["cgroups"])]
        with EnvironmentPool(workdir=workdir):
            assert all(path.is_dir() for path in paths)  # its worker is alive: kept
    finally:
        worker.kill()  # no shutdown(): what it made stays behind
        worker.wait()
    assert all(path.is_dir() for path in paths)
    with EnvironmentPool(workdir=workdir):
        assert not any(path.exists() for path in paths)
