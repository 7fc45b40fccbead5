from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from learn.study.signals import SESSION_TZ_KEY


class LearnerTimeZoneMiddleware:
    """Shows times in the learner's zone (stored in UTC regardless).

    The zone is kept in the session (set at login and in account settings), so this adds no
    query; requests without a session cookie never load one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = None
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            name = request.session.get(SESSION_TZ_KEY)
        if name:
            try:
                timezone.activate(ZoneInfo(name))
            except (ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)
