"""The jail's seccomp filter: a classic BPF program, assembled here, that bwrap installs.

An allow list. Its base is Docker's default seccomp profile (moby profiles/seccomp/default.json,
the unconditional SCMP_ACT_ALLOW group plus the x86_64/arm64-only entries), taken for a container
that holds no capabilities, which is what the jail is. ADDED and REMOVED below say, one entry at a
time, where we differ from it and why. Anything not allowed gets EPERM (a handler that probes for
a feature sees "not allowed", not a crash), except:

- numbers above the highest one in our table (syscalls newer than the kernel headers the table
  was generated from) get ENOSYS, so that libc's "new call, old kernel" fallbacks still work;
- clone3 gets ENOSYS (its flags are in memory, which a filter cannot read; glibc falls back to
  clone(), whose flags are checked);
- a call from another ABI (i386 or x32 on x86_64) kills the process, since the numbers below
  would mean something else there.

Three calls have their first argument checked: clone (no namespace flags), personality (Docker's
five values), socket (AF_UNIX, AF_INET, AF_INET6, and AF_NETLINK for routing information only).

No libseccomp: the program is assembled here and handed to `bwrap --seccomp FD`, which installs
it just before exec'ing the runtime. The syscall number is looked up with a binary search over
ranges of numbers that share an action, so a call costs about ten instructions and the whole
program is a few hundred (the kernel's limit is 4096). If this machine's architecture has no
table, filter_program() raises JailUnavailable rather than run code unfiltered.
"""

from __future__ import annotations

import errno
import functools
import os
import platform
import struct
from dataclasses import dataclass

from sandbox.engine import syscall_table
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
BPF_JA = 0x05  # BPF_JMP | BPF_JA: pc += k
BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
BPF_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
BPF_RET_K = 0x06  # BPF_RET | BPF_K
SOCK_FILTER = struct.Struct("=HBBI")  # code, jt, jf, k
BPF_MAXINSNS = 4096

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
NR_OFFSET = 0
ARCH_OFFSET = 4
ARG0_LOW_OFFSET = 16  # low half of args[0]; both supported architectures are little-endian
ARG2_LOW_OFFSET = 32  # low half of args[2]

# clone() flags that create namespaces (Docker's mask, 0x7E020000). CLONE_NEWTIME (0x80) is left
# out: in clone() the low byte is the exit signal, and clone3 (which can take it) is ENOSYS.
CLONE_NAMESPACE_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
# personality() values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and
# the query. Everything else (ADDR_NO_RANDOMIZE above all, which makes memory-corruption exploits
# reliable) is refused.
PERSONALITY_ALLOWED = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
ADDR_NO_RANDOMIZE = 0x0040000
PERSONALITY_QUERY = 0xFFFFFFFF
# socket() families a function may open: local sockets, IPv4, IPv6.
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
SOCKET_FAMILIES = (AF_UNIX, AF_INET, AF_INET6)
NETLINK_ROUTE = 0  # the one netlink protocol allowed, see assemble()

# Docker's default profile: the syscalls it allows unconditionally (names that do not exist on
# x86_64 or aarch64, such as the *_time64 and *32 variants, simply have no number below).
DOCKER_ALLOWED: frozenset[str] = frozenset(
    """
    accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
    clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
    clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup
    dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
    epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat
    faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown
    fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr
    fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex
    futex_time64 futex_waitv futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid
    geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid
    getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit
    get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday
    getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch
    io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get
    ioprio_set io_setup io_submit io_uring_enter io_uring_register io_uring_setup ipc kill
    landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr
    link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
    madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
    mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
    mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv
    msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open
    openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free
    pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64
    process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink
    readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr
    rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
    rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
    rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
    sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
    sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
    sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
    semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
    setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
    setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
    setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32
    setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask
    sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat
    sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete
    timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create
    timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate
    truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes
    vfork vmsplice wait4 waitid waitpid write writev
    process_vm_readv process_vm_writev ptrace
    arch_prctl modify_ldt
    arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls
    """.split()  # noqa: SIM905 (one word per syscall name reads better than 330 quoted strings)
)
# Docker allows these only to a container with a given capability (CAP_SYS_ADMIN, CAP_SYS_PTRACE,
# CAP_SYS_MODULE, ...), or not at all; the jail has none, so they stay refused, as in Docker:
# bpf, clone3 (ENOSYS), fanotify_init, the mount family, perf_event_open, quotactl, setns,
# unshare, syslog, reboot, chroot, the module calls, acct, kcmp, pidfd_getfd, process_madvise,
# iopl, ioperm, settimeofday, clock_settime, vhangup, the mempolicy calls, keyctl, add_key,
# request_key, userfaultfd, kexec_*, open_by_handle_at, swapon/swapoff, lookup_dcookie.

# Where we differ from Docker. Each entry: syscall name -> why.
REMOVED: dict[str, str] = {
    # Debugging other processes: every process in the jail is uid nobody, so one handler's child
    # could read or rewrite another's memory; Docker allows these since kernel 4.8.
    "ptrace": "another process's memory, and a long record of kernel bugs",
    "process_vm_readv": "reads another process's memory without ptrace",
    "process_vm_writev": "writes another process's memory without ptrace",
    # io_uring performs its operations outside seccomp's view and has had many escapes; Google
    # turns it off on production kernels (the revision of Docker's profile used here still allows
    # it). libuv (Node.js) probes io_uring_setup at start and falls back to its thread pool on
    # EPERM.
    "io_uring_setup": "bypasses seccomp for the operations it runs; frequent escapes",
    "io_uring_enter": "as io_uring_setup",
    "io_uring_register": "as io_uring_setup",
    # Handles: name_to_handle_at is the half of the "shocker" escape that needs no capability;
    # a function has no use for file handles.
    "name_to_handle_at": "file handles walk around the mount namespace; no use in a function",
    # Processor-specific x86 state: the LDT has been the subject of several kernel bugs and no
    # 64-bit runtime needs one.
    "modify_ldt": "16-bit segments are not needed by 64-bit runtimes; a record of kernel bugs",
    # Memory-management calls with no use in a function and a history of kernel bugs.
    "remap_file_pages": "deprecated, emulated in the kernel; no use in a function",
    "memfd_secret": "unmaps pages from the kernel's own map; no use in a function",
    # Wide-area notifications of file-system activity; inotify covers a function's needs.
    "fanotify_mark": "useless without fanotify_init, which is refused",
}
ADDED: dict[str, str] = {
    # Nothing is added: both runtimes start and run their tests with Docker's list minus
    # REMOVED. (Argument checks, which are stricter than Docker's, are described above.)
}
# Calls decided by the argument checks or by a fixed errno, not by the list.
SPECIAL = ("clone", "clone3", "personality", "socket")


def allowed_syscalls() -> frozenset[str]:
    """Names allowed without an argument check (on the architectures that have them)."""
    return (DOCKER_ALLOWED | ADDED.keys()) - REMOVED.keys() - set(SPECIAL)


@dataclass(frozen=True)
class Arch:
    audit_arch: int
    syscalls: dict[str, int]
    has_x32: bool  # x86_64 also accepts x32 calls: same audit arch, nr | X32_SYSCALL_BIT


ARCHES = {
    "x86_64": Arch(AUDIT_ARCH_X86_64, syscall_table.X86_64, has_x32=True),
    "aarch64": Arch(AUDIT_ARCH_AARCH64, syscall_table.AARCH64, has_x32=False),
}
_MACHINE_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}


def denied_syscalls(arch: Arch) -> tuple[str, ...]:
    """Names in arch's table that the filter refuses outright (EPERM)."""
    allowed = allowed_syscalls() | set(SPECIAL)
    return tuple(sorted(name for name in arch.syscalls if name not in allowed))


Insn = tuple[int, "str | int", "str | int", "str | int"]  # code, jt, jf, k; str: a label
_LEAVES = {
    "allow": SECCOMP_RET_ALLOW,
    "deny": SECCOMP_RET_ERRNO | errno.EPERM,
    "enosys": SECCOMP_RET_ERRNO | errno.ENOSYS,
}


def actions(arch: Arch) -> list[tuple[int, str]]:
    """The number space [0, 2**32) as sorted (first number, action) ranges, merged."""
    by_number = {nr: "deny" for nr in arch.syscalls.values()}
    for name in allowed_syscalls():
        if name in arch.syscalls:
            by_number[arch.syscalls[name]] = "allow"
    for name, action in (("clone", "clone"), ("clone3", "enosys")):
        by_number[arch.syscalls[name]] = action
    by_number[arch.syscalls["personality"]] = "personality"
    by_number[arch.syscalls["socket"]] = "socket"
    ranges: list[tuple[int, str]] = []
    for nr in range(max(by_number) + 2):
        # Holes in the table are refused; past its end, ENOSYS (see the module docstring).
        action = by_number.get(nr, "deny" if nr <= max(by_number) else "enosys")
        if not ranges or ranges[-1][1] != action:
            ranges.append((nr, action))
    return ranges


def _search(ranges: list[tuple[int, str]]) -> list[Insn]:
    """Binary search on A (the syscall number) over ranges; relative jumps only, leaves return."""
    if len(ranges) == 1:
        action = ranges[0][1]
        if action in _LEAVES:
            return [(BPF_RET_K, 0, 0, _LEAVES[action])]
        return [(BPF_JA, 0, 0, action)]
    middle = len(ranges) // 2
    low, high = _search(ranges[:middle]), _search(ranges[middle:])
    split = ranges[middle][0]
    if len(low) <= 255:  # A >= split: skip the lower half
        return [(BPF_JGE_K, len(low), 0, split), *low, *high]
    # Too far for a conditional jump's 8-bit offset: go through an unconditional one.
    return [(BPF_JGE_K, 0, 1, split), (BPF_JA, 0, 0, len(low)), *low, *high]


def assemble(arch: Arch) -> bytes:
    """The filter for arch as struct sock_filter[] bytes, ready for bwrap --seccomp."""
    program: list[Insn] = [
        (BPF_LD_W_ABS, 0, 0, ARCH_OFFSET),
        (BPF_JEQ_K, 0, "kill", arch.audit_arch),
        (BPF_LD_W_ABS, 0, 0, NR_OFFSET),
    ]
    if arch.has_x32:
        program.append((BPF_JGE_K, "kill", 0, X32_SYSCALL_BIT))
    program += _search(actions(arch))
    labels: dict[str, int] = {}

    def label(name: str) -> None:
        labels[name] = len(program)

    label("clone")
    program += [
        (BPF_LD_W_ABS, 0, 0, ARG0_LOW_OFFSET),
        (BPF_JSET_K, "deny", "allow", CLONE_NAMESPACE_FLAGS),
    ]
    label("personality")
    program.append((BPF_LD_W_ABS, 0, 0, ARG0_LOW_OFFSET))
    program += [(BPF_JEQ_K, "allow", 0, value) for value in PERSONALITY_ALLOWED]
    program.append((BPF_RET_K, 0, 0, _LEAVES["deny"]))
    # Packet, vsock (the hypervisor's side channel), bluetooth, ... : a function talks to the
    # network over IP and to its own children over AF_UNIX. Docker refuses only AF_VSOCK.
    # AF_NETLINK only as NETLINK_ROUTE (protocol 0): getifaddrs(), if_nameindex() and Node's
    # os.networkInterfaces() use it, and in the jail's own network namespace it shows lo alone
    # (the pool's canary checks exactly that); changing anything needs CAP_NET_ADMIN, which the
    # jail does not have. Every other netlink protocol (sock_diag, audit, uevents, netfilter,
    # ...) is refused. EPERM like every other refusal: a kernel without the family would say
    # EAFNOSUPPORT, so EPERM also shows that it was the filter. Family and protocol are ints,
    # so the low half of each argument is all of it.
    label("socket")
    program.append((BPF_LD_W_ABS, 0, 0, ARG0_LOW_OFFSET))
    program += [(BPF_JEQ_K, "allow", 0, family) for family in SOCKET_FAMILIES]
    program += [
        (BPF_JEQ_K, 0, "deny", AF_NETLINK),
        (BPF_LD_W_ABS, 0, 0, ARG2_LOW_OFFSET),
        (BPF_JEQ_K, "allow", "deny", NETLINK_ROUTE),
    ]
    label("allow")
    program.append((BPF_RET_K, 0, 0, _LEAVES["allow"]))
    label("deny")
    program.append((BPF_RET_K, 0, 0, _LEAVES["deny"]))
    label("kill")
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS))
    if len(program) > BPF_MAXINSNS:
        raise JailUnavailable(f"seccomp filter has {len(program)} instructions (max 4096)")

    out = bytearray()
    for index, (code, jt, jf, k) in enumerate(program):
        offsets = []
        for target in (jt, jf):
            offset = labels[target] - index - 1 if isinstance(target, str) else target
            if not 0 <= offset <= 255:
                raise JailUnavailable(f"seccomp filter jump out of range at {index}")
            offsets.append(offset)
        if isinstance(k, str):  # BPF_JA to a label
            k = labels[k] - index - 1
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
