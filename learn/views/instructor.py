"""Instructor tools: the authoring home, the lesson editor with its side-by-side preview and
"Run it", the admin's live preview, and Markdown export."""

import io
import zipfile
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lambdalab.http import AuthedHtmxHttpRequest, HtmxHttpRequest
from lambdalab.permissions import instructor_required
from learn.cohorts import course_order, lesson_authoring
from learn.forms import LessonEditForm
from learn.models import Lesson
from learn.selectors.lessons import module_list
from learn.services.content import lesson_export_filename, lesson_export_markdown
from learn.services.rendering import markdown_render

PREVIEW_MAX_CHARS = 200_000


@require_GET
@instructor_required
def instructor_home(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "learn/instructor.html", {"modules": module_list()})


@require_POST
@instructor_required
def lesson_preview(request: HtmxHttpRequest) -> HttpResponse:
    """Render posted Markdown through the lessons' own renderer and sanitiser."""
    text = request.POST.get("body_markdown", "")[:PREVIEW_MAX_CHARS]
    rendered = markdown_render(text=text)
    template = "learn/lesson_preview.html#preview" if request.htmx else "learn/lesson_preview.html"
    return render(request, template, {"rendered": rendered})


def _markdown_download(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@instructor_required
def lesson_export(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    lesson = get_object_or_404(Lesson.objects.select_related("module"), slug=slug)
    return _markdown_download(
        lesson_export_markdown(lesson=lesson), lesson_export_filename(lesson=lesson)
    )


def lessons_zip(lessons: list[Lesson]) -> HttpResponse:
    """A zip of lessons/<file>.md, laid out like learn/content/ so it can be unpacked there."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for lesson in lessons:
            archive.writestr(
                f"lessons/{lesson_export_filename(lesson=lesson)}",
                lesson_export_markdown(lesson=lesson),
            )
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="lessons.zip"'
    return response


@require_GET
@instructor_required
def lessons_export(request: HtmxHttpRequest) -> HttpResponse:
    lessons = list(Lesson.objects.select_related("module").prefetch_related("prerequisites").all())
    return lessons_zip(lessons)


# ---------------------------------------------------------------- the lesson editor

TRY_IT_FIELDS = (
    "try_it_title",
    "try_it_description",
    "try_it_handler",
    "try_it_memory_mb",
    "try_it_timeout_s",
    "try_it_code",
    "try_it_event",
    "try_it_lab",
)


def _lesson(slug: str) -> Lesson:
    return get_object_or_404(Lesson.objects.select_related("module"), slug=slug)


def _problems(form: LessonEditForm) -> list[str]:
    problems = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            problems.append(f"{label}: {error}" if label else str(error))
    return problems


def _posted_preview(form: LessonEditForm) -> lesson_authoring.LessonPreview:
    """The preview of a bound form, valid or not (what could not be cleaned is shown raw)."""
    form.is_valid()
    data: dict[str, Any] = {key: form.data.get(key) for key in form.data}
    data.update(getattr(form, "cleaned_data", {}))
    if "prerequisites" not in getattr(form, "cleaned_data", {}):
        data["prerequisites"] = []
    return lesson_authoring.lesson_preview_build(
        data=data, lesson=form.instance, problems=_problems(form)
    )


def _saved_preview(lesson: Lesson) -> lesson_authoring.LessonPreview:
    data = {
        "title": lesson.title,
        "summary": lesson.summary,
        "module": lesson.module,
        "estimated_minutes": lesson.estimated_minutes,
        "body_markdown": lesson.body_markdown,
        "prerequisites": list(lesson.prerequisites.all()),
    }
    return lesson_authoring.lesson_preview_build(data=data, lesson=lesson, problems=[])


@require_http_methods(["GET", "POST"])
@instructor_required
def lesson_edit_page(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    """Edit a lesson beside a preview in the lesson page's own styles (htmx as one types)."""
    lesson = _lesson(slug)
    form = LessonEditForm(request.POST or None, instance=lesson)
    if request.method == "POST":
        if form.is_valid():
            saved = lesson_authoring.lesson_save(
                lesson=form.instance,
                actor=request.user,
                prerequisites=list(form.cleaned_data["prerequisites"]),
            )
            messages.success(request, "Lesson saved.")
            return redirect("lesson_edit", slug=saved.slug)
        lesson = _lesson(slug)  # the page's header names what is saved, not what was typed
        preview = _posted_preview(form)
    else:
        preview = _saved_preview(lesson)
    context = {"lesson": lesson, "form": form, "preview": preview, "try_it_fields": TRY_IT_FIELDS}
    return render(request, "learn/lesson_edit.html", context, status=400 if form.errors else 200)


@require_POST
@instructor_required
def lesson_edit_preview(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    """The editor's unsaved fields rendered as the lesson page renders them; nothing is saved."""
    lesson = _lesson(slug)
    form = LessonEditForm(request.POST, instance=_lesson(slug))
    context = {"lesson": lesson, "form": form, "preview": _posted_preview(form)}
    if request.htmx:
        return render(request, "learn/lesson_edit.html#preview", context)
    # Without JavaScript, "Preview" is a form post that shows the whole editor again.
    return render(request, "learn/lesson_edit.html", {**context, "try_it_fields": TRY_IT_FIELDS})


@require_POST
@instructor_required
def lesson_try_it_run(request: AuthedHtmxHttpRequest, slug: str) -> HttpResponse:
    """Run the "Try it" block as typed in the instructor's own sandbox function; show the
    console's result panel (which polls until the invocation is done)."""
    from sandbox import selectors as sandbox_selectors
    from sandbox import services as sandbox_services
    from sandbox.results import invocation_wait_finished
    from sandbox.views import _result_context  # the console's result panel, shown as it is

    lesson = _lesson(slug)
    form = LessonEditForm(request.POST, instance=_lesson(slug))
    form.is_valid()
    problems = [
        f"{form.fields[name].label}: {error}" if name in form.fields else str(error)
        for name, errors in form.errors.items()
        if name in TRY_IT_FIELDS or name == "__all__"
        for error in errors
    ]
    context: dict[str, Any] = {"lesson": lesson, "run_problems": problems}
    if not problems and not form.instance.try_it:
        problems.append("Write the handler's code under “Try it” first.")
    if not problems:
        try:
            invocation = lesson_authoring.try_it_run(
                actor=request.user, lesson=lesson, try_it=form.instance.try_it or {}
            )
        except ValidationError as exc:
            problems.extend(exc.messages)
        except sandbox_services.LimitReached as exc:
            problems.append(str(exc))
        else:
            if sandbox_selectors.sandbox_available() and invocation_wait_finished(
                invocation_id=invocation.pk, timeout_s=settings.SANDBOX_CONSOLE_WAIT_SECONDS
            ):
                invocation.refresh_from_db()
            context.update(_result_context(invocation, request))
    if request.htmx:
        return render(request, "learn/lesson_edit.html#run_result", context)
    form = LessonEditForm(request.POST, instance=_lesson(slug))
    context.update(form=form, preview=_posted_preview(form), try_it_fields=TRY_IT_FIELDS)
    return render(request, "learn/lesson_edit.html", context, status=400 if problems else 200)


# ---------------------------------------------------------------- course order


def _numbers(post: Any, prefix: str) -> dict[int, int]:
    numbers = {}
    for key, value in post.items():
        if key.startswith(prefix) and key[len(prefix) :].isdigit():
            try:
                numbers[int(key[len(prefix) :])] = int(value)
            except ValueError:
                continue  # not a number: that row keeps its place
    return numbers


def _move(value: str) -> tuple[str, str, int] | None:
    kind, _, rest = value.partition(":")
    direction, _, target = rest.partition(":")
    if kind in {"module", "lesson"} and direction in course_order.MOVES and target.isdigit():
        return kind, direction, int(target)
    return None


@require_http_methods(["GET", "POST"])
@instructor_required
def course_order_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    """Order modules and lessons by dragging, with the move buttons (keyboard), or by number."""
    if request.method == "POST":
        changed = course_order.course_reorder(
            actor=request.user,
            module_numbers=_numbers(request.POST, "module-"),
            lesson_numbers=_numbers(request.POST, "lesson-"),
            move=_move(request.POST.get("move", "")),
        )
        if not request.htmx:
            messages.success(request, "Order saved." if changed else "Nothing changed.")
            return redirect("course_order")
    context = {"outline": course_order.course_outline()}
    template = "learn/course_order.html#outline" if request.htmx else "learn/course_order.html"
    return render(request, template, context)
