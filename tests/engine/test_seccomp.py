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


def run_filter(program: bytes, *, arch: int, nr: int, arg0: int = 0) -> int:
    """Interpret the program on one struct seccomp_data, as the kernel would."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    insns = [seccomp.SOCK_FILTER.unpack_from(program, i) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == seccomp.BPF_LD_W_ABS:
            acc = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif code == seccomp.BPF_RET_K:
            return k
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
    for name in seccomp.denied_syscalls():
        assert run_filter(program, arch=audit, nr=arch.syscalls[name]) == EPERM, name
    assert run_filter(program, arch=audit, nr=read_nr) == ALLOW
    assert run_filter(program, arch=audit, nr=clone_nr, arg0=THREAD_FLAGS) == ALLOW
    assert run_filter(program, arch=audit, nr=clone_nr, arg0=0x10000000 | 17) == EPERM
    assert run_filter(program, arch=audit, nr=clone_nr, arg0=0x40000000 | 17) == EPERM
    assert run_filter(program, arch=audit, nr=arch.syscalls["clone3"]) == ENOSYS
    personality = arch.syscalls["personality"]
    assert run_filter(program, arch=audit, nr=personality, arg0=0xFFFFFFFF) == ALLOW
    assert run_filter(program, arch=audit, nr=personality, arg0=0) == ALLOW
    assert run_filter(program, arch=audit, nr=personality, arg0=0x0040000) == EPERM


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
    assert seccomp.ARCHES[machine].syscalls == {
        name: numbers[name] for name in seccomp.ARCHES[machine].syscalls
    }


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
