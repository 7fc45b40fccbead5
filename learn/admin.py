"""Course authoring in the admin: lessons with a live preview (htmx) and Markdown export."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy

from lambdalab.admin_records import LearnerRecordAdmin
from learn.models import Lesson, LessonProgress, Module
from learn.services.content import lesson_refresh
from learn.views.instructor import lessons_zip


class LessonAdminForm(forms.ModelForm):
    class Meta:
        model = Lesson
        fields = [
            "module",
            "slug",
            "title",
            "order",
            "summary",
            "estimated_minutes",
            "prerequisites",
            "published",
            "objectives",
            "takeaways",
            "try_it",
            "body_markdown",
        ]
        widgets = {
            # The textarea posts itself (and, being inside the form, the CSRF token) to the
            # preview view as the author types; the result lands in #lesson-preview.
            "body_markdown": forms.Textarea(
                attrs={
                    "rows": 30,
                    "class": "vLargeTextField lesson-markdown",
                    "hx-post": reverse_lazy("lesson_preview"),
                    "hx-trigger": "load, input changed delay:400ms",
                    "hx-target": "#lesson-preview",
                    "hx-swap": "innerHTML",
                    "hx-sync": "this:replace",
                }
            )
        }


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "order"]
    ordering = ["order"]


@admin.action(description="Export selected lessons as Markdown")
def export_markdown(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Lesson]
) -> HttpResponse:
    return lessons_zip(list(queryset.select_related("module").prefetch_related("prerequisites")))


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    form = LessonAdminForm
    change_form_template = "admin/learn/lesson/change_form.html"
    list_display = ["title", "slug", "module", "order", "published", "estimated_minutes"]
    list_filter = ["module", "published"]
    list_select_related = ["module"]
    search_fields = ["title", "slug", "summary"]
    filter_horizontal = ["prerequisites"]
    readonly_fields = ["content_version", "source_path"]
    actions = [export_markdown]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # After the many-to-many fields are saved, so the version covers prerequisites too.
        super().save_related(request, form, formsets, change)
        lesson_refresh(lesson=form.instance)


@admin.register(LessonProgress)
class LessonProgressAdmin(LearnerRecordAdmin):
    list_display = ["user", "lesson", "last_viewed_at", "completed_at"]
    list_select_related = ["user", "lesson"]
    raw_id_fields = ["user", "lesson"]


# Bookmarks and notes are the learner's own and stay out of the admin.
