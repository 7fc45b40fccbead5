"""The learner's main pages at desktop and phone widths, in the light and dark theme: a
screenshot of each (for people to look at) and an axe-core audit of each (for the test).

Screenshots go to $E2E_SCREENSHOTS_DIR, else build/screenshots/ (git ignores build/). Every
page is checked for serious or critical axe violations and, on a phone, for a page wider
than the screen (content pushed off it).
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser

from learn.practice.models import (
    Question,
    ReviewCard,
    Submission,
    SubmissionStatus,
    TestResult,
)
from learn.practice.services import attempts
from learn.practice.services.grading import Response
from learn.services.content import content_load
from sandbox.models import Experiment, Invocation
from tests.e2e.axe import FAILING_IMPACTS, axe_violations, describe
from tests.factories import UserFactory
from tests.sandbox.factories import ExperimentFactory, FinishedInvocationFactory, FunctionFactory

pytestmark = [pytest.mark.e2e]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
THEMES = ("light", "dark")
OUT = Path(os.environ.get("E2E_SCREENSHOTS_DIR", Path(settings.BASE_DIR) / "build/screenshots"))

# What sticks out past the right edge of the screen, when the page is wider than it.
WIDER_THAN_SCREEN = """() => {
    if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
    const wide = [];
    for (const el of document.body.querySelectorAll("*")) {
        const box = el.getBoundingClientRect();
        if (box.right > window.innerWidth + 1 && box.width > 0) {
            wide.push(el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
        }
    }
    return wide.slice(0, 5);
}"""

REPORT = (
    "REPORT RequestId: {id}\tDuration: {d:.2f} ms\tBilled Duration: {b} ms\t"
    "Memory Size: {m} MB\tMax Memory Used: 41 MB{init}"
)


def _run(function, experiment=None, *, n, cold, memory=128, duration=1.2, init=None, **extra):
    request = f"0000000{n}-aaaa-bbbb-cccc-{n:012d}"
    billed = int(duration + (init or 0)) + 1
    tail = f"\tInit Duration: {init:.2f} ms" if init else ""
    log = (
        f"START RequestId: {request} Version: $LATEST\nprocessing order 42\n"
        f"END RequestId: {request}\n"
        + REPORT.format(id=request, d=duration, b=billed, m=memory, init=tail)
    )
    return FinishedInvocationFactory(
        function=function,
        experiment=experiment,
        request_id=request,
        cold_start=cold,
        init_duration_ms=init,
        memory_size_mb=memory,
        duration_ms=duration,
        billed_duration_ms=billed,
        billed_duration_with_init_ms=billed,
        log=log,
        **extra,
    )


def _sandbox_pages(learner) -> dict[str, str]:
    function = FunctionFactory(owner=learner, name="orders-api")
    invocation = _run(function, n=1, cold=True, init=142.7, environment_id="env-a")
    burst = ExperimentFactory(function=function, kind=Experiment.Kind.BURST, size=3)
    t0 = 1_700_000_100.0
    for n, env in enumerate(("env-a", "env-b", "env-c"), start=2):
        _run(
            function,
            burst,
            n=n,
            cold=env != "env-a",
            init=None if env == "env-a" else 150.0 + n,
            environment_id=env,
            init_started_at=None if env == "env-a" else t0,
            init_ended_at=None if env == "env-a" else t0 + 0.15,
            invoke_started_at=t0 + (0 if env == "env-a" else 0.15),
            invoke_ended_at=t0 + (0.0012 if env == "env-a" else 0.1512),
        )
    tuning = ExperimentFactory(
        function=function,
        kind=Experiment.Kind.TUNING,
        memory_sizes=[128, 512, 1024, 1769],
        runs_per_size=2,
        size=16,
    )
    n = 10
    for size, init in ((128, 1650.0), (512, 420.0), (1024, 230.0), (1769, 131.0)):
        for repeat in range(2):
            for cold in (True, False):
                n += 1
                _run(
                    function,
                    tuning,
                    n=n,
                    cold=cold,
                    memory=size,
                    init=init + 20 * repeat if cold else None,
                    duration=(30 * 128 / size if cold else 0.2 + repeat / 50),
                )
    return {
        "function": function.get_absolute_url(),
        "invocation": invocation.get_absolute_url(),
        "concurrency-lab": f"/sandbox/{function.pk}/concurrency/?experiment={burst.pk}",
        "memory-tuning": f"/sandbox/{function.pk}/memory-tuning/?experiment={tuning.pk}",
    }


def _practice_pages(learner) -> dict[str, str]:
    challenge = Question.objects.get(slug="code-parse-report")
    version = challenge.current_version
    submission = Submission.objects.create(
        user=learner,
        version=version,
        code=version.starter_code,
        status=SubmissionStatus.FAILED,
        tests_total=2,
        tests_passed=0,
        grade=0.0,
    )
    sample, hidden = version.tests.order_by("order")
    TestResult.objects.create(
        submission=submission,
        test=sample,
        order=0,
        passed=False,
        status="success",
        output={"duration_ms": 27.55},
        log="START RequestId: r1 Version: $LATEST\nEND RequestId: r1\n"
        "REPORT RequestId: r1\tDuration: 0.31 ms\tBilled Duration: 1 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 38 MB",
        billed_duration_ms=1,
        max_memory_used_mb=38,
        cold_start=True,
        problem="`billed_ms` is missing; `memory_mb` is missing",
    )
    TestResult.objects.create(
        submission=submission,
        test=hidden,
        order=1,
        passed=False,
        status="error",
        error={"errorType": "KeyError"},
        billed_duration_ms=1,
        max_memory_used_mb=38,
        problem="the handler failed with KeyError",
    )
    # A review of the challenge (it opens in the editor with the last code) and of a
    # true/false question, the latter answered and rated.
    true_false = Question.objects.filter(type="true_false").order_by("slug").first()
    assert true_false is not None
    for question in (challenge, true_false):
        ReviewCard.objects.create(user=learner, question=question, due="2026-01-01T00:00Z")
    review = attempts.review_start(user=learner)
    assert review is not None
    items = {item.version.question.type: item for item in review.items.all()}
    rated = items["true_false"]
    answer, _ = attempts.answer_submit(
        attempt=review, item_id=rated.pk, response=Response(bool_value=True)
    )
    attempts.review_rate(answer=answer, rating=3)
    return {
        "quiz": "/quiz/",
        "challenge-failure": f"/quiz/challenges/{challenge.slug}/",
        "review-challenge": f"/quiz/attempts/{review.pk}/?item={items['code'].position}",
        "review-rated": f"/quiz/attempts/{review.pk}/?item={rated.position}",
        "review-summary": f"/quiz/attempts/{review.pk}/summary/",
    }


def test_main_pages_at_two_widths_in_both_themes_pass_axe(
    browser: Browser, live_server, transactional_db
) -> None:
    report = content_load()
    assert report.ok, report.summary_lines()
    learner = UserFactory(username="grace")
    pages = {**_sandbox_pages(learner), **_practice_pages(learner)}
    client = Client()
    client.force_login(learner)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    OUT.mkdir(parents=True, exist_ok=True)

    found: list[tuple[str, dict]] = []
    overflow: list[str] = []
    errors: list[str] = []
    for size, viewport in SIZES.items():
        for theme in THEMES:
            context = browser.new_context(viewport=viewport, color_scheme=theme, bypass_csp=True)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            try:
                for name, path in pages.items():
                    label = f"{name} [{size}, {theme}]"
                    response = page.goto(f"{live_server.url}{path}")
                    assert response is not None and response.ok, (label, response)
                    assert not re.search(r"/accounts/login/", page.url), label
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=OUT / f"{name}-{size}-{theme}.png", full_page=True)
                    found += [(label, v) for v in axe_violations(page)]
                    if size == "phone":
                        wide = page.evaluate(WIDER_THAN_SCREEN)
                        if wide:
                            overflow.append(f"{label}: {wide}")
            finally:
                context.close()

    print(describe(found))  # moderate and minor findings too, for whoever reads -rA
    failing = [(label, v) for label, v in found if v["impact"] in FAILING_IMPACTS]
    assert not failing, "axe found serious or critical violations:\n" + describe(failing)
    assert not overflow, f"wider than a phone's screen: {overflow}"
    assert not errors, f"JavaScript errors on the pages: {errors}"
    assert len(list(OUT.glob("*.png"))) >= len(pages) * len(SIZES) * len(THEMES)
    assert Invocation.objects.filter(function__owner=learner).count() == 20
