"""FunctionSpec: what a Lambda function is (code + configuration), validated like Lambda does."""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sandbox.engine.runtimes import RUNTIMES

# AWS's published limits (see DESIGN.md).
MEMORY_MIN_MB, MEMORY_MAX_MB = 128, 10_240
TIMEOUT_MIN_S, TIMEOUT_MAX_S = 1, 900
EPHEMERAL_MIN_MB, EPHEMERAL_MAX_MB = 512, 10_240
ENVIRONMENT_MAX_BYTES = 4 * 1024
CODE_MAX_BYTES = 250 * 1024 * 1024  # unzipped deployment package
ZIP_MAX_BYTES = 50 * 1024 * 1024  # zipped upload
CODE_MAX_FILES = 10_000
ARCHITECTURES = ("x86_64", "arm64")
RESERVED_CONCURRENCY_MAX = 1_000_000
PROVISIONED_CONCURRENCY_MAX = 1_000_000

# A function's configuration, in the order to_config() writes it: the one list of what a
# FunctionSpec is made of ("code" maps each path to its text).
CONFIG_FIELDS = (
    "name",
    "handler",
    "code",
    "runtime",
    "memory_mb",
    "timeout_s",
    "ephemeral_storage_mb",
    "environment",
    "architecture",
    "reserved_concurrency",
    "provisioned_concurrency",
    "namespace",
    "version",
    "account_id",
)
# The account the context's invoked_function_arn names when the spec says none (the engine's
# CLI, benchmarks): the placeholder of AWS's documentation.
DEFAULT_ACCOUNT_ID = "123456789012"

_VERSION_RE = re.compile(r"^(?:\$LATEST|[1-9][0-9]{0,9})$")
# What an invocation can be qualified with: $LATEST, a version or an alias (Lambda's alias
# names: up to 128 letters, digits, hyphens and underscores, not all digits).
_QUALIFIER_RE = re.compile(r"^(?:\$LATEST|[1-9][0-9]{0,9}|(?![0-9]+$)[A-Za-z0-9_-]{1,128})$")
REGION = "us-east-1"
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_ENV_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_HANDLER_RE = re.compile(rf"^{_IDENT}(?:[./]{_IDENT})*\.{_IDENT}$")

# Lambda refuses to let functions set these (the runtime owns them).
RESERVED_ENV_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


class SpecError(ValueError):
    """An invalid function configuration; str() names the field and what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


CodeFiles = tuple[tuple[str, bytes], ...]


def _check_relpath(name: str, field_name: str = "code") -> str:
    """A normalised relative POSIX path; SpecError for anything escaping the root."""
    if not name or "\x00" in name or "\\" in name:
        raise SpecError(field_name, f"invalid file name {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute():
        raise SpecError(field_name, f"absolute paths are not allowed ({name!r})")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise SpecError(field_name, f"paths must stay inside the package ({name!r})")
    return "/".join(parts)


def _files_from_mapping(code: Mapping[str, str | bytes]) -> CodeFiles:
    files: dict[str, bytes] = {}
    for name, content in code.items():
        rel = _check_relpath(str(name))
        files[rel] = content.encode() if isinstance(content, str) else bytes(content)
    return _finish(files)


def _files_from_dir(root: Path) -> CodeFiles:
    if not root.is_dir():
        raise SpecError("code", f"{root} is not a directory")
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode
        rel = path.relative_to(root).as_posix()
        if stat.S_ISLNK(mode):
            # A link could point anywhere on the host; Lambda packages are plain files.
            raise SpecError("code", f"symbolic links are not allowed ({rel})")
        if stat.S_ISDIR(mode):
            continue
        if not stat.S_ISREG(mode):
            raise SpecError("code", f"only regular files are allowed ({rel})")
        if "__pycache__" in path.parts:
            continue
        files[_check_relpath(rel)] = path.read_bytes()
        if len(files) > CODE_MAX_FILES:
            raise SpecError("code", f"at most {CODE_MAX_FILES} files")
    return _finish(files)


def _finish(files: dict[str, bytes]) -> CodeFiles:
    if len(files) > CODE_MAX_FILES:
        raise SpecError("code", f"at most {CODE_MAX_FILES} files")
    total = sum(len(v) for v in files.values())
    if total > CODE_MAX_BYTES:
        raise SpecError("code", f"unzipped code must be at most {CODE_MAX_BYTES} bytes")
    names = set(files)
    for name in names:
        # "a" as a file and "a/b" as another file cannot both exist on disk.
        parent = name.rpartition("/")[0]
        while parent:
            if parent in names:
                raise SpecError("code", f"{parent!r} is both a file and a directory")
            parent = parent.rpartition("/")[0]
    return tuple(sorted(files.items()))


def unpack_zip(data: bytes) -> dict[str, bytes]:
    """Unpack a deployment package safely.

    Rejects absolute paths, ``..``, symbolic links and other special entries, and packages over
    50 MB zipped or 250 MB unzipped (checked while reading, so a zip bomb cannot fill memory).
    Raises SpecError(field="code").
    """
    if len(data) > ZIP_MAX_BYTES:
        raise SpecError("code", f"zip must be at most {ZIP_MAX_BYTES} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise SpecError("code", f"not a valid zip file ({exc})") from None
    files: dict[str, bytes] = {}
    total = 0
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                _check_relpath(info.filename.rstrip("/"))
                continue
            mode = info.external_attr >> 16
            if mode and not (stat.S_ISREG(mode) or stat.S_IFMT(mode) == 0):
                raise SpecError(
                    "code", f"links and special files are not allowed ({info.filename})"
                )
            rel = _check_relpath(info.filename)
            chunks = []
            try:
                with archive.open(info) as member:
                    while chunk := member.read(1 << 20):
                        total += len(chunk)
                        if total > CODE_MAX_BYTES:
                            raise SpecError(
                                "code", f"unzipped code must be at most {CODE_MAX_BYTES} bytes"
                            )
                        chunks.append(chunk)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise SpecError("code", f"cannot read {info.filename} ({exc})") from None
            files[rel] = b"".join(chunks)
    return files


@dataclass(frozen=True, eq=False)
class FunctionSpec:
    """A Lambda function: code plus configuration. Validated on construction (SpecError)."""

    name: str
    handler: str
    code: Mapping[str, str | bytes] | Path = field(repr=False)
    runtime: str = "python3.11"
    memory_mb: int = 128
    timeout_s: int = 3
    ephemeral_storage_mb: int = 512
    environment: Mapping[str, str] = field(default_factory=dict)
    architecture: str = "x86_64"
    reserved_concurrency: int | None = None
    provisioned_concurrency: int = 0
    namespace: str = ""
    # "$LATEST" or a published version's number: what the context, the log and
    # AWS_LAMBDA_FUNCTION_VERSION report; warm environments are kept per version.
    version: str = "$LATEST"
    # The AWS account the function belongs to (a learner's lab account): it is in the ARN the
    # handler's context reports.
    account_id: str = DEFAULT_ACCOUNT_ID
    files: CodeFiles = field(init=False, repr=False)
    code_sha256: str = field(init=False)
    version_key: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise SpecError("name", "1-64 characters: letters, digits, hyphens and underscores")
        if not isinstance(self.namespace, str) or len(self.namespace) > 256:
            raise SpecError("namespace", "a string of at most 256 characters")
        if not isinstance(self.version, str) or not _VERSION_RE.match(self.version):
            raise SpecError("version", '"$LATEST" or a version number')
        if not isinstance(self.account_id, str) or not _ACCOUNT_RE.match(self.account_id):
            raise SpecError("account_id", "an AWS account id: 12 digits")
        if self.runtime not in RUNTIMES:
            raise SpecError("runtime", f"must be one of {', '.join(sorted(RUNTIMES))}")
        if not isinstance(self.handler, str) or len(self.handler) > 128:
            raise SpecError("handler", "must look like module.function (e.g. app.handler)")
        if not _HANDLER_RE.match(self.handler):
            raise SpecError("handler", "must look like module.function (e.g. app.handler)")
        _check_int("memory_mb", self.memory_mb, MEMORY_MIN_MB, MEMORY_MAX_MB, "MB")
        _check_int("timeout_s", self.timeout_s, TIMEOUT_MIN_S, TIMEOUT_MAX_S, "seconds")
        _check_int(
            "ephemeral_storage_mb",
            self.ephemeral_storage_mb,
            EPHEMERAL_MIN_MB,
            EPHEMERAL_MAX_MB,
            "MB",
        )
        if self.architecture not in ARCHITECTURES:
            raise SpecError("architecture", f"must be one of {', '.join(ARCHITECTURES)}")
        self._check_environment()
        if self.reserved_concurrency is not None:
            _check_int(
                "reserved_concurrency", self.reserved_concurrency, 0, RESERVED_CONCURRENCY_MAX, ""
            )
        _check_int(
            "provisioned_concurrency",
            self.provisioned_concurrency,
            0,
            PROVISIONED_CONCURRENCY_MAX,
            "",
        )
        if (
            self.reserved_concurrency is not None
            and self.provisioned_concurrency > self.reserved_concurrency
        ):
            raise SpecError(
                "provisioned_concurrency",
                f"must not exceed reserved_concurrency ({self.reserved_concurrency})",
            )

        if isinstance(self.code, Path):
            files = _files_from_dir(self.code)
        elif isinstance(self.code, Mapping):
            files = _files_from_mapping(self.code)
        else:
            raise SpecError("code", "a mapping of file name to source, or a directory Path")
        # A handler naming a missing module is not a configuration error on Lambda: the
        # invocation fails with Runtime.ImportModuleError, which learners should see.
        digest = hashlib.sha256()
        for name, content in files:
            digest.update(f"{len(name)}:{name}:{len(content)}:".encode())
            digest.update(content)
        code_sha = digest.hexdigest()
        key_material = json.dumps(
            [
                self.namespace,
                self.name,
                code_sha,
                self.runtime,
                self.handler,
                self.memory_mb,
                self.timeout_s,
                self.ephemeral_storage_mb,
                sorted(self.environment.items()),
                self.architecture,
                self.version,
                self.account_id,
            ]
        )
        object.__setattr__(self, "environment", dict(self.environment))
        object.__setattr__(self, "files", files)
        object.__setattr__(self, "code_sha256", code_sha)
        object.__setattr__(self, "version_key", hashlib.sha256(key_material.encode()).hexdigest())

    def _check_environment(self) -> None:
        if not isinstance(self.environment, Mapping):
            raise SpecError("environment", "a mapping of names to string values")
        size = 0
        for key, value in self.environment.items():
            if not isinstance(key, str) or not _ENV_KEY_RE.match(key):
                raise SpecError(
                    "environment", f"invalid name {key!r}: a letter, then letters, digits or _"
                )
            if key in RESERVED_ENV_KEYS:
                raise SpecError("environment", f"{key} is reserved by Lambda")
            if not isinstance(value, str) or "\x00" in value:
                raise SpecError("environment", f"value of {key} must be a string without NUL")
            size += len(key.encode()) + len(value.encode())
        if size > ENVIRONMENT_MAX_BYTES:
            raise SpecError(
                "environment",
                f"total size must be at most {ENVIRONMENT_MAX_BYTES} bytes (got {size})",
            )

    @property
    def tenant(self) -> str:
        """Who the function belongs to, for fair shares: the namespace up to its first "/".

        One learner's namespaces ("user-7", "user-7/tuning", "user-7/challenge-x") are one
        tenant, so the console, labs and code challenges all count toward the same share.
        """
        return self.namespace.split("/", 1)[0]

    @property
    def function_key(self) -> tuple[str, str]:
        """Identity of the function for concurrency: (namespace, name)."""
        return (self.namespace, self.name)

    def invoked_arn(self, qualifier: str | None = None) -> str:
        """The ARN an invocation through qualifier names (Lambda's context.invoked_function_arn):
        unqualified without one, else ending in :$LATEST, :<version> or :<alias>. Raises
        SpecError for a qualifier Lambda would refuse."""
        arn = f"arn:aws:lambda:{REGION}:{self.account_id}:function:{self.name}"
        if qualifier is None or qualifier == "":
            return arn
        if not isinstance(qualifier, str) or not _QUALIFIER_RE.fullmatch(qualifier):
            raise SpecError("qualifier", "$LATEST, a version number or an alias name")
        return f"{arn}:{qualifier}"

    def to_config(self) -> dict[str, Any]:
        """The spec as JSON-ready data (keys CONFIG_FIELDS); from_config() rebuilds it.

        Code is stored as text: bytes that are not UTF-8 are replaced, since a function's
        code here is what an editor holds.
        """
        config: dict[str, Any] = {name: getattr(self, name) for name in CONFIG_FIELDS}
        config["code"] = {path: content.decode("utf-8", "replace") for path, content in self.files}
        config["environment"] = dict(self.environment)
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> FunctionSpec:
        """Build a spec from to_config()'s data (missing keys take their defaults), with
        overrides replacing single fields. Raises SpecError for an unknown key, or for any
        value the constructor refuses.
        """
        values = {**config, **overrides}
        unknown = set(values) - set(CONFIG_FIELDS)
        if unknown:
            raise SpecError(sorted(unknown)[0], "not a configuration field")
        return cls(**values)

    @classmethod
    def from_zip(cls, data: bytes, **kwargs: Any) -> FunctionSpec:
        """Build a spec from a zipped deployment package (see unpack_zip for what is refused)."""
        return cls(code=unpack_zip(data), **kwargs)

    def handler_module_files(self) -> tuple[str, ...]:
        """The files that can hold the handler's module, in the order the runtime tries them.

        Python: `pkg.mod.fn` is pkg/mod.py (or pkg/mod/__init__.py). Node.js: `dir/file.fn` is
        dir/file.js, .mjs or .cjs (the module ends at the first dot after the last slash).
        """
        if RUNTIMES[self.runtime].family == "node":
            slash = self.handler.rfind("/") + 1
            base = self.handler[: self.handler.index(".", slash)]
            return (f"{base}.js", f"{base}.mjs", f"{base}.cjs")
        base = self.handler.rsplit(".", 1)[0].replace(".", "/")
        return (f"{base}.py", f"{base}/__init__.py")

    def handler_file_hint(self) -> str:
        """The handler's file as messages name it: app.py, or index.js, index.mjs or index.cjs."""
        names = self.handler_module_files()
        if RUNTIMES[self.runtime].family == "node":
            return f"{', '.join(names[:-1])} or {names[-1]}"
        return names[0]

    def has_handler_module(self) -> bool:
        """Whether the code contains a file for the handler's module (the CLI checks this)."""
        names = {name for name, _ in self.files}
        return any(name in names for name in self.handler_module_files())


def _check_int(name: str, value: object, low: int, high: int, unit: str) -> None:
    suffix = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(
            name, f"must be an integer between {low} and {high}{suffix} (got {value!r})"
        )
