"""Course authoring in the admin: lessons with a live preview (htmx) and Markdown export."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from lambdalab.admin_records import LearnerRecordAdmin
from learn.forms import LessonAdminForm
from learn.models import Lesson, LessonProgress, Module
from learn.services.content import lesson_refresh
from learn.views.instructor import lessons_zip


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
    fieldsets = [
        (None, {"fields": ["module", "slug", "title", "order", "summary", "estimated_minutes"]}),
        ("Publishing", {"fields": ["published", "prerequisites"]}),
        ("What the learner gets", {"fields": ["objectives_text", "takeaways_text"]}),
        (
            "Try it in the sandbox",
            {
                "classes": ["collapse"],
                "fields": [
                    "try_it_title",
                    "try_it_description",
                    "try_it_handler",
                    "try_it_memory_mb",
                    "try_it_timeout_s",
                    "try_it_code",
                    "try_it_event",
                    "try_it_lab",
                ],
            },
        ),
        ("Body", {"fields": ["body_markdown"]}),
        ("Source", {"fields": ["content_version", "source_path"]}),
    ]

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
