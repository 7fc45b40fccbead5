"""Study session pages, account settings, export and deletion.

htmx requests get a named partial of the same page; every action is also a plain form post
that redirects back, so nothing depends on JavaScript.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from lambdalab.http import AuthedHtmxHttpRequest
from learn.study import selectors
from learn.study.forms import DeleteAccountForm, HeartbeatForm, StartForm, StudySettingsForm
from learn.study.models import StepKind, StudySession
from learn.study.services import accounts as account_services
from learn.study.services import profiles as profile_services
from learn.study.services import sessions as session_services
from learn.study.services.sessions import HEARTBEAT_INTERVAL, SessionEnded, StudyError
from learn.study.signals import SESSION_ACTIVE_KEY, SESSION_TZ_KEY

PAGE = "study/session.html"


def _go(request: AuthedHtmxHttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _session(request: AuthedHtmxHttpRequest, session_id: int) -> StudySession:
    try:
        return selectors.session_get(user=request.user, session_id=session_id)
    except StudySession.DoesNotExist:
        raise Http404("No such study session.") from None


def _zone(request: AuthedHtmxHttpRequest) -> Any:
    return selectors.zone_of(selectors.profile_get(user=request.user))


def _forget_active(request: AuthedHtmxHttpRequest, session: StudySession) -> None:
    if request.session.get(SESSION_ACTIVE_KEY) == session.pk:
        del request.session[SESSION_ACTIVE_KEY]


@require_GET
@login_required
def study_home(request: AuthedHtmxHttpRequest) -> HttpResponse:
    """Resume the active session, or offer to start one."""
    active = selectors.session_active(user=request.user)
    if active is not None and not session_services.session_expire_if_inactive(session=active):
        request.session[SESSION_ACTIVE_KEY] = active.pk
        return redirect("study_session", session_id=active.pk)
    if active is not None:
        _forget_active(request, active)
    return render(request, "study/home.html", {"form": StartForm(initial={"minutes": 15})})


@require_POST
@login_required
def study_start(request: AuthedHtmxHttpRequest) -> HttpResponse:
    form = StartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick 15, 25 or 45 minutes.")
        return _go(request, reverse("study"))
    try:
        session = session_services.session_start(
            user=request.user, minutes=form.cleaned_data["minutes"]
        )
    except StudyError as error:
        messages.error(request, str(error))
        return _go(request, reverse("study"))
    request.session[SESSION_ACTIVE_KEY] = session.pk
    return _go(request, reverse("study_session", args=[session.pk]))


def _session_context(request: AuthedHtmxHttpRequest, session: StudySession) -> dict[str, Any]:
    steps = selectors.session_steps(session=session)
    context: dict[str, Any] = {
        "session": session,
        "steps": steps,
        "step": selectors.step_current(steps),
        "elapsed": selectors.session_elapsed(session=session),
        "heartbeat_ms": int(HEARTBEAT_INTERVAL.total_seconds() * 1000),
        "kinds": StepKind,
    }
    if not session.is_active:
        context["summary"] = selectors.session_summary(session=session, zone=_zone(request))
    return context


@require_GET
@login_required
def session_page(request: AuthedHtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _session(request, session_id)
    if session_services.session_expire_if_inactive(session=session):
        messages.info(request, "This session ended after a long break; here is its summary.")
    if session.is_active:
        request.session[SESSION_ACTIVE_KEY] = session.pk
    else:
        _forget_active(request, session)
    return render(request, PAGE, _session_context(request, session))


@require_POST
@login_required
def step_open(request: AuthedHtmxHttpRequest, session_id: int) -> HttpResponse:
    """Go to the current step's work: the lesson, or a review/quiz attempt made for it."""
    session = _session(request, session_id)
    steps = selectors.session_steps(session=session)
    step = selectors.step_current(steps)
    here = reverse("study_session", args=[session.pk])
    if step is None:
        return _go(request, here)
    if step.kind == StepKind.LESSON and step.lesson is not None:
        return _go(request, step.lesson.get_absolute_url())
    try:
        attempt = session_services.step_open(session=session, step=step)
    except StudyError as error:
        messages.error(request, str(error))
        return _go(request, here)
    if attempt is None:
        return _go(request, here)
    return _go(request, reverse("practice_attempt", args=[attempt.pk]))


@require_POST
@login_required
def step_advance(request: AuthedHtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _session(request, session_id)
    skip = request.POST.get("skip") == "1"
    here = reverse("study_session", args=[session.pk])
    try:
        following = session_services.step_advance(session=session, zone=_zone(request), skip=skip)
    except SessionEnded as error:
        messages.info(request, str(error))
        return _go(request, here)
    if following is None:
        _forget_active(request, session)
        messages.success(request, "Session complete. Well done.")
        return _go(request, here)
    if request.htmx:
        session.refresh_from_db()
        response = render(request, f"{PAGE}#plan", _session_context(request, session))
        return trigger_client_event(response, "studyStepChanged", {"position": following.position})
    return redirect(here)


def _clock(request: AuthedHtmxHttpRequest, session: StudySession) -> HttpResponse:
    if request.htmx:
        return render(request, f"{PAGE}#timer", _session_context(request, session))
    return redirect("study_session", session_id=session.pk)


@require_POST
@login_required
def session_pause(request: AuthedHtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _session(request, session_id)
    try:
        session = session_services.session_pause(session=session, zone=_zone(request))
    except SessionEnded:
        return _go(request, reverse("study_session", args=[session.pk]))
    return _clock(request, session)


@require_POST
@login_required
def session_resume(request: AuthedHtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _session(request, session_id)
    try:
        session = session_services.session_resume(session=session)
    except SessionEnded:
        return _go(request, reverse("study_session", args=[session.pk]))
    return _clock(request, session)


@require_POST
@login_required
def session_heartbeat(request: AuthedHtmxHttpRequest, session_id: int) -> HttpResponse:
    """204 while the session runs; 410 once it has ended (the page stops beating)."""
    session = _session(request, session_id)
    form = HeartbeatForm(request.POST)
    visible = form.is_valid() and form.cleaned_data["visible"]
    try:
        session = session_services.session_heartbeat(
            session=session, visible=visible, zone=_zone(request)
        )
    except SessionEnded:
        _forget_active(request, session)
        return HttpResponse(status=410)
    response = HttpResponse(status=204)
    response["X-Study-Seconds"] = str(session.active_seconds)
    return response


@require_POST
@login_required
def session_end(request: AuthedHtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _session(request, session_id)
    session_services.session_end(session=session, zone=_zone(request))
    _forget_active(request, session)
    return _go(request, reverse("study_session", args=[session.pk]))


# Account ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def account_settings(request: AuthedHtmxHttpRequest) -> HttpResponse:
    profile = profile_services.profile_ensure(user=request.user)
    initial = {
        "time_zone": profile.time_zone,
        "goal_kind": profile.goal_kind,
        "goal_target": profile.goal_target,
    }
    form = StudySettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            profile = profile_services.profile_update(user=request.user, **form.cleaned_data)
        except StudyError as error:
            form.add_error(None, str(error))
        else:
            request.session[SESSION_TZ_KEY] = profile.time_zone
            messages.success(request, "Settings saved.")
            return redirect("account_settings")
    return render(
        request,
        "study/settings.html",
        {"form": form, "profile": profile, "now": timezone.now()},
    )


@require_GET
@login_required
def account_export(request: AuthedHtmxHttpRequest) -> HttpResponse:
    data = account_services.account_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, default=str), content_type="application/json"
    )
    name = f"lambda-lab-{request.user.get_username()}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
def account_delete(request: AuthedHtmxHttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.account_delete(
                user=request.user, confirm_username=form.cleaned_data["confirm_username"]
            )
        except ValueError as error:
            form.add_error("confirm_username", str(error))
        else:
            logout(request)
            messages.success(request, "Your account and all its data were deleted.")
            return redirect("home")
    return render(request, "study/delete.html", {"form": form})
