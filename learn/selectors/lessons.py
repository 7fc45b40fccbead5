"""Reads for the lesson pages: the course outline, one lesson with its neighbours, progress."""

import json
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from learn.models import Bookmark, Lesson, LessonProgress, Module, Note
from learn.services.content_cache import content_generation
from learn.services.rendering import code_highlight, markdown_render, rendered_version_for
from sandbox import labs

AnyUser = User | AnonymousUser
LESSON_PAGE_CACHE_SECONDS = 3600


def module_list() -> QuerySet[Module]:
    """Modules in course order with their published lessons, in two queries."""
    published = Lesson.objects.filter(published=True).order_by("order", "slug")
    return Module.objects.prefetch_related(Prefetch("lessons", queryset=published))


def completed_lesson_ids(*, user: AnyUser) -> set[int]:
    """Ids of the lessons `user` has marked complete (empty for anonymous users), one query."""
    if not user.is_authenticated:
        return set()
    return set(
        LessonProgress.objects.filter(user=user, completed_at__isnull=False).values_list(
            "lesson_id", flat=True
        )
    )


@dataclass(frozen=True)
class LessonLink:
    slug: str
    title: str

    @property
    def url(self) -> str:
        from django.urls import reverse

        return reverse("lesson_detail", kwargs={"slug": self.slug})


@dataclass(frozen=True)
class TryItFile:
    name: str
    source: str
    html: str


@dataclass(frozen=True)
class TryIt:
    """The lesson's "Try it in the sandbox" block, ready to show."""

    title: str
    description_html: str
    handler: str
    memory_mb: int
    timeout_s: int
    files: list[TryItFile]
    event_json: str
    event_html: str
    # A lab try-it (sandbox.labs): what it sets up and what "Run the lab" does, in words.
    lab_setup: list[str] = field(default_factory=list)
    lab_steps: list[str] = field(default_factory=list)


def try_it_for(*, lesson: Lesson) -> TryIt | None:
    data = lesson.try_it
    if not data:
        return None
    event_json = json.dumps(data.get("event"), indent=2, ensure_ascii=False)
    return TryIt(
        title=data.get("title", "Try it in the sandbox"),
        description_html=markdown_render(text=data.get("description", "")).html,
        handler=data.get("handler", ""),
        memory_mb=data.get("memory_mb", 128),
        timeout_s=data.get("timeout_s", 3),
        files=[
            TryItFile(name=name, source=source, html=code_highlight(code=source))
            for name, source in data.get("files", {}).items()
        ],
        event_json=event_json,
        event_html=code_highlight(code=event_json, language="json"),
        lab_setup=labs.lab_summary(data["lab"]) if data.get("lab") else [],
        lab_steps=[labs.describe_step(step) for step in (data.get("lab") or {}).get("steps", [])],
    )


@dataclass
class LessonPage:
    """Everything the lesson page shows."""

    lesson: Lesson
    body_html: str
    toc_html: str
    previous: LessonLink | None
    next: LessonLink | None
    position: int  # 1-based, in course order
    total: int
    prerequisites: list[Lesson] = field(default_factory=list)
    try_it: TryIt | None = None
    completed: bool = False
    bookmarked: bool = False
    note: Note | None = None
    progress: LessonProgress | None = None


def lesson_rendered(*, lesson: Lesson) -> tuple[str, str]:
    """The lesson's HTML and table of contents, re-rendered (and stored) if the cache is stale.

    The stored HTML is a cache keyed by content and renderer version; refreshing it on read means
    a renderer upgrade needs no migration.
    """
    wanted = rendered_version_for(content_version=lesson.content_version)
    if lesson.rendered_version != wanted or not lesson.body_html:
        rendered = markdown_render(text=lesson.body_markdown)
        lesson.body_html, lesson.toc_html = rendered.html, rendered.toc_html
        lesson.rendered_version = wanted
        Lesson.objects.filter(pk=lesson.pk).update(
            body_html=rendered.html, toc_html=rendered.toc_html, rendered_version=wanted
        )
    return lesson.body_html, lesson.toc_html


@dataclass(frozen=True)
class _SharedLessonPage:
    """The part of a lesson page that is the same for everybody, kept in the cache."""

    lesson: Lesson
    outline: list[tuple[str, str]]
    body_html: str
    toc_html: str
    prerequisites: list[Lesson]
    try_it: TryIt | None


def _shared_lesson_page(*, slug: str) -> _SharedLessonPage | None:
    key = f"learn:lesson-page:{content_generation()}:{slug}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    lesson = (
        Lesson.objects.filter(slug=slug, published=True)
        .select_related("module")
        .prefetch_related(Prefetch("prerequisites", queryset=Lesson.objects.filter(published=True)))
        .first()
    )
    if lesson is None:
        return None
    outline = list(
        Lesson.objects.filter(published=True)
        .order_by("module__order", "module__slug", "order", "slug")
        .values_list("slug", "title")
    )
    body_html, toc_html = lesson_rendered(lesson=lesson)
    shared = _SharedLessonPage(
        lesson=lesson,
        outline=outline,
        body_html=body_html,
        toc_html=toc_html,
        prerequisites=list(lesson.prerequisites.all()),
        try_it=try_it_for(lesson=lesson),
    )
    cache.set(key, shared, LESSON_PAGE_CACHE_SECONDS)
    return shared


def lesson_page(*, slug: str, user: AnyUser) -> LessonPage:
    """The published lesson `slug` with its neighbours and `user`'s progress. Raises Http404.

    What every reader sees comes from the cache (no query when warm); `user`'s own state is
    read fresh, three small queries for a signed-in learner.
    """
    shared = _shared_lesson_page(slug=slug)
    if shared is None:
        raise Http404("No such lesson.")
    outline = shared.outline
    index = next(i for i, (s, _) in enumerate(outline) if s == slug)
    page = LessonPage(
        lesson=shared.lesson,
        body_html=shared.body_html,
        toc_html=shared.toc_html,
        previous=LessonLink(*outline[index - 1]) if index > 0 else None,
        next=LessonLink(*outline[index + 1]) if index + 1 < len(outline) else None,
        position=index + 1,
        total=len(outline),
        prerequisites=shared.prerequisites,
        try_it=shared.try_it,
    )
    if user.is_authenticated:
        lesson = shared.lesson
        progress = LessonProgress.objects.filter(user=user, lesson=lesson).first()
        page.progress = progress
        page.completed = bool(progress and progress.completed)
        page.bookmarked = Bookmark.objects.filter(user=user, lesson=lesson).exists()
        page.note = Note.objects.filter(user=user, lesson=lesson).first()
    return page


def lesson_for_learner(*, slug: str) -> Lesson:
    """The published lesson `slug` (for the learner's actions on it). Raises Http404."""
    lesson = Lesson.objects.filter(slug=slug, published=True).first()
    if lesson is None:
        raise Http404("No such lesson.")
    return lesson


def lesson_continue(*, user: AnyUser) -> Lesson | None:
    """The lesson `user` last opened and has not finished, or None."""
    if not user.is_authenticated:
        return None
    progress = (
        LessonProgress.objects.filter(
            user=user,
            completed_at__isnull=True,
            last_viewed_at__isnull=False,
            lesson__published=True,
        )
        .select_related("lesson__module")
        .order_by("-last_viewed_at")
        .first()
    )
    return progress.lesson if progress else None


def lesson_first_for_newcomer(*, user: AnyUser) -> Lesson | None:
    """The course's first lesson when `user` is signed in and has opened no lesson yet."""
    if not user.is_authenticated or LessonProgress.objects.filter(user=user).exists():
        return None
    return (
        Lesson.objects.filter(published=True)
        .select_related("module")
        .order_by("module__order", "order", "slug")
        .first()
    )


@dataclass
class ModuleProgress:
    module: Module
    lessons: list[Lesson]
    completed_ids: set[int]

    @property
    def completed(self) -> int:
        return sum(1 for lesson in self.lessons if lesson.pk in self.completed_ids)

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def percent(self) -> int:
        return round(100 * self.completed / self.total) if self.total else 0


def progress_by_module(*, user: AnyUser) -> list[ModuleProgress]:
    """Per module: its published lessons and which of them `user` completed (three queries)."""
    done = completed_lesson_ids(user=user)
    return [
        ModuleProgress(module=module, lessons=list(module.lessons.all()), completed_ids=done)
        for module in module_list()
    ]


def bookmark_list(*, user: User) -> QuerySet[Bookmark]:
    return Bookmark.objects.filter(user=user, lesson__published=True).select_related("lesson")


def note_list(*, user: User) -> QuerySet[Note]:
    return Note.objects.filter(user=user, lesson__published=True).select_related("lesson")
