"""The seccomp program as data: run through a small classic-BPF interpreter for both
architectures (only x86_64 can be exercised for real here; see tests/security/test_seccomp.py),
and its syscall tables checked against the kernel headers when they are installed."""

import errno
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.engine import EnvironmentPool, JailUnavailable, seccomp
from tests.engine.support import TRIVIAL, make_spec

ALLOW = seccomp.SECCOMP_RET_ALLOW
KILL = seccomp.SECCOMP_RET_KILL_PROCESS
EPERM = seccomp.SECCOMP_RET_ERRNO | errno.EPERM
ENOSYS = seccomp.SECCOMP_RET_ERRNO | errno.ENOSYS


def run_filter(program: bytes, *, arch: int, nr: int, arg0: int = 0, arg2: int = 0) -> int:
    """Interpret the program on one struct seccomp_data, as the kernel would."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, arg0, 0, arg2, 0, 0, 0)
    insns = [seccomp.SOCK_FILTER.unpack_from(program, i) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == seccomp.BPF_LD_W_ABS:
            acc = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif code == seccomp.BPF_RET_K:
            return k
        elif code == seccomp.BPF_JA:
            pc += 1 + k
        else:
            taken = {
                seccomp.BPF_JEQ_K: acc == k,
                seccomp.BPF_JGE_K: acc >= k,
                seccomp.BPF_JSET_K: bool(acc & k),
            }[code]
            pc += 1 + (jt if taken else jf)


ARCHES = [("x86_64", 0, 56), ("aarch64", 63, 220)]  # name, read(), clone()
THREAD_FLAGS = 0x3D0F00  # CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT/CHILD_SETTID


@pytest.mark.parametrize(("machine", "read_nr", "clone_nr"), ARCHES)
def test_program_refuses_the_denied_calls_and_allows_the_rest(
    machine: str, read_nr: int, clone_nr: int
):
    arch = seccomp.ARCHES[machine]
    program = seccomp.filter_program(machine)
    audit = arch.audit_arch
    denied = seccomp.denied_syscalls(arch)
    for name in ("kcmp", "pidfd_getfd", "ptrace", "keyctl", "bpf", "io_uring_setup", "mount"):
        assert name in denied, name
    for name in denied:
        assert run_filter(program, arch=audit, nr=arch.syscalls[name]) == EPERM, name
    for name in seccomp.allowed_syscalls() & arch.syscalls.keys():
        assert run_filter(program, arch=audit, nr=arch.syscalls[name]) == ALLOW, name
    # Every number in the table has been decided one way or the other.
    special = set(seccomp.SPECIAL)
    assert set(denied) | seccomp.allowed_syscalls() | special >= arch.syscalls.keys()
    assert run_filter(program, arch=audit, nr=read_nr) == ALLOW
    assert run_filter(program, arch=audit, nr=clone_nr, arg0=THREAD_FLAGS) == ALLOW
    assert run_filter(program, arch=audit, nr=clone_nr, arg0=0x10000000 | 17) == EPERM
    assert run_filter(program, arch=audit, nr=clone_nr, arg0=0x40000000 | 17) == EPERM
    assert run_filter(program, arch=audit, nr=arch.syscalls["clone3"]) == ENOSYS
    personality = arch.syscalls["personality"]
    assert run_filter(program, arch=audit, nr=personality, arg0=0xFFFFFFFF) == ALLOW
    assert run_filter(program, arch=audit, nr=personality, arg0=0) == ALLOW
    assert run_filter(program, arch=audit, nr=personality, arg0=0x0040000) == EPERM
    read_implies_exec = 0x0400000
    assert run_filter(program, arch=audit, nr=personality, arg0=read_implies_exec) == EPERM
    socket = arch.syscalls["socket"]
    for family in (1, 2, 10):  # AF_UNIX, AF_INET, AF_INET6
        assert run_filter(program, arch=audit, nr=socket, arg0=family) == ALLOW
    for family in (0, 17, 40, 0x100000002):  # AF_PACKET, AF_VSOCK, junk
        expected = ALLOW if family == 0x100000002 else EPERM  # the kernel reads an int
        assert run_filter(program, arch=audit, nr=socket, arg0=family) == expected, family
    # AF_NETLINK: NETLINK_ROUTE only (getifaddrs); sock_diag, audit, uevents refused.
    assert run_filter(program, arch=audit, nr=socket, arg0=16, arg2=0) == ALLOW
    for protocol in (4, 9, 15, 12):
        assert run_filter(program, arch=audit, nr=socket, arg0=16, arg2=protocol) == EPERM


@pytest.mark.parametrize("machine", sorted(seccomp.ARCHES))
def test_numbers_past_the_table_are_enosys_and_holes_are_eperm(machine: str):
    arch = seccomp.ARCHES[machine]
    program = seccomp.filter_program(machine)
    newest = max(arch.syscalls.values())
    for nr in (newest + 1, newest + 100, 0x3FFFFFFF):
        assert run_filter(program, arch=arch.audit_arch, nr=nr) == ENOSYS
    holes = sorted(set(range(newest)) - set(arch.syscalls.values()))
    assert holes  # both tables have gaps (arch-specific ranges, retired numbers)
    for nr in holes:
        assert run_filter(program, arch=arch.audit_arch, nr=nr) == EPERM


@pytest.mark.parametrize("machine", sorted(seccomp.ARCHES))
def test_program_fits_the_kernel_limit_and_searches(machine: str):
    program = seccomp.filter_program(machine)
    assert len(program) // 8 <= 300  # far below BPF_MAXINSNS (4096)
    # A lookup is a binary search, not a scan: count the instructions one call runs.
    insns = [seccomp.SOCK_FILTER.unpack_from(program, i) for i in range(0, len(program), 8)]
    arch = seccomp.ARCHES[machine]
    steps = []
    for nr in arch.syscalls.values():
        data = struct.pack("<iIQ6Q", nr, arch.audit_arch, 0, 2, 0, 0, 0, 0, 0)
        acc, pc, count = 0, 0, 0
        while insns[pc][0] != seccomp.BPF_RET_K:
            code, jt, jf, k = insns[pc]
            count += 1
            if code == seccomp.BPF_LD_W_ABS:
                acc, pc = struct.unpack_from("<I", data, k)[0], pc + 1
            elif code == seccomp.BPF_JA:
                pc += 1 + k
            else:
                taken = {
                    seccomp.BPF_JEQ_K: acc == k,
                    seccomp.BPF_JGE_K: acc >= k,
                    seccomp.BPF_JSET_K: bool(acc & k),
                }[code]
                pc += 1 + (jt if taken else jf)
        steps.append(count)
    assert max(steps) <= 25, max(steps)


def test_docker_differences_are_explained():
    assert seccomp.REMOVED.keys() <= seccomp.DOCKER_ALLOWED
    assert not seccomp.ADDED.keys() & seccomp.DOCKER_ALLOWED
    assert all(reason for reason in (*seccomp.REMOVED.values(), *seccomp.ADDED.values()))


def test_program_kills_other_abis():
    x86 = seccomp.filter_program("x86_64")
    arm = seccomp.filter_program("aarch64")
    assert run_filter(x86, arch=0x40000003, nr=0) == KILL  # i386 via int 0x80
    assert run_filter(x86, arch=seccomp.AUDIT_ARCH_X86_64, nr=0x40000000 | 101) == KILL  # x32
    assert run_filter(x86, arch=seccomp.AUDIT_ARCH_AARCH64, nr=0) == KILL
    assert run_filter(arm, arch=seccomp.AUDIT_ARCH_X86_64, nr=63) == KILL
    assert run_filter(arm, arch=0x40000028, nr=0) == KILL  # 32-bit ARM compat


def test_unknown_architecture_is_refused():
    with pytest.raises(JailUnavailable, match="riscv64"):
        seccomp.filter_program("riscv64")
    assert seccomp.filter_program("amd64") == seccomp.filter_program("x86_64")


HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}


@pytest.mark.parametrize("machine", sorted(HEADERS))
def test_syscall_numbers_match_the_kernel_headers(machine: str):
    header = HEADERS[machine]
    if not header.exists():
        pytest.skip(f"{header} is not installed (Debian: linux-libc-dev)")
    numbers = {
        name: int(number)
        for name, number in re.findall(r"#define __NR_(\w+)\s+(\d+)", header.read_text())
    }
    table = seccomp.ARCHES[machine].syscalls
    assert {name: numbers[name] for name in table if name in numbers} == {
        name: nr for name, nr in table.items() if name in numbers
    }
    if machine == "x86_64":  # a flat list: the table is all of it
        assert table == numbers
    else:  # the generic table, 64-bit view: no 32-bit-only names, the 3264 aliases resolved
        assert "fstat64" not in table and "fcntl64" not in table
        assert (table["fstat"], table["newfstatat"], table["mmap"], table["clone"]) == (
            80,
            79,
            222,
            220,
        )


@pytest.fixture
def no_filter_for_this_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    seccomp.filter_program.cache_clear()
    monkeypatch.setattr(seccomp, "ARCHES", {})
    yield
    seccomp.filter_program.cache_clear()


def test_engine_fails_closed_without_a_filter(no_filter_for_this_machine: None):
    with EnvironmentPool() as pool:
        with pytest.raises(JailUnavailable, match="seccomp"):
            pool.invoke(make_spec(TRIVIAL), {})
        assert pool.environments() == []
        leftovers = [p for d in pool._cgroups.dirs.values() for p in d.iterdir() if p.is_dir()]
        assert leftovers == []
