"""The admin site: instructors only. A signed-in learner gets 403, not the admin's login form."""

from functools import update_wrapper
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class LambdaLabAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        # Imported here: this module is loaded with INSTALLED_APPS, before auth's models.
        from lambdalab.permissions import is_instructor

        return super().has_permission(request) and is_instructor(request.user)

    def _refuse_learners(self, request: HttpRequest) -> None:
        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied("The admin is for instructors.")

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            self._refuse_learners(request)
            return inner(request, *args, **kwargs)

        return update_wrapper(wrapper, inner)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        self._refuse_learners(request)
        return super().login(request, extra_context)


class LambdaLabAdminConfig(AdminConfig):
    default_site = "lambdalab.admin.LambdaLabAdminSite"
