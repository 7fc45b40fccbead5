"""The sandbox console. Each view reads the request, calls one service or selector, renders.

With htmx a view returns the named partial of its page; without, the whole page (or a
redirect after a successful POST), so every action also works as a plain form.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, retarget, trigger_client_event

from lambdalab.http import AuthedHtmxHttpRequest
from sandbox import catalog, charts, selectors, services
from sandbox.forms import (
    DEFAULT_EVENT_NAME,
    BurstForm,
    CodeForm,
    CodeUploadForm,
    ColdStartRateForm,
    ConcurrencySettingsForm,
    ConfigurationForm,
    EventForm,
    FunctionCreateForm,
    RateForm,
    TuningForm,
    format_environment,
)
from sandbox.models import Experiment, Function, Invocation
from sandbox.results import invocation_wait_finished
from sandbox.triggers import selectors as trigger_selectors


def _add_errors(form: Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form fields it names (others on the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _errors_cleared(request: HttpRequest, response: HttpResponse, partial: str) -> HttpResponse:
    """Append an empty copy of a form's error region, swapped out of band: an htmx action that
    succeeds after a refusal must not leave the refusal on screen."""
    cleared = render(request, partial, {"oob": True, "form": None, "event_form": None})
    response.content = response.content + cleared.content
    return response


def _editable(request: AuthedHtmxHttpRequest, pk: int) -> Function:
    access = selectors.function_get(viewer=request.user, pk=pk)
    if not access.can_edit:
        raise PermissionDenied("Instructors can read learners' functions but not change them.")
    return access.function


def _events(function: Function) -> dict[str, str]:
    """Saved events first, then the sample events, for the event picker."""
    events = {f"saved:{event.name}": event.body for event in function.test_events.all()}
    events.update({f"sample:{key}": e.body for key, e in catalog.SAMPLE_EVENTS.items()})
    return events


# ---------------------------------------------------------------- function list and creation


@require_GET
@login_required
def function_list_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    functions = selectors.function_list(owner=request.user)
    return render(request, "sandbox/function_list.html", {"functions": functions})


@require_GET
@login_required
def function_list_all_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    functions = selectors.function_list_all(viewer=request.user)
    return render(request, "sandbox/function_list.html", {"functions": functions, "all": True})


@require_http_methods(["GET", "POST"])
@login_required
def function_create_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    suggested = _suggested_names(request)
    if request.method == "POST":
        form = FunctionCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            # A name left as the page suggested it follows the template chosen (without
            # JavaScript the suggestion cannot follow the radio buttons).
            if data["name"] == request.POST.get("suggested_name"):
                data["name"] = suggested.get(data["blueprint"], data["name"])
                posted = request.POST.copy()
                posted["name"] = data["name"]
                form.data = posted
            try:
                function = services.function_create(
                    owner=request.user,
                    name=data["name"],
                    blueprint=data["blueprint"],
                    description=data["description"],
                    runtime=data["runtime"],
                    handler=data["handler"],
                    memory_mb=data["memory_mb"],
                    timeout_s=data["timeout_s"],
                    ephemeral_storage_mb=data["ephemeral_storage_mb"],
                    architecture=data["architecture"],
                    environment=data["environment"],
                    reserved_concurrency=data["reserved_concurrency"],
                    provisioned_concurrency=data["provisioned_concurrency"],
                    lesson_slug=data["lesson"] or "",
                )
            except services.LimitReached as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request, f"Created {function.name}. Invoke it to see a cold start."
                )
                return redirect(function)
    else:
        lesson = request.GET.get("lesson", "")
        blueprint = request.GET.get("blueprint") or catalog.LESSON_BLUEPRINTS.get(lesson, "blank")
        if blueprint not in catalog.BLUEPRINTS:
            blueprint = "blank"
        chosen = catalog.BLUEPRINTS[blueprint]
        if lesson in catalog.LESSON_BLUEPRINTS:
            suggested[blueprint] = selectors.function_name_free(
                owner=request.user, base=f"{lesson}-demo"
            )
        form = FunctionCreateForm(
            initial={
                "blueprint": blueprint,
                "name": suggested[blueprint],
                "memory_mb": chosen.memory_mb,
                "timeout_s": chosen.timeout_s,
                "lesson": lesson if lesson in catalog.LESSON_BLUEPRINTS else "",
            }
        )
    chosen_blueprint = form["blueprint"].value() or "blank"
    return render(
        request,
        "sandbox/function_create.html",
        {
            "form": form,
            "blueprints": catalog.BLUEPRINTS.values(),
            "suggested_names": suggested,
            "suggested_name": suggested.get(chosen_blueprint, ""),
        },
    )


def _suggested_names(request: AuthedHtmxHttpRequest) -> dict[str, str]:
    """A free name for each template: named after it, unique among the learner's functions."""
    return {
        key: selectors.function_name_free(owner=request.user, base=f"{key}-demo")
        for key in catalog.BLUEPRINTS
    }


# ---------------------------------------------------------------- the function page


@require_GET
@login_required
def function_detail_page(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    access = selectors.function_get(viewer=request.user, pk=pk)
    function = access.function
    files = list(function.files.all())
    path = request.GET.get("file") or catalog.handler_file(function.runtime)
    current = next((f for f in files if f.path == path), files[0] if files else None)
    events = _events(function)
    chosen_event = request.GET.get("event") or next(iter(events), "")
    if request.htmx:
        # The event picker refreshes itself after "Save event" (eventSaved), showing the new one.
        saved = request.GET.get("event_name", "").strip()
        if f"saved:{saved}" in events:
            chosen_event = f"saved:{saved}"
        return render(
            request,
            "sandbox/function_detail.html#event_picker",
            {
                "saved_events": list(function.test_events.all()),
                "samples": catalog.SAMPLE_EVENTS.values(),
                "chosen_event": chosen_event,
                "function": function,
            },
        )
    code_form = CodeForm(
        initial={
            "path": current.path if current else path,
            "content": current.content if current else "",
        }
    )
    event_form = EventForm(initial={"event": events.get(chosen_event, "{}")})
    return render(
        request,
        "sandbox/function_detail.html",
        _detail_context(request, access, code_form, event_form, files, chosen_event),
    )


def _detail_context(
    request: AuthedHtmxHttpRequest,
    access: selectors.FunctionAccess,
    code_form: CodeForm,
    event_form: EventForm,
    files: list[Any],
    chosen_event: str,
) -> dict[str, Any]:
    function = access.function
    latest = selectors.invocation_latest(function=function)
    return {
        "function": function,
        "can_edit": access.can_edit,
        "files": files,
        "code_form": code_form,
        "event_form": event_form,
        "saved_events": [e for e in function.test_events.all()],
        "samples": catalog.SAMPLE_EVENTS.values(),
        "chosen_event": chosen_event,
        "invocation": latest,
        **_result_context(latest, request),
        "history": selectors.invocation_list(function=function, limit=10),
        "triggers": trigger_selectors.function_triggers(function=function),
        "trigger_loop": trigger_selectors.loop_stopped_latest(function=function),
        "help": catalog.CONFIG_HELP,
        "service_map": selectors.function_service_map(function=function),
    }


def _result_context(invocation: Invocation | None, request: HttpRequest) -> dict[str, Any]:
    if invocation is None:
        return {"sandbox_available": True}
    rate_form = RateForm(request.GET if "rate" in request.GET else None)
    rate = rate_form.cleaned_data["rate"] if rate_form.is_valid() else 1_000_000
    return {
        "invocation": invocation,
        "cost": selectors.invocation_cost(invocation=invocation, monthly_invocations=rate),
        "card": charts.report_card(run=invocation),
        "trace": charts.call_trace(invocation.service_calls or []),
        "rate_form": rate_form if rate_form.is_bound else RateForm(initial={"rate": rate}),
        "sandbox_available": (selectors.sandbox_available() if invocation.is_pending else True),
    }


@require_POST
@login_required
def code_save(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    function = _editable(request, pk)
    form = CodeForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.function_file_save(
                function=function,
                path=form.cleaned_data["path"],
                content=form.cleaned_data["content"],
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = "Nothing to save."
    if request.htmx:
        response = render(
            request,
            "sandbox/function_detail.html#code_status",
            {"error": error, "saved": not error},
        )
        return trigger_client_event(response, "codeSaved", {}) if not error else response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Code saved.")
    return redirect(f"{function.get_absolute_url()}?file={form.data.get('path', '')}")


class _ZipSizeLimit(FileUploadHandler):
    """Drop an upload once it passes Lambda's 50 MB, before it fills memory or a temp file.

    Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not count files, and FILE_UPLOAD_MAX_MEMORY_SIZE
    only moves big ones to disk; this stops reading them. The view sees too_large and says so.
    """

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.too_large = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.too_large = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@require_POST
@login_required
@csrf_exempt  # checked by csrf_protect below, once the size limit is in place
def code_upload(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    """Replace the function's code with an uploaded .zip; back to the code page with a message."""
    # Upload handlers can only change before anything reads request.POST, which the CSRF
    # check does; hence the exempt-then-protect dance Django's documentation describes.
    limit = _ZipSizeLimit(request, services.ZIP_MAX_BYTES)
    request.upload_handlers = [limit, *request.upload_handlers]
    return _code_upload(request, pk, limit)


@csrf_protect
def _code_upload(request: AuthedHtmxHttpRequest, pk: int, limit: _ZipSizeLimit) -> HttpResponse:
    function = _editable(request, pk)
    form = CodeUploadForm(request.POST, request.FILES)
    if limit.too_large:
        megabytes = services.ZIP_MAX_BYTES // 1024 // 1024
        messages.error(
            request,
            f"The .zip is over {megabytes} MB, the most Lambda accepts for a direct upload. "
            "Your code is unchanged.",
        )
    elif not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form["zip_file"].errors))
    else:
        upload = form.cleaned_data["zip_file"]
        try:
            # Saved first so that a refused zip leaves the edits in place.
            _save_open_file(request, function)
            result = services.function_code_upload(
                function=function, data=upload.read(), filename=upload.name or "the upload"
            )
        except ValidationError as exc:
            messages.error(request, f"{' '.join(exc.messages)} Your code is unchanged.")
        else:
            count = len(result.paths)
            messages.success(
                request,
                f"Uploaded {upload.name}: {count} file{'' if count == 1 else 's'} replaced the "
                "code. The next invocation is a cold start.",
            )
            if result.warning:
                messages.warning(request, result.warning)
    url = function.get_absolute_url()
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_GET
@login_required
def code_download(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    function = selectors.function_get(viewer=request.user, pk=pk).function
    response = HttpResponse(
        selectors.function_code_zip(function=function), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{function.name}.zip"'
    return response


def _save_open_file(request: AuthedHtmxHttpRequest, function: Function) -> None:
    """Save the edits of the file open in the editor, which a file action sends along."""
    if "open_content" in request.POST and request.POST.get("open_path"):
        services.function_file_save(
            function=function,
            path=request.POST["open_path"],
            content=request.POST["open_content"],
        )


def _file_action(
    request: AuthedHtmxHttpRequest, pk: int, action: Callable[[Function], str]
) -> HttpResponse:
    """Run a file service; go back to the code page showing the file it names (or the error)."""
    function = _editable(request, pk)
    path = request.POST.get("path", "")
    try:
        _save_open_file(request, function)
        path = action(function)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    url = f"{function.get_absolute_url()}?{urlencode({'file': path})}"
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_POST
@login_required
def file_create(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    def action(function: Function) -> str:
        new = request.POST.get("new_path", "")
        return services.function_file_create(function=function, path=new).path

    return _file_action(request, pk, action)


@require_POST
@login_required
def file_rename(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    def action(function: Function) -> str:
        file = services.function_file_rename(
            function=function,
            path=request.POST.get("path", ""),
            new_path=request.POST.get("new_path", ""),
        )
        return file.path

    return _file_action(request, pk, action)


@require_POST
@login_required
def file_delete(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    def action(function: Function) -> str:
        services.function_file_delete(function=function, path=request.POST.get("path", ""))
        return catalog.handler_file(function.runtime)

    return _file_action(request, pk, action)


@require_POST
@login_required
def invoke(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    """Save the editor's code (when sent), then queue an invocation with the event."""
    function = _editable(request, pk)
    code_form = CodeForm(request.POST)
    event_form = EventForm(request.POST)
    invocation = None
    if event_form.is_valid():
        data = event_form.cleaned_data
        try:
            if "content" in request.POST and code_form.is_valid():
                services.function_file_save(
                    function=function,
                    path=code_form.cleaned_data["path"],
                    content=code_form.cleaned_data["content"],
                )
            if data["event_name"]:
                services.test_event_save(
                    function=function, name=data["event_name"], body=data["event"]
                )
            invocation = services.invocation_start(
                function=function, event_text=data["event"], requested_by=request.user
            )
        except ValidationError as exc:
            _add_errors(event_form, exc)
        except services.LimitReached as exc:
            event_form.add_error(None, str(exc))
    if invocation is None:
        if request.htmx:
            response = render(
                request, "sandbox/function_detail.html#event_errors", {"event_form": event_form}
            )
            return retarget(response, "#event-errors")
        access = selectors.FunctionAccess(function, can_edit=True)
        context = _detail_context(
            request, access, code_form, event_form, list(function.files.all()), ""
        )
        return render(request, "sandbox/function_detail.html", context, status=422)
    # The result is usually ready within a second or two: answer with it, so the page polls
    # only for slow invocations (and not at all while no worker would run it).
    if selectors.sandbox_available() and invocation_wait_finished(
        invocation_id=invocation.pk, timeout_s=settings.SANDBOX_CONSOLE_WAIT_SECONDS
    ):
        invocation.refresh_from_db()
    if request.htmx:
        response = render(
            request,
            "sandbox/invocation_detail.html#result",
            {"function": function, **_result_context(invocation, request)},
        )
        _errors_cleared(request, response, "sandbox/function_detail.html#event_errors")
        trigger_client_event(response, "invocationStarted", {"id": invocation.pk})
        if not invocation.is_pending:
            trigger_client_event(response, "invocationFinished", {"id": invocation.pk})
        return response
    return redirect(invocation)


@require_POST
@login_required
def event_save(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    function = _editable(request, pk)
    form = EventForm(request.POST)
    saved = None
    if form.is_valid():
        try:
            saved = services.test_event_save(
                function=function,
                name=form.cleaned_data["event_name"] or DEFAULT_EVENT_NAME,
                body=form.cleaned_data["event"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
    if request.htmx:
        response = render(
            request,
            "sandbox/function_detail.html#event_errors",
            {"event_form": form, "saved_event": saved},
        )
        if saved is None:
            return response
        return trigger_client_event(response, "eventSaved", {"name": saved.name})
    if form.errors:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    else:
        messages.success(request, "Test event saved.")
    return redirect(function)


@require_POST
@login_required
def event_delete(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    function = _editable(request, pk)
    services.test_event_delete(function=function, name=request.POST.get("event_name", ""))
    messages.success(request, "Test event deleted.")
    return redirect(function)


@require_POST
@login_required
def force_cold_start(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    function = _editable(request, pk)
    services.function_force_cold_start(function=function)
    messages.success(
        request,
        f"Deployment {function.deployment}: "
        "the next invocation starts a new execution environment.",
    )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = function.get_absolute_url()
    return redirect(next_url)


@require_POST
@login_required
def function_delete(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    function = _editable(request, pk)
    name = function.name
    # As the Lambda console does: the learner types the name, so one stray click deletes nothing.
    if request.POST.get("confirm_name", "").strip() != name:
        messages.error(
            request, f"Type {name} in the box to delete this function. Nothing was deleted."
        )
        return redirect("sandbox:function_config", pk=function.pk)
    services.function_delete(function=function)
    messages.success(request, f"Deleted {name}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("sandbox:home"))
    return redirect("sandbox:home")


@require_http_methods(["GET", "POST"])
@login_required
def function_config_page(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    access = selectors.function_get(viewer=request.user, pk=pk)
    function = access.function
    if request.method == "POST":
        function = _editable(request, pk)
        form = ConfigurationForm(request.POST)
        if form.is_valid():
            try:
                services.function_update_config(function=function, **form.cleaned_data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request, "Configuration saved: the next invocation is a cold start."
                )
                return redirect(function)
    else:
        initial = {field: getattr(function, field) for field in services.CONFIG_FIELDS}
        initial["environment"] = format_environment(function.environment)
        form = ConfigurationForm(initial=initial)
    return render(
        request,
        "sandbox/function_config.html",
        {"function": function, "form": form, "can_edit": access.can_edit},
    )


# ---------------------------------------------------------------- invocations


@require_GET
@login_required
def invocation_list_page(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    access = selectors.function_get(viewer=request.user, pk=pk)
    status = request.GET.get("status", "")
    start = request.GET.get("start", "")
    source = request.GET.get("source", "")
    invocations = selectors.invocation_list(
        function=access.function, status=status, start=start, source=source, limit=200
    )
    context = {
        "function": access.function,
        "can_edit": access.can_edit,
        "history": invocations,
        "status": status,
        "start": start,
        "source": source,
        "sources": selectors.INVOCATION_SOURCES.items(),
        "statuses": Invocation.Status.choices,
        "history_kept": settings.SANDBOX_HISTORY_PER_FUNCTION,
    }
    template = "sandbox/invocation_list.html"
    if request.htmx:
        template += "#history"
    return render(request, template, context)


@require_GET
@login_required
def invocation_detail_page(
    request: AuthedHtmxHttpRequest, pk: int, invocation_pk: int
) -> HttpResponse:
    access = selectors.function_get(viewer=request.user, pk=pk)
    invocation = selectors.invocation_get(function=access.function, pk=invocation_pk)
    # No sweep here: the page polls every 600 ms, and the workers already fail stale runs.
    context = {
        "function": access.function,
        "can_edit": access.can_edit,
        **_result_context(invocation, request),
    }
    if request.htmx:
        response = render(request, "sandbox/invocation_detail.html#result", context)
        if not invocation.is_pending and request.GET.get("poll"):
            trigger_client_event(response, "invocationFinished", {"id": invocation.pk})
        return response
    return render(request, "sandbox/invocation_detail.html", context)


# ---------------------------------------------------------------- experiments


def _experiment_page(
    request: AuthedHtmxHttpRequest,
    pk: int,
    *,
    kind: str,
    template: str,
    make_form: Callable[[Any], Form],
    start: Callable[[Function, dict[str, Any]], Experiment],
) -> HttpResponse:
    access = selectors.function_get(viewer=request.user, pk=pk)
    function = access.function
    form = make_form(None)
    first_event = function.test_events.first()
    if first_event is not None:
        form.initial["event"] = first_event.body
    experiment = None
    if request.method == "POST":
        function = _editable(request, pk)
        form = make_form(request.POST)
        if form.is_valid():
            try:
                experiment = start(function, form.cleaned_data)
            except services.LimitReached as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                if not request.htmx:
                    return redirect(f"{request.path}?experiment={experiment.pk}")
    elif request.GET.get("experiment", "").isdigit():
        experiment = selectors.experiment_get(
            function=function, pk=int(request.GET["experiment"]), kind=kind
        )
    else:
        experiment = selectors.experiment_latest(function=function, kind=kind)
    context: dict[str, Any] = {
        "function": function,
        "can_edit": access.can_edit,
        "form": form,
        "experiment": experiment,
        "pending": bool(experiment and selectors.experiment_pending(experiment=experiment)),
        "settings_form": ConcurrencySettingsForm(
            initial={
                "reserved_concurrency": function.reserved_concurrency,
                "provisioned_concurrency": function.provisioned_concurrency,
            }
        ),
        "account_concurrency": settings.SANDBOX_ACCOUNT_CONCURRENCY,
    }
    if experiment is not None:
        if kind == Experiment.Kind.BURST:
            context["timeline"] = selectors.burst_timeline(experiment=experiment)
        else:
            rate_form = ColdStartRateForm(request.GET if "cold_rate" in request.GET else None)
            context["rate_form"] = rate_form
            context["cold_rate"] = round(rate_form.rate() * 100)
            context["tuning"] = selectors.tuning_summary(
                experiment=experiment, cold_start_rate=rate_form.rate()
            )
        if context["pending"]:
            context["sandbox_available"] = selectors.sandbox_available()
    if request.htmx:
        if request.method == "POST" and form.errors:
            return retarget(render(request, f"{template}#form_errors", context), "#form-errors")
        response = render(request, f"{template}#results", context)
        if request.method == "POST":
            _errors_cleared(request, response, f"{template}#form_errors")
        if experiment and not context["pending"]:
            trigger_client_event(response, "experimentFinished", {"id": experiment.pk})
        return response
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@login_required
def concurrency_lab_page(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    def make_form(data: Any) -> Form:
        return BurstForm(data, max_burst=settings.SANDBOX_LAB_MAX_BURST)

    def start(function: Function, data: dict[str, Any]) -> Experiment:
        return services.burst_start(
            function=function,
            event_text=data["event"],
            count=data["count"],
            requested_by=request.user,
        )

    return _experiment_page(
        request,
        pk,
        kind=Experiment.Kind.BURST,
        template="sandbox/concurrency_lab.html",
        make_form=make_form,
        start=start,
    )


@require_POST
@login_required
def concurrency_settings(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    function = _editable(request, pk)
    form = ConcurrencySettingsForm(request.POST)
    if form.is_valid():
        try:
            services.function_update_config(
                function=function,
                reserved_concurrency=form.cleaned_data["reserved_concurrency"],
                provisioned_concurrency=form.cleaned_data["provisioned_concurrency"] or 0,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Concurrency settings saved. Run the lab again.")
    else:
        messages.error(request, "Concurrency settings must be whole numbers.")
    return redirect("sandbox:concurrency_lab", pk=function.pk)


@require_http_methods(["GET", "POST"])
@login_required
def memory_tuning_page(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    def start(function: Function, data: dict[str, Any]) -> Experiment:
        return services.tuning_start(
            function=function,
            event_text=data["event"],
            memory_sizes=data["memory_sizes"],
            runs_per_size=data["runs_per_size"],
            requested_by=request.user,
        )

    return _experiment_page(
        request,
        pk,
        kind=Experiment.Kind.TUNING,
        template="sandbox/memory_tuning.html",
        make_form=TuningForm,
        start=start,
    )
