"""Cohort pages under /instructor/cohorts/ (instructors only) and /join/ (any learner)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lambdalab.http import AuthedHtmxHttpRequest
from lambdalab.permissions import instructor_required
from learn.cohorts import authoring, bank, oversight, selectors, services
from learn.cohorts.forms import (
    CHOICE_ROWS,
    AssignmentForm,
    CohortForm,
    CohortSettingsForm,
    ImportForm,
    JoinForm,
    QuestionEditForm,
    QuestionFilterForm,
    QuotaForm,
)
from learn.cohorts.models import Cohort, SandboxQuota
from learn.cohorts.spreadsheet import csv_text
from learn.practice.loader import QuestionFileError
from learn.practice.models import Question
from learn.practice.selectors import progress_summary
from learn.services.rendering import markdown_render, markdown_render_inline
from learn.views.instructor import PREVIEW_MAX_CHARS
from sandbox.models import Function, Invocation
from sandbox.services import StopOutcome


def _cohort(request: AuthedHtmxHttpRequest, pk: int) -> Cohort:
    """The cohort if the instructor may manage it; 404 otherwise (its existence stays private)."""
    try:
        return selectors.cohort_get(user=request.user, cohort_id=pk)
    except Cohort.DoesNotExist:
        raise Http404("No such cohort.") from None


def _form_errors(form: Any, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


@require_http_methods(["GET", "POST"])
@instructor_required
def cohort_list_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    form = CohortForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cohort = services.cohort_create(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            return redirect(cohort)
    cohorts = selectors.cohort_list(user=request.user)
    return render(request, "cohorts/cohort_list.html", {"cohorts": cohorts, "form": form})


def _detail_context(request: AuthedHtmxHttpRequest, cohort: Cohort, **forms: Any) -> dict:
    quota = SandboxQuota.objects.filter(cohort=cohort).first()
    return {
        "cohort": cohort,
        "members": selectors.member_list(cohort=cohort),
        "assignments": cohort.assignments.select_related("module", "lesson", "question"),
        "join_url": request.build_absolute_uri(reverse("join_code", args=[cohort.join_code])),
        "settings_form": forms.get("settings_form")
        or CohortSettingsForm(
            initial={
                "name": cohort.name,
                "target_date": cohort.target_date,
                "joining_open": cohort.joining_open,
            }
        ),
        "assignment_form": forms.get("assignment_form") or AssignmentForm(),
        "quota_form": forms.get("quota_form") or QuotaForm(instance=quota),
    }


@require_http_methods(["GET", "POST"])
@instructor_required
def cohort_detail_page(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    cohort = _cohort(request, pk)
    forms: dict[str, Any] = {}
    if request.method == "POST":
        form = CohortSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.cohort_update(cohort=cohort, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, "Cohort saved.")
                return redirect(cohort)
        forms["settings_form"] = form
    return render(request, "cohorts/cohort_detail.html", _detail_context(request, cohort, **forms))


@require_POST
@instructor_required
def cohort_code_regenerate(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    cohort = services.cohort_code_regenerate(cohort=_cohort(request, pk), actor=request.user)
    messages.success(
        request, f"The new join code is {cohort.join_code}; the old one no longer works."
    )
    return redirect(cohort)


@require_POST
@instructor_required
def member_remove(request: AuthedHtmxHttpRequest, pk: int, user_id: int) -> HttpResponse:
    cohort = _cohort(request, pk)
    try:
        services.member_remove(cohort=cohort, user_id=user_id, actor=request.user)
    except cohort.memberships.model.DoesNotExist:
        raise Http404("Not a member.") from None
    messages.success(request, "Removed from the cohort.")
    return redirect(cohort)


@require_POST
@instructor_required
def assignment_add(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    cohort = _cohort(request, pk)
    form = AssignmentForm(request.POST)
    if form.is_valid():
        try:
            services.assignment_create(cohort=cohort, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Assigned.")
            return redirect(cohort)
    context = _detail_context(request, cohort, assignment_form=form)
    return render(request, "cohorts/cohort_detail.html", context, status=400)


@require_POST
@instructor_required
def assignment_delete(request: AuthedHtmxHttpRequest, pk: int, assignment_id: int) -> HttpResponse:
    cohort = _cohort(request, pk)
    assignment = get_object_or_404(cohort.assignments, pk=assignment_id)
    services.assignment_delete(assignment=assignment, actor=request.user)
    messages.success(request, "Assignment removed.")
    return redirect(cohort)


@require_POST
@instructor_required
def quota_save(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    cohort = _cohort(request, pk)
    form = QuotaForm(request.POST, instance=SandboxQuota.objects.filter(cohort=cohort).first())
    if form.is_valid():
        services.quota_set(
            cohort=cohort,
            actor=request.user,
            **{field: form.cleaned_data[field] for field in services.QUOTA_FIELDS},
        )
        messages.success(request, "Sandbox quota saved.")
        return redirect(cohort)
    context = _detail_context(request, cohort, quota_form=form)
    return render(request, "cohorts/cohort_detail.html", context, status=400)


@require_http_methods(["GET", "POST"])
@login_required
def join_page(request: AuthedHtmxHttpRequest, code: str = "") -> HttpResponse:
    """Join a cohort: type the code, or follow the link (which fills it in; joining is a POST)."""
    form = JoinForm(request.POST or None, initial={"code": code})
    if request.method == "POST" and form.is_valid():
        try:
            cohort, joined = services.cohort_join(user=request.user, code=form.cleaned_data["code"])
        except Cohort.DoesNotExist:
            form.add_error("code", "No open cohort has this code. Check it with your instructor.")
        else:
            if joined:
                messages.success(request, f"You joined {cohort.name}.")
            else:
                messages.info(request, f"You are already in {cohort.name}.")
            return redirect("progress")
    cohorts = selectors.learner_cohorts(user=request.user)
    return render(request, "cohorts/join.html", {"form": form, "cohorts": cohorts})


# ---------------------------------------------------------------- analytics


@require_GET
@instructor_required
def learners_page(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    """The learners table; ?format=csv downloads the same rows (same filters and order)."""
    cohort = _cohort(request, pk)
    query = request.GET.get("q", "").strip()[:150]
    activity = request.GET.get("activity", "")
    activity = activity if activity in selectors.ACTIVITY_FILTERS else ""
    sort = request.GET.get("sort", "username")
    rows = selectors.learner_rows(cohort=cohort, query=query, activity=activity, sort=sort)
    if request.GET.get("format") == "csv":
        return _learners_csv(cohort, rows)
    context = {
        "cohort": cohort,
        "rows": rows,
        "query": query,
        "activity": activity,
        "activity_filters": selectors.ACTIVITY_FILTERS,
        "sort": sort,
        "columns": LEARNER_COLUMNS,
    }
    template = "cohorts/learners.html#table" if request.htmx else "cohorts/learners.html"
    return render(request, template, context)


LEARNER_COLUMNS = [
    ("username", "Learner"),
    ("lessons_completed", "Lessons completed"),
    ("quiz_accuracy", "Quiz accuracy"),
    ("reviews_done", "Reviews done"),
    ("challenges_solved", "Challenges solved"),
    ("time_studied", "Time studied"),
    ("last_active", "Last active"),
    ("readiness", "Readiness"),
]


def _learners_csv(cohort: Cohort, rows: list[selectors.LearnerRow]) -> HttpResponse:
    text = csv_text(
        header=[
            "cohort",
            "learner",
            "joined",
            "lessons_completed",
            "quiz_answers",
            "quiz_accuracy_percent",
            "reviews_done",
            "challenges_solved",
            "time_studied_minutes",
            "last_active",
            "readiness_percent",
        ],
        rows=(
            [
                cohort.name,
                r.username,
                r.joined_at.isoformat(),
                r.lessons_completed,
                r.quiz_answers,
                r.quiz_accuracy_percent,
                r.reviews_done,
                r.challenges_solved,
                r.time_studied_minutes,
                r.last_active.isoformat() if r.last_active else None,
                r.readiness_percent,
            ]
            for r in rows
        ),
    )
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cohort-{cohort.pk}-learners.csv"'
    return response


@require_GET
@instructor_required
def learner_page(request: AuthedHtmxHttpRequest, pk: int, user_id: int) -> HttpResponse:
    """One member's progress, read-only, and their code challenge submissions."""
    cohort = _cohort(request, pk)
    try:
        learner = selectors.learner_get(cohort=cohort, user_id=user_id)
    except User.DoesNotExist:
        raise Http404("Not a member of this cohort.") from None
    context = {
        "cohort": cohort,
        "learner": learner,
        "lessons": selectors.learner_lessons(user=learner),
        "summary": progress_summary(user=learner),
        "submissions": selectors.learner_submissions(user=learner),
    }
    return render(request, "cohorts/learner.html", context)


@require_GET
@instructor_required
def question_stats_page(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    cohort = _cohort(request, pk)
    rows = selectors.question_statistics(cohort=cohort)
    return render(request, "cohorts/question_stats.html", {"cohort": cohort, "rows": rows})


# ---------------------------------------------------------------- question bank


@require_http_methods(["GET", "POST"])
@instructor_required
def bank_import_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    """Upload a file; "Dry run" lists what would happen, "Import" does it."""
    form = ImportForm(request.POST or None, request.FILES or None)
    rows = None
    dry_run = "import" not in request.POST
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > bank.MAX_UPLOAD_BYTES:
            form.add_error("file", "The file is over 5 MB.")
        else:
            lesson = form.cleaned_data.get("default_lesson")
            items = bank.items_parse(
                name=upload.name,
                data=upload.read(),
                file_format=form.cleaned_data["file_format"],
                default_lesson=lesson.slug if lesson else "",
            )
            rows = bank.bank_import(
                items=items, actor=request.user, dry_run=dry_run, source=upload.name
            )
    counts = {a: sum(1 for r in rows or [] if r.action == a) for a in bank.ACTIONS}
    context = {"form": form, "rows": rows, "dry_run": dry_run, "counts": counts}
    return render(request, "cohorts/bank_import.html", context)


@require_GET
@instructor_required
def bank_export_gift(request: AuthedHtmxHttpRequest) -> HttpResponse:
    text, skipped = bank.bank_export_gift()
    if skipped:
        names = ", ".join(q.slug for q in skipped)
        text = f"// Code challenges are not in GIFT and were left out: {names}\n\n" + text
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="lambda-lab-questions.gift"'
    return response


# ---------------------------------------------------------------- sandbox oversight


@require_GET
@instructor_required
def sandbox_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    """Workers, warm environments, work in flight and recent failures; htmx polls the partial."""
    workers, problem = oversight.workers_alive()
    context = {
        "workers": workers,
        "problem": problem,
        "in_flight": oversight.invocations_in_flight(),
        "failures": oversight.recent_failures(),
    }
    template = "cohorts/sandbox.html#live" if request.htmx else "cohorts/sandbox.html"
    return render(request, template, context)


@require_POST
@instructor_required
def invocation_stop(request: AuthedHtmxHttpRequest, invocation_id: int) -> HttpResponse:
    get_object_or_404(Invocation, pk=invocation_id)
    outcome = oversight.invocation_stop(invocation_id=invocation_id, actor=request.user)
    message = STOP_MESSAGES[outcome].format(id=invocation_id)
    level = messages.error if outcome == StopOutcome.UNREACHED else messages.success
    if outcome == StopOutcome.FINISHED:
        level = messages.info
    level(request, message)
    return redirect("sandbox_oversight")


STOP_MESSAGES = {
    StopOutcome.BEFORE_IT_RAN: "Invocation #{id} stopped before it ran; it will not run.",
    StopOutcome.WHILE_RUNNING: "Invocation #{id} stopped: its environment was shut down and "
    "the learner sees “Stopped by an instructor”.",
    StopOutcome.ASKED: "Invocation #{id} was about to start; its worker stops it as it does.",
    StopOutcome.UNREACHED: "Invocation #{id} is running but no sandbox worker answered; it "
    "ends at its timeout, or is marked failed if its worker is gone.",
    StopOutcome.FINISHED: "Invocation #{id} had already finished.",
}


@require_POST
@instructor_required
def environments_retire(request: AuthedHtmxHttpRequest, function_id: int) -> HttpResponse:
    function = get_object_or_404(Function, pk=function_id)
    oversight.environments_retire(function=function, actor=request.user)
    messages.success(request, f"{function.name}'s warm environments are retired.")
    return redirect("sandbox_oversight")


# ---------------------------------------------------------------- question authoring


@require_GET
@instructor_required
def question_list_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    form = QuestionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    questions = authoring.question_list(
        query=filters.get("q", ""),
        qtype=filters.get("type", ""),
        difficulty=filters.get("difficulty", ""),
        tag=filters.get("tag", ""),
        status=filters.get("status", ""),
    )
    context = {"form": form, "questions": questions}
    template = (
        "cohorts/question_list.html#results" if request.htmx else "cohorts/question_list.html"
    )
    return render(request, template, context)


def _question(slug: str) -> Question:
    return get_object_or_404(
        Question.objects.select_related("lesson", "current_version").prefetch_related("tags"),
        slug=slug,
    )


@require_http_methods(["GET", "POST"])
@instructor_required
def question_edit_page(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    """Edit the current version in place; saving makes a new version if anything changed."""
    question = _question(slug)
    form = QuestionEditForm(request.POST or None, initial=authoring.initial_of(question=question))
    if request.method == "POST" and form.is_valid():
        try:
            result = authoring.question_edit(
                question=question,
                actor=request.user,
                cleaned=form.cleaned_data,
                choice_rows=CHOICE_ROWS,
            )
        except QuestionFileError as exc:
            form.add_error(None, str(exc))
        else:
            if result.outcome == "unchanged":
                messages.info(request, "Nothing changed.")
            else:
                number = result.version.number if result.version else "?"
                messages.success(request, f"Saved as version {number}.")
            return redirect("question_edit", slug=question.slug)
    context = {
        "question": question,
        "form": form,
        "editable": question.type in authoring.EDITABLE_TYPES,
        "version": authoring.editing_version(question=question),
    }
    return render(
        request, "cohorts/question_edit.html", context, status=400 if form.errors else 200
    )


@require_POST
@instructor_required
def question_preview(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    """The question as a learner sees it, rendered by the site's own Markdown pipeline."""
    question = _question(slug)
    prompt = markdown_render(text=request.POST.get("prompt", "")[:PREVIEW_MAX_CHARS])
    explanation = markdown_render(text=request.POST.get("explanation", "")[:PREVIEW_MAX_CHARS])
    choices = [
        request.POST.get(f"choice_{n}_text", "")
        for n in range(CHOICE_ROWS)
        if request.POST.get(f"choice_{n}_text", "").strip()
    ]
    context = {
        "question": question,
        "prompt": prompt,
        "explanation": explanation,
        "choices": [markdown_render_inline(text=c[:2000]) for c in choices],
    }
    template = (
        "cohorts/question_preview.html#preview" if request.htmx else "cohorts/question_preview.html"
    )
    return render(request, template, context)


@require_POST
@instructor_required
def question_publish(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    question = _question(slug)
    publish = request.POST.get("publish") == "1"
    try:
        authoring.question_publish(question=question, actor=request.user, published=publish)
    except QuestionFileError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Published." if publish else "Unpublished: in no quiz or review.")
    return redirect("question_edit", slug=question.slug)


@require_GET
@instructor_required
def question_history_page(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    question = _question(slug)
    entries = authoring.question_history(question=question)
    return render(
        request, "cohorts/question_history.html", {"question": question, "entries": entries}
    )
