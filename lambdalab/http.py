from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that went through HtmxMiddleware (for type checkers)."""

    htmx: HtmxDetails


class AuthedHtmxHttpRequest(HtmxHttpRequest):
    """Behind login_required: the user is a real User."""

    user: User
