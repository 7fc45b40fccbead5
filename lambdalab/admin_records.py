"""Admin classes for learners' own records: shown to staff, changed by nobody but a superuser.

Goals, attempts, answers, reviews, submissions and progress are what a learner did; an
instructor correcting them by hand would rewrite a learner's history, so the admin only shows
them (the Instructors group also holds only their view permissions).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyForStaffMixin:
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


class LearnerRecordAdmin(ReadOnlyForStaffMixin, admin.ModelAdmin):
    pass


class LearnerRecordTabularInline(ReadOnlyForStaffMixin, admin.TabularInline):
    pass
