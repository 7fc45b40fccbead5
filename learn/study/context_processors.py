from typing import Any

from django.conf import settings
from django.http import HttpRequest

from learn.study.signals import SESSION_ACTIVE_KEY


def study(request: HttpRequest) -> dict[str, Any]:
    """The active study session's id (from the session: no query), for the bar that follows
    the learner across pages and sends heartbeats."""
    active = None
    if settings.SESSION_COOKIE_NAME in request.COOKIES and hasattr(request, "session"):
        active = request.session.get(SESSION_ACTIVE_KEY)
    return {"study_session_id": active}
