"""The jail: the exact command line that starts a runtime inside bubblewrap.

Every privilege the jailed process gets is one explicit flag below, with the reason for it.
Nothing here falls back to running code outside bwrap: if the jail cannot be built, callers get
JailUnavailable.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sandbox.engine.runtimes import Runtime
from sandbox.engine.services import JAIL_SOCKET

SANDBOX_UID = 65534  # "nobody", inside and (through setpriv) outside the jail
TASK_ROOT = "/var/task"
BOOTSTRAP_PATH = "/var/runtime/bootstrap.py"

# Runs as the launcher (root when cgroups are writable) for a millisecond before exec'ing into
# the jail: it moves itself into the environment's cgroups first, so every process the jail ever
# starts is born inside them (cgroup v1 has no "spawn into cgroup"; a subprocess preexec_fn
# would do the same but is unsafe in the threaded Celery worker).
_LAUNCH_SCRIPT = (
    'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
)


class JailUnavailable(RuntimeError):
    """The jail cannot be built on this machine; the engine refuses to run code."""


def find_bwrap() -> str:
    path = shutil.which("bwrap", path="/usr/bin:/bin:/usr/local/bin")
    if path is None:
        raise JailUnavailable(
            "bubblewrap (bwrap) is not installed; install the Debian package 'bubblewrap'"
        )
    return path


def drop_privileges_argv(uid: int = SANDBOX_UID) -> list[str]:
    """As root, start bwrap as host uid `uid` (the environment's own), never as root.

    bwrap maps the sandbox uid to the launcher's uid: launched by root, code that escaped the
    namespaces would be real root. setpriv drops that before bwrap runs. Each environment gets
    a uid of its own, so per-uid limits (RLIMIT_NPROC) and signals never cross environments.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin")
    if setpriv is None:
        raise JailUnavailable("running as root but setpriv (util-linux) is missing")
    return [
        setpriv,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]


def bwrap_argv(
    *,
    runtime: Runtime,
    code_dir: Path,
    bootstrap: Path,
    tmp_mb: int,
    resp_fd: int,
    seccomp_fd: int,
    hostname: str,
    services_socket: Path | None = None,
) -> list[str]:
    """bwrap's options (without the program name), handed to it through --args FD.

    The command to run follows them on bwrap's command line (command_argv): bwrap refuses
    a command inside an args file. The function's environment variables are in neither: they
    travel in the runtime's INIT frame, so no command line anywhere holds them.
    """
    argv = [
        # New user, mount, pid, network, ipc, uts and cgroup namespaces: no network but an
        # unconfigured loopback, no host processes in /proc, no SysV IPC shared with the host.
        "--unshare-all",
        # Always a user namespace (as root --unshare-all only tries one), mapped to nobody.
        "--unshare-user",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        # No nested user namespaces: user code cannot regain capabilities inside a new one.
        "--disable-userns",
        # If the engine (or its thread's process) dies, the whole jail dies with it.
        "--die-with-parent",
        # setsid(): no controlling terminal, so no TIOCSTI keystroke injection into the host.
        "--new-session",
        # No host environment variables; the runtime sets Lambda's from its INIT frame.
        "--clearenv",
        # No capabilities at all, even inside the namespaces.
        "--cap-drop",
        "ALL",
        # A seccomp filter (seccomp.py) read from this fd and installed just before the runtime
        # is exec'd: ptrace, keyrings, bpf, io_uring, mount, namespaces and similar get EPERM.
        "--seccomp",
        str(seccomp_fd),
        "--hostname",
        hostname,
    ]
    # The interpreter and shared libraries the runtime needs, read-only, and nothing else from
    # the host (no /etc, /home, /root, /var, /work, /usr/local, the project or its database).
    for path in runtime.binds:
        if Path(path).exists():
            argv += ["--ro-bind", path, path]
    # Debian's merged /usr: the top-level links the dynamic loader and #! lines expect.
    for link in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        host = Path("/") / link
        if host.is_symlink():
            argv += ["--symlink", os.readlink(host), f"/{link}"]
    argv += [
        # A fresh /proc for the jail's own pid namespace only.
        "--proc",
        "/proc",
        # A minimal /dev (null, zero, full, random, urandom, tty) instead of the host's.
        "--dev",
        "/dev",
        # /tmp: a tmpfs capped at the function's ephemeral storage, so writes past the quota get
        # ENOSPC. tmpfs pages are charged to the writer's memory cgroup, so the environment's
        # cgroup limit is raised by this size and the function's memory is enforced separately
        # on anonymous memory (see environment.py). Measured alternatives: a loop-mounted ext4
        # per environment costs ~30 ms of cold start and needs a loop device per environment;
        # a host directory has no quota.
        "--size",
        str(tmp_mb * 1024 * 1024),
        "--tmpfs",
        "/tmp",
        # The function's code, read-only, where Lambda puts it.
        "--ro-bind",
        str(code_dir),
        TASK_ROOT,
        # The runtime interface client, a single read-only file.
        "--ro-bind",
        str(bootstrap),
        runtime.bootstrap_path,
    ]
    # A runtime that does not live under /usr (Node.js) and what it ships (the AWS SDK):
    # read-only, like /usr. A runtime that is not installed is an unusable jail, not a fallback.
    for host_path, jail_path in runtime.ro_binds:
        if not host_path.exists():
            raise JailUnavailable(
                f"{runtime.name} is not installed ({host_path} is missing); "
                "run scripts/install-node.py (make run and make test do)"
            )
        argv += ["--ro-bind", str(host_path), jail_path]
    for host_path, jail_path in runtime.optional_ro_binds:
        if host_path.is_dir():
            argv += ["--ro-bind", str(host_path), jail_path]
    if services_socket is not None:
        # The environment's own socket to the lab's AWS services (services.py), the jail's one
        # way out: the host side of it answers HTTP requests and connects nowhere itself.
        # Read-only like the rest: connect() needs the socket's permission, not a writable mount.
        argv += ["--ro-bind", str(services_socket), JAIL_SOCKET]
    argv += [
        "--chdir",
        TASK_ROOT,
        # Last: make the jail's root and /dev read-only, so /tmp is the only writable place.
        # /dev is its own tmpfs: left writable, /dev/shm would be a second /tmp with no quota.
        # Lambda has no usable /dev/shm either (multiprocessing.Pool and Queue fail there too).
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
    ]
    # The one variable the runtime needs before its INIT frame: where to find binaries.
    argv += ["--setenv", "PATH", runtime.path_env]
    return argv


def command_argv(runtime: Runtime, resp_fd: int) -> list[str]:
    """What bwrap runs inside the jail: the runtime with its bootstrap (no host paths)."""
    return ["--", *runtime.argv, runtime.bootstrap_path, str(resp_fd)]


def args_memfd(args: list[str]) -> int:
    """A sealed-by-convention memfd holding args NUL-separated, positioned at 0, for --args."""
    fd = os.memfd_create("bwrap-args")
    try:
        data = b"".join(arg.encode() + b"\0" for arg in args)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def launch_argv(*, cgroup_procs: list[str], jail: list[str], uid: int = SANDBOX_UID) -> list[str]:
    """The full command: join the cgroups, drop to the environment's uid, enter bwrap."""
    return [
        "/bin/sh",
        "-c",
        _LAUNCH_SCRIPT,
        "lambdalab-launch",
        *cgroup_procs,
        "--",
        *drop_privileges_argv(uid),
        *jail,
    ]
