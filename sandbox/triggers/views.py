"""The console's Triggers page of a function: what invokes it, add and remove."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from lambdalab.http import AuthedHtmxHttpRequest
from sandbox import selectors as sandbox_selectors
from sandbox.aws.accounts import account_for
from sandbox.aws.clients import LabServicesUnavailable
from sandbox.models import Function
from sandbox.triggers import selectors, services
from sandbox.triggers.forms import FORMS
from sandbox.triggers.models import EventSourceMapping, Trigger


def _editable(request: AuthedHtmxHttpRequest, pk: int) -> Function:
    access = sandbox_selectors.function_get(viewer=request.user, pk=pk)
    if not access.can_edit:
        raise PermissionDenied("Instructors can read learners' functions but not change them.")
    return access.function


def _add(function: Function, kind: str, data: dict[str, Any]) -> None:
    account = account_for(function.owner)
    if kind == "sqs":
        services.mapping_create(
            function=function,
            event_source_arn=f"arn:aws:sqs:{settings.LAB_REGION}:{account}:{data['queue']}",
            batch_size=data["batch_size"],
            maximum_batching_window_s=data["maximum_batching_window_s"],
            report_batch_item_failures=data["report_batch_item_failures"],
        )
    elif kind == "s3":
        services.s3_trigger_create(
            function=function,
            bucket=data["bucket"],
            events=data["events"],
            prefix=data["key_prefix"],
            suffix=data["key_suffix"],
        )
    elif kind == "events":
        services.rule_trigger_create(
            function=function,
            rule=data["rule"],
            bus_name=data["bus_name"],
            event_pattern=data["event_pattern"],
        )
    elif kind == "schedule":
        services.schedule_trigger_create(
            function=function, rule=data["rule"], expression=data["expression"]
        )
    else:
        services.sns_trigger_create(
            function=function,
            topic_arn=f"arn:aws:sns:{settings.LAB_REGION}:{account}:{data['topic']}",
        )


@require_http_methods(["GET", "POST"])
@login_required
def function_triggers_page(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    access = sandbox_selectors.function_get(viewer=request.user, pk=pk)
    function = access.function
    forms: dict[str, Form] = {kind: form_class(prefix=kind) for kind, form_class in FORMS.items()}
    if request.method == "POST":
        function = _editable(request, pk)
        kind = request.POST.get("kind", "")
        if kind not in FORMS:
            raise Http404
        form = FORMS[kind](request.POST, prefix=kind)
        forms[kind] = form
        if form.is_valid():
            try:
                _add(function, kind, form.cleaned_data)
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            except services.MappingConflict as exc:
                form.add_error(None, str(exc))
            except LabServicesUnavailable as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Trigger added.")
                return redirect("sandbox_triggers:function_triggers", pk=function.pk)
    return render(
        request,
        "triggers/function_triggers.html",
        {
            "function": function,
            "can_edit": access.can_edit,
            "triggers": selectors.function_triggers(function=function),
            "trigger_loop": selectors.loop_stopped_latest(function=function),
            "forms": forms,
        },
    )


@require_POST
@login_required
def trigger_remove(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    function = _editable(request, pk)
    kind, _, key = request.POST.get("remove", "").partition(":")
    if kind == "mapping":
        mapping = EventSourceMapping.objects.filter(function=function, pk=key or 0).first()
        if mapping is None:
            raise Http404
        services.mapping_delete(mapping=mapping)
    elif kind == "trigger":
        trigger = Trigger.objects.filter(function=function, pk=key or 0).first()
        if trigger is None:
            raise Http404
        services.trigger_delete(trigger=trigger)
    else:
        raise Http404
    messages.success(request, "Trigger removed.")
    return redirect("sandbox_triggers:function_triggers", pk=function.pk)
