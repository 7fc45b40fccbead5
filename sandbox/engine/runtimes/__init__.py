"""Runtimes the engine can run: the interpreter inside the jail and its bootstrap.

A runtime is an interpreter (Debian's under /usr, or one the project installs and binds
read-only) plus a bootstrap script (the "runtime interface client") that speaks the engine's
pipe protocol. Adding a runtime means adding an entry here and a bootstrap under
runtimes/<family>/.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[2]
# Where scripts/install-node.py puts Node.js and the AWS SDK (make run / make test call it).
NODE_HOME = PROJECT_ROOT / ".runtimes"
# Where scripts/install-python-sdk.py puts boto3 and botocore, and where the jail shows them
# (on Lambda's own path; the bootstrap puts it last on sys.path, so a bundled boto3 wins).
PYTHON_SDK = NODE_HOME / "python-sdk"
PYTHON_SDK_JAIL_PATH = "/var/lang/lib/python3.11/site-packages"


def _node_heap_flags(memory_mb: int) -> tuple[str, ...]:
    """V8's heap sized from the function's memory, as Lambda's Node.js bootstrap does it.

    Without this V8 sizes its heap from the host's memory and a function would be killed by the
    cgroup long before V8 collects garbage; with it, a heap that outgrows the function fails with
    V8's own "heap out of memory". New space is a tenth of memory (V8's young generation is
    three semi-spaces) and old space the rest.
    """
    new_space = memory_mb // 10
    return (
        f"--max-semi-space-size={max(1, new_space // 3)}",
        f"--max-old-space-size={memory_mb - new_space}",
    )


PRLIMIT = "/usr/bin/prlimit"  # util-linux, under the read-only /usr
_PRLIMIT_NAMES = {
    "RLIMIT_NOFILE": "nofile",
    "RLIMIT_CORE": "core",
    "RLIMIT_FSIZE": "fsize",
    "RLIMIT_NPROC": "nproc",
}


def _prlimit_flags(rlimits: Mapping[str, int]) -> tuple[str, ...]:
    flags = []
    for name, value in sorted(rlimits.items()):
        # RLIMIT_AS (the stand-in for a memory cgroup) is left out: V8 reserves gigabytes of
        # address space it never touches and cannot start under it. The heap flags bound the
        # JavaScript heap instead.
        if name in _PRLIMIT_NAMES:
            flags.append(f"--{_PRLIMIT_NAMES[name]}={value}:{value}")
    return tuple(flags)


@dataclass(frozen=True)
class Runtime:
    name: str
    # Interpreter and flags; the jail appends the bootstrap path and the response fd number.
    argv: tuple[str, ...]
    bootstrap: Path
    execution_env: str  # AWS_EXECUTION_ENV
    path_env: str  # PATH inside the jail
    # Host paths bound read-only at the same place in the jail: what the interpreters need, not
    # all of /usr (no /usr/local, headers, sources or documentation).
    binds: tuple[str, ...] = ("/usr/bin", "/usr/lib", "/usr/lib64", "/usr/share/zoneinfo")
    family: str = "python"  # how handler names map to files (python or node)
    # Where the bootstrap appears inside the jail (Node.js picks the module type by extension).
    bootstrap_path: str = "/var/runtime/bootstrap.py"
    # Host directories bound read-only into the jail, as (host path, jail path): an interpreter
    # that does not live under /usr, and the libraries the runtime ships (the AWS SDK).
    ro_binds: tuple[tuple[Path, str], ...] = ()
    # The same, for what the runtime can run without (Python's boto3: without it a handler's
    # `import boto3` fails as it would with no SDK at all).
    optional_ro_binds: tuple[tuple[Path, str], ...] = ()
    # Interpreter flags that depend on the function's memory (None: there are none).
    memory_flags: Callable[[int], tuple[str, ...]] | None = None
    # Whether the rlimits are set before the interpreter starts (prlimit) rather than by the
    # bootstrap from the INIT frame: Node.js has no setrlimit.
    prlimit: bool = False

    def configured(self, *, memory_mb: int, rlimits: Mapping[str, int]) -> Runtime:
        """This runtime's command line for one function (memory size and resource limits)."""
        argv = self.argv
        if self.memory_flags is not None:
            argv += self.memory_flags(memory_mb)
        if self.prlimit:
            argv = (PRLIMIT, *_prlimit_flags(rlimits), "--", *argv)
        return dataclasses.replace(self, argv=argv) if argv != self.argv else self

    def missing(self) -> list[Path]:
        """Host paths this runtime needs that are not installed (empty when it can run)."""
        return [host for host, _ in self.ro_binds if not host.exists()]


RUNTIMES: dict[str, Runtime] = {
    "python3.11": Runtime(
        name="python3.11",
        # Debian's interpreter under /usr, not the launcher's (which may live in /root or a venv
        # that must never be visible). -I: isolated (no env vars, no user site, no cwd on
        # sys.path); -S: no site import, which keeps INIT fast; -B: /var/task is read-only.
        argv=("/usr/bin/python3.11", "-I", "-S", "-B"),
        bootstrap=HERE / "python" / "bootstrap.py",
        execution_env="AWS_Lambda_python3.11",
        path_env="/usr/local/bin:/usr/bin:/bin",
        optional_ro_binds=((PYTHON_SDK, PYTHON_SDK_JAIL_PATH),),
    ),
    "nodejs24.x": Runtime(
        name="nodejs24.x",
        family="node",
        # Node.js from the npm registry's node-linux-* package, where Lambda keeps it. Flags as
        # Lambda's bootstrap passes them; the heap size flags are added per function.
        argv=("/var/lang/bin/node", "--expose-gc", "--max-http-header-size=81920"),
        bootstrap=HERE / "node" / "bootstrap.mjs",
        bootstrap_path="/var/runtime/bootstrap.mjs",
        execution_env="AWS_Lambda_nodejs24.x",
        path_env="/var/lang/bin:/usr/local/bin:/usr/bin:/bin",
        ro_binds=(
            (NODE_HOME / "node", "/var/lang"),
            # The SDK clients, where Lambda's Node.js runtimes keep theirs.
            (NODE_HOME / "sdk" / "node_modules", "/var/runtime/node_modules"),
        ),
        memory_flags=_node_heap_flags,
        prlimit=True,
    ),
}
