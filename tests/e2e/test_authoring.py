"""Instructor authoring in a real browser: the lesson editor's side-by-side preview, and
ordering the course by drag, by keyboard and by number."""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from learn.cohorts.course_order import course_outline
from tests.e2e.test_lessons import log_in
from tests.factories import InstructorFactory
from tests.learn.factories import LessonFactory, ModuleFactory


@pytest.fixture
def small_course(transactional_db: None) -> None:
    for m in (1, 2):
        module = ModuleFactory(slug=f"m{m}", title=f"Module {m}", order=m)
        for n in (1, 2, 3):
            LessonFactory(module=module, slug=f"m{m}-l{n}", title=f"Lesson {m}.{n}", order=n)


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def lesson_slugs(module: int) -> list[str]:
    return [lesson.slug for lesson in course_outline()[module].lessons]


def eventually(check, timeout: float = 10.0) -> None:
    """Until check() is true: the page saves in the background (htmx)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the change was not saved")
        time.sleep(0.1)


def test_the_lesson_editor_previews_as_the_lesson_page_looks(
    page: Page, live_server, small_course, console_errors: list[str]
) -> None:
    log_in(page, live_server.url, InstructorFactory().username)
    page.goto(f"{live_server.url}/instructor/")
    page.get_by_role("row", name=re.compile("Lesson 1.2")).get_by_role("link", name="Edit").click()
    preview = page.locator("#lesson-preview")
    form = page.locator("#lesson-form")
    # Side by side: the preview's left edge is right of the form's.
    form_box, preview_box = form.bounding_box(), preview.bounding_box()
    assert form_box and preview_box and preview_box["x"] > form_box["x"] + form_box["width"] - 5

    page.get_by_label("Title:", exact=True).fill("A retitled lesson")
    page.get_by_label("Objectives:", exact=True).fill("Measure a cold start.")
    page.locator("textarea[name=body_markdown]").fill(
        "## Fresh heading\n\n<script>window.__pwned = 1</script>\n\n- one\n- two"
    )
    expect(preview.get_by_role("heading", name="A retitled lesson")).to_be_visible()
    expect(preview.get_by_role("heading", name="Fresh heading")).to_be_visible()
    expect(preview.get_by_text("Measure a cold start.")).to_be_visible()
    assert page.evaluate("window.__pwned") is None
    # The site's own lesson styles, not the admin's (whose h2 is a coloured bar).
    heading = preview.get_by_role("heading", name="Fresh heading")
    assert heading.evaluate("h => getComputedStyle(h).backgroundColor") in (
        "rgba(0, 0, 0, 0)",
        "transparent",
    )
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Lesson saved.")).to_be_visible()


def test_order_the_course_by_drag_keyboard_and_number(
    page: Page, live_server, small_course, console_errors: list[str]
) -> None:
    log_in(page, live_server.url, InstructorFactory().username)
    page.goto(f"{live_server.url}/instructor/lessons/order/")
    lessons = page.get_by_role("list", name="Lessons of Module 1")
    handles = lessons.locator("[data-reorder-handle]")

    # Drag the third lesson above the first.
    handles.nth(2).drag_to(handles.nth(0), target_position={"x": 5, "y": 2})
    eventually(lambda: lesson_slugs(0) == ["m1-l3", "m1-l1", "m1-l2"])
    expect(lessons.get_by_role("spinbutton").first).to_have_value("1")

    # From the keyboard: the move button keeps the focus, so it can be pressed again.
    down = page.get_by_role("button", name="Move lesson Lesson 1.3 down")
    down.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    eventually(lambda: lesson_slugs(0) == ["m1-l1", "m1-l2", "m1-l3"])
    expect(down).to_be_focused()
    expect(page.locator("[data-reorder-status]")).to_have_text(
        "Lesson 1.3 moved to position 3 of 3."
    )

    # Numbers still work: type 1 for the second module.
    number = page.get_by_label("Position of module Module 2")
    number.fill("1")
    number.press("Enter")
    eventually(lambda: [e.module.slug for e in course_outline()] == ["m2", "m1"])
    assert lesson_slugs(1) == ["m1-l1", "m1-l2", "m1-l3"]  # its lessons went with it
    assert not console_errors, console_errors
