import io
import json
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from sandbox import catalog, selectors, services
from sandbox.models import Experiment, Function, Invocation
from tests.factories import UserFactory
from tests.sandbox.factories import (
    HELLO,
    ExperimentFactory,
    FinishedInvocationFactory,
    FunctionFactory,
    InvocationFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def owner_client(client, learner):
    client.force_login(learner)
    return client


@pytest.fixture
def function(learner):
    return FunctionFactory(owner=learner)


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    # View tests never reach Redis: the heartbeat check says no worker unless a test says so.
    monkeypatch.setattr(selectors, "sandbox_available", lambda: False)


def test_anonymous_users_go_to_login(client, function):
    response = client.get(reverse("sandbox:home"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_function_list_query_count(owner_client, learner, django_assert_num_queries):
    for _ in range(5):
        FinishedInvocationFactory(function=FunctionFactory(owner=learner))
    FunctionFactory()  # someone else's
    with django_assert_num_queries(4):  # session, user, groups (nav), functions
        response = owner_client.get(reverse("sandbox:home"))
    assert response.status_code == 200
    assert response.content.count(b'href="/sandbox/') >= 5


def test_new_function_form_prefills_from_a_lesson(owner_client):
    response = owner_client.get(reverse("sandbox:function_create") + "?lesson=cold-starts")
    html = response.content.decode()
    radios = re.findall(r'<input[^>]*name="blueprint"[^>]*>', html)
    checked = [re.search(r'value="([^"]+)"', tag).group(1) for tag in radios if " checked" in tag]
    assert len(radios) > 1 and checked == ["init-outside-handler"]
    assert 'name="lesson" value="cold-starts"' in html
    assert "/lessons/pricing/" in html  # every setting links its lesson


def test_create_function_from_template(owner_client, learner):
    response = owner_client.post(
        reverse("sandbox:function_create"),
        {
            "blueprint": "api-json",
            "name": "orders-api",
            "runtime": "python3.11",
            "handler": catalog.HANDLER,
            "memory_mb": 128,
            "timeout_s": 3,
            "ephemeral_storage_mb": 512,
            "architecture": "x86_64",
            "environment": "TABLE=orders",
            "provisioned_concurrency": 0,
        },
    )
    function = Function.objects.get(owner=learner, name="orders-api")
    assert response.status_code == 302 and response["Location"] == function.get_absolute_url()
    assert function.environment == {"TABLE": "orders"}
    assert function.test_events.get().name == "apigateway-rest"


def test_create_function_errors_keep_the_input(owner_client):
    response = owner_client.post(
        reverse("sandbox:function_create"),
        {"blueprint": "blank", "name": "bad name!", "memory_mb": 99999, "environment": "oops"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="bad name!"' in html
    assert "Line 1: write NAME=value." in html
    assert not Function.objects.exists()


def test_function_page_shows_editor_events_and_last_result(owner_client, function):
    FinishedInvocationFactory(function=function, cold_start=True, init_duration_ms=123.4)
    response = owner_client.get(function.get_absolute_url())
    html = response.content.decode()
    assert 'data-editor="python"' in html
    assert "API Gateway HTTP API (v2)" in html and "DynamoDB stream" in html
    assert "Cold start" in html and "123.4 ms" in html
    assert "REPORT card" in html


def test_invoke_with_htmx_returns_the_running_result_panel(
    owner_client, function, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(
            reverse("sandbox:invoke", args=[function.pk]),
            {
                "path": catalog.HANDLER_FILE,
                "content": "def lambda_handler(e, c):\n    return 1\n",
                "event": '{"a": 1}',
            },
            **HTMX,
        )
    assert response.status_code == 200
    assert len(callbacks) == 1
    invocation = Invocation.objects.get()
    html = response.content.decode()
    assert 'id="result"' in html and "hx-trigger" in html
    assert "sandbox is unavailable" in html  # no worker in this test
    assert json.loads(response["HX-Trigger"])["invocationStarted"]["id"] == invocation.pk
    assert function.files.get().content.endswith("return 1\n")  # invoking saved the code


def test_invoke_without_htmx_redirects_to_the_invocation(
    owner_client, function, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(reverse("sandbox:invoke", args=[function.pk]), {"event": "{}"})
    assert response.status_code == 302
    assert response["Location"] == Invocation.objects.get().get_absolute_url()


def test_invoke_with_bad_json_shows_line_and_column_and_keeps_input(owner_client, function):
    bad = '{\n  "a": 1\n  "b": 2\n}'
    response = owner_client.post(
        reverse("sandbox:invoke", args=[function.pk]), {"event": bad}, **HTMX
    )
    assert response["HX-Retarget"] == "#event-errors"
    assert "line 3, column 3" in response.content.decode()
    response = owner_client.post(reverse("sandbox:invoke", args=[function.pk]), {"event": bad})
    assert response.status_code == 422
    html = response.content.decode()
    assert "line 3, column 3" in html and "&quot;b&quot;: 2" in html
    assert not Invocation.objects.exists()


def test_invoke_refuses_deeply_nested_events_with_a_message(owner_client, function):
    response = owner_client.post(
        reverse("sandbox:invoke", args=[function.pk]), {"event": "[" * 5000}, **HTMX
    )
    assert response.status_code in (200, 422)  # htmx swaps 200s; a plain post gets 422
    assert "nested 5,000 levels deep" in response.content.decode()
    assert not Invocation.objects.exists()


def test_saving_a_deeply_nested_event_is_refused(owner_client, function):
    response = owner_client.post(
        reverse("sandbox:event_save", args=[function.pk]),
        {"event": "{" * 3000, "event_name": "deep"},
        **HTMX,
    )
    assert "levels deep" in response.content.decode()
    assert not function.test_events.filter(name="deep").exists()


def test_invoke_refuses_payloads_over_6_mb(owner_client, function):
    big = json.dumps({"blob": "x" * 6_300_000})
    response = owner_client.post(
        reverse("sandbox:invoke", args=[function.pk]), {"event": big}, **HTMX
    )
    assert "6 MB" in response.content.decode()
    assert not Invocation.objects.exists()


def test_invalid_python_saves(owner_client, function):
    response = owner_client.post(
        reverse("sandbox:code_save", args=[function.pk]),
        {"path": catalog.HANDLER_FILE, "content": "def nope(:"},
        **HTMX,
    )
    assert "Saved." in response.content.decode()
    assert function.files.get().content == "def nope(:"


def test_polling_a_finished_invocation_triggers_invocation_finished(owner_client, function):
    invocation = FinishedInvocationFactory(function=function)
    response = owner_client.get(invocation.get_absolute_url() + "?poll=1", **HTMX)
    assert "invocationFinished" in response["HX-Trigger"]
    assert "hx-trigger" not in response.content.decode()  # polling stops
    page = owner_client.get(invocation.get_absolute_url())
    assert b"<html" in page.content and b"$0.000000" in page.content


def test_polling_a_running_invocation_sweeps_nothing(owner_client, function, learner):
    """The page polls every 600 ms: the workers' sweep fails stale runs, not each request."""
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(hours=1)
    mine = InvocationFactory(
        function=function, status=Invocation.Status.RUNNING, started_at=long_ago
    )
    elsewhere = InvocationFactory(status=Invocation.Status.RUNNING, started_at=long_ago)
    response = owner_client.get(mine.get_absolute_url() + "?poll=1", **HTMX)
    assert response.status_code == 200
    mine.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (mine.status, elsewhere.status) == (Invocation.Status.RUNNING,) * 2


def test_history_filters(owner_client, function):
    cold = FinishedInvocationFactory(function=function, cold_start=True)
    warm = FinishedInvocationFactory(function=function, cold_start=False)
    failed = InvocationFactory(function=function, status=Invocation.Status.TIMEOUT)
    url = reverse("sandbox:invocation_list", args=[function.pk])
    html = owner_client.get(url + "?start=cold", **HTMX).content.decode()
    assert f"#{cold.pk}<" in html and f"#{warm.pk}<" not in html
    html = owner_client.get(url + "?status=timeout").content.decode()
    assert f"#{failed.pk}<" in html and f"#{cold.pk}<" not in html


def test_history_query_count(owner_client, function, django_assert_num_queries):
    for _ in range(10):
        FinishedInvocationFactory(function=function)
    url = reverse("sandbox:invocation_list", args=[function.pk])
    # session, user, function, the nav's instructor check, invocations
    with django_assert_num_queries(5):
        owner_client.get(url, **HTMX)


def test_another_learner_gets_404_everywhere(client, function):
    client.force_login(UserFactory())
    invocation = FinishedInvocationFactory(function=function)
    for url in (
        function.get_absolute_url(),
        reverse("sandbox:function_config", args=[function.pk]),
        reverse("sandbox:invocation_list", args=[function.pk]),
        invocation.get_absolute_url(),
        reverse("sandbox:concurrency_lab", args=[function.pk]),
        reverse("sandbox:memory_tuning", args=[function.pk]),
    ):
        assert client.get(url).status_code == 404, url
    for name in ("invoke", "code_save", "force_cold_start", "function_delete"):
        assert client.post(reverse(f"sandbox:{name}", args=[function.pk])).status_code == 404
    assert client.get(reverse("sandbox:all_functions")).status_code == 404


def test_instructors_read_but_cannot_change(client, instructor, function):
    client.force_login(instructor)
    assert function.name in client.get(reverse("sandbox:all_functions")).content.decode()
    html = client.get(function.get_absolute_url()).content.decode()
    assert "read-only" in html and "data-invoke" not in html
    response = client.post(reverse("sandbox:invoke", args=[function.pk]), {"event": "{}"})
    assert response.status_code == 403
    response = client.post(reverse("sandbox:function_delete", args=[function.pk]))
    assert response.status_code == 403
    assert Function.objects.filter(pk=function.pk).exists()


def test_force_cold_start(owner_client, function):
    owner_client.post(reverse("sandbox:force_cold_start", args=[function.pk]))
    function.refresh_from_db()
    assert function.deployment == 1


def test_saving_an_event_refreshes_the_picker_with_it_chosen(owner_client, function):
    response = owner_client.post(
        reverse("sandbox:event_save", args=[function.pk]),
        {"event": '{"id": 7}', "event_name": "item-7"},
        **HTMX,
    )
    assert json.loads(response["HX-Trigger"]) == {"eventSaved": {"name": "item-7"}}
    assert "Saved as item-7" in response.content.decode()
    # The picker listens for eventSaved and reloads itself, sending the name just saved.
    picker = owner_client.get(function.get_absolute_url(), {"event_name": "item-7"}, **HTMX)
    html = picker.content.decode()
    assert html.lstrip().startswith('<div id="event-picker-block"')
    assert 'value="saved:item-7" data-body="{&quot;id&quot;: 7}" selected' in html
    assert "<script" not in html  # htmx would drop it: bodies ride on the options


def test_saving_a_bad_event_triggers_nothing(owner_client, function):
    response = owner_client.post(
        reverse("sandbox:event_save", args=[function.pk]),
        {"event": "{nope", "event_name": "bad"},
        **HTMX,
    )
    assert "HX-Trigger" not in response and "line 1, column 2" in response.content.decode()


def test_add_rename_and_delete_a_file(owner_client, function):
    page = function.get_absolute_url()
    response = owner_client.post(
        reverse("sandbox:file_create", args=[function.pk]), {"new_path": "helpers.py"}
    )
    assert response["Location"] == f"{page}?file=helpers.py"
    html = owner_client.get(response["Location"]).content.decode()
    assert 'data-file-tab aria-current="page">helpers.py</a>' in html
    assert "Delete helpers.py" in html

    response = owner_client.post(
        reverse("sandbox:file_rename", args=[function.pk]),
        {"path": "helpers.py", "new_path": "util/strings.py"},
    )
    assert response["Location"] == f"{page}?file=util%2Fstrings.py"
    assert set(function.files.values_list("path", flat=True)) == {
        catalog.HANDLER_FILE,
        "util/strings.py",
    }

    response = owner_client.post(
        reverse("sandbox:file_delete", args=[function.pk]), {"path": "util/strings.py"}, **HTMX
    )
    assert response["HX-Redirect"] == f"{page}?file={catalog.HANDLER_FILE}"
    assert list(function.files.values_list("path", flat=True)) == [catalog.HANDLER_FILE]


def test_file_errors_come_back_as_a_message(owner_client, function):
    url = reverse("sandbox:file_create", args=[function.pk])
    response = owner_client.post(url, {"new_path": catalog.HANDLER_FILE}, follow=True)
    assert "There is already a file called lambda_function.py." in response.content.decode()
    response = owner_client.post(
        reverse("sandbox:file_delete", args=[function.pk]),
        {"path": catalog.HANDLER_FILE},
        follow=True,
    )
    assert "A function needs at least one file." in response.content.decode()


def test_other_learners_cannot_touch_files(client, function):
    client.force_login(UserFactory())
    url = reverse("sandbox:file_create", args=[function.pk])
    assert client.post(url, {"new_path": "x.py"}).status_code == 404
    assert function.files.count() == 1


def test_config_errors_name_the_range(owner_client, function):
    url = reverse("sandbox:function_config", args=[function.pk])
    data = {
        "handler": catalog.HANDLER,
        "memory_mb": 64,
        "timeout_s": 901,
        "ephemeral_storage_mb": 512,
        "architecture": "x86_64",
        "provisioned_concurrency": 0,
    }
    html = owner_client.post(url, data).content.decode()
    assert "Memory must be 128-10,240 MB on Lambda." in html
    assert "The timeout must be 1-900 seconds on Lambda." in html


def test_config_page_saves_and_validates(owner_client, function):
    url = reverse("sandbox:function_config", args=[function.pk])
    data = {
        "handler": catalog.HANDLER,
        "memory_mb": 512,
        "timeout_s": 5,
        "ephemeral_storage_mb": 512,
        "architecture": "arm64",
        "environment": "",
        "reserved_concurrency": 1,
        "provisioned_concurrency": 2,
    }
    response = owner_client.post(url, data)
    assert response.status_code == 200 and "reserved" in response.content.decode().lower()
    data["provisioned_concurrency"] = 1
    assert owner_client.post(url, data).status_code == 302
    function.refresh_from_db()
    assert (function.memory_mb, function.architecture) == (512, "arm64")


def test_concurrency_lab_fires_a_burst(owner_client, function, django_capture_on_commit_callbacks):
    url = reverse("sandbox:concurrency_lab", args=[function.pk])
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(url, {"count": 4, "event": "{}"}, **HTMX)
    experiment = Experiment.objects.get()
    assert experiment.invocations.count() == 4
    assert "still queued or running" in response.content.decode()
    response = owner_client.post(url, {"count": 500, "event": "{}"}, **HTMX)
    assert response["HX-Retarget"] == "#form-errors"


def test_concurrency_lab_draws_the_timeline(owner_client, function):
    experiment = ExperimentFactory(function=function, size=3)
    base = 1_700_000_000.0
    FinishedInvocationFactory(
        function=function,
        experiment=experiment,
        environment_id="env-a",
        cold_start=True,
        init_started_at=base,
        init_ended_at=base + 0.2,
        invoke_started_at=base + 0.2,
        invoke_ended_at=base + 0.25,
        init_duration_ms=200.0,
    )
    FinishedInvocationFactory(
        function=function,
        experiment=experiment,
        environment_id="env-b",
        cold_start=True,
        init_started_at=base,
        init_ended_at=base + 0.21,
        invoke_started_at=base + 0.21,
        invoke_ended_at=base + 0.26,
        init_duration_ms=210.0,
    )
    InvocationFactory(
        function=function,
        experiment=experiment,
        status=Invocation.Status.THROTTLED,
        invoke_started_at=base + 0.001,
        error={"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"},
    )
    html = owner_client.get(reverse("sandbox:concurrency_lab", args=[function.pk])).content.decode()
    assert html.count('class="bar-init"') == 2 and html.count('class="bar-invoke"') == 2
    assert 'data-count="throttled">1<' in html and 'data-count="cold">2<' in html
    assert "throttle-mark" in html


def test_memory_tuning_page(owner_client, function, django_capture_on_commit_callbacks):
    url = reverse("sandbox:memory_tuning", args=[function.pk])
    with django_capture_on_commit_callbacks(execute=False):
        owner_client.post(url, {"memory_sizes": [128, 512], "runs_per_size": 2, "event": "{}"})
    experiment = Experiment.objects.get(kind="tuning")
    runs = list(experiment.invocations.order_by("memory_size_mb", "pk"))
    assert len(runs) == 8
    for index, invocation in enumerate(runs):
        cold = index % 2 == 0
        small = invocation.memory_size_mb == 128
        invocation.status = Invocation.Status.SUCCESS
        invocation.cold_start = cold
        invocation.init_duration_ms = (1600.0 + index if small else 130.0 + index) if cold else None
        invocation.duration_ms = 0.2 + index / 100
        invocation.billed_duration_ms = 1
        invocation.save()
    html = owner_client.get(url).content.decode()
    assert 'data-memory="512"' in html and 'data-chart="init"' in html
    assert "Fastest" not in html
    assert "Init Duration: lowest at 512 MB" in html and "beyond the noise" in html
    assert "Lambda bills in 1 ms steps" in html  # the warm runs differ by hundredths of a ms
    assert "at 10% cold" in html

    # The learner picks the cold-start rate; htmx swaps the results with the new prices.
    def cost_at(rate):
        response = owner_client.get(
            url, {"experiment": experiment.pk, "cold_rate": rate}, HTTP_HX_REQUEST="true"
        )
        text = response.content.decode()
        assert f"at {rate}% cold" in text and "<html" not in text
        row = text.split('data-memory="128"')[1]
        return row.split('data-figure="cost">')[1].split("<")[0]

    assert cost_at(0) == "$0.0000002021"  # 1 ms billed at 128 MB plus the request
    assert float(cost_at(100).strip("$")) > 100 * float(cost_at(0).strip("$")) / 10
    bad = owner_client.get(url, {"experiment": experiment.pk, "cold_rate": "500"})
    assert "at 10% cold" in bad.content.decode()  # out of range: the default, not an error page


# ---------------------------------------------------------------- .zip upload and download


def _zip(files: dict[str, str]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return SimpleUploadedFile("code.zip", buffer.getvalue(), content_type="application/zip")


def _files(function):
    return dict(function.files.values_list("path", "content"))


def test_function_page_offers_zip_upload_and_download(owner_client, function):
    html = owner_client.get(function.get_absolute_url()).content.decode()
    assert f'action="{reverse("sandbox:code_upload", args=[function.pk])}"' in html
    assert 'enctype="multipart/form-data"' in html and 'name="zip_file"' in html
    assert f'href="{reverse("sandbox:code_download", args=[function.pk])}" download' in html


def test_upload_a_zip_replaces_the_code(owner_client, function):
    url = reverse("sandbox:code_upload", args=[function.pk])
    upload = _zip({catalog.HANDLER_FILE: HELLO.replace("hello", "hey"), "helpers.py": "X = 1\n"})
    response = owner_client.post(url, {"zip_file": upload})
    assert response.status_code == 302 and response["Location"] == function.get_absolute_url()
    assert _files(function) == {
        catalog.HANDLER_FILE: HELLO.replace("hello", "hey"),
        "helpers.py": "X = 1\n",
    }
    html = owner_client.get(response["Location"]).content.decode()
    assert "Uploaded code.zip: 2 files replaced the code." in html
    assert ">helpers.py</a>" in html


def test_upload_without_the_handler_module_is_kept_with_a_warning(owner_client, function):
    url = reverse("sandbox:code_upload", args=[function.pk])
    response = owner_client.post(url, {"zip_file": _zip({"app.py": HELLO})}, follow=True)
    html = response.content.decode()
    assert "Uploaded code.zip: 1 file replaced the code." in html
    assert "needs lambda_function.py, which the zip does not contain" in html
    assert _files(function) == {"app.py": HELLO}


def test_upload_errors_come_back_as_a_message_and_keep_the_code(owner_client, function):
    url = reverse("sandbox:code_upload", args=[function.pk])
    bad = _zip({"../x.py": "print(1)"})
    html = owner_client.post(url, {"zip_file": bad}, follow=True).content.decode()
    assert "Cannot use code.zip: paths must stay inside the package (&#x27;../x.py&#x27;)" in html
    assert "Your code is unchanged." in html
    not_zip = SimpleUploadedFile("code.zip", b"hello")
    html = owner_client.post(url, {"zip_file": not_zip}, follow=True).content.decode()
    assert "Cannot use code.zip: it is not a .zip file." in html
    html = owner_client.post(url, {}, follow=True).content.decode()
    assert "Choose a .zip file of your code to upload." in html
    assert _files(function) == {catalog.HANDLER_FILE: HELLO}


def test_upload_over_the_size_limit_is_dropped_unread(owner_client, function, monkeypatch):
    monkeypatch.setattr(services, "ZIP_MAX_BYTES", 1024 * 1024)
    called = []
    monkeypatch.setattr(services, "function_code_upload", lambda **kw: called.append(kw))
    url = reverse("sandbox:code_upload", args=[function.pk])
    big = SimpleUploadedFile("big.zip", b"PK" + b"\0" * (1024 * 1024))
    html = owner_client.post(url, {"zip_file": big}, follow=True).content.decode()
    assert "The .zip is over 1 MB, the most Lambda accepts for a direct upload." in html
    assert called == [] and _files(function) == {catalog.HANDLER_FILE: HELLO}


def test_upload_with_htmx_redirects_the_page(owner_client, function):
    url = reverse("sandbox:code_upload", args=[function.pk])
    response = owner_client.post(url, {"zip_file": _zip({catalog.HANDLER_FILE: HELLO})}, **HTMX)
    assert response["HX-Redirect"] == function.get_absolute_url()


def test_upload_checks_the_csrf_token(learner, function):
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    url = reverse("sandbox:code_upload", args=[function.pk])
    response = client.post(url, {"zip_file": _zip({"x.py": ""})})
    assert response.status_code == 403
    assert _files(function) == {catalog.HANDLER_FILE: HELLO}


def test_zip_upload_and_download_permissions(client, instructor, function):
    upload = reverse("sandbox:code_upload", args=[function.pk])
    download = reverse("sandbox:code_download", args=[function.pk])
    client.force_login(UserFactory())
    assert client.post(upload, {"zip_file": _zip({"x.py": ""})}).status_code == 404
    assert client.get(download).status_code == 404
    client.force_login(instructor)
    assert client.post(upload, {"zip_file": _zip({"x.py": ""})}).status_code == 403
    assert client.get(download).status_code == 200
    html = client.get(function.get_absolute_url()).content.decode()
    assert 'name="zip_file"' not in html and "Download .zip" in html
    assert _files(function) == {catalog.HANDLER_FILE: HELLO}


def test_download_round_trips_through_upload(owner_client, function, learner):
    function.files.create(path="lib/util.py", content="Y = 'ü'\n")
    response = owner_client.get(reverse("sandbox:code_download", args=[function.pk]))
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{function.name}.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == [catalog.HANDLER_FILE, "lib/util.py"]
    other = FunctionFactory(owner=learner, code="# other\n")
    downloaded = SimpleUploadedFile(f"{function.name}.zip", response.content)
    owner_client.post(reverse("sandbox:code_upload", args=[other.pk]), {"zip_file": downloaded})
    assert _files(other) == _files(function)


# ---------------------------------------------------------------- nothing lost, records agree


def _create_data(**overrides):
    data = {
        "blueprint": "blank",
        "name": "blank-demo",
        "runtime": "python3.11",
        "handler": catalog.HANDLER,
        "memory_mb": 128,
        "timeout_s": 3,
        "ephemeral_storage_mb": 512,
        "architecture": "x86_64",
        "provisioned_concurrency": 0,
    }
    data.update(overrides)
    return data


def test_each_template_suggests_its_own_free_name(owner_client, learner):
    url = reverse("sandbox:function_create")
    html = owner_client.get(url).content.decode()
    assert 'name="name" value="blank-demo"' in html
    assert 'data-blueprint-name="api-json-demo"' in html
    # The learner picks another template but leaves the suggested name: it follows the template.
    response = owner_client.post(
        url, _create_data(blueprint="api-json", name="blank-demo", suggested_name="blank-demo")
    )
    assert response.status_code == 302
    assert Function.objects.get(owner=learner).name == "api-json-demo"
    # The second function from the same template gets a free name, not a duplicate error.
    html = owner_client.get(url).content.decode()
    assert 'data-blueprint-name="api-json-demo-2"' in html
    response = owner_client.post(
        url, _create_data(blueprint="api-json", name="blank-demo", suggested_name="blank-demo")
    )
    assert response.status_code == 302
    assert set(Function.objects.values_list("name", flat=True)) == {
        "api-json-demo",
        "api-json-demo-2",
    }
    # A name the learner typed is kept as typed.
    owner_client.post(url, _create_data(name="mine", suggested_name="blank-demo"))
    assert Function.objects.filter(name="mine").exists()


def test_a_description_past_lambdas_256_characters_is_refused(owner_client, function):
    url = reverse("sandbox:function_config", args=[function.pk])
    data = {
        "description": "d" * 257,
        "handler": catalog.HANDLER,
        "memory_mb": 128,
        "timeout_s": 3,
        "ephemeral_storage_mb": 512,
        "architecture": "x86_64",
        "provisioned_concurrency": 0,
    }
    html = owner_client.post(url, data).content.decode()
    assert "at most 256 characters" in html
    assert 'maxlength="256"' in html
    function.refresh_from_db()
    assert function.description == ""
    with pytest.raises(services.ValidationError):
        services.function_update_config(function=function, description="d" * 257)


def test_provisioned_over_reserved_is_a_field_message_and_nothing_unsaved_shows(
    owner_client, function
):
    url = reverse("sandbox:function_config", args=[function.pk])
    data = {
        "handler": catalog.HANDLER,
        "memory_mb": 256,
        "timeout_s": 3,
        "ephemeral_storage_mb": 512,
        "architecture": "x86_64",
        "environment": "",
        "reserved_concurrency": 5,
        "provisioned_concurrency": 8,
    }
    response = owner_client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Constraint" not in html and "is violated" not in html
    field = html.split("field-provisioned_concurrency", 1)[1].split("</div>", 1)[0]
    assert "cannot be more than reserved concurrency (5)" in field
    # The header shows what is saved (128 MB, no reservation), not the refused values.
    header = html.split('class="fn-summary', 1)[1].split("</p>", 1)[0]
    assert "128 MB" in header and "256 MB" not in header
    assert "reserved 5" not in header and "provisioned 8" not in header
    # The lab's settings form says the same, in the same words.
    response = owner_client.post(
        reverse("sandbox:concurrency_settings", args=[function.pk]),
        {"reserved_concurrency": 5, "provisioned_concurrency": 8},
        follow=True,
    )
    assert "cannot be more than reserved concurrency (5)" in response.content.decode()
    function.refresh_from_db()
    assert (function.reserved_concurrency, function.provisioned_concurrency) == (None, 0)


def test_fixing_bad_json_clears_the_error_when_the_invocation_starts(
    owner_client, function, django_capture_on_commit_callbacks
):
    url = reverse("sandbox:invoke", args=[function.pk])
    bad = owner_client.post(url, {"event": '{"a": }'}, **HTMX)
    assert "not valid JSON" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        good = owner_client.post(url, {"event": '{"a": 1}'}, **HTMX)
    html = good.content.decode()
    assert 'id="result"' in html
    errors = html.split('id="event-errors"', 1)[1].split("</div>", 1)[0]
    assert 'hx-swap-oob="true"' in errors
    assert "not valid JSON" not in errors and "errorlist" not in errors


def test_lab_form_errors_clear_once_a_run_starts(
    owner_client, function, django_capture_on_commit_callbacks
):
    url = reverse("sandbox:concurrency_lab", args=[function.pk])
    refused = owner_client.post(url, {"count": 1, "event": "{"}, **HTMX)
    assert refused["HX-Retarget"] == "#form-errors"
    with django_capture_on_commit_callbacks(execute=False):
        started = owner_client.post(url, {"count": 1, "event": "{}"}, **HTMX)
    errors = started.content.decode().split('id="form-errors"', 1)[1].split("</div>", 1)[0]
    assert 'hx-swap-oob="true"' in errors and "errorlist" not in errors


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("file_create", {"new_path": "helpers.py"}),
        ("file_rename", {"path": catalog.HANDLER_FILE, "new_path": "main.py"}),
    ],
)
def test_file_actions_save_the_open_files_edits_first(owner_client, function, action, data):
    edited = "def lambda_handler(event, context):\n    return 'edited'\n"
    owner_client.post(
        reverse(f"sandbox:{action}", args=[function.pk]),
        {**data, "open_path": catalog.HANDLER_FILE, "open_content": edited},
    )
    contents = set(function.files.values_list("content", flat=True))
    assert edited in contents


def test_a_refused_upload_still_keeps_the_open_files_edits(owner_client, function):
    edited = "def lambda_handler(event, context):\n    return 'kept'\n"
    owner_client.post(
        reverse("sandbox:code_upload", args=[function.pk]),
        {
            "zip_file": SimpleUploadedFile("code.zip", b"not a zip"),
            "open_path": catalog.HANDLER_FILE,
            "open_content": edited,
        },
    )
    assert function.files.get().content == edited


def test_the_editor_marks_what_carries_edits_and_what_asks_before_deleting(owner_client, function):
    services.function_file_create(function=function, path="helpers.py")
    html = owner_client.get(function.get_absolute_url()).content.decode()
    assert "data-code-state" in html and ">Saved</span>" in html
    for form_id in ("file-create-form", "file-rename-form", "code-upload-form", "file-delete-form"):
        tag = html.split(f'id="{form_id}"', 1)[1].split(">", 1)[0]
        assert "data-carries-code" in tag, form_id
    delete_tag = html.split('id="file-delete-form"', 1)[1].split(">", 1)[0]
    assert f'data-confirm="Delete {catalog.HANDLER_FILE}?' in delete_tag


def test_deleting_a_function_needs_its_name_typed(owner_client, function):
    url = reverse("sandbox:function_delete", args=[function.pk])
    config = owner_client.get(reverse("sandbox:function_config", args=[function.pk]))
    assert 'name="confirm_name"' in config.content.decode()
    response = owner_client.post(url, follow=True)
    assert "Nothing was deleted" in response.content.decode()
    owner_client.post(url, {"confirm_name": "something-else"})
    assert Function.objects.filter(pk=function.pk).exists()
    response = owner_client.post(url, {"confirm_name": function.name})
    assert response.status_code == 302
    assert not Function.objects.filter(pk=function.pk).exists()


def test_the_result_shows_the_log_before_the_report_card_and_cost(owner_client, function):
    invocation = FinishedInvocationFactory(function=function, cold_start=True)
    html = owner_client.get(invocation.get_absolute_url()).content.decode()
    result = html.split('id="result"', 1)[1]
    assert result.index("<h3>Log") < result.index("REPORT card") < result.index("<h3>Cost")


def test_create_a_node_function_and_edit_it_as_javascript(owner_client, learner):
    # The handler left at the Python default follows the runtime, as in the Lambda console.
    response = owner_client.post(
        reverse("sandbox:function_create"),
        {
            "blueprint": "hello-world",
            "name": "hello-node",
            "runtime": "nodejs24.x",
            "handler": catalog.HANDLER,
            "memory_mb": 128,
            "timeout_s": 3,
            "ephemeral_storage_mb": 512,
            "architecture": "x86_64",
            "environment": "",
            "provisioned_concurrency": 0,
        },
    )
    function = Function.objects.get(owner=learner, name="hello-node")
    assert response.status_code == 302
    assert function.handler == "index.handler"
    html = owner_client.get(function.get_absolute_url()).content.decode()
    assert 'data-editor="javascript"' in html
    assert "context.getRemainingTimeInMillis()" in html
    assert "helpers.mjs" in html


def test_history_holds_every_invocation_whatever_started_it(owner_client, function):
    console = FinishedInvocationFactory(function=function)
    burst = ExperimentFactory(function=function, size=2)
    lab_ok = FinishedInvocationFactory(function=function, experiment=burst)
    lab_throttled = InvocationFactory(
        function=function,
        experiment=burst,
        status=Invocation.Status.THROTTLED,
        error={"errorType": "TooManyRequestsException", "Reason": "ReservedFunctionConcurrency"},
    )
    url = reverse("sandbox:invocation_list", args=[function.pk])
    html = owner_client.get(url).content.decode()
    for invocation in (console, lab_ok, lab_throttled):
        assert f"#{invocation.pk}<" in html
    assert f"?experiment={burst.pk}" in html and "Concurrency lab" in html
    throttled = owner_client.get(url, {"status": "throttled"}).content.decode()
    assert f"#{lab_throttled.pk}<" in throttled and f"#{lab_ok.pk}<" not in throttled
    only_console = owner_client.get(url, {"source": "console"}).content.decode()
    assert f"#{console.pk}<" in only_console and f"#{lab_ok.pk}<" not in only_console
    # The function list counts the same records History lists.
    listing = owner_client.get(reverse("sandbox:home")).content.decode()
    row = listing.split(f'href="{function.get_absolute_url()}"', 1)[1].split("</tr>", 1)[0]
    assert ">3<" in row.replace(" ", "")


def test_a_throttle_is_shown_as_a_throttle(owner_client, function):
    invocation = InvocationFactory(
        function=function,
        status=Invocation.Status.THROTTLED,
        memory_size_mb=128,
        error={"errorType": "TooManyRequestsException", "Reason": "ReservedFunctionConcurrency"},
    )
    html = owner_client.get(invocation.get_absolute_url()).content.decode()
    result = html.split('id="result"', 1)[1]
    assert "Throttled: Lambda refused this request" in result
    assert "ReservedFunctionConcurrency" in result
    assert "Warm start" not in result and "Cold start" not in result
    assert "REPORT card" not in result and "<h3>Cost" not in result


def test_a_cold_invocation_shows_billing_now_and_before_august_2025(owner_client, function):
    cold = FinishedInvocationFactory(
        function=function,
        cold_start=True,
        duration_ms=12.34,
        init_duration_ms=120.4,
        billed_duration_ms=133,  # as REPORT prints it since Aug 2025: INIT included
        billed_duration_with_init_ms=133,
    )
    html = owner_client.get(cold.get_absolute_url()).content.decode()
    assert re.search(r'data-figure="billed">133 ms<', html)
    assert re.search(r'data-figure="billed-before-2025">13 ms<', html)
    assert 'data-figure="cost-before-2025"' in html
