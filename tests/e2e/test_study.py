"""A 15-minute study session in a real browser, as a new learner: sign up, set a goal, study
(read, answer), pause, close the tab, come back to the same step, finish, and find the session
in the progress page's streak and charts."""

import re
import time

from playwright.sync_api import Page, expect

from learn.study.models import StudySession
from tests.practice.factories import LessonFactory, ModuleFactory, single_question


def make_course() -> None:
    module = ModuleFactory(title="Foundations")
    first = LessonFactory(
        module=module,
        slug="what-is-lambda",
        title="What is Lambda",
        order=1,
        estimated_minutes=5,
        body_markdown="## Functions\n\nA function runs when an event arrives.\n",
    )
    LessonFactory(module=module, slug="cold-starts", title="Cold starts", order=2)
    for _ in range(3):
        single_question(question__lesson=first)


def test_a_fifteen_minute_session_left_and_resumed(page: Page, live_server) -> None:
    make_course()
    url = live_server.url
    page.goto(f"{url}/accounts/signup/")
    page.get_by_label("Username").fill("grace")
    page.locator("#id_password1").fill("a-long-enough-passphrase-1")
    page.locator("#id_password2").fill("a-long-enough-passphrase-1")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("log in with it")).to_be_visible()
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill("a-long-enough-passphrase-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="grace")).to_be_visible()

    # The browser's time zone was guessed at sign-up; a one-minute goal makes today count.
    page.goto(f"{url}/accounts/settings/")
    expect(page.get_by_label("Time zone")).to_have_value("UTC")  # headless Chromium's zone
    page.get_by_label("Time zone").select_option("Europe/Lisbon")
    page.get_by_label("Goal per day").fill("1")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()

    page.get_by_role("link", name="Study", exact=True).click()
    expect(page.get_by_label("15 minutes")).to_be_checked()
    page.get_by_role("button", name="Start studying").click()
    expect(page.get_by_role("heading", name="15-minute study session")).to_be_visible()
    expect(page.get_by_test_id("step-1")).to_contain_text("What is Lambda")
    expect(page.get_by_test_id("step-2")).to_contain_text("3 on What is Lambda")

    # Read the lesson; the bar at the top leads back to the plan.
    page.get_by_role("button", name="Read the lesson").click()
    expect(page.get_by_role("heading", name="What is Lambda", level=1)).to_be_visible()
    page.get_by_role("link", name="Study session in progress: back to your plan").click()
    page.get_by_role("button", name="Finished the lesson: next step").click()  # htmx
    expect(page.get_by_test_id("current-step")).to_contain_text("New questions")
    expect(page.get_by_test_id("step-1")).to_contain_text("Done")

    # Pause and resume the timer (htmx swaps it in place).
    page.get_by_role("button", name="Pause timer").click()
    expect(page.get_by_test_id("paused")).to_be_visible()
    page.get_by_role("button", name="Resume timer").click()
    expect(page.get_by_role("button", name="Pause timer")).to_be_visible()

    # Study a little over a minute with the page visible: heartbeats count it.
    time.sleep(62)
    expect(page.get_by_test_id("study-clock")).to_have_text(re.compile(r"^1:\d\d$"))
    session = StudySession.objects.get(user__username="grace")

    # Close the tab, then come back in a new one: same session, same step.
    context = page.context
    page.close()
    back = context.new_page()
    back.goto(f"{url}/study/")
    expect(back).to_have_url(f"{url}/study/{session.pk}/")
    expect(back.get_by_test_id("current-step")).to_contain_text("New questions")
    session.refresh_from_db()
    assert session.active_seconds >= 60

    # Answer one question, come back, and finish the session.
    back.get_by_test_id("current-step").get_by_role("button", name="Start").click()
    expect(back.locator("[data-answer-form]")).to_be_visible()
    back.keyboard.press("1")
    back.keyboard.press("Enter")
    expect(back.locator("[data-feedback]")).to_be_visible()
    back.get_by_role("link", name="Study session in progress: back to your plan").click()
    back.get_by_role("button", name="Done: next step").click()
    expect(back.get_by_test_id("summary")).to_be_visible()
    expect(back.get_by_test_id("summary-time")).to_have_text(re.compile(r"^[12] min$"))
    expect(back.get_by_test_id("summary-lessons")).to_have_text("1")
    expect(back.get_by_text("Session complete. Well done.")).to_be_visible()

    # The progress page shows it: today's goal met, a one-day streak, today lit in the heatmap.
    back.get_by_role("link", name="See your progress").click()
    expect(back.get_by_test_id("streak")).to_have_text("1")
    today = back.locator("[data-testid=chart-heatmap] rect").last
    expect(today).to_have_attribute("class", re.compile(r"heat-[1-4]"))
    expect(back.get_by_test_id("chart-time").locator("rect.bar")).not_to_have_count(0)
    expect(back.get_by_test_id("chart-accuracy").locator("circle")).to_have_count(1)
