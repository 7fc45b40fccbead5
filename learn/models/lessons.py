from django.db import models

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
    estimated_minutes = models.PositiveIntegerField(default=10)
    prerequisites = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="unlocks"
    )
    published = models.BooleanField(default=True)
    content_version = models.CharField(
        max_length=64, blank=True, help_text="Digest of the source; the rendered cache follows it."
    )

    class Meta:
        ordering = ["module__order", "order", "slug"]

    def __str__(self) -> str:
        return self.title
