"""The course outline, the lesson page, and a learner's actions on a lesson.

Each action is a POST that works as a plain form (redirect back to the lesson) and with htmx
(the lesson page's partial for that control, plus an event others can listen to).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from lambdalab.http import AuthedHtmxHttpRequest, HtmxHttpRequest
from learn.models import Lesson
from learn.selectors.lessons import (
    completed_lesson_ids,
    lesson_for_learner,
    lesson_page,
    module_list,
)
from learn.services.progress import (
    bookmark_set,
    lesson_completion_set,
    lesson_view_record,
    note_save,
)
from sandbox import labs

DETAIL = "learn/lesson_detail.html"


def sandbox_prefill_url(*, lesson: Lesson) -> str:
    """The sandbox's "new function" form, starting from the blueprint it pairs with the lesson."""
    return f"{reverse('sandbox:function_create')}?{urlencode({'lesson': lesson.slug})}"


@require_GET
def lesson_list(request: HtmxHttpRequest) -> HttpResponse:
    context = {"modules": module_list(), "completed_ids": completed_lesson_ids(user=request.user)}
    return render(request, "learn/lessons.html", context)


@require_GET
def lesson_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    page = lesson_page(slug=slug, user=request.user)
    if request.user.is_authenticated:
        lesson_view_record(user=request.user, lesson=page.lesson, progress=page.progress)
    context = {
        "page": page,
        "lesson": page.lesson,
        "completed": page.completed,
        "bookmarked": page.bookmarked,
        "note_text": page.note.text if page.note else "",
        "sandbox_url": sandbox_prefill_url(lesson=page.lesson),
        "lab_function": _lab_function(request, page.lesson)
        if page.try_it and page.try_it.lab_setup
        else None,
    }
    return render(request, DETAIL, context)


def _lab_function(request: HtmxHttpRequest, lesson: Lesson) -> object:
    """The learner's copy of a lab try-it's function (the lab runs against it), if any."""
    from sandbox import selectors as sandbox_selectors

    if not request.user.is_authenticated:
        return None
    return sandbox_selectors.function_for_lesson(owner=request.user, lesson_slug=lesson.slug)


@require_POST
@login_required
def lesson_complete(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    lesson = lesson_for_learner(slug=slug)
    completed = request.POST.get("completed", "1") != "0"
    lesson_completion_set(user=request.user, lesson=lesson, completed=completed)
    if request.htmx:
        response = render(
            request, f"{DETAIL}#progress-control", {"lesson": lesson, "completed": completed}
        )
        return trigger_client_event(
            response, "lessonProgressChanged", {"lesson": lesson.slug, "completed": completed}
        )
    messages.success(request, "Marked as complete." if completed else "Marked as not complete.")
    return redirect(lesson)


@require_POST
@login_required
def lesson_bookmark(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    lesson = lesson_for_learner(slug=slug)
    bookmarked = bookmark_set(
        user=request.user, lesson=lesson, bookmarked=request.POST.get("bookmarked", "1") != "0"
    )
    if request.htmx:
        response = render(
            request, f"{DETAIL}#bookmark-control", {"lesson": lesson, "bookmarked": bookmarked}
        )
        return trigger_client_event(
            response, "lessonBookmarked", {"lesson": lesson.slug, "bookmarked": bookmarked}
        )
    messages.success(request, "Bookmarked." if bookmarked else "Bookmark removed.")
    return redirect(lesson)


@require_POST
@login_required
def lesson_note(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    lesson = lesson_for_learner(slug=slug)
    text = request.POST.get("text", "")
    error = ""
    try:
        note = note_save(user=request.user, lesson=lesson, text=text)
    except ValueError as exc:
        error, note = str(exc), None
    if request.htmx:
        context = {"lesson": lesson, "note_text": text if error else (note.text if note else "")}
        response = render(
            request,
            f"{DETAIL}#note-form",
            {**context, "note_error": error, "note_status": _note_status(error, note)},
            status=422 if error else 200,
        )
        if not error:
            trigger_client_event(response, "lessonNoteSaved", {"lesson": lesson.slug})
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _note_status(error, note))
    return redirect(lesson)


def _note_status(error: str, note: object) -> str:
    """What the note control says after a save: emptying the box removes the note."""
    if error:
        return ""
    return "Note saved." if note else "Note removed."


@require_POST
@login_required
def lesson_try_it(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    """Open the learner's copy of the lesson's try-it function, creating it the first time."""
    from sandbox import selectors as sandbox_selectors
    from sandbox import services as sandbox_services

    lesson = lesson_for_learner(slug=slug)
    if not lesson.try_it:
        messages.error(request, "This lesson has no sandbox exercise.")
        return redirect(lesson)
    existing = sandbox_selectors.function_for_lesson(owner=request.user, lesson_slug=lesson.slug)
    if existing is not None:
        messages.info(request, f"Opened {existing.name}, your copy of this lesson's function.")
        return redirect(existing)
    try_it = lesson.try_it
    try:
        function = sandbox_services.function_create_from_lesson(
            owner=request.user,
            lesson_slug=lesson.slug,
            name=f"{lesson.slug}-try-it"[:56],
            handler=try_it["handler"],
            files=try_it["files"],
            event=try_it.get("event"),
            memory_mb=try_it["memory_mb"],
            timeout_s=try_it["timeout_s"],
        )
    except (sandbox_services.LimitReached, ValidationError) as exc:
        messages.error(request, f"Could not open the sandbox: {exc}")
        return redirect(lesson)
    if try_it.get("lab"):
        try:
            labs.lab_apply(function=function, lab=try_it["lab"])
        except labs.LabError as exc:
            messages.error(
                request, f"Your function is ready, but its lab could not be set up: {exc}"
            )
            return redirect(function)
        messages.success(
            request, "Your function and its lab are set up: run the lab from the lesson."
        )
    return redirect(function)


@require_POST
@login_required
def lesson_lab_run(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    """Perform the lab's steps (an upload, messages, an event) in the learner's lab account; the
    trigger invokes their copy of the function, whose page shows the invocations."""
    from sandbox import selectors as sandbox_selectors

    lesson = lesson_for_learner(slug=slug)
    lab = (lesson.try_it or {}).get("lab")
    function = sandbox_selectors.function_for_lesson(owner=request.user, lesson_slug=lesson.slug)
    if not lab or not lab.get("steps"):
        messages.error(request, "This lesson has no lab to run.")
        return redirect(lesson)
    if function is None:
        messages.error(
            request, "Open the lesson's function in the sandbox first: it sets the lab up."
        )
        return redirect(lesson)
    try:
        labs.steps_run(function=function, steps=lab["steps"])
    except labs.LabError as exc:
        messages.error(request, f"{exc} Set the lab up again with “Reset the lab”.")
        return redirect(lesson)
    messages.success(
        request,
        "Done: the trigger invokes your function; its invocations appear below in a moment.",
    )
    return redirect(function)


@require_POST
@login_required
def lesson_lab_reset(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    """Set the lab up again as the lesson ships it: resources made and emptied, the role's
    policies and the trigger as they were (undoing a fix, so the exercise can be done again)."""
    from sandbox import selectors as sandbox_selectors

    lesson = lesson_for_learner(slug=slug)
    lab = (lesson.try_it or {}).get("lab")
    function = sandbox_selectors.function_for_lesson(owner=request.user, lesson_slug=lesson.slug)
    if not lab or function is None:
        messages.error(request, "Open the lesson's function in the sandbox first.")
        return redirect(lesson)
    try:
        labs.lab_apply(function=function, lab=lab, empty=True)
    except labs.LabError as exc:
        messages.error(request, f"The lab could not be set up: {exc}")
        return redirect(lesson)
    messages.success(request, "The lab is set up again as the lesson ships it.")
    return redirect(lesson)
