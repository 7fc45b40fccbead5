import io
import json
import stat
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from sandbox import catalog, execution, selectors, services
from sandbox.models import Experiment, Function, Invocation, TestEvent
from tests.factories import UserFactory
from tests.sandbox.factories import HELLO, FunctionFactory, InvocationFactory

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- events


def test_event_parse_reports_line_and_column():
    with pytest.raises(ValidationError) as caught:
        services.event_parse(text='{\n  "a": 1,\n  "b" 2\n}')
    message = caught.value.message_dict["event"][0]
    assert "line 3, column 7" in message


def test_event_parse_refuses_more_than_6_mb():
    big = json.dumps({"data": "x" * (6 * 1024 * 1024)})
    with pytest.raises(ValidationError) as caught:
        services.event_parse(text=big)
    assert "6 MB" in caught.value.message_dict["event"][0]


def test_event_parse_refuses_deeply_nested_json_with_a_clear_message():
    with pytest.raises(ValidationError) as caught:
        services.event_parse(text="[" * 5000)
    (message,) = caught.value.message_dict["event"]
    assert "nested 5,000 levels deep" in message and "at most 100 levels" in message


def test_event_parse_accepts_any_json_value():
    assert services.event_parse(text="[1, 2]") == [1, 2]


# ---------------------------------------------------------------- functions


def test_function_create_from_blueprint_copies_code_settings_and_event(learner):
    function = services.function_create(owner=learner, name="thumbs", blueprint="s3-processing")
    assert function.memory_mb == 256
    assert function.timeout_s == 10
    assert function.handler == catalog.HANDLER
    source = function.files.get(path=catalog.HANDLER_FILE).content
    assert "def lambda_handler" in source
    assert "# mypy" not in source
    assert function.test_events.get().name == "s3-put"


def test_function_create_refuses_duplicate_names(learner):
    services.function_create(owner=learner, name="dup")
    with pytest.raises(ValidationError) as caught:
        services.function_create(owner=learner, name="dup")
    assert "already" in caught.value.message_dict["name"][0]


def test_function_create_checks_lambda_limits(learner):
    with pytest.raises(ValidationError) as caught:
        services.function_create(owner=learner, name="big", memory_mb=20_000)
    assert "memory_mb" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.function_create(owner=learner, name="env", environment={"AWS_REGION": "x"})
    assert "reserved" in caught.value.message_dict["environment"][0]
    assert not Function.objects.exists()


@override_settings(SANDBOX_USER_MAX_FUNCTIONS=2)
def test_function_create_stops_at_the_per_user_limit(learner):
    services.function_create(owner=learner, name="a")
    services.function_create(owner=learner, name="b")
    with pytest.raises(services.LimitReached, match="2 functions"):
        services.function_create(owner=learner, name="c")
    # Another learner has their own allowance.
    services.function_create(owner=UserFactory(), name="c")


def test_function_create_from_lesson_keeps_names_unique(learner):
    kwargs = dict(
        owner=learner,
        lesson_slug="cold-starts",
        name="try-cold-starts",
        handler="app.handler",
        files={"app.py": "def handler(event, context):\n    return event\n"},
        event={"hello": "lesson"},
    )
    first = services.function_create_from_lesson(**kwargs)
    second = services.function_create_from_lesson(**kwargs)
    assert (first.name, second.name) == ("try-cold-starts", "try-cold-starts-2")
    assert second.lesson_slug == "cold-starts"
    assert json.loads(second.test_events.get(name="lesson-event").body) == {"hello": "lesson"}


def test_invalid_python_still_saves(learner):
    function = FunctionFactory(owner=learner)
    services.function_file_save(
        function=function, path=catalog.HANDLER_FILE, content="def broken(:\n"
    )
    assert function.files.get().content == "def broken(:\n"


def test_function_file_save_refuses_paths_outside_the_package(learner):
    function = FunctionFactory(owner=learner)
    with pytest.raises(ValidationError):
        services.function_file_save(function=function, path="../etc/passwd", content="")


def test_function_update_config_validates_provisioned_within_reserved(learner):
    function = FunctionFactory(owner=learner)
    with pytest.raises(ValidationError):
        services.function_update_config(
            function=function, reserved_concurrency=1, provisioned_concurrency=2
        )
    services.function_update_config(function=function, reserved_concurrency=2)
    function.refresh_from_db()
    assert function.reserved_concurrency == 2


def test_force_cold_start_changes_the_spec(learner):
    function = FunctionFactory(owner=learner)
    before = services.spec_for(function=function).version_key
    services.function_force_cold_start(function=function)
    after = services.spec_for(function=function)
    assert after.version_key != before
    assert after.environment["LAMBDALAB_DEPLOYMENT"] == "1"


def test_test_event_save_and_replace(learner):
    function = FunctionFactory(owner=learner)
    services.test_event_save(function=function, name="mine", body='{"a": 1}')
    services.test_event_save(function=function, name="mine", body='{"a": 2}')
    assert TestEvent.objects.get(function=function, name="mine").body == '{"a": 2}'
    with pytest.raises(ValidationError):
        services.test_event_save(function=function, name="bad", body="{nope")


def test_function_files_add_rename_delete(learner):
    function = FunctionFactory(owner=learner)
    services.function_file_create(function=function, path=" helpers.py ")
    with pytest.raises(ValidationError, match=r"already a file called helpers\.py"):
        services.function_file_create(function=function, path="helpers.py")
    with pytest.raises(ValidationError):
        services.function_file_create(function=function, path="../escape.py")
    services.function_file_rename(function=function, path="helpers.py", new_path="util.py")
    with pytest.raises(ValidationError, match=r"already a file called util\.py"):
        services.function_file_rename(
            function=function, path=catalog.HANDLER_FILE, new_path="util.py"
        )
    with pytest.raises(ValidationError, match=r"no file called gone\.py"):
        services.function_file_delete(function=function, path="gone.py")
    services.function_file_delete(function=function, path="util.py")
    assert list(function.files.values_list("path", flat=True)) == [catalog.HANDLER_FILE]
    with pytest.raises(ValidationError, match="at least one file"):
        services.function_file_delete(function=function, path=catalog.HANDLER_FILE)


def test_function_file_create_respects_the_file_limit(learner, monkeypatch):
    monkeypatch.setattr(services, "MAX_FILES", 1)
    function = FunctionFactory(owner=learner)
    with pytest.raises(ValidationError, match="at most 1 files"):
        services.function_file_create(function=function, path="more.py")


# ---------------------------------------------------------------- .zip upload and download

ZIPPED_HANDLER = (
    "import helpers\n\n\ndef lambda_handler(event, context):\n"
    '    return {"from": "zip", "greeting": helpers.greet(event["name"])}\n'
)
ZIPPED_HELPERS = 'def greet(name):\n    return f"hi {name}"\n'


def make_zip(*entries: tuple[str, bytes | str] | zipfile.ZipInfo, link: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, catalog.HANDLER_FILE)
    return buffer.getvalue()


def run(function):
    """Invoke function's saved code through the real engine, as the worker does."""
    invocation = InvocationFactory(function=function, event='{"name": "Ada"}')
    invocation.config = services.spec_for(function=function).to_config()
    invocation.save()
    return execution.invocation_execute(invocation_id=invocation.pk, worker="test")


def files_of(function):
    return dict(function.files.values_list("path", "content"))


def test_code_upload_replaces_the_files_and_the_next_invocation_runs_them_cold(learner):
    function = FunctionFactory(owner=learner)
    before = run(function)
    assert before.payload == {"hello": "Ada"}
    data = make_zip((catalog.HANDLER_FILE, ZIPPED_HANDLER), ("helpers.py", ZIPPED_HELPERS))
    result = services.function_code_upload(function=function, data=data, filename="code.zip")
    assert result.paths == ("helpers.py", catalog.HANDLER_FILE) and result.warning == ""
    assert files_of(function) == {
        catalog.HANDLER_FILE: ZIPPED_HANDLER,
        "helpers.py": ZIPPED_HELPERS,
    }
    after = run(function)
    assert after.status == Invocation.Status.SUCCESS, after.error or after.failure_reason
    assert after.payload == {"from": "zip", "greeting": "hi Ada"}
    assert after.cold_start is True and after.environment_id != before.environment_id


def test_code_upload_without_the_handler_module_warns_and_fails_on_invoke_as_on_lambda(learner):
    function = FunctionFactory(owner=learner)
    data = make_zip(("my-fn/lambda_function.py", HELLO))
    result = services.function_code_upload(function=function, data=data, filename="code.zip")
    assert "needs lambda_function.py" in result.warning
    assert "Runtime.ImportModuleError" in result.warning
    assert "inside the folder my-fn/" in result.warning
    assert files_of(function) == {"my-fn/lambda_function.py": HELLO}
    invocation = run(function)
    assert invocation.error["errorType"] == "Runtime.ImportModuleError"


def test_code_upload_skips_zip_tool_clutter(learner):
    function = FunctionFactory(owner=learner)
    data = make_zip(
        (catalog.HANDLER_FILE, HELLO),
        ("__MACOSX/._lambda_function.py", b"\x00\x05\x16\x07"),
        (".DS_Store", b"\x00\x00\x00\x01Bud1"),
        ("__pycache__/lambda_function.cpython-311.pyc", b"\xa7\r\r\n\x00"),
    )
    services.function_code_upload(function=function, data=data, filename="mac.zip")
    assert files_of(function) == {catalog.HANDLER_FILE: HELLO}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "it is empty"),
        (b"def lambda_handler(event, context): pass\n", "it is not a .zip file"),
        (make_zip(("../x.py", "print(1)")), "paths must stay inside the package ('../x.py')"),
        (make_zip(("/etc/x.py", "print(1)")), "absolute paths are not allowed ('/etc/x.py')"),
        (make_zip((catalog.HANDLER_FILE, HELLO), link="link.py"), "not allowed (link.py)"),
        (make_zip(("lib/native.so", b"\x7fELF\x02\x01\xff\xfe")), "lib/native.so is not a text"),
        (make_zip(("data.bin", b"abc\x00def")), "data.bin is not a text file"),
        (make_zip((f"{'d' * 200}.py", "")), "longer than 200 characters"),
        (make_zip(("a", ""), ("a/b.py", "")), "'a' is both a file and a directory"),
        (make_zip(), "it holds no files"),
    ],
    ids=[
        "empty",
        "not-a-zip",
        "traversal",
        "absolute",
        "symlink",
        "binary",
        "nul",
        "long-path",
        "file-and-dir",
        "no-files",
    ],
)
def test_code_upload_refuses_bad_packages_and_keeps_the_code(learner, data, message):
    function = FunctionFactory(owner=learner)
    with pytest.raises(ValidationError) as caught:
        services.function_code_upload(function=function, data=data, filename="bad.zip")
    (error,) = caught.value.message_dict["zip_file"]
    assert error.startswith("Cannot use bad.zip: ") and message in error, error
    assert files_of(function) == {catalog.HANDLER_FILE: HELLO}


def test_code_upload_refuses_more_than_lambdas_50_mb_zipped(learner):
    function = FunctionFactory(owner=learner)
    with pytest.raises(ValidationError, match=r"at most 50 MB for a direct \.zip upload"):
        services.function_code_upload(
            function=function, data=b"PK" + b"\x00" * (50 * 1024 * 1024), filename="big.zip"
        )
    assert files_of(function) == {catalog.HANDLER_FILE: HELLO}


def test_code_upload_refuses_more_than_the_editor_holds_before_unpacking(learner, monkeypatch):
    function = FunctionFactory(owner=learner)
    # 2 MB of zeros deflate to a few KB: refused from the declared size, not by inflating it.
    bomb = make_zip(("big.py", b"#" * (2 * 1024 * 1024)))
    assert len(bomb) < 10_000
    with pytest.raises(ValidationError, match="unzips to 2,097,152 bytes"):
        services.function_code_upload(function=function, data=bomb, filename="big.zip")
    monkeypatch.setattr(services, "MAX_FILES", 2)
    many = make_zip(*[(f"m{i}.py", "") for i in range(3)])
    with pytest.raises(ValidationError, match="at most 2 files"):
        services.function_code_upload(function=function, data=many, filename="many.zip")
    assert files_of(function) == {catalog.HANDLER_FILE: HELLO}


def test_code_upload_refuses_a_zip_of_many_entries_before_listing_them(learner, monkeypatch):
    function = FunctionFactory(owner=learner)
    many = make_zip(*[(f"__MACOSX/e{i}", "") for i in range(services.MAX_ZIP_ENTRIES + 1)])

    def no_listing(*args, **kwargs):
        raise AssertionError("the zip was opened")

    monkeypatch.setattr(services.zipfile, "ZipFile", no_listing)
    with pytest.raises(ValidationError, match="it holds 1,001 entries"):
        services.function_code_upload(function=function, data=many, filename="many.zip")
    assert files_of(function) == {catalog.HANDLER_FILE: HELLO}


def test_code_upload_counts_the_declared_size_of_zip_tool_clutter(learner, monkeypatch):
    function = FunctionFactory(owner=learner)
    bomb = make_zip((catalog.HANDLER_FILE, HELLO), ("__MACOSX/._big", b"\x00" * (5 * 1024 * 1024)))
    monkeypatch.setattr(services, "unpack_zip", lambda data: pytest.fail("entries were read"))
    with pytest.raises(ValidationError, match="with the files zip tools add"):
        services.function_code_upload(function=function, data=bomb, filename="clutter.zip")


def test_code_upload_refuses_what_has_no_end_record(learner):
    function = FunctionFactory(owner=learner)
    with pytest.raises(ValidationError, match=r"it is not a \.zip file"):
        services.function_code_upload(function=function, data=b"PK\x03\x04" * 10, filename="x.zip")


def test_downloaded_zip_uploads_back_to_the_same_files(learner):
    function = FunctionFactory(owner=learner)
    services.function_file_save(function=function, path="pkg/util.py", content="X = 'é'\n")
    data = selectors.function_code_zip(function=function)
    assert data == selectors.function_code_zip(function=function)  # same code, same bytes
    copy = FunctionFactory(owner=learner, code="# replaced\n")
    services.function_code_upload(function=copy, data=data, filename=f"{function.name}.zip")
    assert (
        files_of(copy)
        == files_of(function)
        == {
            catalog.HANDLER_FILE: HELLO,
            "pkg/util.py": "X = 'é'\n",
        }
    )


# ---------------------------------------------------------------- invocations


def test_invocation_start_snapshots_and_enqueues_after_commit(
    learner, django_capture_on_commit_callbacks
):
    function = FunctionFactory(owner=learner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invocation = services.invocation_start(
            function=function, event_text='{"name": "Ada"}', requested_by=learner
        )
    assert len(callbacks) == 1
    assert invocation.status == Invocation.Status.QUEUED
    assert invocation.config["code"][catalog.HANDLER_FILE].startswith("def lambda_handler")
    assert invocation.namespace == f"user-{learner.pk}/fn-{function.pk}"


def test_invocation_start_refuses_bad_json_before_queueing(learner):
    function = FunctionFactory(owner=learner)
    with pytest.raises(ValidationError):
        services.invocation_start(function=function, event_text="{", requested_by=learner)
    assert not Invocation.objects.exists()


@override_settings(SANDBOX_USER_INVOCATIONS_PER_MINUTE=2)
def test_invocation_rate_limit(learner, django_capture_on_commit_callbacks):
    function = FunctionFactory(owner=learner)
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(2):
            services.invocation_start(function=function, event_text="{}", requested_by=learner)
        with pytest.raises(services.LimitReached, match="a minute"):
            services.invocation_start(function=function, event_text="{}", requested_by=learner)


@override_settings(SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS=1)
def test_concurrent_invocations_limit(learner, django_capture_on_commit_callbacks):
    function = FunctionFactory(owner=learner)
    InvocationFactory(function=function, status=Invocation.Status.RUNNING)
    with pytest.raises(services.LimitReached, match="queued or running"):
        services.invocation_start(function=function, event_text="{}", requested_by=learner)


# ---------------------------------------------------------------- experiments


def test_burst_start_creates_n_invocations(learner, django_capture_on_commit_callbacks):
    function = FunctionFactory(owner=learner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        experiment = services.burst_start(
            function=function, event_text="{}", count=3, requested_by=learner
        )
    assert experiment.kind == Experiment.Kind.BURST
    assert experiment.invocations.count() == 3
    assert len(callbacks) == 1


def test_burst_start_caps_the_count(learner):
    function = FunctionFactory(owner=learner)
    with pytest.raises(ValidationError):
        services.burst_start(function=function, event_text="{}", count=999, requested_by=learner)


def test_tuning_start_runs_in_its_own_namespace(learner, django_capture_on_commit_callbacks):
    function = FunctionFactory(owner=learner)
    with django_capture_on_commit_callbacks(execute=False):
        experiment = services.tuning_start(
            function=function,
            event_text="{}",
            memory_sizes=[256, 128],
            runs_per_size=2,
            requested_by=learner,
        )
    sizes = list(
        experiment.invocations.order_by("memory_size_mb").values_list("memory_size_mb", flat=True)
    )
    # Two runs per size, each a cold start and a warm invocation.
    assert sizes == [128] * 4 + [256] * 4
    assert experiment.invocations.first().namespace.endswith("/tuning")


def test_tuning_runs_without_provisioned_concurrency_which_would_hide_cold_starts(
    learner, django_capture_on_commit_callbacks
):
    function = FunctionFactory(owner=learner, reserved_concurrency=3, provisioned_concurrency=2)
    with django_capture_on_commit_callbacks(execute=False):
        experiment = services.tuning_start(
            function=function,
            event_text="{}",
            memory_sizes=[128],
            runs_per_size=1,
            requested_by=learner,
        )
    assert {i.config["provisioned_concurrency"] for i in experiment.invocations.all()} == {0}


def test_a_tuning_run_holds_one_invocation_in_flight_so_it_may_queue_more_than_the_cap(
    learner, django_capture_on_commit_callbacks, settings
):
    settings.SANDBOX_USER_MAX_CONCURRENT_INVOCATIONS = 20
    function = FunctionFactory(owner=learner)
    with django_capture_on_commit_callbacks(execute=False):
        experiment = services.tuning_start(
            function=function,
            event_text="{}",
            memory_sizes=[128, 512, 1024, 1769],
            runs_per_size=3,
            requested_by=learner,
        )
    assert experiment.invocations.count() == 24
    # Queued behind it, a console invocation is over the cap and refused in words.
    with pytest.raises(services.LimitReached, match="24 invocations queued or running"):
        services.invocation_start(function=function, event_text="{}", requested_by=learner)


def test_function_create_for_node_starts_from_the_blueprints_node_twin(learner):
    function = services.function_create(
        owner=learner, name="api", blueprint="api-json", runtime="nodejs24.x"
    )
    assert function.runtime == "nodejs24.x"
    assert function.handler == catalog.NODE_HANDLER == "index.handler"
    source = function.files.get(path="index.mjs").content
    assert "export const handler = async" in source
    assert not function.files.filter(path=catalog.HANDLER_FILE).exists()
    assert function.test_events.get().name == "apigateway-rest"
