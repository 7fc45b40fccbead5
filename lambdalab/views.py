from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from lambdalab.forms import SignUpForm
from lambdalab.health import health_report
from learn.services.accounts import account_sign_up, signup_allowance_take
from learn.study.services.profiles import profile_ensure


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)


@require_GET
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # The static URL is looked up per request: in production it comes from the manifest that
    # collectstatic writes, which does not exist yet when URLs are imported.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Sign up, then log in.

    A free and a taken username get the same answer (a redirect to the login page), so the
    form does not reveal who has an account; each client has a few sign-ups an hour.
    """
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client = request.META.get("REMOTE_ADDR") or "unknown"
        if not signup_allowance_take(client=client, limit=settings.SIGNUP_LIMIT_PER_HOUR):
            return render(request, "registration/signup_limited.html", status=429)
        user = account_sign_up(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )
        if user is not None:
            profile_ensure(user=user, time_zone=form.cleaned_data.get("time_zone", ""))
        messages.success(
            request,
            "If that username was free, your account is ready: log in with it. "
            "If you cannot, the name was taken: sign up with another.",
        )
        return redirect("login")
    return render(request, "registration/signup.html", {"form": form})


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without a RequestContext: whatever broke may be in a context processor.
    return render(request, "500.html", status=500, using=None)
