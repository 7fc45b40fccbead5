"""Roles. Instructors are members of the Instructors group (created by a migration)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

INSTRUCTORS_GROUP = "Instructors"


def is_instructor(user: AbstractBaseUser | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return bool(user.groups.filter(name=INSTRUCTORS_GROUP).exists())  # type: ignore[attr-defined]


def instructor_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Anonymous users go to the login page; signed-in learners get 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_instructor(request.user):
            raise PermissionDenied("Instructors only.")
        return view(request, *args, **kwargs)

    return wrapped
