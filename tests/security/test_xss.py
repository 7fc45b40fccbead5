"""Stored and reflected XSS through every field a learner controls.

One probe goes into each: function descriptions, code, test events, invocation events, logs,
results and errors, study notes, short answers, code submissions, the search box and the URL.
Each page that shows one of them must show it (escaped, so the check below is not vacuous), and
no page anywhere (every GET route, as the owner and as an instructor) may carry the probe's
markup unescaped.
"""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from learn.models import Note
from learn.practice.models import Submission
from learn.practice.services.attempts import answer_submit, attempt_finish, quiz_start
from learn.practice.services.grading import Response
from sandbox.models import Function, Invocation, TestEvent
from tests.cohorts.factories import CohortFactory, member
from tests.practice.factories import code_question, short_question
from tests.sandbox.factories import FinishedInvocationFactory, FunctionFactory
from tests.security.test_url_access import ROUTES, World, url_for

pytestmark = pytest.mark.django_db

PROBE = "\"'><xss-probe></textarea><script>alert('xss-probe')</script><img src=x onerror=alert(1)>"
# Markup of the probe that may never reach a page as it is.
RAW = ("<xss-probe", "<script>alert", "<img src=x", "</textarea><script")


def assert_escaped(html: str, where: str, *, shown: bool = True) -> None:
    for raw in RAW:
        assert raw not in html, f"{where}: unescaped {raw!r}"
    if shown:
        assert "xss-probe" in html, f"{where}: the probe is not shown, so this checks nothing"


@pytest.fixture
def probed(instructor: User) -> dict[str, object]:
    """A learner whose every free-text field holds the probe, in a cohort of instructor's."""
    owner = User.objects.create_user("xss-owner", password=None)
    member(CohortFactory(owner=instructor), owner)
    function = FunctionFactory(
        owner=owner, description=PROBE, code=f"# {PROBE}\ndef lambda_handler(e, c):\n    return 1\n"
    )
    TestEvent.objects.create(function=function, name="probe", body=json.dumps({"p": PROBE}))
    event = json.dumps({"probe": PROBE})
    succeeded = FinishedInvocationFactory(
        function=function,
        event=event,
        payload={"probe": PROBE},
        log=f"START RequestId: 1 Version: $LATEST\n{PROBE}\nEND RequestId: 1\n",
    )
    failed = FinishedInvocationFactory(
        function=function,
        event=event,
        status=Invocation.Status.ERROR,
        payload=None,
        error={"errorMessage": PROBE, "errorType": "Exception", "stackTrace": [PROBE]},
        log=PROBE,
    )
    short = short_question()
    lesson = short.question.lesson
    lesson.published = True
    lesson.save()
    Note.objects.create(user=owner, lesson=lesson, text=PROBE)
    attempt = quiz_start(user=owner, lesson=lesson)
    answer_submit(attempt=attempt, item_id=attempt.items.get().pk, response=Response(text=PROBE))
    attempt_finish(attempt=attempt)
    challenge = code_question()
    submission = Submission.objects.create(user=owner, version=challenge, code=PROBE, tests_total=1)
    return {
        "owner": owner,
        "function": function,
        "invocations": [succeeded, failed],
        "lesson": lesson,
        "attempt": attempt,
        "submission": submission,
        "challenge": challenge,
    }


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_page_of_the_learners_own_text_shows_it_escaped(probed, instructor) -> None:
    owner = probed["owner"]
    function = probed["function"]
    client = as_user(owner)
    pages = [
        "/sandbox/",
        f"/sandbox/{function.pk}/",
        "/progress/",
        f"/lessons/{probed['lesson'].slug}/",
        f"/quiz/attempts/{probed['attempt'].pk}/results/",
        f"/quiz/challenges/{probed['challenge'].question.slug}/",
        *(invocation.get_absolute_url() for invocation in probed["invocations"]),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert_escaped(response.content.decode(), page)
    # These list no free text, but are checked all the same.
    for page in (
        f"/sandbox/{function.pk}/invocations/",
        f"/quiz/submissions/{probed['submission'].pk}/",
    ):
        assert_escaped(client.get(page).content.decode(), page, shown=False)
    # What instructors see of the learner.
    cohort = owner.cohort_memberships.get().cohort
    staff = as_user(instructor)
    for page in ("/instructor/sandbox/", f"/instructor/cohorts/{cohort.pk}/learners/{owner.pk}/"):
        response = staff.get(page)
        assert response.status_code == 200, page
        assert_escaped(response.content.decode(), page, shown=False)


def test_reflected_input_is_escaped(probed) -> None:
    client = as_user(probed["owner"])
    response = client.get("/search/", {"q": PROBE})
    assert response.status_code == 200
    assert_escaped(response.content.decode(), "search")
    for path in (f"/lessons/{PROBE}/", f"/no-such-page/{PROBE}", f"/sandbox/?next={PROBE}"):
        response = client.get(path)
        assert_escaped(response.content.decode(), path, shown=False)
    anonymous = Client().get("/accounts/login/", {"next": PROBE})
    assert_escaped(anonymous.content.decode(), "login next", shown=False)


def test_a_function_named_with_markup_is_refused(probed) -> None:
    client = as_user(probed["owner"])
    response = client.post("/sandbox/new/", {"name": PROBE, "blueprint": "blank"})
    assert response.status_code in (200, 422)
    assert not Function.objects.filter(name=PROBE).exists()
    assert_escaped(response.content.decode(), "new function form")


def test_no_page_anywhere_carries_the_probe_unescaped(probed, instructor) -> None:
    function = probed["function"]
    invocation = probed["invocations"][0]
    world = World(
        owner=probed["owner"],
        other=instructor,
        values={
            "pk": str(function.pk),
            "name": function.name,
            "invocation_pk": str(invocation.pk),
            "attempt_id": str(probed["attempt"].pk),
            "answer_id": str(probed["attempt"].items.get().answer.pk),
            "submission_id": str(probed["submission"].pk),
            "session_id": "999999",
            "lesson_slug": probed["lesson"].slug,
            "challenge_slug": probed["challenge"].question.slug,
            "question_slug": probed["lesson"].questions.first().slug,
            "alias_name": "live",
            "code": "no-such-code",
            "token": "no-such-token",
            "uidb64": "MQ",
            "accounts:pk": "999999",
        },
    )
    owner, staff = as_user(world.owner), as_user(instructor)
    seen = 0
    for route in ROUTES:
        if route.signed_only or "/export" in route.route:
            continue  # no HTML: signed API answers and file downloads
        try:
            url = url_for(route, world)
        except (KeyError, pytest.fail.Exception):
            continue  # a parameter not given a value here; test_url_access insists on them
        for client in (owner, staff):
            response = client.get(url)
            if response.get("Content-Type", "").startswith("text/html"):
                assert_escaped(response.content.decode(), url, shown=False)
                seen += "xss-probe" in response.content.decode()
    assert seen >= 8  # the sweep reached the pages that show the learner's text
