"""Lessons in a real browser: shortcuts, htmx progress, search, phones, the admin preview."""

import re

import pytest
from playwright.sync_api import Page, expect

from learn.services.content import content_load
from tests.factories import PASSWORD, InstructorFactory, UserFactory


@pytest.fixture
def course(transactional_db: None) -> None:
    report = content_load()
    assert report.ok, report.summary_lines()


@pytest.fixture
def csp_errors(page: Page) -> list[str]:
    """Console errors (a CSP violation is reported there): the tests expect none."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    page.wait_for_url(re.compile(r"/$"))


def test_read_a_lesson_with_the_keyboard_and_mark_it_complete(
    page: Page, live_server, course, csp_errors: list[str]
) -> None:
    learner = UserFactory()
    log_in(page, live_server.url, learner.username)

    page.goto(f"{live_server.url}/lessons/")
    page.get_by_role("link", name="Cold starts and how to reduce them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cold starts and how to reduce them")
    expect(page.get_by_role("navigation", name="Table of contents")).to_be_visible()
    expect(page.locator("svg[role=img]").first).to_be_visible()
    expect(page.get_by_role("button", name="Open in the sandbox")).to_be_visible()
    expect(page.locator("a[data-try-it]")).to_have_attribute(
        "href", "/sandbox/new/?lesson=cold-starts"
    )

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    lesson_url = page.url
    page.keyboard.press("j")
    page.wait_for_url(lambda url: url != lesson_url)
    page.keyboard.press("k")
    page.wait_for_url(lesson_url)

    # htmx: the control swaps in place, no page load.
    page.evaluate("window.__same_page = true")
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_text("✓ Completed")).to_be_visible()
    assert page.evaluate("window.__same_page") is True

    page.goto(f"{live_server.url}/lessons/")
    item = page.locator(".lesson-item", has_text="Cold starts and how to reduce them")
    expect(item.get_by_label("Completed")).to_be_visible()
    page.goto(f"{live_server.url}/")
    # Cold starts is finished; the lesson opened with "j" is the one still in progress.
    continue_card = page.locator("section", has_text="Continue where you left off")
    expect(continue_card.get_by_role("link")).not_to_have_attribute("href", "/lessons/cold-starts/")
    assert not [e for e in csp_errors if "Content Security Policy" in e], csp_errors


def test_typing_in_search_shows_highlighted_results(page: Page, live_server, course) -> None:
    page.goto(f"{live_server.url}/search/")
    page.get_by_label("Search lessons and questions").fill("snapstart")
    results = page.locator("#search-results")
    expect(results.get_by_role("heading", name="Lessons")).to_be_visible()
    expect(results.locator("mark").first).to_have_text(re.compile("snapstart", re.I))
    expect(results.get_by_role("heading", name="Questions")).to_be_visible()
    assert "q=snapstart" in page.url  # hx-push-url: the results have a shareable address


def test_lesson_fits_a_phone_screen(page: Page, live_server, course) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/lessons/pricing/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


def test_instructor_sees_a_live_preview_in_the_admin(
    page: Page, live_server, course, csp_errors: list[str]
) -> None:
    instructor = InstructorFactory()
    log_in(page, live_server.url, instructor.username)
    page.goto(f"{live_server.url}/instructor/")
    page.get_by_role("link", name="Edit lessons in the admin").click()
    page.get_by_role("link", name="Cold starts and how to reduce them").click()

    preview = page.locator("#lesson-preview")
    expect(preview.get_by_role("heading", name="What a cold start is")).to_be_visible()
    body = page.locator("textarea[name=body_markdown]")
    body.fill("## Fresh heading\n\n<script>window.__pwned = 1</script>\n\n**Bold** text")
    expect(preview.get_by_role("heading", name="Fresh heading")).to_be_visible()
    expect(preview.locator("strong")).to_have_text("Bold")
    assert page.evaluate("window.__pwned") is None
    assert preview.locator("script").count() == 0
    assert not [e for e in csp_errors if "Content Security Policy" in e], csp_errors


def test_try_it_opens_the_lesson_function_in_the_sandbox(page: Page, live_server, course) -> None:
    learner = UserFactory()
    log_in(page, live_server.url, learner.username)
    page.goto(f"{live_server.url}/lessons/cold-starts/")
    page.get_by_role("button", name="Open in the sandbox").click()
    page.wait_for_url(re.compile(r"/sandbox/\d+/$"))
    expect(page.get_by_text("cold-starts-try-it").first).to_be_visible()


def test_a_refused_note_shows_its_error_in_place(page: Page, live_server, course) -> None:
    learner = UserFactory()
    log_in(page, live_server.url, learner.username)
    page.goto(f"{live_server.url}/lessons/cold-starts/")
    note = page.get_by_label("Your notes")
    note.fill("Init is billed now")
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_role("status").filter(has_text="Note saved.")).to_be_visible()

    # The server answers 422 with the form and its error; htmx must swap it in, not drop it.
    note.evaluate("el => el.removeAttribute('maxlength')")
    note.fill("x" * 10_001)
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_role("alert")).to_contain_text("limited to 10,000 characters")
    expect(page.get_by_text("Note saved.")).to_have_count(0)


def test_secondary_buttons_look_secondary(page: Page, live_server, course) -> None:
    learner = UserFactory()
    log_in(page, live_server.url, learner.username)
    page.goto(f"{live_server.url}/lessons/cold-starts/")
    background = page.get_by_role("button", name="Save note").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert background == "rgba(0, 0, 0, 0)"
