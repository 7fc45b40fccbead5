"""The jail's seccomp filter: a classic BPF program, assembled here, that bwrap installs.

Defence in depth behind the namespaces and dropped capabilities: most calls below already fail
for an unprivileged process in a user namespace, but each is a large, often-exploited piece of
kernel code that a Lambda handler never needs, so the kernel is asked to refuse it before any of
that code runs. Denied calls get EPERM (a handler that probes for a feature sees "not allowed",
not a crash); a call from another ABI (i386 or x32 on x86_64) kills the process, since the
syscall numbers below would mean something else there.

No libseccomp: the program is a few dozen struct sock_filter entries, handed to
`bwrap --seccomp FD`, which reads it from the fd and installs it just before exec'ing the runtime.
If this machine's architecture has no table here, filter_program() raises JailUnavailable rather
than run code unfiltered.
"""

from __future__ import annotations

import errno
import functools
import os
import platform
import struct
from dataclasses import dataclass

from sandbox.engine.jail import JailUnavailable

# linux/audit.h
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7
X32_SYSCALL_BIT = 0x40000000

# linux/seccomp.h
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000

# linux/filter.h (classic BPF)
BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS: A = seccomp_data[k:k+4]
BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
BPF_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
BPF_RET_K = 0x06  # BPF_RET | BPF_K
SOCK_FILTER = struct.Struct("=HBBI")  # code, jt, jf, k

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
NR_OFFSET = 0
ARCH_OFFSET = 4
ARG0_LOW_OFFSET = 16  # low half of args[0]; both supported architectures are little-endian

# clone() flags that create namespaces. CLONE_NEWTIME (0x80) is left out: in clone() the low
# byte is the exit signal, and clone3 (which can take it) is refused below.
CLONE_NAMESPACE_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
ADDR_NO_RANDOMIZE = 0x0040000
PERSONALITY_QUERY = 0xFFFFFFFF

# What is refused, and why. Names are the kernel's syscall names.
DENIED_GROUPS: dict[str, tuple[str, ...]] = {
    # Debugging other processes: the jail's processes all share uid nobody, so one handler's
    # child could read or rewrite another's memory, and ptrace has a long record of kernel bugs.
    "ptrace": ("ptrace", "process_vm_readv", "process_vm_writev"),
    # The kernel keyring is not namespaced: keys would be shared with everything else running
    # as nobody on the host, and the keyring code is a frequent privilege-escalation target.
    "keyring": ("keyctl", "add_key", "request_key"),
    # eBPF programs run in the kernel; the verifier is one of its most attacked surfaces.
    "bpf": ("bpf",),
    # io_uring bypasses seccomp for the operations it performs and has had many escapes;
    # Google disables it on its production kernels and Docker's default profile refuses it.
    "io_uring": ("io_uring_setup", "io_uring_enter", "io_uring_register"),
    # Changing the mount tree would undo the read-only jail if a capability ever leaked in.
    "mount": (
        "mount",
        "umount2",
        "pivot_root",
        "move_mount",
        "open_tree",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "mount_setattr",
    ),
    # New namespaces: --disable-userns already stops nested user namespaces; this refuses the
    # calls themselves (clone with namespace flags is handled below, clone3 gets ENOSYS).
    "namespaces": ("unshare", "setns"),
    # Performance counters expose kernel addresses and timing side channels.
    "perf": ("perf_event_open",),
    # userfaultfd lets a handler stall the kernel mid-copy, the usual way to win kernel races.
    "userfaultfd": ("userfaultfd",),
    # Replacing or extending the running kernel.
    "kernel": (
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "reboot",
    ),
    # Host-wide administration that no function has a reason to touch.
    "admin": ("swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "lookup_dcookie"),
    # Opening files by handle walks around the mount namespace (the "shocker" container escape).
    "handles": ("open_by_handle_at",),
}

# Syscall numbers, from the kernel's uapi headers (asm/unistd_64.h on x86_64, the generic
# asm-generic/unistd.h table on aarch64). tests/engine/test_seccomp.py checks them against the
# headers when those are installed.
_X86_64 = {
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "bpf": 321,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "move_mount": 429,
    "open_tree": 428,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "unshare": 272,
    "setns": 308,
    "perf_event_open": 298,
    "userfaultfd": 323,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "reboot": 169,
    "swapon": 167,
    "swapoff": 168,
    "acct": 163,
    "quotactl": 179,
    "quotactl_fd": 443,
    "lookup_dcookie": 212,
    "open_by_handle_at": 304,
    "clone": 56,
    "clone3": 435,
    "personality": 135,
}
_AARCH64 = {
    "ptrace": 117,
    "process_vm_readv": 270,
    "process_vm_writev": 271,
    "keyctl": 219,
    "add_key": 217,
    "request_key": 218,
    "bpf": 280,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "mount": 40,
    "umount2": 39,
    "pivot_root": 41,
    "move_mount": 429,
    "open_tree": 428,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "unshare": 97,
    "setns": 268,
    "perf_event_open": 241,
    "userfaultfd": 282,
    "kexec_load": 104,
    "kexec_file_load": 294,
    "init_module": 105,
    "finit_module": 273,
    "delete_module": 106,
    "reboot": 142,
    "swapon": 224,
    "swapoff": 225,
    "acct": 89,
    "quotactl": 60,
    "quotactl_fd": 443,
    "lookup_dcookie": 18,
    "open_by_handle_at": 265,
    "clone": 220,
    "clone3": 435,
    "personality": 92,
}


@dataclass(frozen=True)
class Arch:
    audit_arch: int
    syscalls: dict[str, int]
    has_x32: bool  # x86_64 also accepts x32 calls: same audit arch, nr | X32_SYSCALL_BIT


ARCHES = {
    "x86_64": Arch(AUDIT_ARCH_X86_64, _X86_64, has_x32=True),
    "aarch64": Arch(AUDIT_ARCH_AARCH64, _AARCH64, has_x32=False),
}
_MACHINE_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}


def denied_syscalls() -> tuple[str, ...]:
    return tuple(name for group in DENIED_GROUPS.values() for name in group)


def assemble(arch: Arch) -> bytes:
    """The filter for arch as struct sock_filter[] bytes, ready for bwrap --seccomp."""
    nr = arch.syscalls
    # (code, jt, jf, k); jt/jf are label names or 0 (fall through), resolved below.
    program: list[tuple[int, str | int, str | int, int]] = [
        (BPF_LD_W_ABS, 0, 0, ARCH_OFFSET),
        (BPF_JEQ_K, 0, "kill", arch.audit_arch),
        (BPF_LD_W_ABS, 0, 0, NR_OFFSET),
    ]
    if arch.has_x32:
        program.append((BPF_JGE_K, "kill", 0, X32_SYSCALL_BIT))
    program += [
        (BPF_JEQ_K, "clone", 0, nr["clone"]),
        # clone3 passes its flags in memory, which a filter cannot read. ENOSYS, not EPERM:
        # glibc then falls back to clone(), whose flags are checked. (Docker does the same.)
        (BPF_JEQ_K, "enosys", 0, nr["clone3"]),
        (BPF_JEQ_K, "personality", 0, nr["personality"]),
    ]
    for number in sorted({nr[name] for name in denied_syscalls()}):
        program.append((BPF_JEQ_K, "deny", 0, number))
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    labels: dict[str, int] = {}

    def label(name: str) -> None:
        labels[name] = len(program)

    label("clone")
    program += [
        (BPF_LD_W_ABS, 0, 0, ARG0_LOW_OFFSET),
        (BPF_JSET_K, "deny", "allow", CLONE_NAMESPACE_FLAGS),
    ]
    # Turning address-space randomisation off makes memory-corruption exploits reliable; the
    # query form (0xffffffff) and every other persona stay allowed.
    label("personality")
    program += [
        (BPF_LD_W_ABS, 0, 0, ARG0_LOW_OFFSET),
        (BPF_JEQ_K, "allow", 0, PERSONALITY_QUERY),
        (BPF_JSET_K, "deny", "allow", ADDR_NO_RANDOMIZE),
    ]
    label("allow")
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    label("deny")
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM))
    label("enosys")
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.ENOSYS))
    label("kill")
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS))

    out = bytearray()
    for index, (code, jt, jf, k) in enumerate(program):
        offsets = []
        for target in (jt, jf):
            offset = labels[target] - index - 1 if isinstance(target, str) else target
            if not 0 <= offset <= 255:
                raise JailUnavailable(f"seccomp filter jump out of range at {index}")
            offsets.append(offset)
        out += SOCK_FILTER.pack(code, offsets[0], offsets[1], k)
    return bytes(out)


@functools.cache
def filter_program(machine: str | None = None) -> bytes:
    """The filter for this machine (or `machine`, a platform.machine() name).

    Raises JailUnavailable if there is no syscall table for the architecture: the engine then
    refuses to run code rather than run it unfiltered.
    """
    name = (machine or platform.machine()).lower()
    arch = ARCHES.get(_MACHINE_ALIASES.get(name, name))
    if arch is None:
        raise JailUnavailable(f"no seccomp filter for architecture {name!r}; refusing to run code")
    return assemble(arch)


def filter_fd() -> int:
    """A fresh fd holding the filter, positioned at its start, close-on-exec in this process.

    bwrap reads the fd to its end, so each jail needs its own; pass it with Popen(pass_fds=...)
    so that only that child inherits it, and close it once the child is started.
    """
    program = filter_program()
    fd = os.memfd_create("lambdalab-seccomp", os.MFD_CLOEXEC)
    try:
        os.write(fd, program)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd
