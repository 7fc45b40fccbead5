"""The seccomp filter, seen from inside the jail: hostile handlers call the refused syscalls
directly (ctypes syscall(), so no libc wrapper can hide the result) and must get EPERM.

Each probe is chosen so that, without the filter, the kernel answers something else (success,
EFAULT, EINVAL, ENOSPC from --disable-userns, ...): test_probes_tell_a_filtered_jail_apart
runs them in a jail whose filter allows everything and checks exactly that, so these tests fail
if the filter stops being installed, not merely if the kernel happens to refuse.
"""

import errno
from collections.abc import Iterator

import pytest

from sandbox.engine import EnvironmentPool, JailUnavailable, jail, seccomp
from tests.engine.support import make_spec

PROBES = """
import ctypes, json, os, subprocess, threading

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def syscall(*args):
    ctypes.set_errno(0)
    rc = libc.syscall(*[ctypes.c_long(a) for a in args])
    if rc == 0 and args[0] == 56:  # clone() let through: this is the child, leave quietly
        os._exit(0)
    return rc if rc >= 0 else -ctypes.get_errno()

CLONE_NEWUSER = 0x10000000
SIGCHLD = 17

# x86_64 numbers (the suite runs on x86_64; seccomp.py's own tables are checked elsewhere).
PROBES = {
    "ptrace_traceme": lambda: syscall(101, 0, 0, 0, 0),  # PTRACE_TRACEME
    "keyctl": lambda: syscall(250, 0, -3, 0),  # KEYCTL_GET_KEYRING_ID, session keyring
    "add_key": lambda: syscall(248, 0, 0, 0, 0, -3),
    "bpf": lambda: syscall(321, 9999, 0, 0),
    "io_uring_setup": lambda: syscall(425, 0, 0),
    "mount": lambda: syscall(165, 0, 0, 0, 0, 0),
    "umount2": lambda: syscall(166, 0, 0),
    "unshare": lambda: syscall(272, CLONE_NEWUSER),
    "setns": lambda: syscall(308, -1, 0),
    "clone_newuser": lambda: syscall(56, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0),
    "perf_event_open": lambda: syscall(298, 0, 0, -1, -1, 0),
    "userfaultfd": lambda: syscall(323, 1),  # UFFD_USER_MODE_ONLY
    "process_vm_readv": lambda: syscall(310, os.getpid(), 0, 0, 0, 0, 0),
    "personality_no_aslr": lambda: syscall(135, 0x0040000),  # ADDR_NO_RANDOMIZE
    "clone3": lambda: syscall(435, 0, 0),
    "personality_query": lambda: syscall(135, 0xFFFFFFFF),
    # Not in the allow list (Docker refuses them too without CAP_SYS_PTRACE / any capability).
    "pidfd_getfd": lambda: syscall(438, -1, 0, 0),  # unfiltered: EBADF
    "kcmp": lambda: syscall(312, os.getpid(), os.getpid(), 0, 0, 0),  # KCMP_FILE; unfiltered: 0
    "kexec_load": lambda: syscall(246, 0, 0, 0, 0),  # unfiltered: EPERM from the kernel, see below
    "open_by_handle_at": lambda: syscall(304, -1, 0, 0),  # unfiltered: EPERM (no capability)
    "socket_netlink": lambda: close(syscall(41, 16, 3, 4)),  # AF_NETLINK, SOCK_RAW, SOCK_DIAG
    "socket_netlink_route": lambda: close(syscall(41, 16, 3, 0)),  # NETLINK_ROUTE: allowed
    "socket_vsock": lambda: close(syscall(41, 40, 1, 0)),  # AF_VSOCK, SOCK_STREAM
    "socket_packet": lambda: close(syscall(41, 17, 3, 0)),  # AF_PACKET; kernel: CAP_NET_RAW
    "socket_inet": lambda: close(syscall(41, 2, 1, 0)),  # AF_INET, SOCK_STREAM: allowed
    "socket_unix": lambda: close(syscall(41, 1, 1, 0)),  # AF_UNIX, SOCK_STREAM: allowed
    "uname": lambda: syscall(63, ctypes.addressof(ctypes.create_string_buffer(400))),
}

def close(rc):
    if rc >= 0:
        os.close(rc)
        return 0
    return rc

def handler(event, context):
    if event.get("normal"):
        return normal_python()
    return {name: PROBES[name]() for name in event["probes"]}

def normal_python():
    results = []
    threads = [threading.Thread(target=results.append, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    child = subprocess.run(
        ["/usr/bin/python3.11", "-c", "import json; print(json.dumps({'child': 1}))"],
        capture_output=True,
        timeout=5,
    )
    with open("/tmp/state.json", "w") as f:
        json.dump({"threads": sorted(results)}, f)
    with open("/tmp/state.json") as f:
        state = json.load(f)
    return {"threads": state["threads"], "child": json.loads(child.stdout), "rc": child.returncode}
"""

EPERM = -errno.EPERM
REFUSED = [
    "ptrace_traceme",
    "keyctl",
    "add_key",
    "bpf",
    "io_uring_setup",
    "mount",
    "umount2",
    "unshare",
    "setns",
    "clone_newuser",
    "perf_event_open",
    "userfaultfd",
    "process_vm_readv",
    "personality_no_aslr",
    "pidfd_getfd",
    "kcmp",
    "socket_netlink",
]
# Refused by the kernel itself for a process without capabilities, so an unfiltered jail also
# says EPERM; here the test shows only that the filter's answer is an errno, not a kill.
REFUSED_BY_KERNEL_TOO = ["kexec_load", "open_by_handle_at"]


def probe(pool: EnvironmentPool, spec, *names: str) -> dict[str, int]:
    result = pool.invoke(spec, {"probes": list(names)})
    assert result.status == "success", result.log
    return result.payload


@pytest.fixture
def probes():
    return make_spec(PROBES, timeout_s=5)


def test_ptrace_traceme_is_refused(pool: EnvironmentPool, probes):
    assert probe(pool, probes, "ptrace_traceme") == {"ptrace_traceme": EPERM}
    after = pool.invoke(probes, {"probes": ["personality_query"]})
    assert after.status == "success" and not after.cold_start


@pytest.mark.parametrize("name", REFUSED)
def test_refused_syscalls_get_eperm(pool: EnvironmentPool, probes, name: str):
    assert probe(pool, probes, name) == {name: EPERM}
    # The environment is unharmed: the next invocation is warm and works.
    after = pool.invoke(probes, {"normal": True})
    assert after.status == "success", after.log
    assert not after.cold_start


@pytest.mark.parametrize("name", REFUSED_BY_KERNEL_TOO)
def test_calls_outside_the_allow_list_get_eperm(pool: EnvironmentPool, probes, name: str):
    assert probe(pool, probes, name) == {name: EPERM}
    after = pool.invoke(probes, {"normal": True})
    assert after.status == "success" and not after.cold_start


def test_sockets_other_than_unix_and_ip_are_refused(pool: EnvironmentPool, probes):
    names = ["socket_netlink", "socket_vsock", "socket_packet", "socket_inet", "socket_unix"]
    assert probe(pool, probes, *names, "socket_netlink_route") == {
        "socket_netlink": EPERM,
        "socket_netlink_route": 0,  # getifaddrs(), if_nameindex(): the jail's own lo
        "socket_vsock": EPERM,
        "socket_packet": EPERM,
        "socket_inet": 0,
        "socket_unix": 0,
    }


def test_allowed_calls_still_work(pool: EnvironmentPool, probes):
    assert probe(pool, probes, "uname", "personality_query")["uname"] == 0


def test_clone3_is_enosys_so_libc_falls_back_to_clone(pool: EnvironmentPool, probes):
    seen = probe(pool, probes, "clone3", "personality_query")
    assert seen["clone3"] == -errno.ENOSYS
    assert seen["personality_query"] >= 0  # reading the persona stays allowed


def test_normal_python_works_under_the_filter(pool: EnvironmentPool, probes):
    result = pool.invoke(probes, {"normal": True})
    assert result.status == "success", result.log
    assert result.payload == {"threads": list(range(8)), "child": {"child": 1}, "rc": 0}


def test_the_filter_is_installed(pool: EnvironmentPool):
    spec = make_spec(
        """
        def handler(event, context):
            return [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp")]
        """
    )
    assert pool.invoke(spec, {}).payload == ["2", "1"]  # filter mode, one filter


@pytest.fixture
def unfiltered_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[EnvironmentPool]:
    """A pool whose jails get a filter that allows everything (still seccomp mode 2)."""
    allow_all = seccomp.SOCK_FILTER.pack(seccomp.BPF_RET_K, 0, 0, seccomp.SECCOMP_RET_ALLOW)
    monkeypatch.setattr(seccomp, "filter_program", lambda machine=None: allow_all)
    pool = EnvironmentPool(account_concurrency=4)
    yield pool
    pool.shutdown()


def test_probes_tell_a_filtered_jail_apart(unfiltered_pool: EnvironmentPool, probes):
    # PTRACE_TRACEME really succeeds without the filter, and then leaves the runtime stopped
    # by its next signal, so it gets an environment of its own.
    names = [name for name in REFUSED if name != "ptrace_traceme"]
    seen = probe(unfiltered_pool, probes, *names, "socket_vsock")
    assert [name for name in names if seen[name] == EPERM] == [], seen
    assert seen["socket_vsock"] != EPERM  # 0, or EAFNOSUPPORT on a kernel without vsock
    traceme = make_spec(PROBES, timeout_s=5)
    assert probe(unfiltered_pool, traceme, "ptrace_traceme") == {"ptrace_traceme": 0}


def test_a_jail_without_the_filter_fails_the_canary(monkeypatch: pytest.MonkeyPatch):
    real = jail.bwrap_argv

    def without_seccomp(**kwargs):
        argv = real(**kwargs)
        at = argv.index("--seccomp")
        return argv[:at] + argv[at + 2 :]

    monkeypatch.setattr(jail, "bwrap_argv", without_seccomp)
    with EnvironmentPool() as pool, pytest.raises(JailUnavailable, match="seccomp"):
        pool.check()
