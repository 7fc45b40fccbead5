"""Accessibility in a real browser: axe-core checks every kind of page in the light and dark theme.

axe is test tooling vendored under tests/e2e/vendor/axe-core (see its README); the app never serves
it. The site's CSP (`script-src 'self'`) rightly blocks an injected script, so these tests
use a browser context that bypasses CSP (as do the screenshot tests).
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from learn.services.content import content_load
from tests.e2e.axe import AXE, AXE_RUN, FAILING_IMPACTS, WCAG_TAGS
from tests.factories import PASSWORD, InstructorFactory
from tests.sandbox.factories import FinishedInvocationFactory, FunctionFactory


@pytest.fixture
def axe_page(browser: Browser, live_server: object) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, bypass_csp=True, color_scheme="light"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


class Audit:
    """Runs axe on each page visited, in the light theme and then, through the header's toggle, in
    the dark one; keeps what it finds."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.found: list[tuple[str, str, dict]] = []

    def visit(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")
        self.check(path)

    def check(self, label: str) -> None:
        page, html = self.page, self.page.locator("html")
        page.wait_for_load_state("networkidle")  # htmx fragments that load themselves
        page.evaluate("document.documentElement.dataset.theme = 'light'")
        page.add_script_tag(path=AXE)
        for theme in ("light", "dark"):
            if theme == "dark":
                page.get_by_role("button", name="Switch colour theme").click()
                expect(html).to_have_attribute("data-theme", "dark")
            for violation in page.evaluate(AXE_RUN, WCAG_TAGS):
                self.found.append((label, theme, violation))

    def report(self) -> str:
        return "\n".join(
            f"{label} [{theme}]: {v['impact']} {v['id']} ({v['help']}) x{v['count']}: "
            f"{', '.join(v['targets'])} -- {v['why']}"
            for label, theme, v in self.found
        )

    def assert_clean(self) -> None:
        print(self.report())  # moderate and minor findings too, for whoever reads -rA
        failing = [v for _, _, v in self.found if v["impact"] in FAILING_IMPACTS]
        assert not failing, "axe found serious or critical violations:\n" + self.report()


def test_pages_for_visitors_pass_axe(axe_page: Page, live_server) -> None:
    audit = Audit(axe_page, live_server.url)
    for path in ["/", "/accounts/login/", "/accounts/signup/", "/does-not-exist/"]:
        audit.visit(path)
    audit.assert_clean()


def test_pages_for_learners_and_instructors_pass_axe(
    axe_page: Page, live_server, transactional_db
) -> None:
    page, base = axe_page, live_server.url
    report = content_load()
    assert report.ok, report.summary_lines()
    # An instructor sees every learner page and the instructor's own.
    instructor = InstructorFactory()
    function = FunctionFactory(owner=instructor)
    invocation = FinishedInvocationFactory(function=function)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(instructor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))

    audit = Audit(page, base)
    for path in [
        "/lessons/",
        "/lessons/cold-starts/",
        "/search/?q=cold",
        "/quiz/",
        "/quiz/review/",
        "/quiz/challenges/",
        "/quiz/challenges/code-move-init-out/",
        "/sandbox/",
        "/sandbox/new/",
        f"/sandbox/{function.pk}/",
        f"/sandbox/{function.pk}/invocations/{invocation.pk}/",
        f"/sandbox/{function.pk}/concurrency/",
        f"/sandbox/{function.pk}/memory-tuning/",
        "/progress/",
        "/instructor/",
    ]:
        audit.visit(path)

    page.goto(f"{base}/quiz/")
    page.get_by_role("button", name="Start quiz").click()
    expect(page.locator("[data-answer-form]")).to_be_visible()
    audit.check("a quiz question")

    audit.assert_clean()
