"""Writes of the sandbox: functions, code, test events, invocations and experiments.

Views and Celery tasks call these and nothing else. Input problems raise ValidationError (with
the field they concern) and per-user limits raise LimitReached, both with a message fit to show
the learner. The engine runs only in the worker: invocation_execute() and the experiment
runners are what Celery tasks call.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from sandbox import catalog
from sandbox.engine import FunctionSpec, InvocationResult, JailUnavailable, SpecError
from sandbox.engine.protocol import MAX_REQUEST_BYTES
from sandbox.engine.spec import ZIP_MAX_BYTES, unpack_zip
from sandbox.models import Experiment, Function, FunctionFile, Invocation, TestEvent

logger = logging.getLogger(__name__)

# Far below Lambda's 250 MB: this is what one learner types into an editor.
MAX_CODE_BYTES = 1024 * 1024
MAX_FILES = 20
MAX_PATH_LENGTH = 200  # FunctionFile.path
TUNING_MEMORY_SIZES = (128, 256, 512, 1024, 1769, 3008)
MAX_RUNS_PER_SIZE = 5

# The engine names fields after FunctionSpec; the form names them after the model.
_SPEC_FIELD_TO_FORM = {"code": "files"}


class LimitReached(Exception):
    """A per-user limit stops this action; str() is the message to show."""


# ---------------------------------------------------------------- parsing and validation


def event_parse(*, text: str) -> Any:
    """Parse a test event as Lambda's console does, refusing what Lambda would refuse.

    Raises ValidationError({"event": ...}) naming the line and column of a JSON error, or the
    size when the event is over Lambda's 6 MB synchronous payload limit.
    """
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValidationError(
            {"event": f"The event is not valid JSON: {where}: {exc.msg}."}
        ) from None
    size = len(json.dumps(event, separators=(",", ":")).encode())
    if size > MAX_REQUEST_BYTES:
        raise ValidationError(
            {
                "event": (
                    f"The event is {size:,} bytes; Lambda accepts at most {MAX_REQUEST_BYTES:,} "
                    "bytes (6 MB) for a synchronous invocation."
                )
            }
        )
    return event


def spec_for(
    *,
    function: Function,
    files: Mapping[str, str] | None = None,
    namespace: str | None = None,
    memory_mb: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> FunctionSpec:
    """The engine's FunctionSpec for function (its saved code unless files is given).

    Raises ValidationError keyed by the form field when the engine refuses the configuration.
    """
    if files is None:
        files = {f.path: f.content for f in function.files.all()}
    environment = dict(function.environment or {})
    if function.deployment:
        environment["LAMBDALAB_DEPLOYMENT"] = str(function.deployment)
    config: dict[str, Any] = {
        "name": function.name,
        "handler": function.handler,
        "code": dict(files),
        "runtime": function.runtime,
        "memory_mb": memory_mb or function.memory_mb,
        "timeout_s": function.timeout_s,
        "ephemeral_storage_mb": function.ephemeral_storage_mb,
        "environment": environment,
        "architecture": function.architecture,
        "reserved_concurrency": function.reserved_concurrency,
        "provisioned_concurrency": function.provisioned_concurrency,
        "namespace": namespace or function.namespace,
    }
    config.update(overrides or {})
    try:
        return FunctionSpec(**config)
    except SpecError as exc:
        raise ValidationError(
            {_SPEC_FIELD_TO_FORM.get(exc.field, exc.field): exc.message}
        ) from None


def _check_files(files: Mapping[str, str]) -> None:
    if len(files) > MAX_FILES:
        raise ValidationError({"files": f"A function can have at most {MAX_FILES} files here."})
    size = sum(len(content.encode()) for content in files.values())
    if size > MAX_CODE_BYTES:
        raise ValidationError(
            {"files": f"The code is {size:,} bytes; the sandbox accepts {MAX_CODE_BYTES:,}."}
        )


def _validate(function: Function, files: Mapping[str, str] | None = None) -> None:
    """Django's field checks, then the engine's (which know Lambda's rules)."""
    function.full_clean()
    if files is not None:
        _check_files(files)
    # Code that is not valid Python is fine: it fails at INIT with UserCodeSyntaxError.
    spec_for(function=function, files=files or {catalog.HANDLER_FILE: ""}, namespace="check")


# ---------------------------------------------------------------- functions


def function_create(
    *,
    owner: User,
    name: str,
    blueprint: str = "blank",
    description: str = "",
    runtime: str = "python3.11",
    handler: str | None = None,
    memory_mb: int | None = None,
    timeout_s: int | None = None,
    ephemeral_storage_mb: int = 512,
    architecture: str = "x86_64",
    environment: Mapping[str, str] | None = None,
    reserved_concurrency: int | None = None,
    provisioned_concurrency: int = 0,
    files: Mapping[str, str] | None = None,
    events: Mapping[str, str] | None = None,
    lesson_slug: str = "",
) -> Function:
    """Create a function from a blueprint (its code, settings and sample event) or given files.

    Raises LimitReached past SANDBOX_USER_MAX_FUNCTIONS, ValidationError for bad settings.
    """
    count = Function.objects.filter(owner=owner).count()
    if count >= settings.SANDBOX_USER_MAX_FUNCTIONS:
        raise LimitReached(
            f"You have {count} functions, the most a learner can keep here. "
            "Delete one you no longer need to create another."
        )
    if blueprint not in catalog.BLUEPRINTS:
        raise ValidationError({"blueprint": "Choose one of the listed templates."})
    chosen = catalog.BLUEPRINTS[blueprint]
    if Function.objects.filter(owner=owner, name=name).exists():
        raise ValidationError({"name": f"You already have a function called {name}."})
    function = Function(
        owner=owner,
        name=name,
        description=description or (chosen.description if files is None else ""),
        runtime=runtime,
        handler=handler or catalog.HANDLER,
        memory_mb=memory_mb or chosen.memory_mb,
        timeout_s=timeout_s or chosen.timeout_s,
        ephemeral_storage_mb=ephemeral_storage_mb,
        architecture=architecture,
        environment=dict(environment or {}),
        reserved_concurrency=reserved_concurrency,
        provisioned_concurrency=provisioned_concurrency,
        blueprint=blueprint if files is None else "",
        lesson_slug=lesson_slug,
    )
    code = dict(files) if files is not None else {catalog.HANDLER_FILE: chosen.source}
    saved_events = dict(events) if events is not None else {chosen.event_key: chosen.event.body}
    for event_name, body in saved_events.items():
        event_parse(text=body)
        if not event_name or len(event_name) > 64:
            raise ValidationError({"event": "An event needs a name of 1-64 characters."})
    _validate(function, code)
    try:
        with transaction.atomic():
            function.save()
            FunctionFile.objects.bulk_create(
                FunctionFile(function=function, path=path, content=content)
                for path, content in code.items()
            )
            TestEvent.objects.bulk_create(
                TestEvent(function=function, name=event_name, body=body)
                for event_name, body in saved_events.items()
            )
    except IntegrityError:
        # The same form sent twice at once: the check above passed for both, the constraint
        # let one through.
        raise ValidationError({"name": f"You already have a function called {name}."}) from None
    return function


def function_create_from_lesson(
    *,
    owner: User,
    lesson_slug: str,
    name: str,
    handler: str,
    files: Mapping[str, str],
    event: Any,
    memory_mb: int = 128,
    timeout_s: int = 3,
) -> Function:
    """Create a function from a lesson's "Try it" block and return it (open its page next).

    name gets a numeric suffix when the learner already has a function by that name. event
    is a JSON value or its text. Raises what function_create raises.
    """
    body = event if isinstance(event, str) else json.dumps(event, indent=2)
    unique = name
    taken = set(
        Function.objects.filter(owner=owner, name__startswith=name).values_list("name", flat=True)
    )
    suffix = 2
    while unique in taken:
        unique = f"{name[: 64 - len(str(suffix)) - 1]}-{suffix}"
        suffix += 1
    return function_create(
        owner=owner,
        name=unique,
        handler=handler,
        files=files,
        events={"lesson-event": body},
        memory_mb=memory_mb,
        timeout_s=timeout_s,
        lesson_slug=lesson_slug,
    )


CONFIG_FIELDS = (
    "description",
    "handler",
    "memory_mb",
    "timeout_s",
    "ephemeral_storage_mb",
    "architecture",
    "environment",
    "reserved_concurrency",
    "provisioned_concurrency",
)


def function_update_config(*, function: Function, **changes: Any) -> Function:
    """Change configuration fields (CONFIG_FIELDS); the next invocation starts a new version."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise TypeError(f"not configuration fields: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(function, field, value)
    _validate(function, {f.path: f.content for f in function.files.all()})
    function.save()
    return function


def function_file_save(*, function: Function, path: str, content: str) -> FunctionFile:
    """Save one file of the code. Code that is not valid Python is saved all the same."""
    files = {f.path: f.content for f in function.files.all()}
    files[path] = content
    _check_files(files)
    _check_path(path)
    with transaction.atomic():
        file, _ = FunctionFile.objects.update_or_create(
            function=function, path=path, defaults={"content": content}
        )
        function.save(update_fields=["updated_at"])
    return file


def _check_path(path: str) -> None:
    """Refuse a file path the engine would refuse (absolute, .., too long...)."""
    try:
        FunctionSpec(name="check", handler="a.b", code={path: ""})
    except SpecError as exc:
        raise ValidationError({"path": exc.message}) from None


def function_file_create(*, function: Function, path: str) -> FunctionFile:
    """Add an empty file to the code. Raises ValidationError for a taken or invalid path, or
    past MAX_FILES."""
    path = path.strip()
    if not path:
        raise ValidationError({"path": "Give the new file a name, e.g. helpers.py."})
    files = {f.path: f.content for f in function.files.all()}
    if path in files:
        raise ValidationError({"path": f"There is already a file called {path}."})
    _check_path(path)
    _check_files({**files, path: ""})
    with transaction.atomic():
        file = FunctionFile.objects.create(function=function, path=path, content="")
        function.save(update_fields=["updated_at"])
    return file


def function_file_rename(*, function: Function, path: str, new_path: str) -> FunctionFile:
    """Rename one file. The handler setting is left alone: renaming its module makes the next
    invocation fail with Runtime.ImportModuleError, as on Lambda."""
    new_path = new_path.strip()
    file = function.files.filter(path=path).first()
    if file is None:
        raise ValidationError({"path": f"There is no file called {path}."})
    if not new_path:
        raise ValidationError({"path": "Give the file a new name."})
    if new_path == path:
        return file
    if function.files.filter(path=new_path).exists():
        raise ValidationError({"path": f"There is already a file called {new_path}."})
    _check_path(new_path)
    with transaction.atomic():
        file.path = new_path
        file.save(update_fields=["path", "updated_at"])
        function.save(update_fields=["updated_at"])
    return file


def function_file_delete(*, function: Function, path: str) -> None:
    """Delete one file; a function keeps at least one."""
    if not function.files.filter(path=path).exists():
        raise ValidationError({"path": f"There is no file called {path}."})
    if function.files.count() <= 1:
        raise ValidationError({"path": "A function needs at least one file."})
    with transaction.atomic():
        function.files.filter(path=path).delete()
        function.save(update_fields=["updated_at"])


# What zip tools add that is not code: macOS resource forks and Finder files, bytecode caches.
_ZIP_CLUTTER_DIRS = frozenset({"__MACOSX", "__pycache__"})
_ZIP_CLUTTER_FILES = frozenset({".DS_Store"})


@dataclass(frozen=True)
class CodeUpload:
    """What function_code_upload stored: the file paths, and a warning to show (or "")."""

    paths: tuple[str, ...]
    warning: str


def _is_clutter(path: str) -> bool:
    *folders, name = path.split("/")
    return name in _ZIP_CLUTTER_FILES or not _ZIP_CLUTTER_DIRS.isdisjoint(folders)


def code_files_from_zip(*, data: bytes, filename: str = "the upload") -> dict[str, str]:
    """The text files of a zipped deployment package, checked for the editor.

    The engine's unpack_zip refuses what Lambda refuses (absolute paths, "..", links, over
    50 MB zipped or 250 MB unzipped); on top of that the editor holds at most MAX_FILES UTF-8
    text files of MAX_CODE_BYTES in all. Raises ValidationError({"zip_file": ...}) naming the
    file or entry at fault.
    """

    def refuse(message: str) -> ValidationError:
        return ValidationError({"zip_file": f"Cannot use {filename}: {message}"})

    if not data:
        raise refuse("it is empty. Choose a .zip file of your code.")
    if len(data) > ZIP_MAX_BYTES:
        raise refuse(
            f"it is {len(data) / 1024 / 1024:.1f} MB; Lambda accepts at most "
            f"{ZIP_MAX_BYTES // 1024 // 1024} MB for a direct .zip upload."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        raise refuse("it is not a .zip file. Zip your code files and upload the .zip.") from None
    # Declared sizes bound what zipfile will inflate, so this refuses a big package before any
    # of it is unpacked into memory.
    declared = sum(i.file_size for i in entries if not _is_clutter(i.filename))
    if declared > MAX_CODE_BYTES:
        raise refuse(
            f"it unzips to {declared:,} bytes; the sandbox's editor holds at most "
            f"{MAX_CODE_BYTES:,} bytes of code."
        )
    try:
        unpacked = unpack_zip(data)
    except SpecError as exc:
        raise refuse(f"{exc.message}.") from None
    files: dict[str, str] = {}
    for path, content in sorted(unpacked.items()):
        if _is_clutter(path):
            continue
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        # NUL never appears in source, and a text column cannot hold it.
        if text is None or "\x00" in text:
            raise refuse(
                f"{path} is not a text file. The editor holds UTF-8 text only, so leave "
                "binary files (libraries, images, .pyc) out of the zip."
            )
        if len(path) > MAX_PATH_LENGTH:
            raise refuse(f"the path {path} is longer than {MAX_PATH_LENGTH} characters.")
        files[path] = text
    if not files:
        raise refuse("it holds no files.")
    try:
        _check_files(files)
    except ValidationError as exc:
        raise refuse(" ".join(exc.messages)) from None
    return files


def _missing_handler_warning(spec: FunctionSpec, paths: Iterable[str]) -> str:
    if spec.has_handler_module():
        return ""
    module = spec.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    hint = ""
    folders = {path.split("/", 1)[0] for path in paths if "/" in path}
    if len(folders) == 1 and all("/" in path for path in paths):
        (folder,) = folders
        hint = (
            f" Everything is inside the folder {folder}/: zip the folder's contents, "
            "not the folder."
        )
    return (
        f"The handler {spec.handler} needs {module}, which the zip does not contain. "
        "Invoking will fail with Runtime.ImportModuleError until you add it or change the "
        f"handler in Configuration.{hint}"
    )


def function_code_upload(*, function: Function, data: bytes, filename: str) -> CodeUpload:
    """Replace all of function's code with the files of a .zip, as "Upload from .zip file" does.

    All files or none: on any ValidationError (see code_files_from_zip, and the engine's own
    checks) the existing files stay. Like any edit, new code makes the next invocation a cold
    start. A zip without the handler's module is stored all the same, as on Lambda, with a
    warning in the result.
    """
    files = code_files_from_zip(data=data, filename=filename)
    try:
        spec = spec_for(function=function, files=files, namespace="check")
    except ValidationError as exc:
        raise ValidationError(
            {"zip_file": f"Cannot use {filename}: {' '.join(exc.messages)}"}
        ) from None
    with transaction.atomic():
        function.files.all().delete()
        FunctionFile.objects.bulk_create(
            FunctionFile(function=function, path=path, content=content)
            for path, content in files.items()
        )
        function.save(update_fields=["updated_at"])
    return CodeUpload(paths=tuple(files), warning=_missing_handler_warning(spec, files))


def function_force_cold_start(*, function: Function) -> Function:
    """Make the next invocation a cold start, the way it is done on Lambda: change configuration.

    Bumps the LAMBDALAB_DEPLOYMENT environment variable passed to the function; the engine then
    retires the warm environments of the previous configuration.
    """
    function.deployment += 1
    function.save(update_fields=["deployment", "updated_at"])
    return function


def function_delete(*, function: Function) -> None:
    function.delete()


# ---------------------------------------------------------------- test events


def test_event_save(*, function: Function, name: str, body: str) -> TestEvent:
    """Save (or replace) a named test event; its body must be valid JSON within 6 MB."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ValidationError({"event_name": "Give the event a name of 1-64 characters."})
    event_parse(text=body)
    event, _ = TestEvent.objects.update_or_create(
        function=function, name=name, defaults={"body": body}
    )
    return event


test_event_save.__test__ = False  # type: ignore[attr-defined]  # pytest: not a test


def test_event_delete(*, function: Function, name: str) -> None:
    function.test_events.filter(name=name).delete()


test_event_delete.__test__ = False  # type: ignore[attr-defined]


# ---------------------------------------------------------------- invocations


def _check_rate(*, user: User, adding: int) -> None:
    since = timezone.now() - timedelta(minutes=1)
    recent = Invocation.objects.filter(requested_by=user, created_at__gte=since).count()
    per_minute = settings.SANDBOX_USER_INVOCATIONS_PER_MINUTE
    if recent + adding > per_minute:
        raise LimitReached(
            f"You can start {per_minute} invocations a minute and have started {recent} in the "
            "last minute. Wait a little and try again."
        )
    pending = Invocation.objects.filter(requested_by=user, status__in=Invocation.PENDING).count()
    most = settings.SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS
    if pending + adding > most:
        raise LimitReached(
            f"You have {pending} invocations queued or running; at most {most} can be in flight "
            f"at once (this would add {adding}). Wait for some to finish."
        )


def _snapshot(spec: FunctionSpec) -> dict[str, Any]:
    """What ran, as JSON: enough to rebuild the FunctionSpec in the worker."""
    return {
        "name": spec.name,
        "handler": spec.handler,
        "code": {path: content.decode("utf-8", "replace") for path, content in spec.files},
        "runtime": spec.runtime,
        "memory_mb": spec.memory_mb,
        "timeout_s": spec.timeout_s,
        "ephemeral_storage_mb": spec.ephemeral_storage_mb,
        "environment": dict(spec.environment),
        "architecture": spec.architecture,
        "reserved_concurrency": spec.reserved_concurrency,
        "provisioned_concurrency": spec.provisioned_concurrency,
        "namespace": spec.namespace,
    }


def _new_invocations(
    *,
    function: Function,
    event_text: str,
    requested_by: User,
    experiment: Experiment | None = None,
    specs: Iterable[FunctionSpec],
) -> list[Invocation]:
    return Invocation.objects.bulk_create(
        Invocation(
            function=function,
            experiment=experiment,
            requested_by=requested_by,
            event=event_text,
            config=_snapshot(spec),
            namespace=spec.namespace,
            memory_size_mb=spec.memory_mb,
        )
        for spec in specs
    )


def invocation_start(*, function: Function, event_text: str, requested_by: User) -> Invocation:
    """Queue one invocation of function's current code and configuration with event_text.

    The Celery task is sent once the transaction commits. Raises ValidationError for an event
    that is not JSON or over 6 MB, LimitReached past the per-user limits.
    """
    from sandbox import tasks

    event_parse(text=event_text)
    _check_rate(user=requested_by, adding=1)
    spec = spec_for(function=function)
    with transaction.atomic():
        (invocation,) = _new_invocations(
            function=function, event_text=event_text, requested_by=requested_by, specs=[spec]
        )
        transaction.on_commit(lambda: tasks.invocation_run.delay(invocation.pk))
    return invocation


def invocation_execute(*, invocation_id: int, worker: str = "") -> Invocation | None:
    """Run a queued invocation through this process's EnvironmentPool and store the result.

    Idempotent: an invocation that is already finished is left alone; one found `running`
    (its worker died mid-run and the task came back) is marked failed rather than run twice,
    since user code may not be safe to repeat. Returns the invocation, or None if it is gone.
    """
    from sandbox.pool import get_pool

    claimed = Invocation.objects.filter(pk=invocation_id, status=Invocation.Status.QUEUED).update(
        status=Invocation.Status.RUNNING,
        started_at=timezone.now(),
        worker=worker,
        attempts=1,
        updated_at=timezone.now(),
    )
    invocation = Invocation.objects.filter(pk=invocation_id).first()
    if invocation is None:
        return None
    if not claimed:
        if invocation.status == Invocation.Status.RUNNING:
            return invocation_fail(
                invocation=invocation,
                reason="The sandbox worker stopped while this invocation was running; "
                "it was not run again because handlers may not be safe to repeat.",
            )
        return invocation
    try:
        spec = FunctionSpec(**invocation.config)
    except SpecError as exc:
        return invocation_fail(invocation=invocation, reason=f"Invalid configuration: {exc}")
    try:
        event = json.loads(invocation.event)
        result = get_pool().invoke(spec, event)
    except JailUnavailable as exc:
        return invocation_fail(
            invocation=invocation,
            reason=f"The sandbox cannot isolate code on this worker, so it ran nothing: {exc}",
        )
    except Exception as exc:
        logger.exception("invocation %s failed in the engine", invocation_id)
        return invocation_fail(invocation=invocation, reason=f"The sandbox failed: {exc!r}")
    return invocation_store_result(invocation=invocation, result=result)


def invocation_store_result(*, invocation: Invocation, result: InvocationResult) -> Invocation:
    """Copy the engine's result onto the invocation (every figure comes from the engine)."""
    invocation.status = result.status
    invocation.request_id = result.request_id
    invocation.payload = result.payload
    invocation.error = result.error
    invocation.log = result.log
    invocation.duration_ms = result.duration_ms
    invocation.billed_duration_ms = result.billed_duration_ms
    invocation.billed_duration_with_init_ms = result.billed_duration_with_init_ms or None
    invocation.init_duration_ms = result.init_duration_ms
    invocation.max_memory_used_mb = result.max_memory_used_mb
    invocation.memory_size_mb = result.memory_size_mb
    invocation.cold_start = result.cold_start
    invocation.environment_id = result.environment_id or ""
    invocation.invoke_started_at = result.started_at or None
    invocation.invoke_ended_at = result.ended_at or None
    invocation.init_started_at = result.init_started_at
    invocation.init_ended_at = result.init_ended_at
    invocation.finished_at = timezone.now()
    invocation.save()
    return invocation


def invocation_fail(*, invocation: Invocation, reason: str) -> Invocation:
    """Mark an invocation the sandbox could not run (status `failed`) with the reason."""
    invocation.status = Invocation.Status.FAILED
    invocation.failure_reason = reason
    invocation.finished_at = timezone.now()
    invocation.save(update_fields=["status", "failure_reason", "finished_at", "updated_at"])
    return invocation


def invocations_sweep_stale(*, now: datetime | None = None, worker: str | None = None) -> int:
    """Fail invocations left `running` by a worker that died; return how many.

    An invocation is stale when it has run longer than its timeout plus
    SANDBOX_STALE_GRACE_SECONDS (the engine always ends a run by its timeout), or, given
    worker, when that worker (just restarted under the same name) owns it. Bursts and tuning
    runs get extra slack since their invocations wait for each other.
    """
    now = now or timezone.now()
    grace = settings.SANDBOX_STALE_GRACE_SECONDS
    running = Invocation.objects.filter(status=Invocation.Status.RUNNING)
    stale = [] if worker is None else list(running.filter(worker=worker))
    for invocation in running.exclude(pk__in=[i.pk for i in stale]).only(
        "config", "started_at", "experiment_id"
    ):
        timeout_s = int(invocation.config.get("timeout_s", 900))
        # INIT may take up to 10 s before the handler's own timeout starts.
        limit = timeout_s + 10 + grace
        if invocation.experiment_id:
            limit *= MAX_RUNS_PER_SIZE * len(TUNING_MEMORY_SIZES)
        if invocation.started_at and invocation.started_at < now - timedelta(seconds=limit):
            stale.append(invocation)
    reason = "The sandbox worker stopped while this invocation was running, so no result came back."
    return Invocation.objects.filter(
        pk__in=[i.pk for i in stale], status=Invocation.Status.RUNNING
    ).update(
        status=Invocation.Status.FAILED, failure_reason=reason, finished_at=now, updated_at=now
    )


# ---------------------------------------------------------------- experiments


def burst_start(
    *, function: Function, event_text: str, count: int, requested_by: User
) -> Experiment:
    """Queue `count` invocations to be fired at the same moment (the concurrency lab)."""
    from sandbox import tasks

    event_parse(text=event_text)
    most = settings.SANDBOX_LAB_MAX_BURST
    if not 1 <= count <= most:
        raise ValidationError({"count": f"Fire between 1 and {most} invocations at once."})
    _check_rate(user=requested_by, adding=count)
    spec = spec_for(function=function)
    with transaction.atomic():
        experiment = Experiment.objects.create(
            function=function, kind=Experiment.Kind.BURST, event=event_text, size=count
        )
        _new_invocations(
            function=function,
            event_text=event_text,
            requested_by=requested_by,
            experiment=experiment,
            specs=[spec] * count,
        )
        transaction.on_commit(lambda: tasks.burst_run.delay(experiment.pk))
    return experiment


def tuning_start(
    *,
    function: Function,
    event_text: str,
    memory_sizes: Iterable[int],
    runs_per_size: int,
    requested_by: User,
) -> Experiment:
    """Queue the same event at several memory sizes (like AWS Lambda Power Tuning).

    Runs in its own namespace so it does not retire the function's warm environments.
    """
    from sandbox import tasks

    event_parse(text=event_text)
    sizes = sorted(set(memory_sizes))
    if not sizes:
        raise ValidationError({"memory_sizes": "Choose at least one memory size."})
    if not 1 <= runs_per_size <= MAX_RUNS_PER_SIZE:
        raise ValidationError(
            {"runs_per_size": f"Run each size between 1 and {MAX_RUNS_PER_SIZE} times."}
        )
    _check_rate(user=requested_by, adding=len(sizes) * runs_per_size)
    specs = [
        spec_for(function=function, memory_mb=size, namespace=f"{function.namespace}/tuning")
        for size in sizes
        for _ in range(runs_per_size)
    ]
    with transaction.atomic():
        experiment = Experiment.objects.create(
            function=function,
            kind=Experiment.Kind.TUNING,
            event=event_text,
            size=len(specs),
            memory_sizes=sizes,
            runs_per_size=runs_per_size,
        )
        _new_invocations(
            function=function,
            event_text=event_text,
            requested_by=requested_by,
            experiment=experiment,
            specs=specs,
        )
        transaction.on_commit(lambda: tasks.tuning_run.delay(experiment.pk))
    return experiment


def _execute_in_thread(invocation_id: int, worker: str) -> None:
    try:
        invocation_execute(invocation_id=invocation_id, worker=worker)
    finally:
        # Each thread opened its own database connection; do not leak it.
        connection.close()


def burst_execute(*, experiment_id: int, worker: str = "") -> None:
    """Fire every queued invocation of a burst at once, one thread each.

    One task holding N threads rather than N tasks: the worker's own thread count would
    otherwise cap how many run together, and the lab is about what happens at N.
    """
    ids = list(
        Invocation.objects.filter(
            experiment_id=experiment_id, status=Invocation.Status.QUEUED
        ).values_list("pk", flat=True)
    )
    if not ids:
        return
    with ThreadPoolExecutor(max_workers=len(ids), thread_name_prefix="burst") as threads:
        list(threads.map(lambda pk: _execute_in_thread(pk, worker), ids))
    close_old_connections()


def tuning_execute(*, experiment_id: int, worker: str = "") -> None:
    """Run a tuning experiment's invocations one after another (smallest memory first), so
    no two compete for the CPU and each size's first run is its cold start."""
    ids = list(
        Invocation.objects.filter(experiment_id=experiment_id, status=Invocation.Status.QUEUED)
        .order_by("memory_size_mb", "pk")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        invocation_execute(invocation_id=pk, worker=worker)
