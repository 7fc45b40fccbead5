"""The account page where learners create and revoke their access keys for the API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from lambdalab.http import AuthedHtmxHttpRequest
from sandbox.api import selectors, services


@require_http_methods(["GET", "POST"])
@login_required
def access_keys_page(request: AuthedHtmxHttpRequest) -> HttpResponse:
    """List the learner's keys; POST creates one and shows its secret on this answer only."""
    created = None
    status = 200
    if request.method == "POST":
        try:
            key, secret = services.access_key_create(owner=request.user)
            created = {"key": key, "secret": secret}
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            status = 422
    context = {
        "keys": selectors.access_key_list(owner=request.user),
        "created": created,
        "endpoint": request.build_absolute_uri("/").rstrip("/"),
    }
    response = render(request, "sandbox_api/access_keys.html", context, status=status)
    # The secret must not be kept by any cache on the way.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def access_key_revoke(request: AuthedHtmxHttpRequest, pk: int) -> HttpResponse:
    key = services.access_key_revoke(key=selectors.access_key_get(owner=request.user, pk=pk))
    messages.success(request, f"Access key {key.access_key_id} is revoked.")
    return redirect("sandbox_api:access_keys")
