"""Writes of the sandbox: functions, code, test events, invocations and experiments.

Views and Celery tasks call these and nothing else. Input problems raise ValidationError (with
the field they concern) and per-user limits raise LimitReached, both with a message fit to show
the learner. Nothing here runs code: these queue Celery tasks once the transaction commits, and
the worker runs them through sandbox.execution.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from lambdalab.json_input import JSONTooDeep, json_parse
from learn.cohorts.selectors import Quota, sandbox_quota
from learn.practice.models import Submission, SubmissionStatus
from sandbox import catalog, heartbeats, routing, selectors, tasks
from sandbox.aws.accounts import account_for
from sandbox.engine import FunctionSpec, SpecError
from sandbox.engine.pool import reservation_message
from sandbox.engine.protocol import MAX_REQUEST_BYTES
from sandbox.engine.spec import CONFIG_FIELDS as SPEC_FIELDS
from sandbox.engine.spec import ZIP_MAX_BYTES, unpack_zip
from sandbox.execution import MAX_RUNS_PER_SIZE, TUNING_INVOCATIONS_PER_RUN
from sandbox.models import Experiment, Function, FunctionFile, Invocation, TestEvent

# Far below Lambda's 250 MB: this is what one learner types into an editor.
MAX_CODE_BYTES = 1024 * 1024
MAX_FILES = 20
MAX_PATH_LENGTH = 200  # FunctionFile.path
# Room for folders and what zip tools add (__MACOSX/, .DS_Store) beside MAX_FILES files.
MAX_ZIP_ENTRIES = 1_000
MAX_ZIP_UNPACKED_BYTES = 4 * MAX_CODE_BYTES

# The engine names fields after FunctionSpec; the form names them after the model.
_SPEC_FIELD_TO_FORM = {"code": "files"}


class LimitReached(Exception):
    """A per-user limit stops this action; str() is the message to show."""


# ---------------------------------------------------------------- parsing and validation


def event_parse(*, text: str) -> Any:
    """Parse a test event as Lambda's console does, refusing what Lambda would refuse.

    Raises ValidationError({"event": ...}) naming the line and column of a JSON error, the
    depth of JSON nested too deeply to handle (lambdalab.json_input), or the size when the
    event is over Lambda's 6 MB synchronous payload limit.
    """
    try:
        event = json_parse(text, what="The event")
    except JSONTooDeep as exc:
        raise ValidationError({"event": str(exc)}) from None
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
    # The model names its configuration fields as the engine does; what runs here is always
    # $LATEST (published versions keep their own snapshot).
    config = {
        field: getattr(function, field)
        for field in SPEC_FIELDS
        if field not in ("code", "version", "account_id")
    }
    config["account_id"] = account_for(function.owner)
    config["code"] = dict(files)
    config["environment"] = environment
    if memory_mb:
        config["memory_mb"] = memory_mb
    if namespace:
        config["namespace"] = namespace
    try:
        return FunctionSpec.from_config(config, **(overrides or {}))
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
    """Django's field checks, the owner's cohort quota, then the engine's (Lambda's rules).

    The model's constraints are checked here first, each as a message on the field a learner
    changes: full_clean() would say only `Constraint "..." is violated.`
    """
    reserved, provisioned = function.reserved_concurrency, function.provisioned_concurrency
    if reserved is not None and provisioned > reserved:
        raise ValidationError(
            {
                "provisioned_concurrency": (
                    f"Provisioned concurrency ({provisioned}) cannot be more than reserved "
                    f"concurrency ({reserved}): Lambda keeps provisioned environments within the "
                    "function's reservation. Lower it, or raise reserved concurrency."
                )
            }
        )
    function.full_clean()
    _check_quota_config(
        user=function.owner, memory_mb=function.memory_mb, timeout_s=function.timeout_s
    )
    _check_concurrency(function)
    if files is not None:
        _check_files(files)
    # Code that is not valid Python is fine: it fails at INIT with UserCodeSyntaxError.
    spec_for(function=function, files=files or {catalog.HANDLER_FILE: ""}, namespace="check")


def _check_concurrency(function: Function) -> None:
    """Lambda's reservation rules on this shared sandbox, plus each learner's share.

    Reservations of all learners together leave SANDBOX_UNRESERVED_MINIMUM of the account
    limit free; one learner's reservations stay within their in-flight share, and their
    provisioned environments within SANDBOX_LEARNER_PROVISIONED. Call it inside the
    transaction that saves the function, after serialise() (the sums are then exact).
    """
    others = Function.objects.exclude(pk=function.pk)
    mine = others.filter(owner=function.owner)
    errors: dict[str, str] = {}
    reserved = function.reserved_concurrency
    if reserved is not None:
        room = settings.SANDBOX_ACCOUNT_CONCURRENCY - settings.SANDBOX_UNRESERVED_MINIMUM
        taken = others.aggregate(total=Sum("reserved_concurrency"))["total"] or 0
        own = mine.aggregate(total=Sum("reserved_concurrency"))["total"] or 0
        share = settings.SANDBOX_LEARNER_CONCURRENCY
        if taken + reserved > room:
            errors["reserved_concurrency"] = (
                f"{reservation_message(settings.SANDBOX_UNRESERVED_MINIMUM)} This sandbox's "
                f"account limit is {settings.SANDBOX_ACCOUNT_CONCURRENCY}; "
                f"{max(room - taken, 0)} can still be reserved."
            )
        elif own + reserved > share:
            errors["reserved_concurrency"] = (
                f"Each learner may reserve at most {share} concurrent executions across their "
                f"functions; your other functions reserve {own}."
            )
    provisioned = function.provisioned_concurrency
    if provisioned:
        own_provisioned = mine.aggregate(total=Sum("provisioned_concurrency"))["total"] or 0
        cap = settings.SANDBOX_LEARNER_PROVISIONED
        if own_provisioned + provisioned > cap:
            errors["provisioned_concurrency"] = (
                f"Each learner may keep at most {cap} provisioned environments across their "
                f"functions; your other functions keep {own_provisioned}."
            )
    if errors:
        raise ValidationError(errors)


def serialise(*, name: str) -> None:
    """Make limit checks of one kind run one at a time, until the transaction ends.

    Check-then-write limits (counts, sums) race when two requests interleave. On PostgreSQL a
    transaction-scoped advisory lock serialises them; SQLite transactions already begin
    IMMEDIATE (settings), which holds the database's write lock for the whole transaction.
    Call inside transaction.atomic().
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"lambdalab:{name}"])


def learner_lock(*, user: User) -> None:
    """Serialise one learner's limit checks (their row's lock) until the transaction ends."""
    serialise(name=f"learner:{user.pk}")


def _retire_on_commit(function: Function) -> None:
    """Shut down the function's environments in every worker once the change is committed."""
    namespace, name = function.namespace, function.name
    transaction.on_commit(
        lambda: routing.task_broadcast(tasks.function_retire, args=[namespace, name])
    )


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
        handler=handler or catalog.default_handler(runtime),
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
    code = (
        dict(files)
        if files is not None
        else {catalog.handler_file(runtime): chosen.source_for(runtime)}
    )
    saved_events = dict(events) if events is not None else {chosen.event_key: chosen.event.body}
    for event_name, body in saved_events.items():
        event_parse(text=body)
        if not event_name or len(event_name) > 64:
            raise ValidationError({"event": "An event needs a name of 1-64 characters."})
    try:
        with transaction.atomic():
            learner_lock(user=owner)
            serialise(name="reservations")
            count = Function.objects.filter(owner=owner).count()
            if count >= settings.SANDBOX_USER_MAX_FUNCTIONS:
                raise LimitReached(
                    f"You have {count} functions, the most a learner can keep here. "
                    "Delete one you no longer need to create another."
                )
            _validate(function, code)
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
        # The same form sent twice at once: the name check passed for both, the constraint
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
    return function_create(
        owner=owner,
        name=selectors.function_name_free(owner=owner, base=name),
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
    try:
        with transaction.atomic():
            serialise(name="reservations")
            _validate(function, {f.path: f.content for f in function.files.all()})
            function.save()
            # Environments of the old configuration (provisioned ones included) go at once.
            _retire_on_commit(function)
    except ValidationError:
        # The caller's object goes back to what is saved, so no page shows refused values.
        function.refresh_from_db(fields=list(changes))
        raise
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


# An end of central directory record: signature, then the entry count at offset 10.
_ZIP_END = b"PK\x05\x06"
_ZIP_END_SIZE = 22
_ZIP_COMMENT_MAX = 0xFFFF


def _zip_entry_count(data: bytes) -> int | None:
    """The number of entries a zip says it has (its end record), or None if it has no end
    record. A ZIP64 archive's 0xFFFF placeholder counts as 65,535: more than any editor's."""
    tail = data[-(_ZIP_END_SIZE + _ZIP_COMMENT_MAX) :]
    at = tail.rfind(_ZIP_END)
    if at < 0 or len(tail) - at < _ZIP_END_SIZE:
        return None
    (total,) = struct.unpack_from("<H", tail, at + 10)
    return int(total)


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
    # The entry count comes from the archive's last record, before zipfile builds an object
    # for every entry: 580,000 empty entries cost seconds of CPU and gigabytes just to list.
    count = _zip_entry_count(data)
    if count is None:
        raise refuse("it is not a .zip file. Zip your code files and upload the .zip.")
    if count > MAX_ZIP_ENTRIES:
        raise refuse(
            f"it holds {count:,} entries; the sandbox's editor takes at most {MAX_FILES} files, "
            f"so a package may have at most {MAX_ZIP_ENTRIES:,} entries, folders included."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        raise refuse("it is not a .zip file. Zip your code files and upload the .zip.") from None
    # Declared sizes bound what zipfile will inflate (it stops at an entry's declared size), so
    # this refuses a big package before any entry is read. Clutter counts too: it is inflated
    # before it is dropped.
    declared = sum(i.file_size for i in entries if not _is_clutter(i.filename))
    if declared > MAX_CODE_BYTES:
        raise refuse(
            f"it unzips to {declared:,} bytes; the sandbox's editor holds at most "
            f"{MAX_CODE_BYTES:,} bytes of code."
        )
    everything = sum(i.file_size for i in entries)
    if everything > MAX_ZIP_UNPACKED_BYTES:
        raise refuse(
            f"it unzips to {everything:,} bytes with the files zip tools add; the sandbox "
            f"accepts at most {MAX_ZIP_UNPACKED_BYTES:,}."
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
    module = spec.handler_file_hint()
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
    """Delete the function; its reservation and environments end with it, in the worker too."""
    with transaction.atomic():
        _retire_on_commit(function)
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


def _check_quota_config(
    *, user: User, memory_mb: int, timeout_s: int, quota: Quota | None = None
) -> None:
    """Memory and timeout within what the learner's cohorts allow (ValidationError if not)."""
    quota = quota or sandbox_quota(user=user)
    if memory_mb > quota.max_memory_mb:
        raise ValidationError(
            {"memory_mb": f"Your cohort allows at most {quota.max_memory_mb:,} MB of memory."}
        )
    if timeout_s > quota.max_timeout_s:
        raise ValidationError(
            {"timeout_s": f"Your cohort allows a timeout of at most {quota.max_timeout_s} s."}
        )


def learner_capacity_check(
    *, user: User, adding: int, at_once: int | None = None, quota: Quota | None = None
) -> None:
    """Refuse (LimitReached) work past the learner's per-minute rate or in-flight cap.

    Counts every way into the sandbox: invocations from the console and labs (and anything else
    that records an Invocation) and code challenge submissions. at_once is how many of the
    `adding` can run at the same time (a tuning run's invocations go one after another), when
    fewer than all. Call it inside the transaction that records the new work, after
    learner_lock(user=...), so the count cannot race. quota is the learner's sandbox_quota, when
    the caller has it already.
    """
    since = timezone.now() - timedelta(minutes=1)
    # One query per table (this runs on every invocation): both counts at once.
    recent_or_pending = Q(created_at__gte=since) | Q(status__in=Invocation.PENDING)
    invocations = Invocation.objects.filter(recent_or_pending, requested_by=user).aggregate(
        recent=Count("pk", filter=Q(created_at__gte=since)),
        pending=Count("pk", filter=Q(status__in=Invocation.PENDING)),
    )
    in_flight = [SubmissionStatus.QUEUED, SubmissionStatus.RUNNING]
    submissions = Submission.objects.filter(
        Q(created_at__gte=since) | Q(status__in=in_flight), user=user
    ).aggregate(
        recent=Count("pk", filter=Q(created_at__gte=since)),
        pending=Count("pk", filter=Q(status__in=in_flight)),
    )
    recent = invocations["recent"] + submissions["recent"]
    quota = quota or sandbox_quota(user=user)
    per_minute = quota.invocations_per_minute
    if recent + adding > per_minute:
        raise LimitReached(
            f"You can start {per_minute} invocations a minute (code challenge runs included) "
            f"and have started {recent} in the last minute. Wait a little and try again."
        )
    pending = invocations["pending"] + submissions["pending"]
    most = quota.max_concurrent
    if pending + (adding if at_once is None else min(at_once, adding)) > most:
        raise LimitReached(
            f"You have {pending} invocations queued or running (code challenge runs included); "
            f"at most {most} can be in flight "
            f"at once (this would add {adding}). Wait for some to finish."
        )


def _check_quota_invoke(
    *, user: User, function: Function, memory_mb: int | None = None, quota: Quota | None = None
) -> None:
    """A function set up before a cohort quota existed is refused, not run above it."""
    try:
        _check_quota_config(
            user=user,
            memory_mb=memory_mb or function.memory_mb,
            timeout_s=function.timeout_s,
            quota=quota,
        )
    except ValidationError as error:
        problems = " ".join(m for ms in error.message_dict.values() for m in ms)
        raise LimitReached(f"{problems} Change the function's configuration first.") from None


def _new_invocations(
    *,
    function: Function,
    event_text: str,
    requested_by: User,
    experiment: Experiment | None = None,
    specs: Iterable[FunctionSpec],
    qualifier: str = "",
) -> list[Invocation]:
    return Invocation.objects.bulk_create(
        Invocation(
            function=function,
            experiment=experiment,
            requested_by=requested_by,
            event=event_text,
            config=spec.to_config(),
            qualifier=qualifier,
            namespace=spec.namespace,
            memory_size_mb=spec.memory_mb,
        )
        for spec in specs
    )


QUEUE_UNAVAILABLE = (
    "The sandbox's queue (Redis) could not be reached, so this was not started and nothing ran. "
    "Try again in a moment."
)


def _send(task: Any, task_id: int, invocations: list[Invocation], *, refuse: bool = True) -> bool:
    """Queue task(task_id) for the worker that owns the invocations' function and note that
    worker on them (until one claims them). When the broker cannot take it, and refuse, fail
    them at once with the reason, so the learner is told, their in-flight slots are free and
    nothing waits for a task that does not exist. Returns whether the task was queued."""
    ids = [invocation.pk for invocation in invocations]
    now = timezone.now()
    try:
        worker = routing.task_send(
            task, args=[task_id], key=routing.routing_key(function_id=invocations[0].function_id)
        )
    except routing.QueueUnavailable:
        if refuse:
            Invocation.objects.filter(pk__in=ids, status=Invocation.Status.QUEUED).update(
                status=Invocation.Status.FAILED,
                failure_reason=QUEUE_UNAVAILABLE,
                finished_at=now,
                updated_at=now,
            )
            for invocation in invocations:
                invocation.status = Invocation.Status.FAILED
                invocation.failure_reason = QUEUE_UNAVAILABLE
                invocation.finished_at = now
        return False
    Invocation.objects.filter(pk__in=ids, status=Invocation.Status.QUEUED).update(
        worker=worker, updated_at=now
    )
    for invocation in invocations:
        invocation.worker = worker
    return True


def invocations_resend(*, now: datetime | None = None) -> int:
    """Send again the tasks of queued work that may never start; return how many were sent.

    Work routed to a worker whose heartbeat has stopped goes to its function's new owner at
    once; any queued work untouched for SANDBOX_REQUEUE_SECONDS is sent again as well (a Redis
    that restarted empty lost its task). A copy that arrives after the first is harmless: the
    worker claims an invocation with a conditional update, and an experiment once. While the
    broker is down nothing is sent and nothing is failed: the next sweep tries again.
    """
    now = now or timezone.now()
    queued = Invocation.objects.filter(status=Invocation.Status.QUEUED)
    routed = set(queued.exclude(worker="").values_list("worker", flat=True).distinct())
    gone = heartbeats.workers_gone(hostnames=routed)
    late = now - timedelta(seconds=settings.SANDBOX_REQUEUE_SECONDS)
    due = list(
        queued.filter(Q(worker__in=gone) | Q(updated_at__lt=late))
        .order_by("pk")
        .only("pk", "function_id", "experiment_id")[:500]
    )
    sent = 0
    for invocation in (i for i in due if i.experiment_id is None):
        if not _send(tasks.invocation_run, invocation.pk, [invocation], refuse=False):
            return sent
        sent += 1
    experiments = {i.experiment_id for i in due if i.experiment_id is not None}
    for experiment in Experiment.objects.filter(pk__in=experiments):
        task = tasks.burst_run if experiment.kind == Experiment.Kind.BURST else tasks.tuning_run
        waiting = list(experiment.invocations.filter(status=Invocation.Status.QUEUED))
        if not _send(task, experiment.pk, waiting, refuse=False):
            return sent
        sent += 1
    return sent


def invocation_start(
    *,
    function: Function,
    event_text: str,
    requested_by: User,
    spec: FunctionSpec | None = None,
    enqueue: bool = True,
    qualifier: str = "",
) -> Invocation:
    """Queue one invocation of function's current code and configuration with event_text,
    or of spec (a published version of it) when given. qualifier is what the caller invoked
    through (an alias, a version, "$LATEST"; "" unqualified), as the handler's context names it.

    The Celery task is sent once the transaction commits; with enqueue=False none is, for a
    caller on the sandbox worker that runs it at once (an event source mapping's poller).
    Raises ValidationError for an event that is not JSON or over 6 MB, LimitReached past the
    per-user limits.
    """
    event_parse(text=event_text)
    quota = sandbox_quota(user=requested_by)
    _check_quota_invoke(user=requested_by, function=function, quota=quota)
    spec = spec or spec_for(function=function)
    with transaction.atomic():
        learner_lock(user=requested_by)
        learner_capacity_check(user=requested_by, adding=1, quota=quota)
        (invocation,) = _new_invocations(
            function=function,
            event_text=event_text,
            requested_by=requested_by,
            specs=[spec],
            qualifier=qualifier,
        )
        if enqueue:
            transaction.on_commit(lambda: _send(tasks.invocation_run, invocation.pk, [invocation]))
    return invocation


class StopOutcome:
    """What invocation_stop did (str values, so views and logs can name them)."""

    BEFORE_IT_RAN = "before it ran"  # was queued: marked stopped, no worker will run it
    WHILE_RUNNING = "while running"  # its worker killed it and records it stopped
    ASKED = "asked"  # its worker had not reached the engine with it: it stops it there
    UNREACHED = "unreached"  # running, but no worker answered (the stale sweep will end it)
    FINISHED = "finished"  # already over: nothing to stop


STOP_REPLY_TIMEOUT_S = 4.0  # the worker answers once the environment is killed (≤ 2 s)


def invocation_stop(*, invocation_id: int, reason: str) -> str:
    """Stop one invocation, queued or running, and return a StopOutcome value.

    A queued one is marked `stopped` with reason and never runs (workers claim only queued
    ones). A running one is stopped by the worker that runs it: a Celery broadcast control
    message (`sandbox_stop`, to that worker by name) makes it kill the invocation's execution
    environment at once; its task then stores the result, status `stopped`.
    """
    from lambdalab.celery import app

    now = timezone.now()
    if Invocation.objects.filter(pk=invocation_id, status=Invocation.Status.QUEUED).update(
        status=Invocation.Status.STOPPED,
        failure_reason=f"{reason} before it ran.",
        finished_at=now,
        updated_at=now,
    ):
        return StopOutcome.BEFORE_IT_RAN
    worker = (
        Invocation.objects.filter(pk=invocation_id, status=Invocation.Status.RUNNING)
        .values_list("worker", flat=True)
        .first()
    )
    if worker is None:
        return StopOutcome.FINISHED
    replies = app.control.broadcast(
        "sandbox_stop",
        arguments={"invocation_id": invocation_id, "reason": reason},
        destination=[worker] if worker else None,
        reply=True,
        timeout=STOP_REPLY_TIMEOUT_S,
        limit=1 if worker else None,
    )
    answers = [answer for reply in replies or [] for answer in reply.values()]
    if any(isinstance(a, dict) and a.get("stopped") for a in answers):
        return StopOutcome.WHILE_RUNNING
    return StopOutcome.ASKED if answers else StopOutcome.UNREACHED


# ---------------------------------------------------------------- experiments


def burst_start(
    *, function: Function, event_text: str, count: int, requested_by: User
) -> Experiment:
    """Queue `count` invocations to be fired at the same moment (the concurrency lab)."""
    event_parse(text=event_text)
    most = settings.SANDBOX_LAB_MAX_BURST
    if not 1 <= count <= most:
        raise ValidationError({"count": f"Fire between 1 and {most} invocations at once."})
    _check_quota_invoke(user=requested_by, function=function)
    spec = spec_for(function=function)
    with transaction.atomic():
        learner_lock(user=requested_by)
        learner_capacity_check(user=requested_by, adding=count)
        experiment = Experiment.objects.create(
            function=function, kind=Experiment.Kind.BURST, event=event_text, size=count
        )
        invocations = _new_invocations(
            function=function,
            event_text=event_text,
            requested_by=requested_by,
            experiment=experiment,
            specs=[spec] * count,
        )
        transaction.on_commit(lambda: _send(tasks.burst_run, experiment.pk, invocations))
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

    Each of the runs_per_size runs at a size is a pair: a cold start in a fresh environment
    (its Init Duration measured) and then a warm invocation of that environment, so every size
    has several samples of INIT and of the invocation itself and the page can tell a difference
    from noise. Runs in its own namespace so it does not retire the function's warm
    environments, and without provisioned concurrency, whose environments would hide the cold
    starts the lab measures. Raises ValidationError for bad sizes, counts or events,
    LimitReached past the learner's limits.
    """
    event_parse(text=event_text)
    sizes = sorted(set(memory_sizes))
    if not sizes:
        raise ValidationError({"memory_sizes": "Choose at least one memory size."})
    if not 1 <= runs_per_size <= MAX_RUNS_PER_SIZE:
        raise ValidationError(
            {"runs_per_size": f"Run each size between 1 and {MAX_RUNS_PER_SIZE} times."}
        )
    _check_quota_invoke(user=requested_by, function=function, memory_mb=sizes[-1])
    specs = [
        spec_for(
            function=function,
            memory_mb=size,
            namespace=f"{function.namespace}/tuning",
            overrides={"provisioned_concurrency": 0},
        )
        for size in sizes
        for _ in range(runs_per_size * TUNING_INVOCATIONS_PER_RUN)
    ]
    with transaction.atomic():
        learner_lock(user=requested_by)
        # One after another: the run holds one invocation in flight at a time.
        learner_capacity_check(user=requested_by, adding=len(specs), at_once=1)
        experiment = Experiment.objects.create(
            function=function,
            kind=Experiment.Kind.TUNING,
            event=event_text,
            size=len(specs),
            memory_sizes=sizes,
            runs_per_size=runs_per_size,
        )
        invocations = _new_invocations(
            function=function,
            event_text=event_text,
            requested_by=requested_by,
            experiment=experiment,
            specs=specs,
        )
        transaction.on_commit(lambda: _send(tasks.tuning_run, experiment.pk, invocations))
    return experiment
