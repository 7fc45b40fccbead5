"""Remember the learner's time zone in their session at login, so pages can show local times
without a query per request (learn.study.middleware reads it)."""

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

SESSION_TZ_KEY = "study_tz"
SESSION_ACTIVE_KEY = "study_session_id"


@receiver(user_logged_in, dispatch_uid="study_tz_on_login")
def remember_time_zone(sender: object, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    from learn.study.selectors import profile_get, session_active

    profile = profile_get(user=user)
    request.session[SESSION_TZ_KEY] = profile.time_zone if profile else "UTC"
    active = session_active(user=user)
    if active is not None:
        request.session[SESSION_ACTIVE_KEY] = active.pk
