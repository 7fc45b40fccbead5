"""Instructor tools: the authoring home, the admin's live preview, and Markdown export."""

import io
import zipfile

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from lambdalab.http import HtmxHttpRequest
from lambdalab.permissions import instructor_required
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
