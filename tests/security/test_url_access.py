"""Every URL pattern, tried as an anonymous visitor, as its owner and as another learner.

The routes are read from the URL configuration, so a new view is covered the day it is added:
its parameters must be named below (an unknown one fails the run, saying where to add it), and
a route open to anonymous visitors must be listed in PUBLIC. What is checked:

- anonymous visitors reach only the public pages; everything else sends them to log in or
  refuses (401/403/404/405);
- another learner gets 403/404/405 from every URL that names the owner's object, GET or POST,
  and a POST of theirs changes no row anywhere;
- the owner's own object URLs answer (so the refusals above are about who asks, not a bad URL);
- a POST without a CSRF token is refused with 403 on every route but CSRF_EXEMPT ones;
- learners get 403 from instructor pages; no request here is answered with a server error.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from learn.practice.models import Attempt, AttemptKind, Submission
from learn.practice.services.attempts import answer_submit, quiz_start
from learn.practice.services.grading import Response
from learn.study.services.sessions import session_start
from sandbox.api.services import access_key_create
from tests.practice.factories import code_question, single_question
from tests.sandbox.factories import FinishedInvocationFactory, FunctionFactory

pytestmark = pytest.mark.django_db

# Route names (namespace:name) anonymous visitors may use, and the unnamed paths among them.
PUBLIC = {
    "home",
    "lessons",
    "lesson_detail",
    "search",
    "healthz",
    "signup",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
PUBLIC_PATHS = {"/favicon.ico"}
# Routes that take no session cookie and need no CSRF token (each with the reason).
CSRF_EXEMPT: dict[str, str] = {}
# The Lambda API and the lab's AWS endpoint answer SigV4-signed requests only: a session
# cookie (the owner's or anyone's) gets 403, so they are checked as anonymous is, not as owner.
SIGNED_ONLY_NAMESPACES = ("sandbox_api:", "sandbox_aws:")
SIGNED_ONLY_EXCEPT = {"sandbox_api:access_keys", "sandbox_api:access_key_revoke"}
# Parameters that name one learner's object, by the route's first path segment where one
# name means different things: the value is that object of the owner's.
OWNED_PARAMS = {"pk", "invocation_pk", "attempt_id", "answer_id", "submission_id", "session_id"}
# Parameters that name shared content, or values a visitor brings (tokens, invitation codes).
SHARED_PARAMS = {
    "slug",
    "name",
    "alias_name",
    "code",
    "token",
    "uidb64",
    "sid",  # a resource policy statement's id, inside the function's own URL
    "url_id",  # a function URL's id: public by design, answered by its auth type
    "path",  # the path a function URL is called with
    "mapping_uuid",  # an event source mapping's id (API only: signed requests)
    "rest",  # the path of a request to the lab's AWS services (signed requests only)
}
# Instructor pages: refused to learners and anonymous visitors before any lookup, so their
# parameters need no real object (tests/cohorts cover what instructors may see).
INSTRUCTOR_PREFIX = "instructor/"
# Where the admin lives: Django's own views, staff only, checked by its own suite.
SKIPPED_NAMESPACES = {"admin"}
# Tables that record the request itself rather than anybody's data.
SCRATCH_TABLES = {"django_session", "axes_accessattempt", "axes_accesslog"}
REFUSED = {401, 403, 404, 405}
# The API answers a method it has no operation for with Lambda's 400 before looking at the
# signature: still a refusal, and no row changes (checked).
API_REFUSED = REFUSED | {400}


@dataclass(frozen=True)
class Route:
    name: str  # namespace:name, or the route text when unnamed
    route: str  # "sandbox/<int:pk>/invoke/"
    params: tuple[str, ...]

    @property
    def instructor_only(self) -> bool:
        return self.route.startswith(INSTRUCTOR_PREFIX)

    @property
    def signed_only(self) -> bool:
        return self.name.startswith(SIGNED_ONLY_NAMESPACES) and self.name not in SIGNED_ONLY_EXCEPT

    @property
    def owned(self) -> bool:
        if self.instructor_only or self.signed_only:
            return False
        return any(param in OWNED_PARAMS for param in self.params)


def _walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[Route]:
    for entry in patterns:
        text = str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + text, inner)
        elif isinstance(entry, URLPattern):
            route = prefix + text
            params = tuple(re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route))
            params = tuple(a or b for a, b in params)  # type: ignore[misc]
            name = f"{namespace}{entry.name}" if entry.name else "/" + route
            yield Route(name=name, route=route, params=params)


ROUTES = sorted(set(_walk(get_resolver().url_patterns, "", "")), key=lambda r: r.route)


@dataclass
class World:
    owner: User
    other: User
    values: dict[str, str]


@pytest.fixture
def world() -> World:
    # No passwords: these clients log in with force_login, and hashing costs seconds here.
    owner = User.objects.create_user("route-owner", password=None)
    other = User.objects.create_user("route-other", password=None)
    function = FunctionFactory(owner=owner)
    invocation = FinishedInvocationFactory(function=function)
    question = single_question()
    attempt = quiz_start(user=owner, lesson=question.question.lesson)
    item = attempt.items.get()
    correct = [c.pk for c in question.choices.all() if c.correct]
    answer, _ = answer_submit(
        attempt=attempt, item_id=item.pk, response=Response(choice_ids=correct)
    )
    challenge = code_question()
    submission = Submission.objects.create(
        user=owner, version=challenge, code="def handler(e, c):\n    return 1\n", tests_total=1
    )
    study = session_start(user=owner, minutes=15)
    review = Attempt.objects.create(user=owner, kind=AttemptKind.REVIEW, started_at=timezone.now())
    key, _secret = access_key_create(owner=owner)
    return World(
        owner=owner,
        other=other,
        values={
            "pk": str(function.pk),
            "accounts:pk": str(key.pk),
            "name": function.name,
            "invocation_pk": str(invocation.pk),
            "attempt_id": str(attempt.pk),
            "answer_id": str(answer.pk),
            "submission_id": str(submission.pk),
            "session_id": str(study.pk),
            "lesson_slug": question.question.lesson.slug,
            "challenge_slug": challenge.question.slug,
            "question_slug": question.question.slug,
            "alias_name": "live",
            "sid": "no-such-statement",
            "url_id": "0" * 32,
            "path": "/",
            "mapping_uuid": "00000000-0000-0000-0000-000000000000",
            "rest": "/",
            # A review session's summary exists for review sessions only.
            "practice_review_summary:attempt_id": str(review.pk),
            "code": "no-such-code",
            "token": "no-such-token",
            "uidb64": "MQ",
        },
    )


def url_for(route: Route, world: World) -> str:
    def value(param: str) -> str:
        if route.instructor_only:
            return "999999"
        if param == "slug":
            kind = next((k for k in ("challenge", "question") if k in route.name), "lesson")
            return world.values[f"{kind}_slug"]
        if param not in OWNED_PARAMS | SHARED_PARAMS:
            pytest.fail(
                f"{route.route}: add <{param}> to OWNED_PARAMS or SHARED_PARAMS in "
                f"{__name__} and give it a value in the world fixture"
            )
        segment = route.route.strip("^").split("/", 1)[0]
        for key in (f"{route.name}:{param}", f"{segment}:{param}"):
            if key in world.values:
                return world.values[key]
        return world.values[param]

    # A regular-expression route: its named groups get values, the rest is literal.
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value(m.group(1)), route.route)
    text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m.group(1)), text)
    text = text.removeprefix("^").removesuffix("$").replace("/?", "/")
    return "/" + text


def is_public(route: Route) -> bool:
    return route.name in PUBLIC or route.name in PUBLIC_PATHS


def database_rows() -> dict[str, list[dict[str, Any]]]:
    rows = {}
    for model in apps.get_models():
        if model._meta.db_table in SCRATCH_TABLES:
            continue
        rows[model._meta.label] = list(model.objects.order_by("pk").values())
    return rows


def no_server_error(response: Any, route: Route) -> None:
    allowed = {503} if route.name == "healthz" else set()  # no worker answers in these tests
    assert response.status_code < 500 or response.status_code in allowed, (
        route.route,
        response.status_code,
    )


def test_every_route_is_seen() -> None:
    names = {route.name for route in ROUTES}
    assert {"lesson_detail", "sandbox:invoke", "practice_answer", "healthz"} <= names
    unknown = [
        r.route
        for r in ROUTES
        if not r.instructor_only and set(r.params) - OWNED_PARAMS - SHARED_PARAMS
    ]
    assert not unknown, "give these parameters a meaning above: " + ", ".join(unknown)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route)
def test_anonymous_reaches_only_public_pages(route: Route, world: World) -> None:
    client = Client()
    url = url_for(route, world)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        no_server_error(response, route)
        if is_public(route):
            continue
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), (method, url)
        else:
            refused = API_REFUSED if route.signed_only else REFUSED
            assert response.status_code in refused, (method, url, response.status_code)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.owned], ids=lambda r: r.route)
def test_another_learner_can_neither_see_nor_change_the_owners_objects(
    route: Route, world: World
) -> None:
    url = url_for(route, world)
    owner = Client()
    owner.force_login(world.owner)
    answered = owner.get(url)
    no_server_error(answered, route)
    assert answered.status_code not in {403, 404}, (url, "the owner is refused their own object")

    other = Client()
    other.force_login(world.other)
    seen = other.get(url)
    assert seen.status_code in REFUSED, (url, seen.status_code)
    before = database_rows()
    changed = other.post(url, {"code": "x", "event": "{}", "name": "stolen", "text": "x"})
    assert changed.status_code in REFUSED, (url, changed.status_code)
    assert database_rows() == before, url


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.name not in CSRF_EXEMPT], ids=lambda r: r.route
)
def test_a_post_without_csrf_token_is_refused(route: Route, world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    client.get("/")  # the CSRF cookie is set, but the token is not sent back
    before = database_rows()
    response = client.post(url_for(route, world), {"name": "forged", "text": "forged"})
    wanted = API_REFUSED if route.signed_only else {403}
    assert response.status_code in wanted, (route.route, response.status_code)
    assert database_rows() == before


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route)
def test_learners_get_no_instructor_page_and_no_server_error(route: Route, world: World) -> None:
    client = Client()
    client.force_login(world.other)
    url = url_for(route, world)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        no_server_error(response, route)
        if url.startswith("/instructor/"):
            assert response.status_code in {403, 405}, (method, url, response.status_code)
