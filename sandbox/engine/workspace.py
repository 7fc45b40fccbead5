"""Host-side files for the jails: each code version unpacked once, plus the runtime bootstraps.

Lives in a private directory (mode 0711: nobody can traverse it to bind a known path but cannot
list it). Code directories are named by digest and never change, so environments of one version
share one read-only copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

from sandbox.engine.runtimes import RUNTIMES
from sandbox.engine.spec import FunctionSpec


class Workspace:
    def __init__(self, name: str, root: Path | None = None) -> None:
        """A new directory `name` (see leftovers.owner_name()) under root (default: $TMPDIR)."""
        self.root = (root or Path(tempfile.gettempdir())) / name
        self.root.mkdir(mode=0o700)
        self.root.chmod(0o711)
        self._lock = threading.Lock()
        self._code: dict[str, Path] = {}
        runtime_dir = self.root / "runtime"
        runtime_dir.mkdir(mode=0o755)
        self._bootstraps: dict[str, Path] = {}
        for name, runtime in RUNTIMES.items():
            target = runtime_dir / f"{name}-{runtime.bootstrap.name}"
            shutil.copyfile(runtime.bootstrap, target)
            target.chmod(0o644)
            self._bootstraps[name] = target

    def bootstrap(self, runtime: str) -> Path:
        return self._bootstraps[runtime]

    def code_dir(self, spec: FunctionSpec) -> Path:
        """The unpacked code of spec, written on first use (thread-safe)."""
        with self._lock:
            path = self._code.get(spec.code_sha256)
            if path is not None:
                return path
            staging = Path(tempfile.mkdtemp(dir=self.root))
            for name, content in spec.files:
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
                target.write_bytes(content)
                target.chmod(0o644)
            staging.chmod(0o755)
            path = self.root / f"code-{spec.code_sha256[:32]}"
            os.replace(staging, path)
            self._code[spec.code_sha256] = path
            return path

    def release(self, code_sha256: str) -> None:
        """Remove one code version's directory (its last environment is gone)."""
        with self._lock:
            path = self._code.pop(code_sha256, None)
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
