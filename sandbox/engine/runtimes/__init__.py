"""Runtimes the engine can run: the interpreter inside the jail and its bootstrap.

A runtime is an interpreter that lives under /usr (bound read-only into the jail) plus a bootstrap
script (the "runtime interface client") that speaks the engine's pipe protocol. Adding a runtime
means adding an entry here and a bootstrap under runtimes/<family>/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Runtime:
    name: str
    # Interpreter and flags; the jail appends the bootstrap path and the response fd number.
    argv: tuple[str, ...]
    bootstrap: Path
    execution_env: str  # AWS_EXECUTION_ENV
    path_env: str  # PATH inside the jail
    # Host paths bound read-only at the same place in the jail: what the interpreter needs, not
    # all of /usr (no /usr/local, headers, sources or documentation).
    binds: tuple[str, ...] = ("/usr/bin", "/usr/lib", "/usr/lib64", "/usr/share/zoneinfo")


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
    ),
}
