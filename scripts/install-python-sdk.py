#!/usr/bin/env python3
"""Install the AWS SDK for Python that the python3.11 runtime ships into .runtimes/python-sdk.

boto3, botocore and their dependencies at the versions pinned in
sandbox/engine/runtimes/python/sdk/requirements.txt, installed by pip from the package index
(`--target`, `--no-deps`: the list is complete), then byte-compiled by the jail's own
interpreter (/usr/bin/python3.11): the jail's /var/runtime is read-only and the runtime runs
with -B, so without .pyc files every cold start that imports boto3 would compile it again.
The jail binds the directory read-only at /var/lang/lib/python3.11/site-packages.

Idempotent: a stamp records what was installed; rerunning with the same pins does nothing.
Standard library only; run it with the project's virtualenv Python (its pip does the download).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "sandbox" / "engine" / "runtimes" / "python" / "sdk" / "requirements.txt"
TARGET = ROOT / ".runtimes" / "python-sdk"
JAIL_PYTHON = "/usr/bin/python3.11"


def stamp_text() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def main() -> int:
    stamp = TARGET / ".installed"
    if stamp.exists() and stamp.read_text() == stamp_text():
        return 0
    staging = TARGET.with_name(TARGET.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    print("Installing the AWS SDK for Python for the python3.11 runtime", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-compile",
            "--only-binary=:all:",
            "--target",
            str(staging),
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: nothing runs them
    subprocess.run(
        [JAIL_PYTHON, "-m", "compileall", "-q", "-j", "0", str(staging)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for path in [staging, *staging.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(TARGET, ignore_errors=True)
    staging.rename(TARGET)
    stamp.write_text(stamp_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
