"""Editing a lesson as learners will see it (/instructor/lessons/<slug>/edit/): the preview of
unsaved fields, saving them, and running the "Try it" handler in the sandbox.

A run goes through the console's own services: the instructor gets a function of their own
(`try-<lesson slug>`, updated to the block being edited before each run) and the invocation
counts toward the instructor's per-minute and in-flight limits like any learner's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.models import CHANGE
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from learn.cohorts.services import admin_log
from learn.models import Lesson
from learn.selectors.lessons import TryIt, try_it_for
from learn.services.content import lesson_refresh
from learn.services.rendering import markdown_render
from sandbox import labs
from sandbox import services as sandbox_services
from sandbox.models import Function, Invocation

PREVIEW_MAX_CHARS = 200_000


@dataclass
class LessonPreview:
    """What the lesson page would show for the fields as typed."""

    title: str
    summary: str
    module_title: str
    estimated_minutes: int | None
    objectives: list[str]
    takeaways: list[str]
    body_html: str
    toc_html: str
    try_it: TryIt | None
    prerequisites: list[Lesson] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def lesson_preview_build(
    *, data: dict[str, Any], lesson: Lesson, problems: list[str]
) -> LessonPreview:
    """Render the editor's fields (data: the form's cleaned or raw values, lesson: an unsaved
    instance carrying objectives, takeaways and try_it) through the lessons' own renderer and
    sanitiser. problems are the form's errors, shown above the preview."""
    rendered = markdown_render(text=str(data.get("body_markdown") or "")[:PREVIEW_MAX_CHARS])
    module = data.get("module")
    minutes = data.get("estimated_minutes")
    return LessonPreview(
        title=str(data.get("title") or "(no title)"),
        summary=str(data.get("summary") or ""),
        module_title=getattr(module, "title", ""),
        estimated_minutes=minutes if isinstance(minutes, int) else None,
        objectives=list(lesson.objectives or []),
        takeaways=list(lesson.takeaways or []),
        body_html=rendered.html,
        toc_html=rendered.toc_html,
        try_it=try_it_for(lesson=lesson) if lesson.try_it else None,
        prerequisites=list(data.get("prerequisites") or []),
        problems=problems,
    )


@transaction.atomic
def lesson_save(*, lesson: Lesson, actor: User, prerequisites: list[Lesson]) -> Lesson:
    """Save an edited lesson (fields already set on it), its prerequisites, recompute its
    content version and rendering, and record the change in the admin log."""
    lesson.full_clean(exclude=["prerequisites"])
    lesson.save()
    lesson.prerequisites.set(prerequisites)
    lesson_refresh(lesson=lesson)
    admin_log(actor=actor, obj=lesson, flag=CHANGE, message="Edited in the lesson editor.")
    return lesson


def try_it_function_name(*, lesson: Lesson) -> str:
    return f"try-{lesson.slug}"[:64]


@transaction.atomic
def _try_it_function(*, actor: User, lesson: Lesson, try_it: dict[str, Any]) -> Function:
    """The instructor's own function for this lesson's block, made to match try_it."""
    files: dict[str, str] = dict(try_it.get("files") or {})
    handler = str(try_it.get("handler") or "app.handler")
    memory_mb = int(try_it.get("memory_mb") or 128)
    timeout_s = int(try_it.get("timeout_s") or 3)
    event = try_it.get("event", {})
    name = try_it_function_name(lesson=lesson)
    function = Function.objects.filter(owner=actor, name=name).first()
    if function is None:
        return sandbox_services.function_create_from_lesson(
            owner=actor,
            lesson_slug=lesson.slug,
            name=name,
            handler=handler,
            files=files,
            event=event,
            memory_mb=memory_mb,
            timeout_s=timeout_s,
        )
    for path, content in files.items():
        sandbox_services.function_file_save(function=function, path=path, content=content)
    for path in function.files.exclude(path__in=list(files)).values_list("path", flat=True):
        sandbox_services.function_file_delete(function=function, path=path)
    wanted = {"handler": handler, "memory_mb": memory_mb, "timeout_s": timeout_s}
    changes = {k: v for k, v in wanted.items() if getattr(function, k) != v}
    if changes:
        sandbox_services.function_update_config(function=function, **changes)
    sandbox_services.test_event_save(
        function=function, name="lesson-event", body=json.dumps(event, indent=2)
    )
    return function


def try_it_run(*, actor: User, lesson: Lesson, try_it: dict[str, Any]) -> Invocation:
    """Queue the block's handler with its event in the sandbox, as the instructor's own
    invocation. Raises ValidationError for code or settings the sandbox refuses, LimitReached
    past the instructor's limits (the same as any learner's)."""
    function = _try_it_function(actor=actor, lesson=lesson, try_it=try_it)
    if try_it.get("lab"):
        # The handler calls the lab's services: set them up in the instructor's own account.
        try:
            labs.lab_apply(function=function, lab=try_it["lab"])
        except labs.LabError as exc:
            raise ValidationError(f"The lab could not be set up: {exc}") from None
    event_text = json.dumps(try_it.get("event", {}), indent=2)
    return sandbox_services.invocation_start(
        function=function, event_text=event_text, requested_by=actor
    )
