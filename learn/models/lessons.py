from django.db import models
from django.urls import reverse

from learn.models.base import TimeStampedModel


class Module(TimeStampedModel):
    """A group of lessons in the course, in order."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.title


class Lesson(TimeStampedModel):
    """One lesson, authored as Markdown in learn/content/lessons/ and loaded by load_content."""

    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="lessons")
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)
    body_markdown = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="Rendered and sanitised body, a cache.")
    toc_html = models.TextField(blank=True, help_text="Rendered table of contents, a cache.")
    rendered_version = models.CharField(
        max_length=64, blank=True, help_text="The content version body_html was rendered from."
    )
    estimated_minutes = models.PositiveIntegerField(default=10)
    prerequisites = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="unlocks"
    )
    published = models.BooleanField(default=True)
    objectives = models.JSONField(default=list, blank=True)
    takeaways = models.JSONField(default=list, blank=True)
    try_it = models.JSONField(
        null=True,
        blank=True,
        help_text="The 'Try it in the sandbox' block (see learn/content/README.md).",
    )
    source_path = models.CharField(
        max_length=300, blank=True, help_text="The file it was loaded from, relative to content/."
    )
    content_version = models.CharField(
        max_length=64, blank=True, help_text="Digest of the source; the rendered cache follows it."
    )

    class Meta:
        ordering = ["module__order", "order", "slug"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("lesson_detail", kwargs={"slug": self.slug})


class LessonProgress(TimeStampedModel):
    """A learner's reading of one lesson: opened (created_at), last seen, and completed."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="lesson_progress")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson"], name="learn_progress_once_per_lesson"
            )
        ]
        verbose_name_plural = "lesson progress"

    def __str__(self) -> str:
        return f"{self.user} · {self.lesson}"

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class Bookmark(TimeStampedModel):
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="bookmarks")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="bookmarks")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson"], name="learn_bookmark_once_per_lesson"
            )
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.lesson}"


class Note(TimeStampedModel):
    """A learner's private note on a lesson (one per lesson, edited in place)."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="lesson_notes")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField(max_length=10_000)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="learn_note_once_per_lesson")
        ]
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.user} ✎ {self.lesson}"


class SearchDocument(models.Model):
    """Plain text of one lesson or question, the rows full-text search runs over.

    A derived table, rebuilt from lessons and questions by learn.services.search; on SQLite an
    FTS5 table (learn_searchdocument_fts, same rowid) mirrors it, on PostgreSQL a tsvector is
    computed at query time.
    """

    class Kind(models.TextChoices):
        LESSON = "lesson", "Lesson"
        QUESTION = "question", "Question"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=200, help_text="The lesson or question slug.")
    title = models.CharField(max_length=300)
    body = models.TextField()
    url = models.CharField(max_length=300)
    lesson_slug = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="learn_search_one_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"
