"""The sandbox as a new learner uses it, in Chromium, through a real Celery worker and engine."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def log_in(page: Page, base: str) -> None:
    user = UserFactory()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")


def test_create_from_template_invoke_cold_then_warm(page: Page, live_server, celery_worker_process):
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/sandbox/")
    page.get_by_role("link", name="New function").first.click()
    page.get_by_label("Hello world").check()
    page.fill("input[name=name]", "hello-e2e")
    page.get_by_role("button", name="Create function").click()
    expect(page.get_by_role("heading", name="hello-e2e")).to_be_visible()
    # The vendored editor replaced the textarea.
    expect(page.locator(".code-panel .CodeMirror")).to_be_visible()

    page.get_by_role("button", name="Invoke").click()
    result = page.locator("#result")
    expect(result.locator(".status-line .badge-cold")).to_have_text("Cold start", timeout=60_000)
    expect(result.locator("[data-figure=init]")).to_have_text(re.compile(r"^\d+(\.\d+)? ms$"))
    expect(result.locator("[data-figure=billed]")).to_have_text(re.compile(r"^\d+ ms$"))
    expect(result.locator("[data-figure=cost]")).to_have_text(re.compile(r"^\$0\.0+\d+$"))
    expect(result.locator(".log")).to_contain_text("REPORT RequestId:")
    expect(result.locator(".payload")).to_contain_text("Hello, value1!")

    # Second invocation from the keyboard: Ctrl+Enter in the editor.
    page.locator(".code-panel .CodeMirror").click()
    page.keyboard.press("Control+Enter")
    expect(result.locator(".status-line .badge-warm")).to_have_text("Warm start", timeout=60_000)
    expect(result.locator("[data-figure=billed]")).to_have_text(re.compile(r"^\d+ ms$"))
    expect(result.locator("[data-figure=cost]")).to_have_text(re.compile(r"^\$0\.0+\d+$"))
    expect(result.locator("[data-figure=init]")).to_have_count(0)
    # The history refreshed itself with both invocations.
    expect(page.locator(".history tbody tr")).to_have_count(2)

    # Concurrency lab: a burst of 3 on a function that is warm once.
    page.get_by_role("link", name="Concurrency lab").click()
    page.fill("input[name=count]", "3")
    page.get_by_role("button", name="Fire").click()
    results = page.locator("#results")
    expect(results.locator("svg.chart")).to_be_visible(timeout=60_000)
    expect(results).not_to_contain_text("still queued", timeout=60_000)
    cold = int(results.locator("[data-count=cold]").inner_text())
    warm = int(results.locator("[data-count=warm]").inner_text())
    # A fast handler may finish before the next request arrives and lend it its environment.
    assert cold + warm == 3

    # Memory tuning at two sizes.
    page.get_by_role("link", name="Memory tuning").click()
    for size in ("1024 MB", "1769 MB"):
        page.get_by_label(size).uncheck()
    page.fill("input[name=runs_per_size]", "2")
    page.get_by_role("button", name="Run the experiment").click()
    tuning = page.locator("#results")
    expect(tuning.locator("svg.range-chart").first).to_be_visible(timeout=90_000)
    expect(tuning).not_to_contain_text("still queued", timeout=90_000)
    row = tuning.locator("tr[data-memory='512']")
    expect(row.locator("[data-figure=init]")).to_have_text(re.compile(r"ms \(.+\)$"))
    expect(row.locator("[data-figure=warm]")).to_have_text(re.compile(r"ms \(.+\)$"))
    expect(tuning.locator("[data-verdicts] li")).to_have_count(3)
    expect(tuning).not_to_contain_text("Fastest")
    # Pricing every invocation as a cold start costs more than pricing none.
    cost = row.locator("[data-figure=cost]")
    page.fill("input[name=cold_rate]", "0")
    page.locator("input[name=cold_rate]").dispatch_event("change")
    expect(tuning).to_contain_text("at 0% cold")
    warm_only = cost.inner_text()
    page.fill("input[name=cold_rate]", "100")
    page.locator("input[name=cold_rate]").dispatch_event("change")
    expect(tuning).to_contain_text("at 100% cold")
    assert float(cost.inner_text().strip("$")) > float(warm_only.strip("$"))


def test_saved_event_joins_the_picker_and_the_whole_editor_takes_focus(page: Page, live_server):
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/sandbox/new/?blueprint=hello-world")
    page.fill("input[name=name]", "events-e2e")
    page.get_by_role("button", name="Create function").click()
    expect(page.locator(".code-panel .CodeMirror")).to_be_visible()

    # A click below the last line of code still lands in the editor (Ctrl+Enter needs it).
    editor = page.locator(".code-panel .CodeMirror")
    box = editor.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 10)
    expect(editor).to_have_class(re.compile("CodeMirror-focused"))

    page.locator("#id_event").evaluate("t => t.editor.setValue('{\"id\": 7}')")
    page.fill("input[name=event_name]", "item-7")
    page.get_by_role("button", name="Save event").click()
    expect(page.locator("#event-errors")).to_contain_text("Saved as item-7")
    # No reload: the picker now lists the event, chosen, and switching back and forth works.
    expect(page.locator("#event-picker")).to_have_value("saved:item-7")
    page.select_option("#event-picker", "sample:sqs")
    expect(page.locator("#id_event")).to_have_value(re.compile('"Records"'))
    page.select_option("#event-picker", "saved:item-7")
    expect(page.locator("#id_event")).to_have_value('{"id": 7}')


def test_unsaved_edits_are_never_lost_without_a_word(page: Page, live_server):
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/sandbox/new/?blueprint=hello-world")
    expect(page.locator("input[name=name]")).to_have_value("hello-world-demo")
    page.get_by_role("button", name="Create function").click()
    expect(page.locator(".code-panel .CodeMirror")).to_be_visible()
    state = page.locator("[data-code-state]")
    expect(state).to_have_text("Saved")

    page.locator(".code-panel .CodeMirror").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# edited in the browser\n")
    expect(state).to_have_text("Unsaved changes")

    # Following a link asks first; staying keeps the edits on the page.
    dialogs: list[str] = []

    def dismiss(dialog):  # type: ignore[no-untyped-def]
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("link", name="Configuration").click()
    page.wait_for_timeout(300)  # no navigation is expected; give the dialog its moment
    assert dialogs == ["beforeunload"]
    expect(page.get_by_role("heading", name="hello-world-demo")).to_be_visible()
    assert "# edited in the browser" in page.locator("#code-editor").input_value()
    page.remove_listener("dialog", dismiss)

    # Adding a file reloads the page, and the edits are saved, not dropped; no question asked.
    page.get_by_text("Files: add, rename, delete or upload a .zip").click()
    page.fill("#new-file-path", "helpers.py")
    page.get_by_role("button", name="Add file").click()
    expect(page.get_by_role("link", name="helpers.py")).to_be_visible()
    page.get_by_role("link", name="lambda_function.py").click()
    expect(page.locator("#code-editor")).to_have_value(re.compile("# edited in the browser"))
    expect(state).to_have_text("Saved")

    # Deleting a file asks; saying no keeps it.
    page.get_by_role("link", name="helpers.py").click()
    page.get_by_text("Files: add, rename, delete or upload a .zip").click()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete helpers.py").click()
    expect(page.get_by_role("link", name="helpers.py")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete helpers.py").click()
    expect(page.get_by_role("link", name="helpers.py")).to_have_count(0)

    # A function is deleted only once its name is typed.
    page.get_by_role("link", name="Configuration").click()
    page.get_by_role("button", name="Delete hello-world-demo").click()  # empty box: refused
    expect(page.get_by_role("heading", name="hello-world-demo")).to_be_visible()
    page.get_by_label(re.compile("type the function's name")).fill("hello-world-demo")
    page.get_by_role("button", name="Delete hello-world-demo").click()
    expect(page.locator("#messages")).to_contain_text("Deleted hello-world-demo")
