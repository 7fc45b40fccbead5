"""Interview prep in a real browser: a keyboard quiz and a review, a paused and finished mock
interview, and a code challenge graded by a real Celery worker through the sandbox."""

import re
from urllib.parse import parse_qs

from playwright.sync_api import Page, expect

from learn.content_report import LoadReport
from learn.models import Lesson, Module
from learn.practice.loader import load_questions
from tests.factories import PASSWORD, UserFactory
from tests.practice.conftest import CONTENT, lesson_slugs


def load_bank() -> None:
    module = Module.objects.create(slug="course", title="Course", order=1)
    for n, slug in enumerate(lesson_slugs()):
        Lesson.objects.create(
            module=module, slug=slug, title=slug.replace("-", " ").title(), order=n
        )
    report = LoadReport()
    load_questions(root=CONTENT, report=report)
    assert report.ok, report.errors


def log_in(page: Page, url: str) -> None:
    user = UserFactory(username="ada")
    page.goto(f"{url}/accounts/login/?next=/quiz/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def answer_current(page: Page) -> None:
    item = page.locator("[data-practice-item]")
    if item.locator("input[name=choice], input[name=truth]").count():
        page.keyboard.press("1")
        page.keyboard.press("Enter")
    elif item.locator("input[name=number]").count():
        item.locator("input[name=number]").fill("1")
        item.locator("input[name=number]").press("Enter")
    else:
        item.locator("textarea").fill("It scales per request; concurrency = rate x duration.")
        item.get_by_role("button", name="Show the model answer").click()
    expect(page.locator("[data-feedback]")).to_be_visible()


def test_take_a_short_quiz_then_answer_a_review(page: Page, live_server) -> None:
    load_bank()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/quiz/?lesson=pricing")
    quiz_form = page.locator("form[action$='/quiz/start/']")
    expect(quiz_form.locator("input[name=lessons][value=pricing]")).to_be_checked()
    expect(quiz_form.locator("input[name=lessons]:checked")).to_have_count(1)
    page.get_by_label("Length").select_option("5")
    page.get_by_role("button", name="Start quiz").click()

    for _ in range(5):
        answer_current(page)
        if page.locator("[data-feedback] button[name=grade]").count():
            page.get_by_role("button", name="Got it").click()
            expect(page.get_by_text("you said: Got it")).to_be_visible()
        if page.get_by_role("button", name="See results").count():
            page.get_by_role("button", name="See results").click()
            break
        page.keyboard.press("Enter")
        expect(page.locator("[data-answer-form]")).to_be_visible()
    expect(page.get_by_role("heading", name="Quiz results")).to_be_visible()
    expect(page.get_by_test_id("score")).to_contain_text(re.compile(r"/5"))
    expect(page.get_by_role("link", name="Pricing").first).to_have_attribute(
        "href", "/lessons/pricing/"
    )

    # Cards answered wrongly are due again within minutes; make one due now for the review.
    from django.utils import timezone

    from learn.practice.models import ReviewCard

    ReviewCard.objects.filter(user__username="ada").update(due=timezone.now())
    page.goto(f"{live_server.url}/quiz/review/")
    page.get_by_role("button", name="Start reviewing").click()
    answer_current(page)
    page.keyboard.press("3")  # Good
    expect(page.locator("[data-next-due]")).to_contain_text("Next review")
    expect(page.locator("[data-next-due]")).to_contain_text("UTC")

    # Undo, as in Anki: the card asks for a rating again; this time Again.
    page.keyboard.press("u")
    expect(page.get_by_text("Rating undone: rate the card again.")).to_be_visible()
    expect(page.locator("form.ratings")).to_be_visible()
    page.keyboard.press("1")
    expect(page.locator("[data-next-due]")).to_contain_text("Rated Again")
    # The session's summary counts that one rating.
    page.goto(re.sub(r"/\?.*$|/$", "/", page.url.split("?")[0]) + "summary/")
    expect(page.get_by_test_id("reviewed-count")).to_contain_text("1 card")
    expect(page.locator("[data-grade=Again]")).to_contain_text("1")
    expect(page.locator("[data-grade=Good]")).to_contain_text("0")


def test_run_tests_sends_the_code_in_the_editor(page: Page, live_server) -> None:
    load_bank()
    log_in(page, live_server.url)
    page.wait_for_url(re.compile(r"/quiz/$"))
    page.goto(f"{live_server.url}/quiz/challenges/code-move-init-out/")
    editor = page.locator(".CodeMirror")
    expect(editor).to_be_visible()
    code = "def handler(event, context):\n    return 42\n"
    editor.evaluate("(el, code) => el.CodeMirror.setValue(code)", code)

    # Only what the browser sends matters here, not the sandbox run.
    run_url = re.compile(r"/quiz/challenges/code-move-init-out/$")
    page.route(run_url, lambda route: route.fulfill(status=200, body=""))
    with page.expect_request(lambda request: request.method == "POST") as sent:
        page.get_by_test_id("run-tests").click()
    assert parse_qs(sent.value.post_data or "")["code"] == [code]


def test_mock_interview_pause_resume_finish_and_review(page: Page, live_server) -> None:
    load_bank()
    log_in(page, live_server.url)
    page.wait_for_url(re.compile(r"/quiz/$"))
    page.get_by_role("button", name="Start mock interview").click()
    expect(page.get_by_role("heading", name="Mock interview")).to_be_visible()
    clock = page.locator("[data-countdown]")
    expect(clock).to_contain_text(re.compile(r"1[89]:\d\d|20:00"))

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("The interview is paused.")).to_be_visible()
    expect(page.locator(".prompt")).to_have_count(0)
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".prompt")).to_be_visible()

    # Answers are kept hidden until the end: no right/wrong, no explanation.
    answer_first = page.locator("[data-practice-item]")
    if answer_first.locator("input[name=choice], input[name=truth]").count():
        page.keyboard.press("1")
        page.keyboard.press("Enter")
    elif answer_first.locator("input[name=number]").count():
        answer_first.locator("input[name=number]").fill("1")
        answer_first.locator("input[name=number]").press("Enter")
    else:
        answer_first.locator("textarea").fill("Lambda runs code without servers to manage.")
        answer_first.locator("button[type=submit]").click()
    expect(page.get_by_text("Question 2 of 8")).to_be_visible()
    expect(page.locator("[data-feedback]")).to_have_count(0)

    page.get_by_role("button", name="Finish now").click()
    expect(page.get_by_role("heading", name="Mock interview results")).to_be_visible()
    expect(page.get_by_role("heading", name="Readiness per lesson")).to_be_visible()
    expect(page.get_by_role("heading", name="Questions and model answers")).to_be_visible()


def test_solve_a_code_challenge_graded_in_the_sandbox(
    page: Page, live_server, celery_worker_process: str
) -> None:
    from learn.practice.models import Question

    load_bank()
    log_in(page, live_server.url)
    page.wait_for_url(re.compile(r"/quiz/$"))
    slug = "code-s3-event-keys"
    version = Question.objects.get(slug=slug).current_version
    page.goto(f"{live_server.url}/quiz/challenges/{slug}/")
    editor = page.locator(".CodeMirror")

    page.get_by_test_id("run-tests").click()  # the starter fails
    expect(page.get_by_test_id("submission-status")).to_have_text("Failed", timeout=60_000)
    # The sample test shows its input, expected and actual output and the log; hidden ones
    # say which property failed.
    sample = page.locator("[data-test-feedback=sample]")
    expect(sample.locator("[data-log]")).to_contain_text("REPORT RequestId:")
    expect(sample).to_contain_text("Expected")
    hidden = page.locator("[data-test-feedback=hidden].is-fail").first
    expect(hidden.locator("[data-problem]")).not_to_be_empty()
    expect(hidden.locator("[data-log]")).to_have_count(0)

    # The learner's own event, run once with the code in the editor.
    page.get_by_text("Run with your own event").click()
    page.fill("#own-event", '{"Records": []}')
    page.get_by_test_id("run-event").click()
    own = page.locator("[data-test-feedback=event]")
    expect(own.locator("[data-log]")).to_contain_text("REPORT RequestId:", timeout=60_000)

    editor.evaluate("(el, code) => el.CodeMirror.setValue(code)", version.solution_code)
    page.get_by_test_id("run-tests").click()
    expect(page.get_by_test_id("submission-status")).to_have_text("Passed", timeout=60_000)
    expect(page.get_by_test_id("grade")).to_have_text("100%")
    expect(page.locator(".test-feedback.is-fail")).to_have_count(0)
    # The earlier runs keep their code.
    expect(page.locator("#earlier-runs .history details")).to_have_count(1)
    page.locator("#earlier-runs summary").first.click()
    expect(page.locator("#earlier-runs .code-listing").first).to_be_visible()
