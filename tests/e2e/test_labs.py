"""A lesson's lab in Chromium, as a learner does the permissions lesson's exercise: open the
lab, run it, read AccessDenied in the invocation the S3 trigger started, fix the role in the
Resources console, run it again and see the item in the table.

Everything is real: the shipped lesson, the lab's moto server, the worker that relays S3's
notification and runs the handler, boto3 in the jail and the gateway checking the role."""

import re

import pytest
from playwright.sync_api import Page, expect

from learn.services.content import content_load
from tests.e2e.test_event_driven import RUN_TIMEOUT_MS, open_latest_invocation
from tests.e2e.test_sandbox import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_the_permissions_lab_is_denied_then_fixed_by_editing_the_role(
    page: Page, live_server, celery_worker_process, moto_server
):
    report = content_load()
    assert report.ok, report.summary_lines()
    base = live_server.url
    log_in(page, base)

    page.goto(f"{base}/lessons/permissions/")
    lab = page.locator(".try-it-lab")
    expect(lab).to_contain_text("DynamoDB table receipts")
    expect(lab).to_contain_text("Trigger: S3 notifications of receipts-{account}")
    page.get_by_role("button", name="Open in the sandbox").click()
    expect(page.locator("#messages")).to_contain_text("Your function and its lab are set up")
    function_url = page.url.split(base, 1)[1].split("?", 1)[0]

    page.goto(f"{base}/lessons/permissions/")
    page.get_by_role("button", name="Run the lab").click()
    expect(page.locator("#messages")).to_contain_text("the trigger invokes your function")
    open_latest_invocation(page, base, function_url, 1)
    result = page.locator("#result")
    expect(result.locator(".status-line")).not_to_contain_text("…", timeout=RUN_TIMEOUT_MS)
    expect(result.locator(".error-object")).to_contain_text(
        "is not authorized to perform: dynamodb:PutItem"
    )
    expect(result.locator("[data-trace] tr[data-call-outcome=denied]")).to_contain_text("PutItem")

    # The fix the lesson asks for: DynamoDB CRUD on the table, added to the function's role.
    page.goto(f"{base}/resources/")
    page.get_by_role("link", name="permissions-try-it-role").click()
    page.get_by_label("Template").select_option("dynamodb-crud")
    page.get_by_label("Bucket, table, queue or topic name").fill("receipts")
    page.get_by_role("button", name="Apply template").click()
    expect(page.locator("#messages")).to_contain_text("Policy template applied.")
    expect(page.locator("form label", has_text="s3-read-receipts-")).to_be_visible()  # kept

    page.goto(f"{base}/lessons/permissions/")
    page.get_by_role("button", name="Run the lab").click()
    open_latest_invocation(page, base, function_url, 2)
    result = page.locator("#result")
    expect(result.locator(".status-line .badge-ok")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    allowed = result.locator("[data-trace] tr[data-call-outcome=allowed]")
    expect(allowed).to_have_count(2)
    expect(allowed.last).to_contain_text("PutItem")
    expect(result.locator("[data-trace] tr[data-call-outcome=denied]")).to_have_count(0)

    page.goto(f"{base}/resources/tables/receipts/")
    expect(page.locator(".card pre").first).to_contain_text(re.compile(r"taxi"))
